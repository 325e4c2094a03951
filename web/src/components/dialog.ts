// A confirm dialog on the native <dialog>: showModal() makes the page inert (focus is trapped), Escape
// cancels, and focus goes back to the control that opened it. `confirmDialog()` returns the choice.
import { html, css } from 'lit';
import { msg } from '@lit/localize';
import { NfElement } from './base';

export interface ConfirmOptions {
  title: string;
  body: string;
  confirm: string;
  danger?: boolean;
}

export class NfConfirm extends NfElement {
  static properties = { opts: { state: true } };
  declare opts: ConfirmOptions | null;
  private resolve: ((ok: boolean) => void) | null = null;
  private opener: Element | null = null;

  static styles = [
    NfElement.styles,
    css`
      dialog { border: 1px solid var(--nf-border); border-radius: var(--nf-radius-lg); background: var(--nf-surface); color: var(--nf-text);
        padding: var(--nf-space-6); max-width: min(30rem, calc(100vw - 2rem)); box-shadow: var(--nf-shadow); }
      dialog::backdrop { background: rgb(0 0 0 / 45%); }
      .actions { display: flex; gap: var(--nf-space-3); justify-content: flex-end; margin-top: var(--nf-space-6); flex-wrap: wrap; }
    `,
  ];

  constructor() {
    super();
    this.opts = null;
  }

  async open(opts: ConfirmOptions): Promise<boolean> {
    this.opener = deepActive();
    this.opts = opts;
    await this.updateComplete;
    this.dialog.showModal();
    return new Promise((r) => (this.resolve = r));
  }

  private get dialog(): HTMLDialogElement {
    return this.renderRoot.querySelector('dialog')!;
  }

  private done(ok: boolean) {
    if (this.dialog.open) this.dialog.close();
    this.resolve?.(ok);
    this.resolve = null;
    (this.opener as HTMLElement | null)?.focus?.();
  }

  /** showModal() makes the page inert, but Tab past the last button would leave the document: wrap. */
  private trap(e: KeyboardEvent) {
    if (e.key !== 'Tab') return;
    const buttons = [...this.renderRoot.querySelectorAll<HTMLButtonElement>('dialog button')];
    if (!buttons.length) return;
    const i = buttons.indexOf((this.renderRoot as ShadowRoot).activeElement as HTMLButtonElement);
    const next = e.shiftKey ? (i <= 0 ? buttons.length - 1 : i - 1) : i === buttons.length - 1 ? 0 : i + 1;
    e.preventDefault();
    buttons[next].focus();
  }

  render() {
    const o = this.opts;
    return html`<dialog aria-labelledby="t" aria-describedby="b" @keydown=${this.trap} @cancel=${(e: Event) => (e.preventDefault(), this.done(false))}>
      ${o
        ? html`<h2 id="t">${o.title}</h2>
            <p id="b">${o.body}</p>
            <div class="actions">
              <button class="secondary" @click=${() => this.done(false)}>${msg('Cancel')}</button>
              <button class=${o.danger ? 'danger' : ''} @click=${() => this.done(true)}>${o.confirm}</button>
            </div>`
        : ''}
    </dialog>`;
  }
}
customElements.define('nf-confirm', NfConfirm);

/** The focused element, looking through open shadow roots. */
export function deepActive(): Element | null {
  let a: Element | null = document.activeElement;
  while (a?.shadowRoot?.activeElement) a = a.shadowRoot.activeElement;
  return a;
}

export function confirmDialog(opts: ConfirmOptions): Promise<boolean> {
  let el = document.querySelector('nf-confirm') as NfConfirm | null;
  if (!el) {
    el = document.createElement('nf-confirm') as NfConfirm;
    document.body.append(el);
  }
  return el.open(opts);
}
