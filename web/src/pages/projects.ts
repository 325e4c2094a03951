// The caller's projects: search (debounced), sort, cursor scrolling, and a create form.
import { html, css } from 'lit';
import { msg, str } from '@lit/localize';
import { NfElement, formValues } from '../components/base';
import { field } from '../components/field';
import { CursorList } from '../components/cursor-list';
import { api, read, ProblemError, type Schemas } from '../api/client';
import { post } from '../api/writes';
import { outbox, sync } from '../offline';
import { overlay, type OutboxEvent } from '../offline/outbox';
import { toast } from '../components/toast';
import { fmtDate } from '../i18n';
import type { FieldErrors } from '../api/problem';

type Project = Schemas['ProjectOut'];
const COLLECTION = '/api/v1/projects';
export const SORTS = ['-created_at', 'created_at', '-updated_at', 'updated_at', 'name', '-name'] as const;
type Sort = (typeof SORTS)[number];

export class NfProjects extends NfElement {
  static properties = { creating: { state: true }, errors: { state: true }, busy: { state: true } };
  declare creating: boolean;
  declare errors: FieldErrors;
  declare busy: boolean;
  private q = '';
  private sort: Sort = '-created_at';
  private debounce: ReturnType<typeof setTimeout> | undefined;
  private list = new CursorList<Project>(this, async (cursor) =>
    (await read(api.GET('/api/v1/projects', { params: { query: { cursor, q: this.q || undefined, sort: this.sort, page_size: 20 } } }))).data as never,
  );

  static styles = [
    NfElement.styles,
    css`
      .tools { display: grid; grid-template-columns: 1fr auto; gap: var(--nf-space-3); margin-bottom: var(--nf-space-4); align-items: end; }
      @media (max-width: 30rem) { .tools { grid-template-columns: 1fr; } }
      .item a { font-weight: 600; font-size: var(--nf-text-md); }
      .item p { margin: var(--nf-space-1) 0 0; }
    `,
  ];

  constructor() {
    super();
    this.creating = false;
    this.errors = {};
    this.busy = false;
  }

  connectedCallback(): void {
    super.connectedCallback();
    void this.list.load(true);
    sync.addEventListener('change', this.onSync);
  }

  disconnectedCallback(): void {
    sync.removeEventListener('change', this.onSync);
    super.disconnectedCallback();
  }

  /** The outbox changed: redraw the pending marks; a replayed write → the server's list again. */
  private onSync = (ev: Event) => {
    const e = (ev as CustomEvent<OutboxEvent>).detail;
    if (e?.type === 'done' && e.entry.collection === COLLECTION) void this.list.load(true);
    else this.requestUpdate();
  };

  private sortLabel(s: Sort): string {
    return {
      '-created_at': msg('Newest first'),
      created_at: msg('Oldest first'),
      '-updated_at': msg('Recently updated'),
      updated_at: msg('Least recently updated'),
      name: msg('Name A–Z'),
      '-name': msg('Name Z–A'),
    }[s];
  }

  private onSearch(e: InputEvent) {
    this.q = (e.target as HTMLInputElement).value.trim();
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.list.load(true), 250);
  }

  private onSort(e: Event) {
    this.sort = (e.target as HTMLSelectElement).value as Sort;
    void this.list.load(true);
  }

  private async create(e: SubmitEvent) {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const v = formValues(form);
    if (!v.name) {
      this.errors = { name: msg('Give the project a name.') };
      return;
    }
    this.errors = {};
    this.busy = true;
    try {
      const r = await post<Project>('/api/v1/projects', { name: v.name, description: v.description || null });
      form.reset();
      this.creating = false;
      if (r.pending) {
        this.requestUpdate(); // shown from the outbox, marked pending
        toast(msg(str`Project "${r.data.name}" saved on this device. It will sync when the server can be reached.`), 'info');
      } else {
        this.list.update((items) => [r.data, ...items]);
        toast(msg(str`Project "${r.data.name}" created.`));
      }
    } catch (err) {
      const p = err instanceof ProblemError ? err : ProblemError.network();
      this.errors = p.fields;
      if (!Object.keys(p.fields).length) toast(p.detail, 'error');
    } finally {
      this.busy = false;
    }
  }

  /** The server's items with the outbox applied (pending creates first, edits merged, deletes gone). */
  private shown() {
    const entries = outbox()?.entries ?? [];
    return overlay(this.list.items, this.q ? [] : entries, COLLECTION) as (Project & { _pending?: boolean; _conflict?: boolean })[];
  }

  render() {
    const l = this.list;
    return html`<div class="page">
      <div class="row spread">
        <h1>${msg('Projects')}</h1>
        <button aria-expanded=${this.creating ? 'true' : 'false'} aria-controls="new" @click=${() => (this.creating = !this.creating)}>
          ${this.creating ? msg('Close the form') : msg('New project')}
        </button>
      </div>
      ${this.creating
        ? html`<section class="card" id="new" aria-labelledby="new-title">
            <h2 id="new-title">${msg('New project')}</h2>
            <form novalidate @submit=${this.create}>
              ${field({ id: 'name', label: msg('Name'), required: true, maxlength: 200, error: this.errors.name })}
              ${field({ id: 'description', label: msg('Description'), multiline: true, maxlength: 5000, error: this.errors.description })}
              <div class="row"><button type="submit" ?disabled=${this.busy}>${msg('Create project')}</button></div>
            </form>
          </section>`
        : ''}
      <div class="tools" role="search">
        <div class="field">
          <label for="q">${msg('Search projects')}</label>
          <input id="q" type="search" .value=${this.q} @input=${this.onSearch} />
        </div>
        <div class="field">
          <label for="sort">${msg('Sort by')}</label>
          <select id="sort" @change=${this.onSort}>
            ${SORTS.map((s) => html`<option value=${s} ?selected=${s === this.sort}>${this.sortLabel(s)}</option>`)}
          </select>
        </div>
      </div>
      <section class="card" aria-label=${msg('Your projects')} aria-busy=${l.loading ? 'true' : 'false'}>
        ${l.loaded && !this.shown().length
          ? html`<div class="empty">
              <p>${this.q ? msg('No project matches this search.') : msg('No projects yet. Create your first one.')}</p>
            </div>`
          : html`<ul class="list">
              ${this.shown().map(
                (p) => html`<li class="item">
                  <a href="/projects/${p.id}">${p.name}</a>
                  ${p._pending ? html` <span class="badge s-pending">${p._conflict ? msg('Conflict') : msg('Pending sync')}</span>` : ''}
                  ${p.description ? html`<p class="muted">${p.description.slice(0, 160)}</p>` : ''}
                  <p class="small muted">${msg(str`Updated ${fmtDate(p.updated_at)}`)}</p>
                </li>`,
              )}
            </ul>`}
        ${l.footer(msg('Load more projects'))}
      </section>
    </div>`;
  }
}
customElements.define('nf-projects', NfProjects);
