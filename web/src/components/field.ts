// A labelled form control with its hint and error wired by id (aria-describedby, aria-invalid), rendered
// into the page's own shadow root so <label for> works without form-associated custom elements.
import { html, nothing } from 'lit';
import { ifDefined } from 'lit/directives/if-defined.js';

export interface FieldOpts {
  id: string;
  label: string;
  name?: string;
  type?: string;
  value?: string | null;
  error?: string;
  hint?: string;
  required?: boolean;
  autocomplete?: string;
  multiline?: boolean;
  minlength?: number;
  maxlength?: number;
  inputmode?: string;
  pattern?: string;
}

export function field(o: FieldOpts) {
  const describedBy = [o.hint ? `${o.id}-hint` : '', o.error ? `${o.id}-error` : ''].filter(Boolean).join(' ');
  const common = {
    id: o.id,
    name: o.name ?? o.id,
    describedBy: describedBy || undefined,
    invalid: o.error ? 'true' : undefined,
  };
  const control = o.multiline
    ? html`<textarea id=${common.id} name=${common.name} aria-describedby=${ifDefined(common.describedBy)}
        aria-invalid=${ifDefined(common.invalid)} ?required=${o.required} maxlength=${ifDefined(o.maxlength)}
        .value=${o.value ?? ''}></textarea>`
    : html`<input id=${common.id} name=${common.name} type=${o.type ?? 'text'} aria-describedby=${ifDefined(common.describedBy)}
        aria-invalid=${ifDefined(common.invalid)} ?required=${o.required} autocomplete=${ifDefined(o.autocomplete)}
        minlength=${ifDefined(o.minlength)} maxlength=${ifDefined(o.maxlength)} inputmode=${ifDefined(o.inputmode)}
        pattern=${ifDefined(o.pattern)} .value=${o.value ?? ''} />`;
  return html`<div class="field">
    <label for=${o.id}>${o.label}</label>
    ${control}
    ${o.hint ? html`<p class="hint" id="${o.id}-hint">${o.hint}</p>` : nothing}
    ${o.error ? html`<p class="error" id="${o.id}-error">${o.error}</p>` : nothing}
  </div>`;
}
