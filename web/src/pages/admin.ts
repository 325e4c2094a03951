// The back office: users (search, deactivate, make admin), support tickets (filter, change status),
// the audit log (filters) and status events (post one). One tab per view, in the URL (?tab=).
import { html } from 'lit';
import { live } from 'lit/directives/live.js';
import { msg, str } from '@lit/localize';
import { NfElement, formValues } from '../components/base';
import { field } from '../components/field';
import { CursorList } from '../components/cursor-list';
import { api, auth, read, ProblemError, type Schemas } from '../api/client';
import { patch, post } from '../api/writes';
import { toast } from '../components/toast';
import { confirmDialog } from '../components/dialog';
import { fmtDate } from '../i18n';
import { TICKET_STATUSES, ticketStatusLabel } from './ticket';
import { SERVICE_STATES, stateLabel } from './status-labels';

type User = Schemas['UserOut'];
type Ticket = Schemas['TicketOut'];
type Audit = Schemas['AuditLogOut'];
type Event = Schemas['StatusEventOut'];
const TABS = ['users', 'support', 'audit', 'status'] as const;
type Tab = (typeof TABS)[number];

function fail(err: unknown) {
  toast((err instanceof ProblemError ? err : ProblemError.network()).detail, 'error');
}

export class NfAdmin extends NfElement {
  declare query: URLSearchParams;
  private filters: Record<string, string> = {};
  private debounce: ReturnType<typeof setTimeout> | undefined;
  private users = new CursorList<User>(this, async (cursor) =>
    (await read(api.GET('/api/v1/admin/users', { params: { query: { cursor, q: this.filters.q || undefined, page_size: 25 } } }))).data as never,
  );
  private tickets = new CursorList<Ticket>(this, async (cursor) =>
    (await read(api.GET('/api/v1/support/tickets', { params: { query: { cursor, status: this.filters.status || undefined, q: this.filters.tq || undefined, page_size: 25 } } }))).data as never,
  );
  private audit = new CursorList<Audit>(this, async (cursor) =>
    (await read(api.GET('/api/v1/admin/audit-logs', {
      params: {
        query: {
          cursor,
          action_prefix: this.filters.action || undefined,
          resource_type: this.filters.resource_type || undefined,
          // Whole days in UTC: from the start of `since` to the end of `until`.
          since: this.filters.since ? `${this.filters.since}T00:00:00Z` : undefined,
          until: this.filters.until ? `${this.filters.until}T23:59:59Z` : undefined,
          page_size: 50,
        },
      },
    }))).data as never,
  );
  private events = new CursorList<Event>(this, async (cursor) =>
    (await read(api.GET('/api/v1/status/events', { params: { query: { cursor, page_size: 25 } } }))).data as never,
  );

  get tab(): Tab {
    const t = this.query?.get('tab');
    return (TABS as readonly string[]).includes(t ?? '') ? (t as Tab) : 'users';
  }

  private get current() {
    return { users: this.users, support: this.tickets, audit: this.audit, status: this.events }[this.tab];
  }

  connectedCallback(): void {
    super.connectedCallback();
    void this.current.load(true);
  }

  private filter(key: string, value: string, debounce = false) {
    this.filters[key] = value.trim();
    clearTimeout(this.debounce);
    const run = () => void this.current.load(true);
    if (debounce) this.debounce = setTimeout(run, 250);
    else run();
  }

  private async setUser(u: User, change: { is_active?: boolean; is_admin?: boolean }) {
    if (change.is_active === false) {
      const ok = await confirmDialog({ title: msg(str`Deactivate ${u.email}?`), body: msg('Their sessions end now and they cannot sign in until reactivated.'), confirm: msg('Deactivate'), danger: true });
      if (!ok) return;
    }
    try {
      const r = await patch<User>(`/api/v1/admin/users/${u.id}`, change);
      this.users.update((items) => items.map((x) => (x.id === u.id ? r.data : x)));
      toast(msg(str`${u.email} updated.`));
    } catch (err) {
      fail(err);
    }
  }

  private async setTicketStatus(t: Ticket, status: string) {
    try {
      const r = await patch<Ticket>(`/api/v1/support/tickets/${t.id}`, { status });
      this.tickets.update((items) => items.map((x) => (x.id === t.id ? r.data : x)));
      toast(msg(str`Ticket "${t.subject}" is now ${ticketStatusLabel(status)}.`));
    } catch (err) {
      fail(err);
      this.requestUpdate(); // live() puts the select back on the status the server still has
    }
  }

