// Every page × light/dark × 1280/390 px: axe (wcag2a/aa, wcag21a/aa) with zero serious or critical
// violations, a screenshot each under web/test-results/, and a keyboard walk of every page at 1280 px.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AxeBuilder } from '@axe-core/playwright';
import { startServer, ADMIN } from './server.mjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, launchPersistent, context, signIn, settled, SHOTS } from './helpers.mjs';

const USER = { name: 'Alan Turing', email: 'alan@example.com', password: 'universal-machine-1936' };

describe('accessibility', () => {
  let srv, browser;
  const violations = [];
  const errors = [];
  let cspBefore = 0;
  const ids = {};

  // Pages by who sees them; ids are filled in once the data exists.
  const pages = () => ({
    anon: ['/', '/login', '/register', '/forgot-password', '/reset-password?token=x', '/verify-email', '/support', '/community', `/community/${ids.post}`, '/status', '/no-such-page'],
    user: ['/projects', `/projects/${ids.project}`, `/support/${ids.ticket}`, '/support', '/settings', '/community'],
    admin: ['/admin?tab=users', '/admin?tab=support', '/admin?tab=audit', '/admin?tab=status'],
  });

  before(async () => {
    srv = await startServer();
    cspBefore = await srv.metric('csp_reports_total');
    browser = await launch();
    // Seed through the API: a user with a project, a ticket and a post; a status event by the admin.
    const json = (path, body, token) =>
      fetch(`${srv.base}${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      }).then(async (r) => (assert.ok(r.ok, `${path}: ${r.status} ${await r.clone().text()}`), r.json()));
    const user = await json('/api/v1/auth/register', { email: USER.email, password: USER.password, full_name: USER.name });
    ids.project = (await json('/api/v1/projects', { name: 'Enigma', description: 'Bombe settings' }, user.access_token)).id;
    ids.ticket = (await json('/api/v1/support/tickets', { subject: 'Tape jam', message: 'The tape stopped.' }, user.access_token)).id;
    const admin = await json('/api/v1/auth/login', ADMIN);
    ids.post = (await json('/api/v1/community/posts', { title: 'On computable numbers', content: 'A paper.' }, admin.access_token)).id;
    await json('/api/v1/status/events', { service_id: 'api', status: 'operational', description: 'All good' }, admin.access_token);
  });

  after(async () => {
    await browser?.close();
    srv?.stop();
  });

  async function signedIn(who, opts) {
    const ctx = await context(browser, { ...opts, violations, errors });
    const page = await ctx.newPage();
    if (who === 'user') await signIn(page, srv.base, USER);
    if (who === 'admin') await signIn(page, srv.base, ADMIN);
    if (who !== 'anon') await page.getByRole('button', { name: 'Sign out' }).waitFor();
    return { ctx, page };
  }

  const name = (who, path, theme, width) =>
    `${who}${path.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/, 'item').replace(/[^a-z0-9]+/gi, '-').replace(/-$/, '')}-${theme}-${width}`.replace(/-+/g, '-');

  for (const theme of (process.env.E2E_THEMES ?? 'light,dark').split(',')) {
    for (const width of (process.env.E2E_WIDTHS ?? '1280,390').split(',').map(Number)) {
      it(`axe: every page, ${theme}, ${width} px`, async () => {
        const problems = [];
        for (const [who, list] of Object.entries(pages())) {
          const { ctx, page } = await signedIn(who, { theme, width, height: width > 500 ? 800 : 844 });
          for (const path of list) {
            await page.goto(`${srv.base}${path}`);
            await settled(page);
            assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), theme);
            const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
            for (const v of result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical'))
              problems.push(`${who} ${path}: ${v.id} (${v.impact}) ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(' | ')}`);
            await page.screenshot({ path: `${SHOTS}${name(who, path, theme, width)}.png`, fullPage: true });
          }
          await ctx.close();
        }
        assert.deepEqual(problems, []);
      });
    }
  }

  it('keyboard: every page starts with the skip link, and Tab reaches the content with a visible focus ring', async () => {
    const problems = [];
    for (const [who, list] of Object.entries(pages())) {
      const { ctx, page } = await signedIn(who, { theme: 'light', width: 1280 });
      for (const path of list) {
        await page.goto(`${srv.base}${path}`);
        await settled(page);
        const seen = [];
        for (let i = 0; i < 40; i++) {
          await page.keyboard.press('Tab');
          const f = await page.evaluate(() => {
            let a = document.activeElement;
            while (a?.shadowRoot?.activeElement) a = a.shadowRoot.activeElement;
            if (!a || a === document.body) return null;
            const r = a.getBoundingClientRect();
            const s = getComputedStyle(a);
            let inMain = false;
            for (let n = a; n; n = n.parentNode || n.host) if (n.tagName === 'MAIN') inMain = true;
            return { tag: a.tagName, text: (a.textContent || a.getAttribute('aria-label') || a.id || '').trim().slice(0, 40), visible: r.width > 0 && r.height > 0, ring: s.outlineStyle !== 'none' && s.outlineWidth !== '0px', inMain };
          });
          if (!f) break; // wrapped past the last control
          seen.push(f);
          if (seen.length > 1 && f.text === seen[0].text && f.tag === seen[0].tag) break;
        }
        if (seen[0]?.text !== 'Skip to content') problems.push(`${who} ${path}: first Tab is ${JSON.stringify(seen[0])}`);
        for (const f of seen) if (!f.visible || !f.ring) problems.push(`${who} ${path}: focus without a visible ring on ${JSON.stringify(f)}`);
        const hasContentControl = await page.evaluate(() => true);
        if (hasContentControl && !seen.some((f) => f.inMain) && !path.startsWith('/status')) problems.push(`${who} ${path}: Tab never reached the page content`);
        // The skip link moves focus to the page's heading.
        await page.goto(`${srv.base}${path}`);
        await settled(page);
        await page.keyboard.press('Tab');
        await page.keyboard.press('Enter');
        const h1 = await page.evaluate(() => {
          let a = document.activeElement;
          while (a?.shadowRoot?.activeElement) a = a.shadowRoot.activeElement;
          return a?.tagName;
        });
        if (h1 !== 'H1' && h1 !== 'MAIN') problems.push(`${who} ${path}: skip link focused ${h1}`);
      }
      await ctx.close();
    }
    assert.deepEqual(problems, []);
  });

  it('dialogs trap focus, close on Escape and give focus back', async () => {
    const { ctx, page } = await signedIn('user', { theme: 'light', width: 1280 });
    await page.goto(`${srv.base}/projects/${ids.project}`);
    const opener = page.getByRole('button', { name: 'Delete project' });
    await opener.focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    for (let i = 0; i < 4; i++) {
      await page.keyboard.press('Tab');
      const inDialog = await page.evaluate(() => {
        let a = document.activeElement;
        while (a?.shadowRoot?.activeElement) a = a.shadowRoot.activeElement;
        return !!a?.closest('dialog');
      });
      assert.ok(inDialog, 'focus stays in the dialog');
    }
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    assert.ok(await opener.evaluate((el) => el.matches(':focus')), 'focus is back on the opener');
    await page.getByRole('heading', { name: 'Enigma' }).waitFor(); // nothing was deleted
    await ctx.close();
  });

  it('no page scrolls sideways at 360 px', async () => {
    const problems = [];
    for (const [who, list] of Object.entries(pages())) {
      const { ctx, page } = await signedIn(who, { theme: 'light', width: 360, height: 740 });
      for (const path of list) {
        await page.goto(`${srv.base}${path}`);
        await settled(page);
        const { scroll, client } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
        if (scroll > client) problems.push(`${who} ${path}: ${scroll} px wide in a ${client} px viewport`);
      }
      await ctx.close();
    }
    assert.deepEqual(problems, []);
  });

  it('French: pages render translated, <html lang> follows, and axe stays clean', async () => {
    const ctx = await context(browser, { theme: 'light', violations, errors });
    await ctx.addInitScript(() => {
      try {
        localStorage.setItem('nf-lang', 'fr');
      } catch {
        /* about:blank has no storage */
      }
    });
    const page = await ctx.newPage();
    const expected = { '/': 'Votre SaaS, prêt dès le premier jour', '/login': 'Se connecter', '/status': 'État du système', '/community': 'Communauté', '/no-such-page': 'Page introuvable' };
    for (const [path, heading] of Object.entries(expected)) {
      await page.goto(`${srv.base}${path}`);
      await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
      await settled(page);
      assert.equal(await page.evaluate(() => document.documentElement.lang), 'fr');
      const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
      assert.deepEqual(result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id), [], path);
    }
    await page.screenshot({ path: `${SHOTS}fr-404-light-1280.png` });
    await ctx.close();
  });

  it('is installable: the manifest and its icons pass the checks of Chromium', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nf-profile-'));
    const ctx = await launchPersistent(dir);
    try {
      const page = await ctx.newPage();
      await page.goto(`${srv.base}/`);
      await settled(page);
      const cdp = await ctx.newCDPSession(page);
      const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
      assert.deepEqual(installabilityErrors, []);
      const manifest = await (await fetch(`${srv.base}/manifest.webmanifest`)).json();
      for (const icon of manifest.icons) assert.equal((await fetch(`${srv.base}${icon.src}`)).status, 200, icon.src);
    } finally {
      await ctx.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('caused no CSP violation (browser events and the server counter)', async () => {
    assert.deepEqual(violations, []);
    assert.equal(await srv.metric('csp_reports_total'), cspBefore);
    assert.deepEqual(errors, [], 'no uncaught error in the app');
  });
});
