// The three email flows: verify an address (token from the link), ask for a reset link, choose a new
// password (token from the link). Each one says plainly what happened and what to do next.
import { html } from 'lit';
import { msg } from '@lit/localize';
import { NfElement, formValues } from '../components/base';
import { field } from '../components/field';
import { auth, ProblemError } from '../api/client';
import { post } from '../api/writes';
import { toast } from '../components/toast';

function problemOf(e: unknown): ProblemError {
  return e instanceof ProblemError ? e : ProblemError.network();
}

export class NfVerifyEmail extends NfElement {
  static properties = { state: { state: true }, sent: { state: true } };
  declare state: 'working' | 'verified' | 'already' | 'invalid' | 'missing';
  declare sent: boolean;
  declare query: URLSearchParams;

  constructor() {
    super();
    this.state = 'working';
    this.sent = false;
  }

  connectedCallback(): void {
    super.connectedCallback();
    void this.verify();
  }

  private async verify() {
    const token = this.query?.get('token');
    if (!token) {
      this.state = 'missing';
      return;
    }
    try {
      const r = await post<{ status: string }>('/api/v1/auth/verify-email', { token });
      this.state = r.data.status === 'already_verified' ? 'already' : 'verified';
      // The signed-in user's badge changes with it.
      if (auth.user) auth.setUser({ ...auth.user, is_verified: true });
    } catch {
      this.state = 'invalid';
    }
  }

  private async resend(e: SubmitEvent) {
    e.preventDefault();
    const { email } = formValues(e.target as HTMLFormElement);
    try {
      await post('/api/v1/auth/verify-email/resend', { email });
      this.sent = true;
    } catch (err) {
      toast(problemOf(err).detail, 'error');
    }
  }

  render() {
    const body = {
      working: html`<p aria-busy="true">${msg('Verifying your email address…')}</p>`,
      verified: html`<p role="status">${msg('Your email address is verified. Thank you!')}</p>`,
      already: html`<p role="status">${msg('This email address was already verified.')}</p>`,
      invalid: html`<p class="alert" role="alert">${msg('This verification link is invalid or has expired.')}</p>`,
      missing: html`<p class="alert" role="alert">${msg('This page needs the link from the verification email.')}</p>`,
    }[this.state];
    const failed = this.state === 'invalid' || this.state === 'missing';
    return html`<div class="page narrow">
      <h1>${msg('Verify email')}</h1>
      <div class="card stack">
        ${body}
        ${failed
          ? this.sent
            ? html`<p role="status">${msg('If that address has an unverified account, a new link is on its way.')}</p>`
            : html`<form @submit=${this.resend}>
                ${field({ id: 'email', label: msg('Email'), type: 'email', autocomplete: 'email', required: true, value: auth.user?.email })}
                <button type="submit">${msg('Send a new verification link')}</button>
              </form>`
          : html`<a class="button" href=${auth.signedIn ? '/projects' : '/login'}>${auth.signedIn ? msg('Continue to your projects') : msg('Sign in')}</a>`}
      </div>
    </div>`;
  }
}
customElements.define('nf-verify-email', NfVerifyEmail);

export class NfForgotPassword extends NfElement {
  static properties = { sent: { state: true }, busy: { state: true } };
  declare sent: boolean;
  declare busy: boolean;

  constructor() {
    super();
    this.sent = false;
    this.busy = false;
  }

  private async submit(e: SubmitEvent) {
    e.preventDefault();
    const { email } = formValues(e.target as HTMLFormElement);
    if (!email) return;
    this.busy = true;
    try {
      await post('/api/v1/auth/password-reset', { email });
      this.sent = true;
    } catch (err) {
      toast(problemOf(err).detail, 'error');
    } finally {
      this.busy = false;
    }
  }

  render() {
    return html`<div class="page narrow">
      <h1>${msg('Forgot password')}</h1>
      <div class="card stack">
        ${this.sent
          ? html`<p role="status">${msg('If an account uses that address, we sent it a link to choose a new password. The link works for one hour.')}</p>`
          : html`<p>${msg('Enter your email address and we will send you a link to choose a new password.')}</p>
              <form @submit=${this.submit}>
                ${field({ id: 'email', label: msg('Email'), type: 'email', autocomplete: 'email', required: true })}
                <button type="submit" ?disabled=${this.busy}>${msg('Send reset link')}</button>
              </form>`}
      </div>
      <p><a href="/login">${msg('Back to sign in')}</a></p>
    </div>`;
  }
}
customElements.define('nf-forgot-password', NfForgotPassword);

export class NfResetPassword extends NfElement {
  static properties = { error: { state: true }, problem: { state: true }, busy: { state: true } };
  declare error: string;
  declare problem: string;
  declare busy: boolean;
  declare query: URLSearchParams;

  constructor() {
    super();
    this.error = '';
    this.problem = '';
    this.busy = false;
  }

  private async submit(e: SubmitEvent) {
    e.preventDefault();
    const v = formValues(e.target as HTMLFormElement);
    this.problem = '';
    if ((v.new_password ?? '').length < 8) {
      this.error = msg('Use at least 8 characters.');
      return;
    }
    if (v.new_password !== v.confirm_password) {
      this.error = msg('The two passwords do not match.');
      return;
    }
    this.error = '';
    this.busy = true;
    try {
      await post('/api/v1/auth/password-reset/confirm', { token: this.query?.get('token') ?? '', new_password: v.new_password });
      auth.forget(); // every session was revoked
      toast(msg('Your password is changed. Sign in with the new one.'));
      this.go('/login', true);
    } catch (err) {
      const p = problemOf(err);
      if (p.code === 'invalid_token') this.problem = msg('This reset link is invalid, expired or already used. Ask for a new one.');
      else this.error = p.fields.new_password ?? '';
      if (!this.error && !this.problem) this.problem = p.detail;
    } finally {
      this.busy = false;
    }
  }

  render() {
    const missing = !this.query?.get('token');
    return html`<div class="page narrow">
      <h1>${msg('Choose a new password')}</h1>
      <div class="card stack">
        ${missing
          ? html`<p class="alert" role="alert">${msg('This page needs the link from the password reset email.')}</p>
              <a class="button" href="/forgot-password">${msg('Ask for a reset link')}</a>`
          : html`<form novalidate @submit=${this.submit}>
              ${this.problem ? html`<p class="alert" role="alert">${this.problem} <a href="/forgot-password">${msg('Ask for a reset link')}</a></p>` : ''}
              ${field({ id: 'new_password', label: msg('New password'), type: 'password', autocomplete: 'new-password', required: true, error: this.error, hint: msg('At least 8 characters. Avoid common passwords.') })}
              ${field({ id: 'confirm_password', label: msg('Repeat the new password'), type: 'password', autocomplete: 'new-password', required: true })}
              <button type="submit" ?disabled=${this.busy}>${msg('Change password')}</button>
            </form>`}
      </div>
    </div>`;
  }
}
customElements.define('nf-reset-password', NfResetPassword);
