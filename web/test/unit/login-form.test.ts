// The sign-in form rendered in happy-dom: client-side errors next to their fields, then the TOTP step
// when the server answers `totp_required`, then a recovery code accepted in place of a TOTP code.
import { afterEach, describe, expect, it, vi } from 'vitest';
import '../../src/pages/login';
import { auth } from '../../src/api/client';
import { ProblemError } from '../../src/api/problem';

async function mount() {
  const el = document.createElement('nf-login') as HTMLElement & { updateComplete: Promise<unknown> };
  document.body.append(el);
  await el.updateComplete;
  const $ = <T extends Element>(sel: string) => el.shadowRoot!.querySelector<T>(sel)!;
  const submit = async () => {
    $<HTMLFormElement>('form').dispatchEvent(new Event('submit', { cancelable: true }));
    await new Promise((r) => setTimeout(r, 0));
    await el.updateComplete;
  };
  return { el, $, submit };
}

afterEach(() => {
  document.body.innerHTML = '';
  vi.restoreAllMocks();
});

describe('sign-in form', () => {
  it('shows an error next to each empty field, linked by aria-describedby', async () => {
    const { $, submit } = await mount();
    await submit();
    const email = $<HTMLInputElement>('#email');
    expect(email.getAttribute('aria-invalid')).toBe('true');
    expect($('#' + email.getAttribute('aria-describedby')).textContent).toContain('Enter your email address.');
    expect($('#password-error').textContent).toContain('Enter your password.');
  });

  it('asks for a code after totp_required, then sends the recovery code with the same credentials', async () => {
    const login = vi.spyOn(auth, 'login').mockRejectedValueOnce(new ProblemError(401, 'totp_required', 'code needed'));
    const { $, submit } = await mount();
    $<HTMLInputElement>('#email').value = 'ada@example.com';
    $<HTMLInputElement>('#password').value = 'secret-password';
    await submit();
    expect($('h1').textContent).toContain('Two-factor sign-in');
    expect($('label[for="totp_code"]').textContent).toContain('Authentication code');
    ($<HTMLButtonElement>('button.link')).click();
    await new Promise((r) => setTimeout(r, 0));
    expect($('label[for="totp_code"]').textContent).toContain('Recovery code');
    login.mockResolvedValueOnce({} as never);
    $<HTMLInputElement>('#totp_code').value = 'abcd-efgh';
    await submit();
    expect(login).toHaveBeenLastCalledWith('ada@example.com', 'secret-password', 'abcd-efgh');
  });

  it('says plainly when the credentials are wrong', async () => {
    vi.spyOn(auth, 'login').mockRejectedValueOnce(new ProblemError(401, 'invalid_credentials', 'Invalid credentials'));
    const { $, submit } = await mount();
    $<HTMLInputElement>('#email').value = 'ada@example.com';
    $<HTMLInputElement>('#password').value = 'wrong';
    await submit();
    expect($('[role="alert"]').textContent).toContain('The email or password is incorrect.');
  });
});
