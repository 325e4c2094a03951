// Styles every page adopts (constructable stylesheets: no <style> tag, no 'unsafe-inline').
// Pages only add layout on top; buttons, fields, cards, badges, skeletons and tables live here.
import { css } from 'lit';

export const shared = css`
  :host { display: block; }
  *, *::before, *::after { box-sizing: border-box; }
  h1 { font-size: var(--nf-text-xl); margin: 0 0 var(--nf-space-4); line-height: 1.2; }
  h2 { font-size: var(--nf-text-lg); margin: 0 0 var(--nf-space-3); }
  h1:focus { outline: none; }
  p { margin: 0 0 var(--nf-space-3); }
  a { color: var(--nf-primary); text-underline-offset: 2px; }
  a:hover { color: var(--nf-primary-hover); }
  :focus-visible { outline: 3px solid var(--nf-focus); outline-offset: 2px; border-radius: 4px; }
  /* Fields always show focus (a date input's focus sits in its inner parts, where :focus-visible misses). */
  input:focus, input:focus-within, textarea:focus, select:focus { outline: 3px solid var(--nf-focus); outline-offset: 2px; }
  .muted { color: var(--nf-muted); }
  .small { font-size: var(--nf-text-sm); }
  .mono { font-family: var(--nf-mono); }
  .page { max-width: var(--nf-max); margin: 0 auto; padding: var(--nf-space-6) var(--nf-space-4) var(--nf-space-12); }
  .narrow { max-width: 28rem; }
  .card {
    background: var(--nf-surface); border: 1px solid var(--nf-border); border-radius: var(--nf-radius-lg);
    padding: var(--nf-space-6); box-shadow: var(--nf-shadow); margin-bottom: var(--nf-space-6);
  }
  .row { display: flex; gap: var(--nf-space-3); align-items: center; flex-wrap: wrap; }
  .spread { justify-content: space-between; }
  .stack > * + * { margin-top: var(--nf-space-4); }
  ul.row { list-style: none; padding: 0; margin: 0 0 var(--nf-space-4); }
  .grid > .card { margin-bottom: 0; }
  .grid { display: grid; gap: var(--nf-space-4); grid-template-columns: repeat(auto-fill, minmax(16rem, 1fr)); }

  button, .button {
    font: inherit; font-weight: 600; cursor: pointer; display: inline-flex; align-items: center; justify-content: center;
    gap: var(--nf-space-2); min-height: 2.5rem; padding: 0 var(--nf-space-4); border-radius: var(--nf-radius);
    border: 1px solid var(--nf-primary); background: var(--nf-primary); color: var(--nf-on-primary);
    text-decoration: none; transition: background var(--nf-motion);
  }
  button:hover, .button:hover { background: var(--nf-primary-hover); color: var(--nf-on-primary); }
  button.secondary, .button.secondary { background: transparent; color: var(--nf-primary); }
  button.secondary:hover, .button.secondary:hover { background: var(--nf-surface-2); color: var(--nf-primary); }
  button.danger { background: var(--nf-danger); border-color: var(--nf-danger); color: var(--nf-on-danger); }
  button.link { background: none; border: none; color: var(--nf-primary); padding: 0; min-height: auto; text-decoration: underline; }
  button[disabled] { opacity: 0.6; cursor: not-allowed; }

  form { display: grid; gap: var(--nf-space-4); }
  .field { display: grid; gap: var(--nf-space-1); }
  label { font-weight: 600; }
  input, textarea, select {
    font: inherit; color: var(--nf-text); background: var(--nf-surface); width: 100%;
    border: 1px solid var(--nf-border); border-radius: var(--nf-radius); padding: var(--nf-space-2) var(--nf-space-3);
    min-height: 2.5rem;
  }
  textarea { min-height: 7rem; resize: vertical; }
  input[type='checkbox'], input[type='radio'] { width: auto; min-height: auto; margin: 0; }
  input[aria-invalid='true'], textarea[aria-invalid='true'] { border-color: var(--nf-danger); }
  .error { color: var(--nf-danger); font-size: var(--nf-text-sm); margin: 0; }
  .hint { color: var(--nf-muted); font-size: var(--nf-text-sm); margin: 0; }
  .alert { border: 1px solid var(--nf-danger); color: var(--nf-danger); border-radius: var(--nf-radius); padding: var(--nf-space-3); }
  .note { border: 1px solid var(--nf-border); background: var(--nf-surface-2); border-radius: var(--nf-radius); padding: var(--nf-space-3); }

  .badge {
    display: inline-flex; align-items: center; gap: var(--nf-space-1); font-size: var(--nf-text-sm); font-weight: 600;
    padding: 0.125rem var(--nf-space-2); border-radius: 999px; border: 1px solid currentColor;
  }
  .badge::before { content: ''; width: 0.5rem; height: 0.5rem; border-radius: 50%; background: currentColor; }
  .s-operational, .s-open, .s-resolved { color: var(--nf-ok); }
  .s-degraded, .s-maintenance, .s-pending { color: var(--nf-warn); }
  .s-down { color: var(--nf-down); }
  .s-unknown, .s-closed { color: var(--nf-muted); }

  ul.list { list-style: none; padding: 0; margin: 0; }
  ul.list > li { border-bottom: 1px solid var(--nf-border); padding: var(--nf-space-3) 0; }
  ul.list > li:last-child { border-bottom: none; }
  table { width: 100%; border-collapse: collapse; font-size: var(--nf-text-sm); }
  th, td { text-align: left; padding: var(--nf-space-2); border-bottom: 1px solid var(--nf-border); vertical-align: top; }
  .table-wrap { overflow-x: auto; }
  td.nowrap { white-space: nowrap; }
  .row > .field { flex: 1 1 12rem; }

  .skeleton { background: var(--nf-skeleton); border-radius: var(--nf-radius); height: 1rem; margin: var(--nf-space-2) 0; animation: pulse 1.2s ease-in-out infinite; }
  .skeleton.tall { height: 3.5rem; }
  @keyframes pulse { 50% { opacity: 0.5; } }
  @media (prefers-reduced-motion: reduce) { .skeleton { animation: none; } }
  .empty { text-align: center; padding: var(--nf-space-8) var(--nf-space-4); color: var(--nf-muted); }
  .sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
  pre.text { white-space: pre-wrap; word-break: break-word; font: inherit; margin: 0; }
`;
