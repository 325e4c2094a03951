// The sync centre (Settings): every change of the outbox that has not reached the server (pending, with
// "retry now"), the conflicts (resolve in the dialog), and the dropped ones (why, copy, dismiss). A
// dropped change stays here until the user dismisses it: nothing typed is lost silently.
import { html, css } from 'lit';
import { msg, str } from '@lit/localize';
import { NfElement } from './base';
import { toast } from './toast';
import { outbox, sync } from '../offline';
import { entryLabel, openConflict } from './sync-ui';
import type { Entry } from '../offline/outbox';
import { fmtDate } from '../i18n';

/** What the user typed, as text for the clipboard. */
export function entryText(e: Entry): string {
  const fields = e.body && Object.keys(e.body).length ? e.body : e.snapshot ?? {};
  return `${entryLabel(e)}\n${e.method} ${e.url}\n${JSON.stringify(fields, null, 2)}`;
}

export class NfSyncCentre extends NfElement {
  static styles = [
    NfElement.styles,
    css`
      h3 { margin: var(--nf-space-4) 0 var(--nf-space-2); font-size: var(--nf-text-md); }
      li p { margin: var(--nf-space-1) 0 0; }
    `,
  ];

  connectedCallback(): void {
    super.connectedCallback();
    sync.addEventListener('change', this.redraw);
  }

  disconnectedCallback(): void {
    sync.removeEventListener('change', this.redraw);
    super.disconnectedCallback();
  }

  private redraw = () => this.requestUpdate();

  private async copy(e: Entry) {
    try {
      await navigator.clipboard.writeText(entryText(e));
      toast(msg('Copied to the clipboard.'));
    } catch {
      toast(msg('The clipboard is not available. Select the text and copy it instead.'), 'error');
    }
  }

  private why(e: Entry): string {
    if (e.reason === 'gone') return msg('The item no longer exists on the server.');
    if (e.reason === 'orphaned') return msg('The item it belongs to could not be created.');
    return msg(str`The server refused it: ${e.error?.detail ?? ''}`);
  }

  render() {
    const o = outbox();
    if (!o) return html`<p class="muted">${msg('Sign in to see the changes of this device.')}</p>`;
    const { pending, conflicts, dropped } = o;
    const next = pending.map((e) => e.nextAt).filter((t) => t > Date.now());
    return html`
      ${o.needsSignIn ? html`<p class="note" role="status">${msg(str`Sign in to sync ${o.unsynced} changes.`)}</p>` : ''}
      <h3 id="sc-pending">${msg(str`Pending (${pending.length})`)}</h3>
      ${pending.length
        ? html`<ul class="list" aria-labelledby="sc-pending">
              ${pending.map((e) => html`<li data-seq=${e.seq}><strong>${entryLabel(e)}</strong>
                <p class="small muted">${msg(str`Saved ${fmtDate(new Date(e.createdAt).toISOString())}`)}${e.sent ? ' · ' + msg('sent, waiting for an answer') : ''}</p></li>`)}
            </ul>
            <div class="row">
              <button class="secondary" @click=${() => void o.retryNow()}>${msg('Retry now')}</button>
              ${next.length ? html`<span class="small muted">${msg(str`Next try ${fmtDate(new Date(Math.min(...next)).toISOString())}`)}</span>` : ''}
            </div>`
        : html`<p class="muted">${msg('Everything is synced.')}</p>`}
      <h3 id="sc-conflicts">${msg(str`Conflicts (${conflicts.length})`)}</h3>
      ${conflicts.length
        ? html`<ul class="list" aria-labelledby="sc-conflicts">
            ${conflicts.map((e) => html`<li data-seq=${e.seq}><strong>${entryLabel(e)}</strong>
              <p class="small muted">${msg('Changed elsewhere since you edited it.')}</p>
              <div class="row"><button @click=${() => void openConflict(e)} aria-label=${msg(str`Resolve ${entryLabel(e)}`)}>${msg('Resolve')}</button></div></li>`)}
          </ul>`
        : html`<p class="muted">${msg('No conflicts.')}</p>`}
      <h3 id="sc-dropped">${msg(str`Dropped (${dropped.length})`)}</h3>
      ${dropped.length
        ? html`<ul class="list" aria-labelledby="sc-dropped">
            ${dropped.map((e) => html`<li data-seq=${e.seq}><strong>${entryLabel(e)}</strong>
              <p class="small">${this.why(e)}</p>
              <pre class="text small muted">${JSON.stringify(e.body && Object.keys(e.body).length ? e.body : e.snapshot ?? {}, null, 2)}</pre>
              <div class="row">
                <button class="secondary" @click=${() => void this.copy(e)} aria-label=${msg(str`Copy ${entryLabel(e)}`)}>${msg('Copy')}</button>
                <button class="secondary" @click=${() => void o.dismiss(e.seq!)} aria-label=${msg(str`Dismiss ${entryLabel(e)}`)}>${msg('Dismiss')}</button>
              </div></li>`)}
          </ul>`
        : html`<p class="muted">${msg('Nothing was dropped.')}</p>`}
    `;
  }
}
customElements.define('nf-sync-centre', NfSyncCentre);