  private async postEvent(e: SubmitEvent) {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const v = formValues(form);
    if (!/^[a-z0-9][a-z0-9_-]{0,63}$/.test(v.service_id)) {
      toast(msg('The service id uses lowercase letters, digits, - and _.'), 'error');
      return;
    }
    try {
      const r = await post<Event>('/api/v1/status/events', { service_id: v.service_id, status: v.status, description: v.description || null });
      form.reset();
      this.events.update((items) => [r.data, ...items]);
      toast(msg('Status event posted.'));
    } catch (err) {
      fail(err);
    }
  }

  private usersView() {
    const me = auth.user?.id;
    return html`<div class="field" role="search">
        <label for="uq">${msg('Search users by email or name')}</label>
        <input id="uq" type="search" @input=${(e: InputEvent) => this.filter('q', (e.target as HTMLInputElement).value, true)} />
      </div>
      <div class="table-wrap" tabindex="0" role="region" aria-label=${msg('Users')}><table>
        <caption class="sr-only">${msg('Users')}</caption>
        <thead><tr><th scope="col">${msg('User')}</th><th scope="col">${msg('State')}</th><th scope="col">${msg('Joined')}</th><th scope="col">${msg('Actions')}</th></tr></thead>
        <tbody>
          ${this.users.items.map(
            (u) => html`<tr>
              <td><strong>${u.full_name}</strong><br />${u.email}</td>
              <td>${u.is_active ? msg('Active') : msg('Deactivated')}${u.is_admin ? html` · <strong>${msg('Admin')}</strong>` : ''}${u.is_verified ? '' : html` · ${msg('Unverified')}`}</td>
              <td>${fmtDate(u.created_at)}</td>
              <td><div class="row">${u.id === me
                ? html`<span class="muted">${msg('You')}</span>`
                : html`<button class="secondary" aria-label=${u.is_active ? msg(str`Deactivate ${u.email}`) : msg(str`Activate ${u.email}`)} @click=${() => this.setUser(u, { is_active: !u.is_active })}>${u.is_active ? msg('Deactivate') : msg('Activate')}</button>
                    <button class="secondary" aria-label=${u.is_admin ? msg(str`Remove admin rights of ${u.email}`) : msg(str`Make ${u.email} an admin`)} @click=${() => this.setUser(u, { is_admin: !u.is_admin })}>${u.is_admin ? msg('Remove admin') : msg('Make admin')}</button>`}</div></td>
            </tr>`,
          )}
        </tbody>
      </table></div>
      ${this.users.loaded && !this.users.items.length ? html`<p class="empty">${msg('No user matches.')}</p>` : ''}
      ${this.users.footer(msg('Load more users'))}`;
  }

  private supportView() {
    return html`<div class="row">
        <div class="field">
          <label for="ts">${msg('Filter by status')}</label>
          <select id="ts" @change=${(e: InputEvent) => this.filter('status', (e.target as HTMLSelectElement).value)}>
            <option value="">${msg('All statuses')}</option>
            ${TICKET_STATUSES.map((s) => html`<option value=${s}>${ticketStatusLabel(s)}</option>`)}
          </select>
        </div>
        <div class="field" role="search">
          <label for="tq">${msg('Search tickets')}</label>
          <input id="tq" type="search" @input=${(e: InputEvent) => this.filter('tq', (e.target as HTMLInputElement).value, true)} />
        </div>
      </div>
      <ul class="list">
        ${this.tickets.items.map(
          (t) => html`<li class="row spread">
            <div><a href="/support/${t.id}">${t.subject}</a><br /><span class="small muted">${t.email} · ${fmtDate(t.created_at)}</span></div>
            <div class="field">
              <label class="sr-only" for="st-${t.id}">${msg(str`Status of ticket ${t.subject}`)}</label>
              <select id="st-${t.id}" .value=${live(t.status)} @change=${(e: InputEvent) => this.setTicketStatus(t, (e.target as HTMLSelectElement).value)}>
                ${TICKET_STATUSES.map((s) => html`<option value=${s} ?selected=${s === t.status}>${ticketStatusLabel(s)}</option>`)}
              </select>
            </div>
          </li>`,
        )}
      </ul>
      ${this.tickets.loaded && !this.tickets.items.length ? html`<p class="empty">${msg('No tickets.')}</p>` : ''}
      ${this.tickets.footer(msg('Load more tickets'))}`;
  }

