// One ticket of the signed-in user (or any, for an admin): its text and status; the owner may close it.
import { html } from 'lit';
import { msg } from '@lit/localize';
import { NfElement } from '../components/base';
import { api, read, ProblemError, type Schemas } from '../api/client';
import { patch } from '../api/writes';
import { toast } from '../components/toast';
import { confirmDialog } from '../components/dialog';
import { fmtDate } from '../i18n';

type Ticket = Schemas['TicketOut'];
export const TICKET_STATUSES = ['open', 'pending', 'resolved', 'closed'] as const;

export function ticketStatusLabel(s: string): string {
  switch (s) {
    case 'open':
      return msg('Open');
    case 'pending':
      return msg('Pending');
    case 'resolved':
      return msg('Resolved');
    case 'closed':
      return msg('Closed');
    default:
      return s;
  }
}

export class NfTicket extends NfElement {
  static properties = { ticket: { state: true }, error: { state: true } };
  declare ticket: Ticket | null;
  declare error: string;
  declare params: { id: string };
  private etag: string | null = null;

  constructor() {
    super();
    this.ticket = null;
    this.error = '';
  }

  connectedCallback(): void {
    super.connectedCallback();
    void this.load();
  }

  private async load() {
    try {
      const r = await read(api.GET('/api/v1/support/tickets/{id}', { params: { path: { id: this.params.id } } }));
      this.ticket = r.data;
      this.etag = r.etag;
    } catch (e) {
      const p = e as ProblemError;
      this.error = p.status === 404 ? msg('This ticket does not exist.') : p.detail;
    }
  }

  private async close() {
    const ok = await confirmDialog({ title: msg('Close this ticket?'), body: msg('A closed ticket cannot be edited any more.'), confirm: msg('Close ticket') });
    if (!ok) return;
    try {
      const r = await patch<Ticket>(`/api/v1/support/tickets/${this.ticket!.id}`, { status: 'closed' }, this.etag);
      this.ticket = r.data;
      this.etag = r.etag;
      toast(msg('Ticket closed.'));
    } catch (err) {
      toast((err instanceof ProblemError ? err : ProblemError.network()).detail, 'error');
      await this.load();
    }
  }

  render() {
    if (this.error) return html`<div class="page narrow"><h1>${msg('Ticket not found')}</h1><p>${this.error}</p><a href="/support">${msg('Back to support')}</a></div>`;
    const t = this.ticket;
    if (!t) return html`<div class="page" aria-busy="true"><div class="skeleton tall"></div><div class="skeleton"></div></div>`;
    return html`<div class="page">
      <p><a href="/support">← ${msg('Support')}</a></p>
      <article class="card">
        <div class="row spread"><h1>${t.subject}</h1><span class="badge s-${t.status}">${ticketStatusLabel(t.status)}</span></div>
        <p class="small muted">${fmtDate(t.created_at)} · ${t.email}</p>
        <pre class="text">${t.message}</pre>
        ${t.status !== 'closed' ? html`<div class="row"><button class="secondary" @click=${this.close}>${msg('Close ticket')}</button></div>` : ''}
      </article>
    </div>`;
  }
}
customElements.define('nf-ticket', NfTicket);
