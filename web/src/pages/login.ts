// Sign in: email + password, then — when the server answers `totp_required` — a second step asking for
// an authenticator code or a recovery code. Server field errors show next to their field.
import { html } from 'lit';
import { msg } from '@lit/localize';
import { NfElement, formValues } from '../components/base';
import { field } from '../components/field';
import { auth, ProblemError } from '../api/client';
import type { FieldErrors } from '../api/problem';
import { toast } from '../components/toast';

export class NfLogin extends NfElement {
  static properties = { step: { state: true }, errors: { state: true }, problem: { state: true }, busy: { state: true }, recovery: { state: true } };
  declare step: 'password' | 'totp';
  declare errors: FieldErrors;
  declare problem: string;
  declare busy: boolean;
  declare recovery: boolean;
  declare query: URLSearchParams;
  private creds = { email: '', password: '' };

  constructor() {
    super();
    this.step = 'password';
    this.errors = {};
    this.problem = '';
    this.busy = false;
    this.recovery = false;
  }

  private async submit(e: SubmitEvent) {
    e.preventDefault();
    const v = formValues(e.target as HTMLFormElement);
    if (this.step === 'password') this.creds = { email: v.email, password: v.password };
    const errors: FieldErrors = {};
    if (this.step === 'password') {
      if (!v.email) errors.email = msg('Enter your email address.');
      if (!v.password) errors.password = msg('Enter your password.');
    } else if (!v.totp_code) errors.totp_code = msg('Enter the code.');
    this.errors = errors;
    this.problem = '';
    if (Object.keys(errors).length) return;
    this.busy = true;
    try {
      await auth.login(this.creds.email, this.creds.password, this.step === 'totp' ? v.totp_code.replace(/\s/g, '') : undefined);
      toast(msg('Welcome back!'));
      const next = this.query?.get('next');
      this.go(next && next.startsWith('/') && !next.startsWith('//') ? next : '/projects', true);
    } catch (err) {
      const p = err instanceof ProblemError ? err : ProblemError.network();
      if (p.code === 'totp_required') {
        this.step = 'totp';
        await this.updateComplete;
        this.renderRoot.querySelector<HTMLInputElement>('#totp_code')?.focus();
      } else if (p.code === 'invalid_totp') {
        this.errors = { totp_code: msg('That code is not valid. Try again.') };
      } else if (p.code === 'invalid_credentials') {
        this.problem = msg('The email or password is incorrect.');
      } else if (p.code === 'csrf_rejected') {
        this.problem = msg('Sign-in only works from the address this server is configured for (PUBLIC_URL). Open the app there.');
      } else {
        this.errors = p.fields;
        this.problem = p.detail;
      }
    } finally {
      this.busy = false;
    }
  }

  render() {
    return html`<div class="page narrow">
      <h1>${this.step === 'totp' ? msg('Two-factor sign-in') : msg('Sign in')}</h1>
      <div class="card">
        <form novalidate @submit=${this.submit} aria-describedby=${this.problem ? 'problem' : ''}>
          ${this.problem ? html`<p class="alert" id="problem" role="alert">${this.problem}</p>` : ''}
          ${this.step === 'password'
            ? html`${field({ id: 'email', label: msg('Email'), type: 'email', autocomplete: 'username', required: true, error: this.errors.email, value: this.creds.email })}
              ${field({ id: 'password', label: msg('Password'), type: 'password', autocomplete: 'current-password', required: true, error: this.errors.password })}`
            : html`<p>${this.recovery ? msg('Enter one of your recovery codes. Each code works once.') : msg('Enter the 6-digit code from your authenticator app.')}</p>
              ${field({
                id: 'totp_code',
                label: this.recovery ? msg('Recovery code') : msg('Authentication code'),
                autocomplete: 'one-time-code',
                inputmode: this.recovery ? 'text' : 'numeric',
                required: true,
                error: this.errors.totp_code,
              })}
              <button type="button" class="link" @click=${() => (this.recovery = !this.recovery)}>
                ${this.recovery ? msg('Use an authenticator code instead') : msg('Use a recovery code instead')}
              </button>`}
          <button type="submit" ?disabled=${this.busy}>${this.busy ? msg('Signing in…') : this.step === 'totp' ? msg('Verify and sign in') : msg('Sign in')}</button>
        </form>
      </div>
      <p><a href="/forgot-password">${msg('Forgot your password?')}</a></p>
      <p>${msg('New here?')} <a href="/register">${msg('Create an account')}</a></p>
    </div>`;
  }
}
customElements.define('nf-login', NfLogin);
