// Create an account. Client checks mirror the password policy's length rule; everything else (taken
// email, common password) comes back as a problem whose errors[].loc lands next to the field.
import { html } from 'lit';
import { msg } from '@lit/localize';
import { NfElement, formValues } from '../components/base';
import { field } from '../components/field';
import { auth, ProblemError } from '../api/client';
import type { FieldErrors } from '../api/problem';
import { toast } from '../components/toast';

export function validateRegistration(v: Record<string, string>): FieldErrors {
  const errors: FieldErrors = {};
  if (!v.full_name) errors.full_name = msg('Enter your name.');
  if (!v.email) errors.email = msg('Enter your email address.');
  else if (!/^[^\s@]+@[^\s@]+$/.test(v.email)) errors.email = msg('Enter a valid email address.');
  if (!v.password || v.password.length < 8) errors.password = msg('Use at least 8 characters.');
  else if (v.password.length > 128) errors.password = msg('Use at most 128 characters.');
  else if (v.password === v.email) errors.password = msg('The password must differ from the email.');
  return errors;
}

export class NfRegister extends NfElement {
  static properties = { errors: { state: true }, problem: { state: true }, busy: { state: true } };
  declare errors: FieldErrors;
  declare problem: string;
  declare busy: boolean;
  private values: Record<string, string> = {};

  constructor() {
    super();
    this.errors = {};
    this.problem = '';
    this.busy = false;
  }

  private async submit(e: SubmitEvent) {
    e.preventDefault();
    const v = (this.values = formValues(e.target as HTMLFormElement));
    this.errors = validateRegistration(v);
    this.problem = '';
    if (Object.keys(this.errors).length) {
      this.focusFirstError();
      return;
    }
    this.busy = true;
    try {
      await auth.register(v.email, v.password, v.full_name);
      toast(msg('Account created. We sent you an email to verify your address.'));
      this.go('/projects', true);
    } catch (err) {
      const p = err instanceof ProblemError ? err : ProblemError.network();
      if (p.code === 'email_taken') this.errors = { email: msg('An account with this email already exists.') };
      else if (p.code === 'registration_closed') this.problem = msg('Registration is closed on this server.');
      else if (p.code === 'csrf_rejected') this.problem = msg('Sign-in only works from the address this server is configured for (PUBLIC_URL). Open the app there.');
      else {
        this.errors = p.fields;
        this.problem = Object.keys(p.fields).length ? '' : p.detail;
      }
      this.focusFirstError();
    } finally {
      this.busy = false;
    }
  }

  private async focusFirstError() {
    await this.updateComplete;
    this.renderRoot.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  }

  render() {
    const v = this.values;
    return html`<div class="page narrow">
      <h1>${msg('Create your account')}</h1>
      <div class="card">
        <form novalidate @submit=${this.submit}>
          ${this.problem ? html`<p class="alert" role="alert">${this.problem}</p>` : ''}
          ${field({ id: 'full_name', label: msg('Full name'), autocomplete: 'name', required: true, error: this.errors.full_name, value: v.full_name, maxlength: 200 })}
          ${field({ id: 'email', label: msg('Email'), type: 'email', autocomplete: 'email', required: true, error: this.errors.email, value: v.email })}
          ${field({ id: 'password', label: msg('Password'), type: 'password', autocomplete: 'new-password', required: true, error: this.errors.password, hint: msg('At least 8 characters. Avoid common passwords.') })}
          <button type="submit" ?disabled=${this.busy}>${this.busy ? msg('Creating account…') : msg('Create account')}</button>
        </form>
      </div>
      <p>${msg('Already have an account?')} <a href="/login">${msg('Sign in')}</a></p>
    </div>`;
  }
}
customElements.define('nf-register', NfRegister);
