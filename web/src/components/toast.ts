// Toasts: one live region in the shell; `toast()` from anywhere. Polite for success, assertive for errors.
import { html, css } from 'lit';
import { msg } from '@lit/localize';
import { NfElement } from './base';

type Kind = 'success' | 'error' | 'info';
export interface ToastAction { label: string; run: () => void }
interface Toast { id: number; text: string; kind: Kind; action?: ToastAction }

/** Shows a toast; one with an action stays until it is used or dismissed. */
export function toast(text: string, kind: Kind = 'success', action?: ToastAction): void {
  window.dispatchEvent(new CustomEvent('nf-toast', { detail: { text, kind, action } }));
}

let seq = 0;

export class NfToasts extends NfElement {
  static properties = { items: { state: true } };
  declare items: Toast[];

  static styles = [
    NfElement.styles,
    css`
      :host { position: fixed; z-index: 50; inset: auto var(--nf-space-4) var(--nf-space-4) auto; display: grid; gap: var(--nf-space-2); max-width: min(24rem, calc(100vw - 2rem)); }
      .toast { display: flex; gap: var(--nf-space-3); align-items: start; background: var(--nf-surface); color: var(--nf-text);
        border: 1px solid var(--nf-border); border-left: 4px solid var(--nf-ok); border-radius: var(--nf-radius); padding: var(--nf-space-3); box-shadow: var(--nf-shadow); }
      .toast.error { border-left-color: var(--nf-danger); }
      .toast.info { border-left-color: var(--nf-primary); }
      .toast p { flex: 1; margin: 0; }
      button { min-height: 2rem; padding: 0 var(--nf-space-2); }
    `,
  ];

  constructor() {
    super();
    this.items = [];
  }

  connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener('nf-toast', this.onToast);
  }

  disconnectedCallback(): void {
    window.removeEventListener('nf-toast', this.onToast);
    super.disconnectedCallback();
  }

  private onToast = (ev: Event) => {
    const { text, kind, action } = (ev as CustomEvent<{ text: string; kind: Kind; action?: ToastAction }>).detail;
    const item = { id: ++seq, text, kind, action };
    this.items = [...this.items, item];
    if (!action) setTimeout(() => this.dismiss(item.id), kind === 'error' ? 10000 : 5000);
  };

  private dismiss(id: number) {
    this.items = this.items.filter((t) => t.id !== id);
  }

  render() {
    return html`
      <div role="status" aria-live="polite">
        ${this.items.filter((t) => t.kind !== 'error').map((t) => this.one(t))}
      </div>
      <div role="alert">${this.items.filter((t) => t.kind === 'error').map((t) => this.one(t))}</div>
    `;
  }

  private one(t: Toast) {
    return html`<div class="toast ${t.kind}">
      <p>${t.text}</p>
      ${t.action ? html`<button @click=${() => (this.dismiss(t.id), t.action!.run())}>${t.action.label}</button>` : ''}
      <button class="secondary" aria-label=${msg('Dismiss notification')} @click=${() => this.dismiss(t.id)}>×</button>
    </div>`;
  }
}
customElements.define('nf-toasts', NfToasts);
