// The community board: a public feed (search, cursor scrolling); signed-in, verified users write posts.
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

type Post = Schemas['PostOut'];

export class NfCommunity extends NfElement {
  static properties = { writing: { state: true }, errors: { state: true }, busy: { state: true } };
  declare writing: boolean;
  declare errors: FieldErrors;
  declare busy: boolean;
  private q = '';
  private debounce: ReturnType<typeof setTimeout> | undefined;
  private list = new CursorList<Post>(this, async (cursor) =>
    (await read(api.GET('/api/v1/community/posts', { params: { query: { cursor, q: this.q || undefined, page_size: 20 } } }))).data as never,
  );

  constructor() {
    super();
    this.writing = false;
    this.errors = {};
    this.busy = false;
  }

  connectedCallback(): void {
    super.connectedCallback();
    void this.list.load(true);
  }

  private onSearch(e: InputEvent) {
    this.q = (e.target as HTMLInputElement).value.trim();
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.list.load(true), 250);
  }

  private async submit(e: SubmitEvent) {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const v = formValues(form);
    const errors: FieldErrors = {};
    if (!v.title) errors.title = msg('Enter a title.');
    if (!v.content) errors.content = msg('Write something.');
    this.errors = errors;
    if (Object.keys(errors).length) return;
    this.busy = true;
    try {
      const r = await post<Post>('/api/v1/community/posts', { title: v.title, content: v.content });
      form.reset();
      this.writing = false;
      this.list.update((items) => [r.data, ...items]);
      toast(msg('Post published.'));
    } catch (err) {
      const p = err instanceof ProblemError ? err : ProblemError.network();
      this.errors = p.fields;
      if (p.code === 'email_not_verified') toast(msg('Verify your email address before posting.'), 'error');
      else if (!Object.keys(p.fields).length) toast(p.detail, 'error');
    } finally {
      this.busy = false;
    }
  }

  private composer() {
    const u = auth.user;
    if (!u) return html`<p class="note"><a href="/login?next=/community">${msg('Sign in')}</a> ${msg('to write a post.')}</p>`;
    if (!u.is_verified) return html`<p class="note">${msg('Verify your email address to write posts. The link is in the email we sent you.')} <a href="/settings">${msg('Settings')}</a></p>`;
    if (!this.writing) return html`<button @click=${() => (this.writing = true)}>${msg('Write a post')}</button>`;
    return html`<section class="card" aria-labelledby="write">
      <h2 id="write">${msg('New post')}</h2>
      <form novalidate @submit=${this.submit}>
        ${field({ id: 'title', label: msg('Title'), required: true, maxlength: 200, error: this.errors.title })}
        ${field({ id: 'content', label: msg('Content'), multiline: true, required: true, maxlength: 20000, error: this.errors.content })}
        <div class="row">
          <button type="submit" ?disabled=${this.busy}>${msg('Publish post')}</button>
          <button type="button" class="secondary" @click=${() => (this.writing = false)}>${msg('Cancel')}</button>
        </div>
      </form>
    </section>`;
  }

  render() {
    const l = this.list;
    return html`<div class="page">
      <h1>${msg('Community')}</h1>
      <div class="stack">
        ${this.composer()}
        <div class="field" role="search">
          <label for="q">${msg('Search posts')}</label>
          <input id="q" type="search" .value=${this.q} @input=${this.onSearch} />
        </div>
        <section aria-label=${msg('Posts')} aria-busy=${l.loading ? 'true' : 'false'}>
          ${l.loaded && !l.items.length ? html`<div class="card empty">${this.q ? msg('No post matches this search.') : msg('No posts yet. Be the first to write one.')}</div>` : ''}
          ${l.items.map(
            (p) => html`<article class="card">
              <h2><a href="/community/${p.id}">${p.title}</a></h2>
              <p class="small muted">${msg(str`By ${p.author_name} · ${fmtDate(p.created_at)}`)}</p>
              <p>${p.content.length > 280 ? p.content.slice(0, 280) + '…' : p.content}</p>
            </article>`,
          )}
          ${l.footer(msg('Load more posts'))}
        </section>
      </div>
    </div>`;
  }
}
customElements.define('nf-community', NfCommunity);
