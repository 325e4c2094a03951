// The offline half of the shell: the banner (offline + "last synced", changes waiting, "sign in to sync
// N changes", conflicts to review) and the 412 conflict dialog, opened when a replay meets a newer
// version (and from the sync centre). Nothing typed is lost: closing the dialog keeps the conflict.
import { html, css, type TemplateResult } from 'lit';
import { msg, str } from '@lit/localize';
import { NfElement } from './base';
import { deepActive } from './dialog';
import { toast } from './toast';
import { auth } from '../api/client';
import { net } from '../offline/net';
import { outbox, sync, waitingForSignIn } from '../offline';
import { resourceOf } from '../offline/resources';
import { diffFields, mergedBody, type FieldDiff } from '../offline/conflict';
import type { Entry, OutboxEvent } from '../offline/outbox';
import { fmtDate } from '../i18n';

export function fieldLabel(field: string): string {
  return ({ name: msg('Name'), description: msg('Description'), title: msg('Title'), content: msg('Content') } as Record<string, string>)[field] ?? field;
}

export function entryLabel(e: Entry): string {
  const name = resourceOf(e.collection)?.label(e.body ?? e.snapshot ?? e.server?.data) || e.item;
  if (e.kind === 'create') return msg(str`New: ${name}`);
  if (e.kind === 'delete') return msg(str`Delete: ${name}`);
  return msg(str`Edit: ${name}`);
}

const show = (v: unknown) => (v === null || v === undefined || v === '' ? msg('(empty)') : typeof v === 'string' ? v : JSON.stringify(v));

export class NfOfflineBanner extends NfElement {
  static properties = { waiting: { state: true } };
  declare waiting: number;

  static styles = [
    NfElement.styles,
    css`
      :host { display: block; }
      .bar { max-width: var(--nf-max); margin: 0 auto; padding: var(--nf-space-2) var(--nf-space-4); display: flex; gap: var(--nf-space-2) var(--nf-space-4);
        align-items: center; flex-wrap: wrap; }
      .wrap { background: var(--nf-surface-2); border-bottom: 1px solid var(--nf-border); }
      p { margin: 0; }
      button { min-height: 2rem; }
    `,
  ];

  constructor() {
    super();
    this.waiting = 0;
  }

  connectedCallback(): void {
    super.connectedCallback();
    net.addEventListener('change', this.refresh);
    sync.addEventListener('change', this.refresh);
    auth.addEventListener('change', this.refresh);
    this.refresh();
  }

  disconnectedCallback(): void {
    net.removeEventListener('change', this.refresh);
    sync.removeEventListener('change', this.refresh);
    auth.removeEventListener('change', this.refresh);
    super.disconnectedCallback();
  }

  private refresh = () => {
    this.requestUpdate();
    void waitingForSignIn().then((n) => (this.waiting = n)).catch(() => undefined);
  };

  render() {
    const o = outbox();
    const lines: TemplateResult[] = [];
    if (net.offline) {
      lines.push(html`<p><strong>${msg('You are offline.')}</strong>
        ${net.lastSynced ? msg(str`Showing what this device saved, last synced ${fmtDate(new Date(net.lastSynced).toISOString())}.`) : msg('Showing what this device saved.')}</p>`);
    }
    const signIn = o?.needsSignIn ? o.unsynced : this.waiting;
    if (signIn) {
      lines.push(html`<p>${msg(str`Sign in to sync ${signIn} changes.`)}</p>
        ${auth.user ? '' : html`<a class="button secondary" href="/login">${msg('Sign in')}</a>`}`);
    } else if (o?.pending.length) {
      lines.push(html`<p>${msg(str`${o.pending.length} changes wait to sync.`)}</p>
        ${net.online ? html`<button class="secondary" @click=${() => void o.retryNow()}>${msg('Retry now')}</button>` : ''}`);
    }
    if (o?.conflicts.length) {
      lines.push(html`<p>${msg(str`${o.conflicts.length} changes conflict with a newer version.`)}</p>
        <button class="secondary" @click=${() => void openConflict(o.conflicts[0])}>${msg('Review the conflict')}</button>`);
    }
    if (!lines.length) return html``;
    return html`<div class="wrap" role="status" aria-label=${msg('Sync status')}><div class="bar">${lines}</div></div>`;
  }
}
customElements.define('nf-offline-banner', NfOfflineBanner);

/** The 412 dialog: field by field, my version beside the server's, one-sided changes pre-resolved. */
export class NfConflict extends NfElement {
  static properties = { entry: { state: true } };
  declare entry: Entry | null;
  private opener: Element | null = null;

  static styles = [
    NfElement.styles,
    css`
      dialog { border: 1px solid var(--nf-border); border-radius: var(--nf-radius-lg); background: var(--nf-surface); color: var(--nf-text);
        padding: var(--nf-space-6); width: min(44rem, calc(100vw - 2rem)); max-width: none; box-shadow: var(--nf-shadow); }
      dialog::backdrop { background: rgb(0 0 0 / 45%); }
      .actions { display: flex; gap: var(--nf-space-3); justify-content: flex-end; margin-top: var(--nf-space-6); flex-wrap: wrap; }
      td.v { white-space: pre-wrap; word-break: break-word; }
      .pick { font-weight: 600; }
    `,
  ];

