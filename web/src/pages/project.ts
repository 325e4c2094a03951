// One project: view, edit (If-Match with the ETag that was loaded, so a concurrent change is a 412 and
// never a silent overwrite) and delete behind a confirm step.
import { html } from 'lit';
import { msg, str } from '@lit/localize';
import { NfElement, formValues } from '../components/base';
import { field } from '../components/field';
import { api, read, ProblemError, type Schemas } from '../api/client';
import { patch, del } from '../api/writes';
import { toast } from '../components/toast';
import { confirmDialog } from '../components/dialog';
import { fmtDate } from '../i18n';
import type { FieldErrors } from '../api/problem';
import { outbox, sync } from '../offline';
import { overlayOne, type OutboxEvent } from '../offline/outbox';
import { isTmp } from '../offline/resources';

type Project = Schemas['ProjectOut'] & { _pending?: boolean; _conflict?: boolean };

export class NfProject extends NfElement {
  static properties = { project: { state: true }, error: { state: true }, editing: { state: true }, errors: { state: true }, busy: { state: true } };
  declare project: Project | null;
  declare error: string;
  declare editing: boolean;
  declare errors: FieldErrors;
  declare busy: boolean;
  declare params: { id: string };
  private etag: string | null = null;
  /** The server's version (null for a create still in the outbox); `project` is it with the queue applied. */
  private server: Project | null = null;

  constructor() {
    super();
    this.project = null;
    this.error = '';
    this.editing = false;
    this.errors = {};
    this.busy = false;
  }

  connectedCallback(): void {
    super.connectedCallback();
    void this.load();
    sync.addEventListener('change', this.onSync);
  }

  disconnectedCallback(): void {
    sync.removeEventListener('change', this.onSync);
    super.disconnectedCallback();
  }

  private get itemUrl(): string {
    return `/api/v1/projects/${this.params.id}`;
  }

  private onSync = (ev: Event) => {
    const e = (ev as CustomEvent<OutboxEvent>).detail;
    if (e?.type === 'done' && e.entry.item === this.itemUrl) {
      // The create reached the server: this page now lives at the real id.
      if (e.entry.kind === 'create' && typeof e.data?.id === 'string') this.go(`/projects/${e.data.id}`, true);
      else if (e.entry.kind !== 'delete' && !this.editing) void this.load();
      return;
    }
    this.applyQueue();
  };

  private applyQueue(): boolean {
    const shown = overlayOne(this.server, outbox()?.entries ?? [], this.itemUrl);
    if (shown) {
      this.project = shown as Project;
      this.error = '';
    }
    return shown !== null;
  }

  private async load() {
    if (isTmp(this.params.id)) {
      if (!this.applyQueue()) this.error = msg('This project does not exist or was deleted.');
      return;
    }
    try {
      const r = await read(api.GET('/api/v1/projects/{id}', { params: { path: { id: this.params.id } } }));
      this.server = r.data;
      this.etag = r.etag;
      if (!this.applyQueue()) this.error = msg('This project does not exist or was deleted.');
    } catch (e) {
      const p = e as ProblemError;
      if (this.applyQueue()) return;
      this.error = p.status === 404 ? msg('This project does not exist or was deleted.') : p.detail;
    }
  }

  /** The version the user is looking at, without the pending marks (the outbox's snapshot). */
  private snapshot(): Record<string, unknown> {
    const { _pending, _conflict, ...rest } = this.project ?? ({} as Project);
    void _pending;
    void _conflict;
    return rest;
  }

  private async save(e: SubmitEvent) {
    e.preventDefault();
    const v = formValues(e.target as HTMLFormElement);
    if (!v.name) {
      this.errors = { name: msg('Give the project a name.') };
      return;
    }
    this.busy = true;
    try {
      const r = await patch<Project>(this.itemUrl, { name: v.name, description: v.description || null }, this.etag, this.snapshot());
      this.editing = false;
      this.errors = {};
      if (r.pending) {
        this.applyQueue();
        toast(msg('Changes saved on this device. They will sync when the server can be reached.'), 'info');
      } else {
        this.server = r.data;
        this.project = r.data;
        this.etag = r.etag;
        toast(msg('Changes saved.'));
      }
    } catch (err) {
      const p = err instanceof ProblemError ? err : ProblemError.network();
      if (p.status === 412) {
        toast(msg('This project was changed elsewhere. The latest version is shown; apply your edit again.'), 'error');
        this.editing = false;
        await this.load();
      } else {
        this.errors = p.fields;
        if (!Object.keys(p.fields).length) toast(p.detail, 'error');
      }
    } finally {
      this.busy = false;
    }
  }

  private async deleteProject() {
    const p = this.project!;
    const ok = await confirmDialog({
      title: msg('Delete this project?'),
      body: msg(str`"${p.name}" will be deleted for good.`),
      confirm: msg('Delete project'),
      danger: true,
    });
    if (!ok) return;
    try {
      const r = await del(this.itemUrl, this.etag, undefined, this.snapshot());
      if (r.pending && !r.cancelled) toast(msg(str`Deleting "${p.name}" is saved on this device. It will sync when the server can be reached.`), 'info');
      else toast(msg(str`Project "${p.name}" deleted.`));
      this.go('/projects');
    } catch (err) {
      const e = err instanceof ProblemError ? err : ProblemError.network();
      toast(e.status === 412 ? msg('This project was changed elsewhere. Review it before deleting.') : e.detail, 'error');
      if (e.status === 412) await this.load();
    }
  }

  render() {
    const p = this.project;
    if (this.error)
      return html`<div class="page narrow"><h1>${msg('Project not found')}</h1><p>${this.error}</p><a href="/projects">${msg('Back to projects')}</a></div>`;
    if (!p) return html`<div class="page" aria-busy="true"><div class="skeleton tall"></div><div class="skeleton"></div><div class="skeleton"></div></div>`;
    return html`<div class="page">
      <p><a href="/projects">← ${msg('All projects')}</a></p>
      <div class="card">
        ${this.editing
          ? html`<h1>${msg(str`Edit ${p.name}`)}</h1>
              <form novalidate @submit=${this.save}>
                ${field({ id: 'name', label: msg('Name'), required: true, maxlength: 200, value: p.name, error: this.errors.name })}
                ${field({ id: 'description', label: msg('Description'), multiline: true, maxlength: 5000, value: p.description, error: this.errors.description })}
                <div class="row">
                  <button type="submit" ?disabled=${this.busy}>${msg('Save changes')}</button>
                  <button type="button" class="secondary" @click=${() => (this.editing = false)}>${msg('Cancel')}</button>
                </div>
              </form>`
          : html`<h1>${p.name}</h1>
              ${p._pending ? html`<p><span class="badge s-pending">${p._conflict ? msg('Conflict') : msg('Pending sync')}</span></p>` : ''}
              ${p.description ? html`<pre class="text">${p.description}</pre>` : html`<p class="muted">${msg('No description.')}</p>`}
              <p class="small muted">${msg(str`Created ${fmtDate(p.created_at)} · updated ${fmtDate(p.updated_at)}`)}</p>
              <div class="row">
                <button @click=${() => (this.editing = true)}>${msg('Edit project')}</button>
                <button class="danger" @click=${this.deleteProject}>${msg('Delete project')}</button>
              </div>`}
      </div>
    </div>`;
  }
}
customElements.define('nf-project', NfProject);
