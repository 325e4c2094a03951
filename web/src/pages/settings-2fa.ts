// Two-factor setup: confirm the password, scan a QR code made here (uqr → SVG, nothing leaves the
// page) or type the secret, confirm a code, then keep the recovery codes (copy or download).
import { html, svg, css } from 'lit';
import { msg } from '@lit/localize';
import { encode } from 'uqr';
import { NfElement, formValues } from '../components/base';
import { field } from '../components/field';
import { auth, ProblemError, type Schemas } from '../api/client';
import { post } from '../api/writes';
import { toast } from '../components/toast';

/** The QR modules as one SVG path (no innerHTML: Lit's svg template, safe under Trusted Types). */
export function qrPath(text: string): { size: number; d: string } {
  const { data, size } = encode(text, { ecc: 'M', border: 2 });
  let d = '';
  data.forEach((row, y) => row.forEach((on, x) => on && (d += `M${x} ${y}h1v1h-1z`)));
  return { size, d };
}

export class NfTwoFactor extends NfElement {
  static properties = { setup: { state: true }, codes: { state: true }, error: { state: true }, busy: { state: true } };
  declare setup: Schemas['TotpSetupOut'] | null;
  declare codes: string[] | null;
  declare error: string;
  declare busy: boolean;

  static styles = [
    NfElement.styles,
    css`
      .qr { width: 12rem; height: 12rem; background: #fff; color: #000; padding: var(--nf-space-2); border-radius: var(--nf-radius); }
      .codes { columns: 2; font-family: var(--nf-mono); padding-left: 1.25rem; }
      .secret { word-break: break-all; }
    `,
  ];

  constructor() {
    super();
    this.setup = null;
    this.codes = null;
    this.error = '';
    this.busy = false;
  }

  private problem(err: unknown): ProblemError {
    return err instanceof ProblemError ? err : ProblemError.network();
  }

  private async start(e: SubmitEvent) {
    e.preventDefault();
    const { password } = formValues(e.target as HTMLFormElement);
    this.busy = true;
    try {
      this.setup = (await post<Schemas['TotpSetupOut']>('/api/v1/auth/2fa/setup', { password } satisfies Schemas['PasswordIn'])).data;
      this.error = '';
    } catch (err) {
      const p = this.problem(err);
      this.error = p.code === 'invalid_credentials' ? msg('The password is incorrect.') : p.detail;
    } finally {
      this.busy = false;
    }
  }

  private async enable(e: SubmitEvent) {
    e.preventDefault();
    const { code } = formValues(e.target as HTMLFormElement);
    this.busy = true;
    try {
      this.codes = (await post<{ recovery_codes: string[] }>('/api/v1/auth/2fa/enable', { code: code.replace(/\s/g, '') })).data.recovery_codes;
      this.setup = null;
      this.error = '';
      auth.setUser({ ...auth.user!, totp_enabled: true });
      toast(msg('Two-factor authentication is on.'));
    } catch (err) {
      const p = this.problem(err);
      this.error = p.code === 'invalid_totp' ? msg('That code is not valid. Check the time on your device and try again.') : p.detail;
    } finally {
      this.busy = false;
    }
  }

  private async disable(e: SubmitEvent) {
    e.preventDefault();
    const { code } = formValues(e.target as HTMLFormElement);
    try {
      await post('/api/v1/auth/2fa/disable', { code: code.trim() });
      auth.setUser({ ...auth.user!, totp_enabled: false });
      this.codes = null;
      this.error = '';
      toast(msg('Two-factor authentication is off.'));
    } catch (err) {
      const p = this.problem(err);
      this.error = p.code === 'invalid_totp' ? msg('That code is not valid.') : p.detail;
    }
  }

  private async copy() {
    try {
      await navigator.clipboard.writeText(this.codes!.join('\n'));
      toast(msg('Recovery codes copied.'));
    } catch {
      toast(msg('Copying is not allowed here. Select the codes and copy them by hand.'), 'error');
    }
  }

  private download() {
    const blob = new Blob([this.codes!.join('\n') + '\n'], { type: 'text/plain' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = 'neoforge-recovery-codes.txt';
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }

  render() {
    const u = auth.user;
    const err = this.error ? html`<p class="alert" role="alert">${this.error}</p>` : '';
    if (this.codes)
      return html`<div class="stack">
        <p class="note" role="status">${msg('Save these recovery codes somewhere safe. Each one signs you in once if you lose your device. They are shown only now.')}</p>
        <ol class="codes" aria-label=${msg('Recovery codes')}>${this.codes.map((c) => html`<li>${c}</li>`)}</ol>
        <div class="row">
          <button class="secondary" @click=${this.copy}>${msg('Copy recovery codes')}</button>
          <button class="secondary" @click=${this.download}>${msg('Download recovery codes')}</button>
          <button @click=${() => (this.codes = null)}>${msg('I saved my codes')}</button>
        </div>
      </div>`;
    if (u?.totp_enabled)
      return html`<p><span class="badge s-operational">${msg('On')}</span> ${msg('Sign-in asks for a code from your authenticator app.')}</p>
        ${err}
        <form novalidate @submit=${this.disable}>
          ${field({ id: 'disable_code', name: 'code', label: msg('Code or recovery code to turn it off'), autocomplete: 'one-time-code', required: true })}
          <div class="row"><button class="danger" type="submit">${msg('Turn off two-factor authentication')}</button></div>
        </form>`;
    if (this.setup) {
      const { size, d } = qrPath(this.setup.otpauth_uri);
      return html`<div class="stack">
        <p>${msg('Scan this code with your authenticator app, then enter the 6-digit code it shows.')}</p>
        <svg class="qr" viewBox="0 0 ${size} ${size}" role="img" aria-label=${msg('QR code for your authenticator app')}>
          ${svg`<path d=${d} fill="currentColor"></path>`}
        </svg>
        <p>${msg('Or enter this secret by hand:')} <code class="mono secret">${this.setup.secret}</code></p>
        ${err}
        <form novalidate @submit=${this.enable}>
          ${field({ id: 'totp_code', name: 'code', label: msg('Code from the app'), autocomplete: 'one-time-code', inputmode: 'numeric', required: true })}
          <div class="row">
            <button type="submit" ?disabled=${this.busy}>${msg('Turn on two-factor authentication')}</button>
            <button type="button" class="secondary" @click=${() => (this.setup = null)}>${msg('Cancel')}</button>
          </div>
        </form>
      </div>`;
    }
    return html`<p>${msg('Protect your account with a code from an authenticator app at each sign-in.')}</p>
      ${err}
      <form novalidate @submit=${this.start}>
        ${field({ id: 'totp_password', name: 'password', label: msg('Confirm your password'), type: 'password', autocomplete: 'current-password', required: true })}
        <div class="row"><button type="submit" ?disabled=${this.busy}>${msg('Set up two-factor authentication')}</button></div>
      </form>`;
  }
}
customElements.define('nf-two-factor', NfTwoFactor);
