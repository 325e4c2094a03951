// Token handling in a real browser: no JWT at rest anywhere JavaScript can read, five parallel 401s
// cause exactly one refresh, and two tabs reloaded together stay signed in (no reuse detection).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './server.mjs';
import { launch, context, register } from './helpers.mjs';

const JWT = /eyJ[\w-]{10,}\.[\w-]{10,}\.[\w-]{10,}/;
const USER = { name: 'Grace Hopper', email: 'grace@example.com', password: 'cobol-compiler-1959' };

describe('tokens', () => {
  let srv, browser, ctx, page;
  const violations = [];
  const errors = [];

  before(async () => {
    srv = await startServer();
    browser = await launch();
    ctx = await context(browser, { violations, errors });
    page = await ctx.newPage();
    await register(page, srv.base, USER);
  });

  after(async () => {
    await browser?.close();
    srv?.stop();
  });

  it('keeps no JWT at rest: storage, IndexedDB, caches and JS-readable cookies', async () => {
    await page.goto(`${srv.base}/projects`);
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    const atRest = await page.evaluate(async () => {
      const dump = (s) => Object.keys(s).map((k) => `${k}=${s.getItem(k)}`);
      const caches_ = [];
      for (const name of await caches.keys()) {
        const c = await caches.open(name);
        for (const req of await c.keys()) caches_.push(req.url + ' ' + (await (await c.match(req)).text()));
      }
      const dbs = (await indexedDB.databases()).map((d) => d.name);
      return { local: dump(localStorage), session: dump(sessionStorage), cookie: document.cookie, caches: caches_, dbs };
    });
    assert.doesNotMatch(JSON.stringify(atRest), JWT, JSON.stringify(atRest));
    assert.deepEqual(atRest.dbs, []);
    const cookies = await ctx.cookies();
    const refresh = cookies.find((c) => c.name === 'nf_refresh');
    assert.ok(refresh?.httpOnly, 'the refresh token is an HttpOnly cookie');
    assert.equal(refresh.sameSite, 'Strict');
    assert.equal(refresh.path, '/api/v1/auth');
  });

  it('five parallel 401s cause exactly one refresh and one retry each', async () => {
    let refreshes = 0;
    page.on('request', (r) => r.url().endsWith('/api/v1/auth/refresh') && refreshes++);
    let rejected = 0;
    // The service worker answers API reads (docs/offline.md); page.route only sees the page's own requests.
    const cdp = await ctx.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.setBypassServiceWorker', { bypass: true });
    await page.route('**/api/v1/users/me', (route) => {
      // The first five answers are what an expired access token gets.
      if (rejected < 5) {
        rejected++;
        return route.fulfill({ status: 401, contentType: 'application/problem+json', headers: { 'WWW-Authenticate': 'Bearer' },
          body: JSON.stringify({ type: 'about:blank', title: 'Unauthorized', status: 401, code: 'invalid_token', detail: 'expired', request_id: 'x' }) });
      }
      return route.continue();
    });
    const statuses = await page.evaluate(() =>
      Promise.all([1, 2, 3, 4, 5].map(() => document.querySelector('nf-app').auth.fetch(new Request('/api/v1/users/me')).then((r) => r.status))),
    );
    await page.unroute('**/api/v1/users/me');
    await cdp.send('Network.setBypassServiceWorker', { bypass: false });
    await cdp.detach();
    assert.deepEqual(statuses, [200, 200, 200, 200, 200]);
    assert.equal(rejected, 5);
    assert.equal(refreshes, 1);
  });

  it('two tabs reloaded together stay signed in and never trip reuse detection', async () => {
    const second = await ctx.newPage();
    await second.goto(`${srv.base}/projects`);
    await second.getByRole('button', { name: 'Sign out' }).waitFor();
    for (let round = 0; round < 3; round++) {
      await Promise.all([page.reload(), second.reload()]);
      for (const p of [page, second]) {
        await p.getByRole('button', { name: 'Sign out' }).waitFor();
        const status = await p.evaluate(() => document.querySelector('nf-app').auth.fetch(new Request('/api/v1/users/me')).then((r) => r.status));
        assert.equal(status, 200);
      }
    }
    // Reuse detection would have revoked every session and written this audit entry.
    const login = await fetch(`${srv.base}/api/v1/auth/login`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: 'admin@example.com', password: 'admin-e2e-Password-1' }),
    }).then((r) => r.json());
    const audit = await fetch(`${srv.base}/api/v1/admin/audit-logs?action=auth.refresh_reuse_detected`, {
      headers: { Authorization: `Bearer ${login.access_token}` },
    }).then((r) => r.json());
    assert.equal(audit.total ?? audit.items.length, 0);
    await second.close();
  });

  it('signing out in one tab signs the other out too', async () => {
    const second = await ctx.newPage();
    await second.goto(`${srv.base}/projects`);
    await second.getByRole('button', { name: 'Sign out' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await second.getByRole('heading', { name: 'Sign in' }).waitFor();
    await second.close();
  });

  it('loads the initial JS for / within the budget, measured from what the browser fetched', async () => {
    const fresh = await browser.newContext();
    const p = await fresh.newPage();
    const js = [];
    p.on('response', async (r) => {
      if (r.url().endsWith('.js') && r.request().resourceType() === 'script') js.push(r);
    });
    await p.goto(`${srv.base}/`, { waitUntil: 'networkidle' });
    const { gzipSync } = await import('node:zlib');
    let total = 0;
    for (const r of js) total += gzipSync(await r.body()).length;
    await fresh.close();
    assert.ok(js.length >= 2, 'the entry and the landing chunk');
    assert.ok(total <= 60 * 1024, `initial JS ${total} B gzip`);
    console.log(`# initial JS for / as fetched: ${(total / 1024).toFixed(1)} KB gzip in ${js.length} files`);
  });

  it('routes by access: private pages ask to sign in and come back, admin pages are a 404 for users', async () => {
    const anon = await context(browser, { violations, errors });
    const p = await anon.newPage();
    await p.goto(`${srv.base}/projects`);
    await p.waitForURL('**/login?next=%2Fprojects');
    await p.getByLabel('Email').fill(USER.email);
    await p.getByLabel('Password').fill(USER.password);
    await p.getByRole('button', { name: 'Sign in', exact: true }).click();
    await p.waitForURL('**/projects');
    await p.goto(`${srv.base}/admin`);
    await p.getByRole('heading', { name: 'Page not found' }).waitFor();
    await p.goto(`${srv.base}/login`);
    await p.waitForURL('**/projects'); // already signed in
    await anon.close();
  });

  it('caused no CSP violation and no uncaught error', () => {
    assert.deepEqual(violations, []);
    assert.deepEqual(errors, []);
  });
});