  private auditView() {
    return html`<div class="row">
        <div class="field">
          <label for="aa">${msg('Action starts with')}</label>
          <input id="aa" placeholder="auth." @input=${(e: InputEvent) => this.filter('action', (e.target as HTMLInputElement).value, true)} />
        </div>
        <div class="field">
          <label for="ar">${msg('Resource type')}</label>
          <select id="ar" @change=${(e: InputEvent) => this.filter('resource_type', (e.target as HTMLSelectElement).value)}>
            <option value="">${msg('Any')}</option>
            ${['user', 'session', 'project', 'ticket', 'post', 'status_event'].map((r) => html`<option value=${r}>${r}</option>`)}
          </select>
        </div>
        <div class="field">
          <label for="as">${msg('From (UTC)')}</label>
          <input id="as" type="date" @change=${(e: InputEvent) => this.filter('since', (e.target as HTMLInputElement).value)} />
        </div>
        <div class="field">
          <label for="au">${msg('Until (UTC)')}</label>
          <input id="au" type="date" @change=${(e: InputEvent) => this.filter('until', (e.target as HTMLInputElement).value)} />
        </div>
      </div>
      <div class="table-wrap" tabindex="0" role="region" aria-label=${msg('Audit log')}><table>
        <caption class="sr-only">${msg('Audit log')}</caption>
        <thead><tr><th scope="col">${msg('When')}</th><th scope="col">${msg('Action')}</th><th scope="col">${msg('Resource')}</th><th scope="col">${msg('Actor')}</th><th scope="col">${msg('Network')}</th></tr></thead>
        <tbody>
          ${this.audit.items.map(
            (a) => html`<tr>
              <td class="nowrap">${fmtDate(a.created_at)}</td><td class="mono">${a.action}</td>
              <td>${a.resource_type ?? ''} <span class="mono small">${a.resource_id?.slice(0, 8) ?? ''}</span></td>
              <td class="mono small">${a.actor_id?.slice(0, 8) ?? '—'}</td><td class="mono small">${a.ip ?? ''}</td>
            </tr>`,
          )}
        </tbody>
      </table></div>
      ${this.audit.loaded && !this.audit.items.length ? html`<p class="empty">${msg('No entries match.')}</p>` : ''}
      ${this.audit.footer(msg('Load more entries'))}`;
  }

  private statusView() {
    return html`<form novalidate @submit=${this.postEvent} aria-labelledby="ev-title">
        <h2 id="ev-title">${msg('Post a status event')}</h2>
        ${field({ id: 'service_id', label: msg('Service id'), required: true, hint: msg('For example api, database or email.') })}
        <div class="field">
          <label for="ev-status">${msg('State')}</label>
          <select id="ev-status" name="status">${SERVICE_STATES.map((s) => html`<option value=${s}>${stateLabel(s)}</option>`)}</select>
        </div>
        ${field({ id: 'description', label: msg('Description'), maxlength: 1000 })}
        <div class="row"><button type="submit">${msg('Post event')}</button></div>
      </form>
      <h2>${msg('Recent events')}</h2>
      <ul class="list">
        ${this.events.items.map(
          (e) => html`<li><span class="badge s-${e.status}">${stateLabel(e.status)}</span> <strong>${e.service_id}</strong>
            <span class="small muted">· ${fmtDate(e.created_at)}</span>${e.description ? html`<p>${e.description}</p>` : ''}</li>`,
        )}
      </ul>
      ${this.events.loaded && !this.events.items.length ? html`<p class="empty">${msg('No events yet.')}</p>` : ''}
      ${this.events.footer(msg('Load more events'))}`;
  }

  render() {
    const labels: Record<Tab, string> = { users: msg('Users'), support: msg('Support'), audit: msg('Audit log'), status: msg('Status events') };
    return html`<div class="page">
      <h1>${msg('Administration')}</h1>
      <nav aria-label=${msg('Administration sections')}>
        <ul class="row" role="list">
          ${TABS.map((t) => html`<li><a class="button ${t === this.tab ? '' : 'secondary'}" href="/admin?tab=${t}" aria-current=${t === this.tab ? 'page' : 'false'}>${labels[t]}</a></li>`)}
        </ul>
      </nav>
      <section class="card stack" aria-label=${labels[this.tab]}>
        ${{ users: () => this.usersView(), support: () => this.supportView(), audit: () => this.auditView(), status: () => this.statusView() }[this.tab]()}
      </section>
    </div>`;
  }
}
customElements.define('nf-admin', NfAdmin);
