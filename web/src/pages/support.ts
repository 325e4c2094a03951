// Support: the contact form (anonymous allowed: it then asks for an email and needs a connection) and,
// for a signed-in user, their tickets with their status.
import { html } from 'lit';
import { msg, str } from '@lit/localize';
import { NfElement, formValues } from '../components/base';
import { field } from '../components/field';
import { CursorList } from '../components/cursor-list';
import { api, auth, read, ProblemError, type Schemas } from '../api/client';
import { post } from '../api/writes';
import { toast } from '../components/toast';
import { fmtDate } from '../i18n';
import type { FieldErrors } from '../api/problem';
import { ticketStatusLabel } from './ticket';
import { net } from '../offline/net';

type Ticket = Schemas['TicketOut'];

export class NfSupport extends NfElement {
  static properties = { errors: { state: true }, busy: { state: true }, sent: { state: true } };
  declare errors: FieldErrors;
  declare busy: boolean;
  declare sent: Ticket | null;
  private list = new CursorList<Ticket>(this, async (cursor) =>
    (await read(api.GET('/api/v1/support/tickets', { params: { query: { cursor, page_size: 20 } } }))).data as never,
  );

  constructor() {
    super();
    this.errors = {};
    this.busy = false;
    this.sent = null;
  }

  connectedCallback(): void {
    super.connectedCallback();
    if (auth.signedIn) void this.list.load(true);
    net.addEventListener('change', this.redraw);
  }

  disconnectedCallback(): void {
    net.removeEventListener('change', this.redraw);
    super.disconnectedCallback();
  }

  private redraw = () => this.requestUpdate();

  private async submit(e: SubmitEvent) {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const v = formValues(form);
    const errors: FieldErrors = {};
    if (!auth.signedIn && !v.email) errors.email = msg('Enter your email address so we can answer.');
    if (!v.subject) errors.subject = msg('Enter a subject.');
    if (!v.message) errors.message = msg('Enter a message.');
    this.errors = errors;
    if (Object.keys(errors).length) return;
    this.busy = true;
    try {
      const body: Record<string, string> = { subject: v.subject, message: v.message };
      if (!auth.signedIn) body.email = v.email;
      const r = await post<Ticket>('/api/v1/support/tickets', body);
      form.reset();
      this.sent = r.data;
      if (auth.signedIn) this.list.update((items) => [r.data, ...items]);
      toast(msg('Your message was sent. We will answer by email.'));
    } catch (err) {
      const p = err instanceof ProblemError ? err : ProblemError.network();
      this.errors = p.fields;
      if (p.status === 0) toast(msg('Sending needs a connection. Your text is still in the form: try again when you are online.'), 'error');
      else if (!Object.keys(p.fields).length) toast(p.detail, 'error');
    } finally {
      this.busy = false;
    }
  }

  render() {
    const signedIn = auth.signedIn;
    return html`<div class="page">
      <h1>${msg('Support')}</h1>
      <p class="muted">${msg('Questions, bugs, ideas: write to us and the team answers by email.')}</p>
      <section class="card" aria-labelledby="contact">
        <h2 id="contact">${msg('Contact us')}</h2>
        ${this.sent ? html`<p class="note" role="status">${msg(str`Ticket "${this.sent.subject}" received.`)}</p>` : ''}
        ${net.online
          ? signedIn ? '' : html`<p class="hint">${msg('Sending this form needs a connection.')}</p>`
          : html`<p class="note" role="status">${msg('You are offline. Sending this form needs a connection: it is not kept for later, so send it once you are back online.')}</p>`}
        <form novalidate @submit=${this.submit}>
          ${signedIn ? '' : field({ id: 'email', label: msg('Your email'), type: 'email', autocomplete: 'email', required: true, error: this.errors.email })}
          ${field({ id: 'subject', label: msg('Subject'), required: true, maxlength: 200, error: this.errors.subject })}
          ${field({ id: 'message', label: msg('Message'), multiline: true, required: true, maxlength: 10000, error: this.errors.message })}
          <div class="row"><button type="submit" ?disabled=${this.busy}>${this.busy ? msg('Sending…') : msg('Send message')}</button></div>
        </form>
      </section>
      ${signedIn
        ? html`<section class="card" aria-labelledby="mine">
            <h2 id="mine">${msg('Your tickets')}</h2>
            ${this.list.loaded && !this.list.items.length
              ? html`<p class="empty">${msg('You have no tickets yet.')}</p>`
              : html`<ul class="list">
                  ${this.list.items.map(
                    (t) => html`<li class="row spread">
                      <span><a href="/support/${t.id}">${t.subject}</a><br /><span class="small muted">${fmtDate(t.created_at)}</span></span>
                      <span class="badge s-${t.status}">${ticketStatusLabel(t.status)}</span>
                    </li>`,
                  )}
                </ul>`}
            ${this.list.footer(msg('Load more tickets'))}
          </section>`
        : ''}
    </div>`;
  }
}
customElements.define('nf-support', NfSupport);
