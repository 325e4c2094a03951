import { html } from 'lit';
import { msg } from '@lit/localize';
import { NfElement } from '../components/base';

export class NfNotFound extends NfElement {
  render() {
    return html`<div class="page narrow">
      <h1>${msg('Page not found')}</h1>
      <p>${msg('There is nothing at this address. It may have moved, or the link may be mistyped.')}</p>
      <p class="mono small muted">${location.pathname}</p>
      <div class="row">
        <a class="button" href="/">${msg('Go to the home page')}</a>
        <a class="button secondary" href="/community">${msg('Browse the community')}</a>
        <a class="button secondary" href="/support">${msg('Contact support')}</a>
      </div>
    </div>`;
  }
}
customElements.define('nf-not-found', NfNotFound);
