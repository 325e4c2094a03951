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

type Project = Schemas['ProjectOut'];

export class NfProject extends NfElement {
  static properties = { project: { state: true }, error: { state: true }, editing: { state: true }, errors: { state: true }, busy: { state: true } };
  declare project: Project | null;
  declare error: string;
  declare editing: boolean;
  declare errors: FieldErrors;
  declare busy: boolean;
  declare params: { id: string };
  private etag: string | null = null;

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
  }

  private async load() {
    try {
      const r = await read(api.GET('/api/v1/projects/{id}', { params: { path: { id: this.params.id } } }));
      this.project = r.data;
      this.etag = r.etag;
    } catch (e) {
      const p = e as ProblemError;
      this.error = p.status === 404 ? msg('This project does not exist or was deleted.') : p.detail;
    }
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
      const r = await patch<Project>(`/api/v1/projects/${this.project!.id}`, { name: v.name, description: v.description || null }, this.etag);
      this.project = r.data;
      this.etag = r.etag;
      this.editing = false;
      this.errors = {};
      toast(msg('Changes saved.'));
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
      await del(`/api/v1/projects/${p.id}`, this.etag);
      toast(msg(str`Project "${p.name}" deleted.`));
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
