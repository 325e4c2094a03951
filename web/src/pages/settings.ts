// Settings: profile, password, two-factor, sessions, language and theme, account deletion.
import { html, css } from 'lit';
import { msg } from '@lit/localize';
import { NfElement, formValues } from '../components/base';
import { field } from '../components/field';
import { auth, ProblemError, type Schemas } from '../api/client';
import { patch, post, del } from '../api/writes';
import { toast } from '../components/toast';
import { confirmDialog } from '../components/dialog';
import { LOCALES, getLocale, useLocale, type Locale } from '../i18n';
import { setTheme, themeChoice, type ThemeChoice } from '../theme';
import type { FieldErrors } from '../api/problem';
import './settings-2fa';
import './settings-sessions';
import '../components/sync-centre';

export class NfSettings extends NfElement {
  static properties = { profileErrors: { state: true }, passwordErrors: { state: true }, deleteError: { state: true }, emailChanging: { state: true } };
  declare profileErrors: FieldErrors;
  declare passwordErrors: FieldErrors;
  declare deleteError: string;
  declare emailChanging: boolean;

  static styles = [
    NfElement.styles,
    css`
      .layout { display: grid; gap: var(--nf-space-6); grid-template-columns: 12rem 1fr; align-items: start; }
      .toc { position: sticky; top: var(--nf-space-4); }
      .toc ul { list-style: none; padding: 0; margin: 0; display: grid; gap: var(--nf-space-2); }
      fieldset { border: none; padding: 0; margin: 0; display: flex; gap: var(--nf-space-4); flex-wrap: wrap; }
      legend { font-weight: 600; margin-bottom: var(--nf-space-2); padding: 0; }
      fieldset label { font-weight: 400; display: inline-flex; gap: var(--nf-space-2); align-items: center; }
      .danger-zone { border-color: var(--nf-danger); }
      @media (max-width: 48rem) { .layout { grid-template-columns: 1fr; } .toc { position: static; } }
    `,
  ];

  constructor() {
    super();
    this.profileErrors = {};
    this.passwordErrors = {};
    this.deleteError = '';
    this.emailChanging = false;
  }

  private problem(err: unknown): ProblemError {
    return err instanceof ProblemError ? err : ProblemError.network();
  }

  private async saveProfile(e: SubmitEvent) {
    e.preventDefault();
    const v = formValues(e.target as HTMLFormElement);
    const u = auth.user!;
    const body: Schemas['UpdateMeIn'] = {};
    if (v.full_name !== u.full_name) body.full_name = v.full_name;
    if (v.email !== u.email) {
      body.email = v.email;
      body.current_password = v.current_password ?? '';
    }
    if (!Object.keys(body).length) {
      toast(msg('Nothing to save.'), 'info');
      return;
    }
    try {
      const r = await patch<Schemas['UserOut']>('/api/v1/users/me', body);
      auth.setUser(r.data);
      this.profileErrors = {};
      this.emailChanging = false;
      toast(body.email ? msg('Profile saved. Check your new address for a verification link.') : msg('Profile saved.'));
    } catch (err) {
      const p = this.problem(err);
      if (p.code === 'email_taken') this.profileErrors = { email: msg('An account with this email already exists.') };
      else if (p.code === 'invalid_credentials') this.profileErrors = { current_password: msg('The password is incorrect.') };
      else {
        this.profileErrors = p.fields;
        if (!Object.keys(p.fields).length) toast(p.detail, 'error');
      }
    }
  }

  private async changePassword(e: SubmitEvent) {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const v = formValues(form);
    if ((v.new_password ?? '').length < 8) {
      this.passwordErrors = { new_password: msg('Use at least 8 characters.') };
      return;
    }
    try {
      await post('/api/v1/users/me/password', { current_password: v.current_password, new_password: v.new_password } satisfies Schemas['ChangePasswordIn']);
      form.reset();
      this.passwordErrors = {};
      toast(msg('Password changed. Your other devices were signed out.'));
    } catch (err) {
      const p = this.problem(err);
      this.passwordErrors = p.code === 'invalid_credentials' ? { current_password: msg('The current password is incorrect.') } : p.fields;
      if (!Object.keys(this.passwordErrors).length) toast(p.detail, 'error');
    }
  }

  private async resend() {
    try {
      await post('/api/v1/auth/verify-email/resend', { email: auth.user!.email });
      toast(msg('A new verification link is on its way.'));
    } catch (err) {
      toast(this.problem(err).detail, 'error');
    }
  }

  private async deleteAccount(e: SubmitEvent) {
    e.preventDefault();
    const { password } = formValues(e.target as HTMLFormElement);
    if (!password) {
      this.deleteError = msg('Enter your password to confirm.');
      return;
    }
    const ok = await confirmDialog({
      title: msg('Delete your account?'),
      body: msg('Your projects, posts and sessions are deleted for good. This cannot be undone.'),
      confirm: msg('Delete my account'),
      danger: true,
    });
    if (!ok) return;
    try {
      await del('/api/v1/users/me', null, { password } satisfies Schemas['DeleteMeIn']);
      auth.forget();
      toast(msg('Your account was deleted.'));
      this.go('/');
    } catch (err) {
      const p = this.problem(err);
      this.deleteError = p.code === 'invalid_credentials' ? msg('The password is incorrect.') : p.detail;
    }
  }

