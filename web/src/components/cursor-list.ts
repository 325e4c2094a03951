// Cursor pagination state for a list page (api.md §3): first page with `cursor=`, then next_cursor.
// Pages render `items`, a skeleton while the first page loads, an empty state, and a "Load more" button
// (keyboard users) that an IntersectionObserver also presses when it scrolls into view.
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { html } from 'lit';
import { msg } from '@lit/localize';
import { ProblemError } from '../api/problem';

export interface CursorPage<T> {
  items: T[];
  next_cursor?: string | null;
  has_more: boolean;
}

export class CursorList<T> implements ReactiveController {
  items: T[] = [];
  loading = false;
  loaded = false;
  error: string | null = null;
  private next: string | null = null;
  private hasMore = false;
  private seq = 0;
  private observer: IntersectionObserver | null = null;
  private readonly host: ReactiveControllerHost & HTMLElement;
  private readonly fetchPage: (cursor: string) => Promise<CursorPage<T>>;

  constructor(host: ReactiveControllerHost & HTMLElement, fetchPage: (cursor: string) => Promise<CursorPage<T>>) {
    this.host = host;
    this.fetchPage = fetchPage;
    host.addController(this);
  }

  get more(): boolean {
    return this.hasMore;
  }

  hostDisconnected(): void {
    this.observer?.disconnect();
  }

  hostUpdated(): void {
    const sentinel = this.host.shadowRoot?.querySelector('.sentinel');
    if (!sentinel || typeof IntersectionObserver === 'undefined') return;
    this.observer ??= new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting) && this.hasMore && !this.loading) void this.load();
    }, { rootMargin: '200px' });
    this.observer.disconnect();
    this.observer.observe(sentinel);
  }

  /** Loads the next page, or the first one again when `reset` (a new search or sort). */
  async load(reset = false): Promise<void> {
    const seq = reset ? ++this.seq : this.seq;
    if (reset) {
      this.next = null;
      this.loaded = false;
    }
    this.loading = true;
    this.error = null;
    this.host.requestUpdate();
    try {
      const page = await this.fetchPage(reset || !this.next ? '' : this.next);
      if (seq !== this.seq) return; // a newer search replaced this one
      this.items = reset || !this.loaded ? page.items : [...this.items, ...page.items];
      this.next = page.next_cursor ?? null;
      this.hasMore = page.has_more && this.next !== null;
      this.loaded = true;
    } catch (e) {
      if (seq !== this.seq) return;
      this.error = e instanceof ProblemError ? e.detail : String(e);
    } finally {
      if (seq === this.seq) this.loading = false;
      this.host.requestUpdate();
    }
  }

  /** Replace or drop one item in place (after an edit or delete). */
  update(fn: (items: T[]) => T[]): void {
    this.items = fn(this.items);
    this.host.requestUpdate();
  }

  /** Skeleton, error with retry, or the "Load more" footer. */
  footer(label: string) {
    if (this.error)
      return html`<p class="alert" role="alert">${this.error}
          <button class="secondary" @click=${() => this.load(!this.loaded)}>${msg('Try again')}</button></p>`;
    if (!this.loaded) return html`<div aria-busy="true" aria-label=${msg('Loading')}>${[1, 2, 3].map(() => html`<div class="skeleton tall"></div>`)}</div>`;
    if (!this.hasMore) return '';
    return html`<div class="row sentinel">
      <button class="secondary" ?disabled=${this.loading} @click=${() => this.load()}>${this.loading ? msg('Loading…') : label}</button>
    </div>`;
  }
}
