// The shell: skip link, header navigation, the routed page in <main>, toasts. It owns the Router and
// enforces each route's access rule once the session restore is over.
import { html, css } from 'lit';
import { msg } from '@lit/localize';
import { NfElement } from './base';
import { auth } from '../api/client';
import { Router, type Route } from '../router';
import { routes, notFound } from '../routes';
import { applyTheme, setTheme, watchSystemTheme } from '../theme';
import './toast';
import './sync-ui';
import { toast } from './toast';

interface PageElement extends HTMLElement {
  params?: Record<string, string>;
  query?: URLSearchParams;
  updateComplete?: Promise<unknown>;
}

export class NfApp extends NfElement {
  static properties = { page: { state: true }, dark: { state: true } };
  declare page: PageElement | null;
  declare dark: boolean;
  private readonly router = new Router(routes);
  /** The tab's session, reachable from the page for diagnostics and the browser tests. */
  readonly auth = auth;
  private first = true;
  private seq = 0;

  static styles = [
    NfElement.styles,
    css`
      :host { display: flex; flex-direction: column; min-height: 100vh; }
      .skip { position: absolute; left: var(--nf-space-2); top: -4rem; z-index: 60; background: var(--nf-surface); padding: var(--nf-space-2) var(--nf-space-3); border-radius: var(--nf-radius); }
      .skip:focus { top: var(--nf-space-2); }
      header { background: var(--nf-surface); border-bottom: 1px solid var(--nf-border); }
      .bar { max-width: var(--nf-max); margin: 0 auto; padding: var(--nf-space-2) var(--nf-space-4); display: flex; gap: var(--nf-space-3) var(--nf-space-6); align-items: center; flex-wrap: wrap; }
      .brand { font-weight: 800; font-size: var(--nf-text-lg); color: var(--nf-text); text-decoration: none; display: inline-flex; gap: var(--nf-space-2); align-items: center; }
      .logo { width: 1.75rem; height: 1.75rem; }
      nav ul { list-style: none; display: flex; flex-wrap: wrap; gap: var(--nf-space-1) var(--nf-space-4); margin: 0; padding: 0; }
      nav a { color: var(--nf-text); text-decoration: none; font-weight: 500; padding: var(--nf-space-1) 0; border-bottom: 2px solid transparent; }
      nav a:hover { color: var(--nf-primary); }
      nav a[aria-current='page'] { border-bottom-color: var(--nf-primary); color: var(--nf-primary); }
      .end { margin-left: auto; display: flex; gap: var(--nf-space-2); align-items: center; flex-wrap: wrap; }
      .icon { min-width: 2.5rem; padding: 0 var(--nf-space-2); }
      main { flex: 1; outline: none; }
      footer { border-top: 1px solid var(--nf-border); color: var(--nf-muted); font-size: var(--nf-text-sm); }
      footer .bar { justify-content: space-between; }
      @media (max-width: 40rem) {
        .end { margin-left: 0; width: 100%; }
        .bar { gap: var(--nf-space-2) var(--nf-space-4); }
      }
    `,
  ];

  constructor() {
    super();
    this.page = null;
    this.dark = applyTheme() === 'dark';
  }

  connectedCallback(): void {
    super.connectedCallback();
    watchSystemTheme();
    window.addEventListener('nf-theme', () => (this.dark = document.documentElement.dataset.theme === 'dark'));
    this.addEventListener('nf-navigate', (e) => {
      const { to, replace } = (e as CustomEvent<{ to: string; replace: boolean }>).detail;
      this.router.navigate(to, { replace });
    });
    this.router.addEventListener('change', () => void this.show());
    auth.addEventListener('change', () => {
      this.requestUpdate();
      // Signed out (here or in another tab) while on a private page: back to sign-in.
      const access = this.router.current?.route.access;
      if (!auth.signedIn && (access === 'user' || access === 'admin')) this.router.navigate('/login', { replace: true });
    });
    this.router.start();
  }

