// One community post: public; its author edits or deletes it, an admin may delete it. Plain text only.
import { html } from 'lit';
import { msg, str } from '@lit/localize';
import { NfElement, formValues } from '../components/base';
import { field } from '../components/field';
import { api, auth, read, ProblemError, type Schemas } from '../api/client';
import { patch, del } from '../api/writes';
import { toast } from '../components/toast';
import { confirmDialog } from '../components/dialog';
import { fmtDate } from '../i18n';
import type { FieldErrors } from '../api/problem';

type Post = Schemas['PostOut'];

export class NfPost extends NfElement {
  static properties = { post: { state: true }, error: { state: true }, editing: { state: true }, errors: { state: true } };
  declare post: Post | null;
  declare error: string;
  declare editing: boolean;
  declare errors: FieldErrors;
  declare params: { id: string };
  private etag: string | null = null;

  constructor() {
    super();
    this.post = null;
    this.error = '';
    this.editing = false;
    this.errors = {};
  }

  connectedCallback(): void {
    super.connectedCallback();
    void this.load();
  }

  private async load() {
    try {
      const r = await read(api.GET('/api/v1/community/posts/{id}', { params: { path: { id: this.params.id } } }));
      this.post = r.data;
      this.etag = r.etag;
    } catch (e) {
      const p = e as ProblemError;
      this.error = p.status === 404 ? msg('This post does not exist or was deleted.') : p.detail;
    }
  }

  private async save(e: SubmitEvent) {
    e.preventDefault();
    const v = formValues(e.target as HTMLFormElement);
    try {
      const r = await patch<Post>(`/api/v1/community/posts/${this.post!.id}`, { title: v.title, content: v.content }, this.etag);
      this.post = r.data;
      this.etag = r.etag;
      this.editing = false;
      this.errors = {};
      toast(msg('Post updated.'));
    } catch (err) {
      const p = err instanceof ProblemError ? err : ProblemError.network();
      this.errors = p.fields;
      if (p.status === 412) {
        toast(msg('This post was changed elsewhere. The latest version is shown.'), 'error');
        this.editing = false;
        await this.load();
      } else if (!Object.keys(p.fields).length) toast(p.detail, 'error');
    }
  }

  private async deletePost() {
    const p = this.post!;
    const ok = await confirmDialog({ title: msg('Delete this post?'), body: msg(str`"${p.title}" will be removed for everyone.`), confirm: msg('Delete post'), danger: true });
    if (!ok) return;
    try {
      await del(`/api/v1/community/posts/${p.id}`, this.etag);
      toast(msg('Post deleted.'));
      this.go('/community');
    } catch (err) {
      toast((err instanceof ProblemError ? err : ProblemError.network()).detail, 'error');
    }
  }

  render() {
    if (this.error) return html`<div class="page narrow"><h1>${msg('Post not found')}</h1><p>${this.error}</p><a href="/community">${msg('Back to the community')}</a></div>`;
    const p = this.post;
    if (!p) return html`<div class="page" aria-busy="true"><div class="skeleton tall"></div><div class="skeleton"></div></div>`;
    const mine = auth.user?.id === p.author_id;
    return html`<div class="page">
      <p><a href="/community">← ${msg('Community')}</a></p>
      <article class="card">
        ${this.editing
          ? html`<h1>${msg('Edit post')}</h1>
              <form novalidate @submit=${this.save}>
                ${field({ id: 'title', label: msg('Title'), required: true, maxlength: 200, value: p.title, error: this.errors.title })}
                ${field({ id: 'content', label: msg('Content'), multiline: true, required: true, maxlength: 20000, value: p.content, error: this.errors.content })}
                <div class="row">
                  <button type="submit">${msg('Save post')}</button>
                  <button type="button" class="secondary" @click=${() => (this.editing = false)}>${msg('Cancel')}</button>
                </div>
              </form>`
          : html`<h1>${p.title}</h1>
              <p class="small muted">${msg(str`By ${p.author_name} · ${fmtDate(p.created_at)}`)}</p>
              <pre class="text">${p.content}</pre>
              ${mine || auth.isAdmin
                ? html`<div class="row">
                    ${mine ? html`<button @click=${() => (this.editing = true)}>${msg('Edit post')}</button>` : ''}
                    <button class="danger" @click=${this.deletePost}>${msg('Delete post')}</button>
                  </div>`
                : ''}`}
      </article>
    </div>`;
  }
}
customElements.define('nf-post', NfPost);
