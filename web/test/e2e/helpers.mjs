// Shared pieces of the browser tests: Debian's chromium through playwright-core, a context that records
// every CSP violation, RFC 6238 codes, and the sign-in steps.
import { createHmac } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';

export const SHOTS = new URL('../../test-results/', import.meta.url).pathname;
mkdirSync(SHOTS, { recursive: true });

const options = {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-default-apps'],
};

export function launch() {
  return chromium.launch(options);
}

/** A browser profile on disk (installability is never reported for incognito contexts). */
export function launchPersistent(dir, extra = {}) {
  return chromium.launchPersistentContext(dir, { ...options, ...extra });
}

/** A context whose pages report every securitypolicyviolation (enforced and report-only) into `violations`
 *  and every uncaught page error into `errors`. */
export async function context(browser, { theme, width = 1280, height = 800, violations, errors, serviceWorkers = 'allow' } = {}) {
  const ctx = await browser.newContext({ viewport: { width, height }, reducedMotion: 'reduce', locale: 'en-US', serviceWorkers });
  // Uncaught exceptions and unhandled rejections of the app, for the suites to assert there are none.
  ctx.on('page', (p) => p.on('pageerror', (e) => errors?.push(`${p.url()}: ${e.message}`)));
  await ctx.exposeBinding('__nfCsp', (_src, v) => violations?.push(v));
  await ctx.addInitScript((t) => {
    try {
      if (t) localStorage.setItem('nf-theme', t);
    } catch {
      /* about:blank has no storage */
    }
    document.addEventListener('securitypolicyviolation', (e) => {
      // @ts-ignore — the binding above
      window.__nfCsp({ directive: e.effectiveDirective, blocked: e.blockedURI, disposition: e.disposition, page: location.pathname, sample: e.sample });
    }, true);
  }, theme ?? null);
  return ctx;
}

/** RFC 6238 (SHA-1, 6 digits, 30 s) from a base32 secret, `offset` steps from now. */
export function totp(secret, offset = 0) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secret.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30000) + offset));
  const h = createHmac('sha1', key).update(counter).digest();
  const o = h[h.length - 1] & 0xf;
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

/** Waits until the page shows no loading skeleton (aria-busy) anywhere, shadow roots included. */
export async function settled(page) {
  await page.waitForLoadState('networkidle');
  await page.waitForFunction(() => {
    const busy = (root) => [...root.querySelectorAll('*')].some((el) => el.getAttribute('aria-busy') === 'true' || (el.shadowRoot && busy(el.shadowRoot)));
    return !busy(document);
  }, null, { timeout: 10_000 });
}

export async function register(page, base, { name, email, password }) {
  await page.goto(`${base}/register`);
  await page.getByLabel('Full name').fill(name);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL('**/projects');
}

export async function signIn(page, base, { email, password }) {
  await page.goto(`${base}/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).last().click();
}

export async function signOut(page) {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('link', { name: 'Sign in' }).first().waitFor();
}

/** Confirms the open <nf-confirm> dialog by its confirm button's name. */
export async function confirm(page, name) {
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  await dialog.getByRole('button', { name }).click();
  await dialog.waitFor({ state: 'hidden' });
}
