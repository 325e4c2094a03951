// The status page: overall state, each service's latest state, and the recent events.
import { html, css } from 'lit';
import { msg } from '@lit/localize';
import { NfElement } from '../components/base';
import { api, read, type Schemas } from '../api/client';
import { fmtDate } from '../i18n';
import { stateLabel, statusLabel } from './status-labels';

export class NfStatus extends NfElement {
  static properties = { page: { state: true }, events: { state: true }, error: { state: true } };
  declare page: Schemas['StatusPageOut'] | null;
  declare events: Schemas['StatusEventOut'][];
  declare error: string;

  static styles = [
    NfElement.styles,
    css`
      .overall { font-size: var(--nf-text-lg); }
      .overall .badge { font-size: var(--nf-text-md); padding: var(--nf-space-1) var(--nf-space-3); }
    `,
  ];

  constructor() {
    super();
    this.page = null;
    this.events = [];
    this.error = '';
  }

  connectedCallback(): void {
    super.connectedCallback();
    void this.load();
  }

  private async load() {
    try {
      const [page, events] = await Promise.all([
        read(api.GET('/api/v1/status')),
        read(api.GET('/api/v1/status/events', { params: { query: { page_size: 20 } } })),
      ]);
      this.page = page.data;
      this.events = (events.data as { items: Schemas['StatusEventOut'][] }).items;
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  render() {
    const p = this.page;
    return html`<div class="page">
      <h1>${msg('System status')}</h1>
      ${this.error ? html`<p class="alert" role="alert">${this.error}</p>` : ''}
      ${!p && !this.error
        ? html`<div aria-busy="true"><div class="skeleton tall"></div><div class="skeleton tall"></div></div>`
        : p
          ? html`<section class="card overall" aria-label=${msg('Overall status')}>
                <span class="badge s-${p.status}">${statusLabel(p.status)}</span>
                <p class="small muted">${msg('Last update:')} ${fmtDate(p.updated_at)}</p>
              </section>
              <section class="card" aria-labelledby="svc">
                <h2 id="svc">${msg('Services')}</h2>
                ${p.services.length
                  ? html`<ul class="list">
                      ${p.services.map(
                        (s) => html`<li class="row spread">
                          <span><strong>${s.service_id}</strong>${s.description ? html`<br /><span class="small muted">${s.description}</span>` : ''}</span>
                          <span class="badge s-${s.status}">${stateLabel(s.status)}</span>
                        </li>`,
                      )}
                    </ul>`
                  : html`<p class="empty">${msg('No services are reported yet.')}</p>`}
              </section>
              <section class="card" aria-labelledby="ev">
                <h2 id="ev">${msg('Recent events')}</h2>
                ${this.events.length
                  ? html`<ul class="list">
                      ${this.events.map(
                        (e) => html`<li>
                          <span class="badge s-${e.status}">${stateLabel(e.status)}</span> <strong>${e.service_id}</strong>
                          <span class="small muted">· ${fmtDate(e.created_at)}</span>
                          ${e.description ? html`<p>${e.description}</p>` : ''}
                        </li>`,
                      )}
                    </ul>`
                  : html`<p class="empty">${msg('No events yet.')}</p>`}
              </section>`
          : ''}
    </div>`;
  }
}
customElements.define('nf-status', NfStatus);
