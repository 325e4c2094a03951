// The base of every page and component: shared styles, re-render on locale change, and small helpers.
import { LitElement, type CSSResultGroup } from 'lit';
import { updateWhenLocaleChanges } from '@lit/localize';
import { shared } from '../styles/shared';

export class NfElement extends LitElement {
  static styles: CSSResultGroup = [shared];

  constructor() {
    super();
    updateWhenLocaleChanges(this);
  }

  /** Ask the shell to route somewhere (the router lives in main.ts; pages never import it). */
  go(to: string, replace = false): void {
    this.dispatchEvent(new CustomEvent('nf-navigate', { detail: { to, replace }, bubbles: true, composed: true }));
  }
}

/** Reads a form's named controls as trimmed strings (passwords are not trimmed, api.md §0). */
export function formValues(form: HTMLFormElement): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of new FormData(form).entries()) {
    if (typeof v === 'string') out[k] = /password|code/i.test(k) ? v : v.trim();
  }
  return out;
}
