// The user's sessions: device, address, last use, "this device"; rename, revoke (a confirm step names
// the device) and revoke all others.
import { html } from 'lit';
import { msg, str } from '@lit/localize';
import { NfElement, formValues } from '../components/base';
import { api, auth, read, ProblemError, type Schemas } from '../api/client';
import { patch, post } from '../api/writes';
import { toast } from '../components/toast';
import { confirmDialog } from '../components/dialog';
import { fmtDate } from '../i18n';

type Session = Schemas['SessionOut'];

export class NfSessions extends NfElement {
  static properties = { sessions: { state: true }, renaming: { state: true }, error: { state: true } };
  declare sessions: Session[] | null;
  declare renaming: string | null;
  declare error: string;

  constructor() {
    super();
    this.sessions = null;
    this.renaming = null;
    this.error = '';
  }

  connectedCallback(): void {
    super.connectedCallback();
    void this.load();
  }

  private async load() {
    try {
      const r = await read(api.GET('/api/v1/auth/sessions', { params: { query: { page_size: 100 } } }));
      this.sessions = (r.data as { items: Session[] }).items.filter((s) => !s.revoked_at);
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  private fail(err: unknown) {
    toast((err instanceof ProblemError ? err : ProblemError.network()).detail, 'error');
  }

  private async rename(e: SubmitEvent, s: Session) {
    e.preventDefault();
    const { device_name } = formValues(e.target as HTMLFormElement);
    if (!device_name) return;
    try {
      await patch(`/api/v1/auth/sessions/${s.id}`, { device_name });
      this.renaming = null;
      toast(msg('Session renamed.'));
      await this.load();
    } catch (err) {
      this.fail(err);
    }
  }

  private async revoke(s: Session) {
    const ok = await confirmDialog({
      title: msg(str`Sign out "${s.device_name}"?`),
      body: s.is_current ? msg('This is the device you are using: you will be signed out here.') : msg(str`The device "${s.device_name}" will have to sign in again.`),
      confirm: msg('Revoke session'),
      danger: true,
    });
    if (!ok) return;
    try {
      await post(`/api/v1/auth/sessions/${s.id}/revoke`);
      if (s.is_current) {
        auth.forget();
        this.go('/login');
        return;
      }
      toast(msg(str`"${s.device_name}" is signed out.`));
      await this.load();
    } catch (err) {
      this.fail(err);
    }
  }

  private async revokeOthers() {
    const ok = await confirmDialog({
      title: msg('Sign out every other device?'),
      body: msg('Every session except this one ends now.'),
      confirm: msg('Revoke all other sessions'),
      danger: true,
    });
    if (!ok) return;
    try {
      const r = await post<{ revoked_count: number }>('/api/v1/auth/sessions/revoke-others', {});
      toast(msg(str`${r.data.revoked_count} other sessions signed out.`));
      await this.load();
    } catch (err) {
      this.fail(err);
    }
  }

  render() {
    if (this.error) return html`<p class="alert" role="alert">${this.error}</p>`;
    if (!this.sessions) return html`<div aria-busy="true"><div class="skeleton tall"></div><div class="skeleton tall"></div></div>`;
    return html`<ul class="list" aria-label=${msg('Active sessions')}>
        ${this.sessions.map(
          (s) => html`<li>
            ${this.renaming === s.id
              ? html`<form class="row" @submit=${(e: SubmitEvent) => this.rename(e, s)}>
                  <label class="sr-only" for="rename-${s.id}">${msg('Device name')}</label>
                  <input id="rename-${s.id}" name="device_name" maxlength="100" .value=${s.device_name} />
                  <button type="submit">${msg('Save name')}</button>
                  <button type="button" class="secondary" @click=${() => (this.renaming = null)}>${msg('Cancel')}</button>
                </form>`
              : html`<div class="row spread">
                  <div>
                    <strong>${s.device_name}</strong>
                    ${s.is_current ? html`<span class="badge s-operational">${msg('This device')}</span>` : ''}
                    <p class="small muted">${s.ip_address ?? ''} · ${msg(str`Last used ${fmtDate(s.last_used_at)}`)} · ${msg(str`Signed in ${fmtDate(s.created_at)}`)}</p>
                  </div>
                  <div class="row">
                    <button class="secondary" aria-label=${msg(str`Rename session ${s.device_name}`)} @click=${() => (this.renaming = s.id)}>${msg('Rename')}</button>
                    <button class="danger" aria-label=${msg(str`Revoke session ${s.device_name}`)} @click=${() => this.revoke(s)}>${msg('Revoke')}</button>
                  </div>
                </div>`}
          </li>`,
        )}
      </ul>
      ${this.sessions.length > 1 ? html`<div class="row"><button class="secondary" @click=${this.revokeOthers}>${msg('Revoke all other sessions')}</button></div>` : ''}`;
  }
}
customElements.define('nf-sessions', NfSessions);
