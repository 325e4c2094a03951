// Offline-first in the real Chromium against the real binary (docs/offline.md): reads served by the
// service worker's per-user cache while the server's own request counter stands still, the outbox
// (create + two edits + create-and-delete → one row, one create and two updates in the audit log), a
// lost response replayed with Idempotent-Replayed, the 412 conflict dialog with both choices, a dropped
// change copied to the clipboard, the queue surviving a browser restart, and axe on the new UI.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { startServer, ADMIN } from './server.mjs';
import { launch, launchPersistent, context, signIn, settled, SHOTS } from './helpers.mjs';

const PASSWORD = 'offline-first-Password-1';
let n = 0;

describe('offline', () => {
  let srv, browser;
  const violations = [];
  const errors = [];

  before(async () => {
    srv = await startServer();
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    srv?.stop();
  });

  /** The API from Node (not through the browser): JSON in, { status, body, headers } out. */
  async function api(method, path, token, body, headers = {}) {
    const r = await fetch(`${srv.base}${path}`, {
      method,
      headers: { Accept: 'application/json', ...(body ? { 'Content-Type': 'application/json' } : {}), ...(token ? { Authorization: `Bearer ${token}` } : {}), ...headers },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null, etag: r.headers.get('etag') };
  }

  /** A new user, registered through the API; returns their credentials and an API token. */
  async function newUser() {
    const u = { email: `offline${++n}-${Date.now()}@example.com`, password: PASSWORD };
    const r = await api('POST', '/api/v1/auth/register', null, { ...u, full_name: `Offline User ${n}` });
    assert.ok(r.status < 300, JSON.stringify(r.body));
    return { ...u, token: r.body.access_token, id: r.body.user.id };
  }

  async function projects(user) {
    return (await api('GET', '/api/v1/projects?page_size=100', user.token)).body.items;
  }

  async function until(fn, what, timeout = 20_000) {
    const end = Date.now() + timeout;
    for (;;) {
      const v = await fn();
      if (v) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Signed in, with the service worker installed and controlling the page. */
  async function signedInPage(user, opts = {}) {
    const ctx = await context(browser, { violations, errors, ...opts });
    const page = await ctx.newPage();
    await signIn(page, srv.base, user);
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    if (opts.serviceWorkers !== 'block') await controlled(page);
    return { ctx, page };
  }

  async function controlled(page) {
    await page.evaluate(async () => {
      if (!('serviceWorker' in navigator)) return;
      await navigator.serviceWorker.ready;
      if (!navigator.serviceWorker.controller)
        await new Promise((r) => navigator.serviceWorker.addEventListener('controllerchange', r, { once: true }));
    });
  }

  async function axe(page, where) {
    const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
    const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.deepEqual(bad.map((v) => `${v.id}: ${v.nodes.map((x) => x.target.join(' ')).join(' | ')}`), [], where);
  }

  it('offline reload of the main pages renders from the cache; the server counts no request', async () => {
    const user = await newUser();
    const p = await api('POST', '/api/v1/projects', user.token, { name: 'Atlas', description: 'Charts of the world' });
    const { ctx, page } = await signedInPage(user);
    const pages = {
      '/projects': () => page.getByRole('link', { name: 'Atlas' }).waitFor(),
      [`/projects/${p.body.id}`]: () => page.getByRole('heading', { name: 'Atlas', level: 1 }).waitFor(),
      '/community': () => page.getByRole('heading', { name: 'Community', level: 1 }).waitFor(),
      '/status': () => page.getByRole('heading', { level: 1 }).first().waitFor(),
      '/settings': () => page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor(),
    };
    for (const [path, shown] of Object.entries(pages)) {
      await page.goto(`${srv.base}${path}`);
      await shown();
      await settled(page);
    }
    const before = await srv.metric('http_requests_total');
    await ctx.setOffline(true);
    for (const [path, shown] of Object.entries(pages)) {
      await page.goto(`${srv.base}${path}`);
      await shown();
      await page.getByText('You are offline.').waitFor();
    }
    await page.goto(`${srv.base}/projects`);
    await page.getByRole('link', { name: 'Atlas' }).waitFor();
    await page.getByText(/last synced/).waitFor();
    await page.screenshot({ path: `${SHOTS}offline-projects-light-1280.png` });
    await axe(page, 'the offline banner');
    assert.equal(await srv.metric('http_requests_total'), before, 'the server saw no request while offline');
    await ctx.setOffline(false);
    // Signing out deletes this user's cached reads.
    await page.reload();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('link', { name: 'Sign in' }).first().waitFor();
    const names = await page.evaluate(() => caches.keys());
    assert.ok(!names.includes(`nf-api-${user.id}`), names.join(', '));
    await ctx.close();
  });

  it("user B never sees user A's cached data on the same browser", async () => {
    const a = await newUser();
    const b = await newUser();
    await api('POST', '/api/v1/projects', a.token, { name: 'Only for A' });
    const ctx = await context(browser, { violations, errors });
    const page = await ctx.newPage();
    await signIn(page, srv.base, a);
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await controlled(page);
    await page.goto(`${srv.base}/projects`);
    await page.getByRole('link', { name: 'Only for A' }).waitFor();
    await settled(page);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('link', { name: 'Sign in' }).first().waitFor();
    await signIn(page, srv.base, b);
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await page.goto(`${srv.base}/projects`);
    await settled(page);
    await ctx.setOffline(true);
    await page.reload();
    await page.getByRole('heading', { name: 'Projects', level: 1 }).waitFor();
    await page.getByText('You are offline.').waitFor();
    await settled(page);
    assert.equal(await page.getByText('Only for A').count(), 0);
    const names = await page.evaluate(() => caches.keys());
    assert.ok(!names.includes(`nf-api-${a.id}`), names.join(', '));
    assert.ok(names.includes(`nf-api-${b.id}`), names.join(', '));
    await ctx.setOffline(false);
    await ctx.close();
  });

  it('offline: create + two edits + create-and-delete, then online → one row; the audit log has one create and two updates', async () => {
    const user = await newUser();
    const { ctx, page } = await signedInPage(user);
    await page.goto(`${srv.base}/projects`);
    await settled(page);
    await ctx.setOffline(true);
    const create = async (name) => {
      await page.getByRole('button', { name: 'New project' }).click();
      await page.getByLabel('Name').fill(name);
      await page.getByRole('button', { name: 'Create project' }).click();
      await page.getByRole('link', { name }).waitFor();
    };
    const edit = async (name) => {
      await page.getByRole('button', { name: 'Edit project' }).click();
      await page.getByLabel('Name').fill(name);
      await page.getByRole('button', { name: 'Save changes' }).click();
      await page.getByRole('heading', { name, level: 1 }).waitFor();
    };
    await create('Draft');
    await page.getByText('Pending sync').first().waitFor();
    await page.getByRole('link', { name: 'Draft' }).click();
    await edit('Draft 2');
    await edit('Final');
    await page.getByText('Pending sync').waitFor();
    await page.getByRole('link', { name: /All projects/ }).click();
    await create('Scratch');
    await page.getByRole('link', { name: 'Scratch' }).click();
    await page.getByRole('button', { name: 'Delete project' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete project' }).click();
    await page.waitForURL('**/projects');
    await page.getByRole('link', { name: 'Final' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Scratch' }).count(), 0);
    assert.deepEqual(await projects(user), [], 'nothing reached the server while offline');
    await ctx.setOffline(false);
    const rows = await until(async () => {
      const items = await projects(user);
      return items.length === 1 && items[0].name === 'Final' ? items : null;
    }, 'the replay');
    await until(async () => (await page.getByText('Pending sync').count()) === 0, 'the pending marks to go');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await projects(user)).length, 1);
    const admin = await api('POST', '/api/v1/auth/login', null, ADMIN);
    const audit = await api('GET', `/api/v1/admin/audit-logs?actor_id=${user.id}&resource_type=project&page_size=100`, admin.body.access_token);
    const actions = audit.body.items.map((e) => e.action).sort();
    assert.deepEqual(actions, ['project.create', 'project.update', 'project.update']);
    assert.ok(audit.body.items.every((e) => e.resource_id === rows[0].id));
    await ctx.close();
  });

  it('a lost response (the server commits, the browser sees a failure) is replayed with Idempotent-Replayed', async () => {
    const user = await newUser();
    // Blocked workers: page.route must see the page's own request (the outbox runs in the page anyway).
    const { ctx, page } = await signedInPage(user, { serviceWorkers: 'block' });
    await page.goto(`${srv.base}/projects`);
    await settled(page);
    let lost = 0;
    await page.route('**/api/v1/projects', async (route) => {
      if (route.request().method() !== 'POST' || lost) return route.fallback();
      lost++;
      const committed = await route.fetch();
      assert.equal(committed.status(), 201);
      await route.abort('connectionreset');
    });
    const replayed = page.waitForResponse((r) => r.url().endsWith('/api/v1/projects') && r.request().method() === 'POST' && r.headers()['idempotent-replayed'] === 'true');
    await page.getByRole('button', { name: 'New project' }).click();
    await page.getByLabel('Name').fill('Lost and found');
    await page.getByRole('button', { name: 'Create project' }).click();
    const res = await replayed;
    assert.ok(res.status() === 200 || res.status() === 201, String(res.status()));
    assert.equal(lost, 1);
    await until(async () => (await page.getByText('Pending sync').count()) === 0, 'the pending mark to go');
    const items = await projects(user);
    assert.deepEqual(items.map((p) => p.name), ['Lost and found']);
    await ctx.close();
  });

  it('conflict: a second context edits the item; the 412 dialog lists the fields; keep mine and take theirs end as chosen', async () => {
    const user = await newUser();
    const p = (await api('POST', '/api/v1/projects', user.token, { name: 'Shared', description: 'Same text' })).body;
    const { ctx, page } = await signedInPage(user);
    const other = await signedInPage(user);
    const otherEdit = async (name) => {
      await other.page.goto(`${srv.base}/projects/${p.id}`);
      await other.page.getByRole('button', { name: 'Edit project' }).click();
      await other.page.getByLabel('Name').fill(name);
      await other.page.getByRole('button', { name: 'Save changes' }).click();
      await other.page.getByRole('heading', { name, level: 1 }).waitFor();
    };
    const myOfflineEdit = async (name) => {
      await page.goto(`${srv.base}/projects/${p.id}`);
      await settled(page);
      await ctx.setOffline(true);
      await page.getByRole('button', { name: 'Edit project' }).click();
      await page.getByLabel('Name').fill(name);
      await page.getByRole('button', { name: 'Save changes' }).click();
      await page.getByText('Pending sync').waitFor();
    };

    // Round 1: keep mine.
    await myOfflineEdit('Mine 1');
    await otherEdit('Theirs 1');
    await ctx.setOffline(false);
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    const row = dialog.locator('tr[data-field="name"]');
    assert.match(await row.innerText(), /Mine 1[\s\S]*Theirs 1/);
    assert.equal(await row.getAttribute('data-resolution'), 'both');
    assert.equal(await dialog.locator('tr[data-field="description"]').getAttribute('data-resolution'), 'same');
    await axe(page, 'the conflict dialog');
    await page.screenshot({ path: `${SHOTS}offline-conflict-light-1280.png` });
    for (let i = 0; i < 5; i++) {
      await page.keyboard.press('Tab');
      assert.ok(await page.evaluate(() => {
        let a = document.activeElement;
        while (a?.shadowRoot?.activeElement) a = a.shadowRoot.activeElement;
        return !!a?.closest('dialog');
      }), 'focus stays in the dialog');
    }
    // Escape decides later: the conflict stays, the banner reopens it and gets the focus back.
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    const review = page.getByRole('button', { name: 'Review the conflict' });
    await review.click();
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    assert.ok(await review.evaluate((el) => el.matches(':focus')), 'focus is back on the opener');
    await review.click();
    await dialog.getByRole('button', { name: 'Keep mine' }).click();
    await until(async () => (await api('GET', `/api/v1/projects/${p.id}`, user.token)).body.name === 'Mine 1', 'keep mine');

    // Round 2: take theirs.
    await myOfflineEdit('Mine 2');
    await otherEdit('Theirs 2');
    await ctx.setOffline(false);
    await dialog.waitFor();
    assert.match(await dialog.locator('tr[data-field="name"]').innerText(), /Mine 2[\s\S]*Theirs 2/);
    await dialog.getByRole('button', { name: 'Take theirs' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await new Promise((r) => setTimeout(r, 1000));
    const final = (await api('GET', `/api/v1/projects/${p.id}`, user.token)).body;
    assert.equal(final.name, 'Theirs 2');
    assert.equal(final.description, 'Same text');
    await page.goto(`${srv.base}/settings`);
    await page.getByRole('heading', { name: /Conflicts \(0\)/ }).waitFor();
    await ctx.close();
    await other.ctx.close();
  });

  it('a dropped change (the item was deleted elsewhere) stays in the sync centre: copy, then dismiss; no JWT in IndexedDB or the caches', async () => {
    const user = await newUser();
    const p = (await api('POST', '/api/v1/projects', user.token, { name: 'Doomed', description: null })).body;
    const { ctx, page } = await signedInPage(user);
    await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: srv.base });
    await page.goto(`${srv.base}/projects/${p.id}`);
    await settled(page);
    await ctx.setOffline(true);
    await page.getByRole('button', { name: 'Edit project' }).click();
    await page.getByLabel('Description').fill('Words I typed and must not lose');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Pending sync').waitFor();
    assert.equal((await api('DELETE', `/api/v1/projects/${p.id}`, user.token)).status, 204);
    await ctx.setOffline(false);
    await page.getByText(/no longer exists/).first().waitFor();
    await page.goto(`${srv.base}/settings`);
    await page.getByRole('heading', { name: 'Dropped (1)' }).waitFor();
    await settled(page);
    await axe(page, 'the sync centre');
    await page.locator('#sync').screenshot({ path: `${SHOTS}offline-sync-centre-light-1280.png` });
    await page.getByRole('button', { name: /^Copy Edit/ }).click();
    await page.getByText('Copied to the clipboard.').waitFor();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    assert.match(copied, /Words I typed and must not lose/);
    // Nothing at rest holds a token: every IndexedDB record (the outbox) and every cached request and answer.
    const atRest = await page.evaluate(async () => {
      const out = [];
      for (const { name } of await indexedDB.databases()) {
        const db = await new Promise((res, rej) => Object.assign(indexedDB.open(name), { onsuccess: (e) => res(e.target.result), onerror: rej }));
        for (const store of db.objectStoreNames) {
          const all = await new Promise((res) => Object.assign(db.transaction(store).objectStore(store).getAll(), { onsuccess: (e) => res(e.target.result) }));
          out.push(name, JSON.stringify(all));
        }
        db.close();
      }
      for (const name of await caches.keys()) {
        const c = await caches.open(name);
        for (const req of await c.keys()) {
          const res = await c.match(req);
          out.push(req.url, JSON.stringify([...req.headers]), JSON.stringify([...res.headers]), res.headers.get('content-type')?.includes('json') ? await res.text() : '');
        }
      }
      return out;
    });
    assert.ok(atRest.some((x) => x.startsWith('nf-outbox-')), 'the outbox database is there');
    assert.doesNotMatch(atRest.join('\n'), /eyJ[\w-]{10,}\.[\w-]{10,}\.[\w-]{10,}/);
    await page.getByRole('button', { name: /^Dismiss Edit/ }).click();
    await page.getByRole('heading', { name: 'Dropped (0)' }).waitFor();
    await ctx.close();
  });

  it('the outbox survives closing the browser', async () => {
    const user = await newUser();
    const dir = mkdtempSync(join(tmpdir(), 'nf-outbox-profile-'));
    // In a persistent profile, setOffline does not cut the service worker's fall-through requests: block
    // workers here (this test is about the outbox on disk, which runs in the page).
    const persistent = () => launchPersistent(dir, { serviceWorkers: 'block' });
    try {
      let ctx = await persistent();
      let page = ctx.pages()[0] ?? (await ctx.newPage());
      await signIn(page, srv.base, user);
      await page.getByRole('button', { name: 'Sign out' }).waitFor();
      await page.goto(`${srv.base}/projects`);
      await settled(page);
      await ctx.setOffline(true);
      await page.getByRole('button', { name: 'New project' }).click();
      await page.getByLabel('Name').fill('Survivor');
      await page.getByRole('button', { name: 'Create project' }).click();
      await page.getByText('Pending sync').waitFor();
      await ctx.close();
      assert.deepEqual(await projects(user), []);

      ctx = await persistent();
      page = ctx.pages()[0] ?? (await ctx.newPage());
      await page.goto(`${srv.base}/projects`);
      if (page.url().includes('/login')) {
        await page.getByLabel('Email').fill(user.email);
        await page.getByLabel('Password').fill(user.password);
        await page.getByRole('button', { name: 'Sign in', exact: true }).last().click();
      }
      const items = await until(async () => {
        const list = await projects(user);
        return list.length ? list : null;
      }, 'the replay after the restart');
      assert.deepEqual(items.map((x) => x.name), ['Survivor']);
      await ctx.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the support form is not queued offline and says it needs a connection', async () => {
    const ctx = await context(browser, { violations, errors });
    const page = await ctx.newPage();
    await page.goto(`${srv.base}/support`);
    await settled(page);
    await controlled(page);
    await ctx.setOffline(true);
    await page.getByText(/You are offline\. Sending this form needs a connection/).waitFor();
    await ctx.setOffline(false);
    await ctx.close();
  });

  it('a new build shows "update available"; until the reload the old build works even with its chunks gone', async () => {
    const dist = new URL('../../dist/', import.meta.url).pathname;
    const sw = join(dist, 'sw.js');
    const original = readFileSync(sw);
    const chunk = readdirSync(join(dist, 'assets')).find((f) => /^status-.*\.js$/.test(f));
    const ctx = await context(browser, { violations, errors });
    try {
      const page = await ctx.newPage();
      await page.goto(`${srv.base}/`);
      await settled(page);
      await controlled(page);
      // "Deploy" a new build: another sw.js, and an old chunk no longer on the server.
      appendFileSync(sw, '\n// a new build\n');
      renameSync(join(dist, 'assets', chunk), join(dist, 'assets', chunk + '.old'));
      assert.equal((await fetch(`${srv.base}/assets/${chunk}`)).status, 404);
      await page.evaluate(async () => (await navigator.serviceWorker.getRegistration()).update());
      const reload = page.getByRole('button', { name: 'Reload to update' });
      await reload.waitFor();
      await page.getByText('A new version of NeoForge is available.').waitFor();
      // The page has not loaded the status chunk yet: the old worker still serves it.
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Status' }).click();
      await page.getByRole('heading', { level: 1 }).filter({ hasText: /status/i }).first().waitFor();
      assert.deepEqual(errors, []);
      await Promise.all([page.waitForEvent('load'), reload.click()]);
      await page.getByRole('heading', { level: 1 }).first().waitFor();
      assert.equal(await page.getByRole('button', { name: 'Reload to update' }).count(), 0);
    } finally {
      writeFileSync(sw, original);
      try {
        renameSync(join(dist, 'assets', chunk + '.old'), join(dist, 'assets', chunk));
      } catch {
        /* not moved */
      }
      await ctx.close();
    }
  });

  it('caused no CSP violation and no uncaught error', () => {
    assert.deepEqual(violations, []);
    assert.deepEqual(errors, []);
  });
});