  constructor() {
    super();
    this.entry = null;
  }

  async open(e: Entry): Promise<void> {
    this.opener = deepActive();
    this.entry = e;
    await this.updateComplete;
    if (!this.dialog.open) this.dialog.showModal();
  }

  private get dialog(): HTMLDialogElement {
    return this.renderRoot.querySelector('dialog')!;
  }

  private close() {
    if (this.dialog.open) this.dialog.close();
    this.entry = null;
    (this.opener as HTMLElement | null)?.focus?.();
  }

  private trap(e: KeyboardEvent) {
    if (e.key !== 'Tab') return;
    const items = [...this.renderRoot.querySelectorAll<HTMLElement>('dialog button')];
    if (!items.length) return;
    const i = items.indexOf((this.renderRoot as ShadowRoot).activeElement as HTMLElement);
    const next = e.shiftKey ? (i <= 0 ? items.length - 1 : i - 1) : i === items.length - 1 ? 0 : i + 1;
    e.preventDefault();
    items[next].focus();
  }

  private async keep() {
    const e = this.entry!;
    this.close();
    await outbox()?.keepMine(e.seq!, mergedBody(e));
    toast(msg('Your version is being saved over the newer one.'), 'info');
  }

  private async take() {
    const e = this.entry!;
    this.close();
    await outbox()?.takeTheirs(e.seq!);
    toast(msg('Your change was dropped; the current version stays.'));
  }

  private note(d: FieldDiff): string {
    return {
      same: msg('Same on both sides'),
      mine: msg('Only you changed this: yours is kept'),
      theirs: msg('Only changed elsewhere: theirs is kept'),
      both: msg('Both changed: keep mine or take theirs'),
    }[d.resolution];
  }

  render() {
    const e = this.entry;
    const diffs = e ? diffFields(e) : [];
    return html`<dialog aria-labelledby="ct" aria-describedby="cd" @keydown=${this.trap} @cancel=${(ev: Event) => (ev.preventDefault(), this.close())}>
      ${e
        ? html`<h2 id="ct">${msg('This item was changed elsewhere')}</h2>
            <p id="cd">${e.kind === 'delete'
              ? msg(str`You deleted "${resourceOf(e.collection)?.label(e.snapshot) ?? ''}", but it changed since you saw it.`)
              : msg(str`Your change to "${resourceOf(e.collection)?.label(e.snapshot ?? e.body) ?? ''}" was made on an older version. Compare field by field.`)}</p>
            <div class="table-wrap">
              <table>
                <caption class="small muted">${msg('Fields of your version and of the current one')}</caption>
                <thead><tr><th scope="col">${msg('Field')}</th><th scope="col">${msg('Your version')}</th><th scope="col">${msg('Current version')}</th><th scope="col">${msg('Result')}</th></tr></thead>
                <tbody>
                  ${diffs.map(
                    (d) => html`<tr data-field=${d.field} data-resolution=${d.resolution}>
                      <th scope="row">${fieldLabel(d.field)}</th>
                      <td class="v ${d.resolution === 'mine' ? 'pick' : ''}">${show(d.mine)}</td>
                      <td class="v ${d.resolution === 'theirs' ? 'pick' : ''}">${show(d.theirs)}</td>
                      <td>${this.note(d)}</td>
                    </tr>`,
                  )}
                </tbody>
              </table>
            </div>
            <div class="actions">
              <button class="secondary" @click=${() => this.close()}>${msg('Decide later')}</button>
              <button class="secondary" @click=${this.take}>${msg('Take theirs')}</button>
              <button @click=${this.keep}>${msg('Keep mine')}</button>
            </div>`
        : ''}
    </dialog>`;
  }
}
customElements.define('nf-conflict', NfConflict);

export function openConflict(e: Entry): Promise<void> {
  let el = document.querySelector('nf-conflict') as NfConflict | null;
  if (!el) {
    el = document.createElement('nf-conflict') as NfConflict;
    document.body.append(el);
  }
  return el.open(e);
}

/** Replay outcomes the user must hear about, wherever they are in the app. */
sync.addEventListener('change', (ev) => {
  const e = (ev as CustomEvent<OutboxEvent>).detail;
  if (!e) return;
  if (e.type === 'conflict') void openConflict(e.entry);
  else if (e.type === 'dropped')
    toast(
      e.entry.reason === 'gone'
        ? msg(str`${entryLabel(e.entry)}: the item no longer exists. Your change is kept in the sync centre (Settings).`)
        : msg(str`${entryLabel(e.entry)} was refused: ${e.entry.error?.detail ?? ''} It is kept in the sync centre (Settings).`),
      'error',
    );
  else if (e.type === 'done' && e.entry.attempts > 0) toast(msg(str`${entryLabel(e.entry)} synced.`));
});
