// Landing: what NeoForge is, the two ways in, and the live overall status (polled while visible).
import { html, css } from 'lit';
import { msg } from '@lit/localize';
import { NfElement } from '../components/base';
import { api, auth, read, type Schemas } from '../api/client';
import { statusLabel } from './status-labels';

export class NfLanding extends NfElement {
  static properties = { status: { state: true } };
  declare status: Schemas['StatusPageOut'] | null | 'error';
  private timer: ReturnType<typeof setInterval> | undefined;

  static styles = [
    NfElement.styles,
    css`
      .hero { padding: var(--nf-space-12) 0 var(--nf-space-8); display: grid; gap: var(--nf-space-4); }
      .hero h1 { font-size: var(--nf-text-2xl); max-width: 40rem; }
      .lead { font-size: var(--nf-text-lg); color: var(--nf-muted); max-width: 42rem; }
      .features h2 { font-size: var(--nf-text-md); }
      .status-link { text-decoration: none; }
    `,
  ];

  constructor() {
    super();
    this.status = null;
  }

  connectedCallback(): void {
    super.connectedCallback();
    void this.load();
    this.timer = setInterval(() => document.visibilityState === 'visible' && void this.load(), 60_000);
  }

  disconnectedCallback(): void {
    clearInterval(this.timer);
    super.disconnectedCallback();
  }

  private async load() {
    try {
      this.status = (await read(api.GET('/api/v1/status'))).data;
    } catch {
      this.status = 'error';
    }
  }

  private badge() {
    const s = this.status;
    if (s === null) return html`<span class="badge s-unknown" aria-busy="true">${msg('Checking status…')}</span>`;
    if (s === 'error') return html`<span class="badge s-down">${msg('Status unavailable')}</span>`;
    return html`<a class="status-link" href="/status"><span class="badge s-${s.status}">${statusLabel(s.status)}</span></a>`;
  }

  render() {
    const features = [
      [msg('Accounts'), msg('Sign-up with email verification, two-factor sign-in and a list of your sessions.')],
      [msg('Projects'), msg('Your private workspace: create, search and edit projects.')],
      [msg('Support desk'), msg('A contact form with a back office for the team.')],
      [msg('Community'), msg('A public board where members share posts.')],
    ];
    return html`<div class="page">
      <section class="hero">
        <div class="row">${this.badge()}</div>
        <h1>${msg('Your SaaS, ready on day one')}</h1>
        <p class="lead">${msg('NeoForge gives you accounts, projects, a support desk, a community board and a status page in one fast, secure app.')}</p>
        <div class="row">
          ${auth.signedIn
            ? html`<a class="button" href="/projects">${msg('Open your projects')}</a>`
            : html`<a class="button" href="/register">${msg('Create an account')}</a>
                <a class="button secondary" href="/login">${msg('Sign in')}</a>`}
        </div>
      </section>
      <section class="grid features" aria-label=${msg('Features')}>
        ${features.map(([t, d]) => html`<div class="card"><h2>${t}</h2><p class="muted">${d}</p></div>`)}
      </section>
    </div>`;
  }
}
customElements.define('nf-landing', NfLanding);