  render() {
    const u = auth.user;
    if (!u) return html``;
    const theme = themeChoice();
    const themes: [ThemeChoice, string][] = [
      ['system', msg('Same as the system')],
      ['light', msg('Light')],
      ['dark', msg('Dark')],
    ];
    return html`<div class="page">
      <h1>${msg('Settings')}</h1>
      <div class="layout">
        <nav class="toc" aria-label=${msg('Settings sections')}>
          <ul>
            <li><a href="#profile" @click=${this.jump}>${msg('Profile')}</a></li>
            <li><a href="#password" @click=${this.jump}>${msg('Password')}</a></li>
            <li><a href="#twofa" @click=${this.jump}>${msg('Two-factor authentication')}</a></li>
            <li><a href="#sessions" @click=${this.jump}>${msg('Sessions')}</a></li>
            <li><a href="#sync" @click=${this.jump}>${msg('Sync centre')}</a></li>
            <li><a href="#prefs" @click=${this.jump}>${msg('Language and theme')}</a></li>
            <li><a href="#delete" @click=${this.jump}>${msg('Delete account')}</a></li>
          </ul>
        </nav>
        <div>
          <section class="card" id="profile" aria-labelledby="h-profile">
            <h2 id="h-profile">${msg('Profile')}</h2>
            ${u.is_verified
              ? ''
              : html`<p class="note">${msg('Your email address is not verified yet.')}
                  <button class="link" @click=${this.resend}>${msg('Send the verification link again')}</button></p>`}
            <form novalidate @submit=${this.saveProfile} @input=${(e: Event) => {
              const t = e.target as HTMLInputElement;
              if (t.name === 'email') this.emailChanging = t.value.trim() !== u.email;
            }}>
              ${field({ id: 'full_name', label: msg('Full name'), autocomplete: 'name', value: u.full_name, error: this.profileErrors.full_name, maxlength: 200 })}
              ${field({ id: 'email', label: msg('Email'), type: 'email', autocomplete: 'email', value: u.email, error: this.profileErrors.email })}
              ${this.emailChanging
                ? field({ id: 'current_password', label: msg('Current password (needed to change the email)'), type: 'password', autocomplete: 'current-password', error: this.profileErrors.current_password })
                : ''}
              <div class="row"><button type="submit">${msg('Save profile')}</button></div>
            </form>
          </section>
          <section class="card" id="password" aria-labelledby="h-password">
            <h2 id="h-password">${msg('Password')}</h2>
            <form novalidate @submit=${this.changePassword}>
              <input type="email" name="username" autocomplete="username" .value=${u.email} hidden />
              ${field({ id: 'pw_current', name: 'current_password', label: msg('Current password'), type: 'password', autocomplete: 'current-password', error: this.passwordErrors.current_password })}
              ${field({ id: 'pw_new', name: 'new_password', label: msg('New password'), type: 'password', autocomplete: 'new-password', error: this.passwordErrors.new_password, hint: msg('At least 8 characters. Your other devices are signed out.') })}
              <div class="row"><button type="submit">${msg('Change password')}</button></div>
            </form>
          </section>
          <section class="card" id="twofa" aria-labelledby="h-2fa">
            <h2 id="h-2fa">${msg('Two-factor authentication')}</h2>
            <nf-two-factor></nf-two-factor>
          </section>
          <section class="card" id="sessions" aria-labelledby="h-sessions">
            <h2 id="h-sessions">${msg('Sessions')}</h2>
            <p class="muted">${msg('The devices signed in to your account.')}</p>
            <nf-sessions></nf-sessions>
          </section>
          <section class="card" id="sync" aria-labelledby="h-sync">
            <h2 id="h-sync">${msg('Sync centre')}</h2>
            <p class="muted">${msg('Changes made on this device that have not reached the server, conflicts to resolve, and changes the server refused. Nothing is removed until you dismiss it.')}</p>
            <nf-sync-centre></nf-sync-centre>
          </section>
          <section class="card" id="prefs" aria-labelledby="h-prefs">
            <h2 id="h-prefs">${msg('Language and theme')}</h2>
            <div class="stack">
              <div class="field">
                <label for="lang">${msg('Language')}</label>
                <select id="lang" @change=${(e: Event) => void useLocale((e.target as HTMLSelectElement).value as Locale, true)}>
                  ${LOCALES.map((l) => html`<option value=${l.code} lang=${l.code} ?selected=${getLocale() === l.code}>${l.name}</option>`)}
                </select>
              </div>
              <fieldset>
                <legend>${msg('Theme')}</legend>
                ${themes.map(
                  ([value, label]) => html`<label><input type="radio" name="theme" value=${value} ?checked=${theme === value}
                    @change=${() => (setTheme(value), this.requestUpdate())} />${label}</label>`,
                )}
              </fieldset>
            </div>
          </section>
          <section class="card danger-zone" id="delete" aria-labelledby="h-delete">
            <h2 id="h-delete">${msg('Delete account')}</h2>
            <p>${msg('Deleting your account removes your projects, posts and sessions. Support tickets stay with the team.')}</p>
            <form novalidate @submit=${this.deleteAccount}>
              ${field({ id: 'delete_password', name: 'password', label: msg('Your password'), type: 'password', autocomplete: 'current-password', error: this.deleteError })}
              <div class="row"><button class="danger" type="submit">${msg('Delete my account')}</button></div>
            </form>
          </section>
        </div>
      </div>
    </div>`;
  }

  /** In-page links: fragment navigation cannot reach into a shadow root, so scroll and focus by hand. */
  private jump(e: Event) {
    e.preventDefault();
    const id = (e.currentTarget as HTMLAnchorElement).getAttribute('href')!.slice(1);
    const target = this.renderRoot.querySelector<HTMLElement>(`#${id}`);
    target?.scrollIntoView({ behavior: matchMedia('(prefers-reduced-motion: reduce)').matches ? 'auto' : 'smooth' });
    const h = target?.querySelector<HTMLElement>('h2');
    if (h) {
      h.tabIndex = -1;
      h.focus({ preventScroll: true });
    }
  }
}
customElements.define('nf-settings', NfSettings);