  private async show(): Promise<void> {
    const seq = ++this.seq;
    await auth.ready;
    const current = this.router.current;
    let route: Route = current?.route ?? notFound;
    const url = current?.url ?? new URL(location.href);
    if (route.access === 'user' && !auth.signedIn) {
      this.router.navigate(`/login?next=${encodeURIComponent(url.pathname + url.search)}`, { replace: true });
      return;
    }
    if (route.access === 'admin' && !auth.isAdmin) {
      if (!auth.signedIn) {
        this.router.navigate(`/login?next=${encodeURIComponent(url.pathname)}`, { replace: true });
        return;
      }
      route = notFound;
    }
    if (route.access === 'anon' && auth.signedIn) {
      this.router.navigate(url.searchParams.get('next') ?? '/projects', { replace: true });
      return;
    }
    try {
      await route.load();
    } catch {
      toast(msg('This page could not be loaded. Check your connection.'), 'error');
      return;
    }
    if (seq !== this.seq) return; // a later navigation won
    const el = document.createElement(route.tag) as PageElement;
    el.params = current && route !== notFound ? current.params : {};
    el.query = url.searchParams;
    this.page = el;
    document.title = `${route.title()} · NeoForge`;
    await this.updateComplete;
    await el.updateComplete;
    if (this.first) {
      this.first = false;
    } else {
      window.scrollTo(0, 0);
      // Move focus to the new page's heading so screen readers announce the navigation.
      const h1 = el.shadowRoot?.querySelector('h1');
      if (h1) {
        h1.tabIndex = -1;
        h1.focus();
      } else this.main?.focus();
    }
  }

  private get main(): HTMLElement | null {
    return this.renderRoot.querySelector('main');
  }

  private skip(e: Event) {
    e.preventDefault();
    const h1 = this.page?.shadowRoot?.querySelector('h1');
    if (h1) {
      h1.tabIndex = -1;
      h1.focus();
    } else this.main?.focus();
  }

  private async signOut() {
    await auth.logout();
    toast(msg('You are signed out.'));
    this.router.navigate('/');
  }

  private link(href: string, label: string) {
    const path = this.router.current?.url.pathname ?? location.pathname;
    const current = href === '/' ? path === '/' : path === href || path.startsWith(href + '/');
    return html`<li><a href=${href} aria-current=${current ? 'page' : 'false'}>${label}</a></li>`;
  }

  render() {
    const u = auth.user;
    return html`
      <a class="skip" href="#main" @click=${this.skip}>${msg('Skip to content')}</a>
      <header>
        <div class="bar">
          <a class="brand" href="/" aria-label=${msg('NeoForge home')}>
            <svg class="logo" viewBox="0 0 512 512" aria-hidden="true"><rect width="512" height="512" rx="96" fill="#4f46e5"></rect><path d="M150 370V142h44l124 160V142h44v228h-44L194 210v160z" fill="#fff"></path></svg>
            NeoForge
          </a>
          <nav aria-label=${msg('Main')}>
            <ul>
              ${u ? this.link('/projects', msg('Projects')) : ''} ${this.link('/community', msg('Community'))}
              ${this.link('/support', msg('Support'))} ${this.link('/status', msg('Status'))}
              ${u?.is_admin ? this.link('/admin', msg('Admin')) : ''}
            </ul>
          </nav>
          <div class="end">
            <button class="secondary icon" aria-label=${this.dark ? msg('Switch to light theme') : msg('Switch to dark theme')}
              @click=${() => setTheme(this.dark ? 'light' : 'dark')}>${this.dark ? '☀' : '☾'}</button>
            ${u
              ? html`<a class="button secondary" href="/settings">${msg('Settings')}</a>
                  <button @click=${this.signOut}>${msg('Sign out')}</button>`
              : html`<a class="button secondary" href="/login">${msg('Sign in')}</a>
                  <a class="button" href="/register">${msg('Create account')}</a>`}
          </div>
        </div>
      </header>
      <nf-offline-banner></nf-offline-banner>
      <main id="main" tabindex="-1">${this.page ?? html`<div class="page" aria-busy="true"><div class="skeleton tall"></div></div>`}</main>
      <footer>
        <div class="bar">
          <span>© NeoForge</span>
          <span><a href="/status">${msg('Status')}</a> · <a href="/docs">${msg('API documentation')}</a></span>
        </div>
      </footer>
      <nf-toasts></nf-toasts>
    `;
  }
}
customElements.define('nf-app', NfApp);
