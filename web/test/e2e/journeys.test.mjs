// The journeys of web.md against the real binary: register → verify (link from the outbox) → projects
// CRUD → support ticket → community post → 2FA on and sign in with a code → sessions revoke → admin
// status event. No CSP violation may happen on the way.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, ADMIN } from './server.mjs';
import { launch, context, totp, register, signIn, signOut, confirm, SHOTS, settled } from './helpers.mjs';

const USER = { name: 'Ada Lovelace', email: 'ada@example.com', password: 'analytical-engine-1843' };

describe('journeys', () => {
  let srv, browser, ctx, page;
  const violations = [];
  const errors = [];
  let cspBefore = 0;
  let recovery = [];

  before(async () => {
    srv = await startServer();
    cspBefore = await srv.metric('csp_reports_total');
    browser = await launch();
    ctx = await context(browser, { violations, errors });
    page = await ctx.newPage();
  });

  after(async () => {
    await browser?.close();
    srv?.stop();
  });

  it('registers and verifies the email address with the link from the outbox', async () => {
    await register(page, srv.base, USER);
    await page.getByRole('heading', { name: 'Projects' }).waitFor();
    const mail = await srv.email(USER.email);
    const link = mail.text.match(/https?:\/\/\S+\/verify-email\?token=[\w-]+/)[0];
    await page.goto(link);
    await page.getByText('Your email address is verified').waitFor();
  });

  it('creates, edits and deletes a project', async () => {
    await page.goto(`${srv.base}/projects`);
    await page.getByText('No projects yet').waitFor();
    await page.getByRole('button', { name: 'New project' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Analytical engine');
    await page.getByLabel('Description').fill('Punched cards and a mill.');
    await page.getByRole('button', { name: 'Create project' }).click();
    await page.getByRole('link', { name: 'Analytical engine' }).click();
    await page.getByRole('heading', { name: 'Analytical engine' }).waitFor();
    await page.getByRole('button', { name: 'Edit project' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Difference engine');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('heading', { name: 'Difference engine' }).waitFor();
    await page.getByRole('button', { name: 'Delete project' }).click();
    await confirm(page, 'Delete project');
    await page.waitForURL('**/projects');
    await page.getByText('No projects yet').waitFor();
  });

  it('lists projects with search, sort, "Load more" and infinite scrolling over cursors', async () => {
    const login = await fetch(`${srv.base}/api/v1/auth/login`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: USER.email, password: USER.password }),
    }).then((r) => r.json());
    for (let i = 1; i <= 45; i++) {
      const r = await fetch(`${srv.base}/api/v1/projects`, {
        method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${login.access_token}` },
        body: JSON.stringify({ name: `Project ${String(i).padStart(2, '0')}` }),
      });
      assert.equal(r.status, 201);
    }
    await page.goto(`${srv.base}/projects`);
    const items = page.getByRole('region', { name: 'Your projects' }).getByRole('listitem');
    await page.getByRole('link', { name: 'Project 45' }).waitFor();
    assert.equal(await items.count(), 20);
    // Pressed without scrolling (scrolling would trigger the infinite scroll first).
    await page.getByRole('button', { name: 'Load more projects' }).evaluate((b) => b.click());
    await page.getByRole('link', { name: 'Project 06' }).waitFor();
    assert.equal(await items.count(), 40);
    // The rest comes by scrolling: the sentinel enters the viewport.
    await page.getByRole('button', { name: 'Load more projects' }).scrollIntoViewIfNeeded();
    await page.getByRole('link', { name: 'Project 01' }).waitFor();
    assert.equal(await items.count(), 45);
    await page.getByRole('button', { name: 'Load more projects' }).waitFor({ state: 'detached' });
    await page.getByLabel('Search projects').fill('project 07');
    await page.waitForFunction(() => true);
    await page.getByRole('link', { name: 'Project 45' }).waitFor({ state: 'detached' });
    assert.deepEqual(await items.allTextContents().then((t) => t.map((x) => x.trim().split('\n')[0])), ['Project 07']);
    await page.getByLabel('Search projects').fill('');
    await page.getByLabel('Sort by').selectOption({ label: 'Name A–Z' });
    await page.waitForFunction(() => true);
    await page.getByRole('link', { name: 'Project 01' }).waitFor();
    assert.match((await items.first().textContent()).trim(), /^Project 01/);
  });

  it('sends a support ticket and lists it', async () => {
    await page.getByRole('link', { name: 'Support', exact: true }).click();
    await page.getByLabel('Subject').fill('Cannot find the mill');
    await page.getByLabel('Message').fill('Where is the mill configured?');
    await page.getByRole('button', { name: 'Send message' }).click();
    await page.getByText('Ticket "Cannot find the mill" received.').waitFor();
    await page.getByRole('link', { name: 'Cannot find the mill' }).waitFor();
  });

  it('publishes a community post', async () => {
    await page.getByRole('link', { name: 'Community', exact: true }).click();
    await page.getByRole('button', { name: 'Write a post' }).click();
    await page.getByLabel('Title').fill('Notes on the engine');
    await page.getByLabel('Content').fill('It might compose elaborate pieces of music.');
    await page.getByRole('button', { name: 'Publish post' }).click();
    await page.getByRole('link', { name: 'Notes on the engine' }).click();
    await page.getByRole('heading', { name: 'Notes on the engine' }).waitFor();
    await page.getByText('By Ada Lovelace').waitFor();
  });

  it('turns on 2FA with the locally drawn QR code, then signs in with a code', async () => {
    await page.goto(`${srv.base}/settings`);
    await page.getByLabel('Confirm your password').fill(USER.password);
    await page.getByRole('button', { name: 'Set up two-factor authentication' }).click();
    await page.getByRole('img', { name: 'QR code for your authenticator app' }).waitFor();
    const secret = (await page.locator('code.secret').textContent()).trim();
    await page.getByLabel('Code from the app').fill(totp(secret));
    await page.getByRole('button', { name: 'Turn on two-factor authentication' }).click();
    const codes = page.getByRole('list', { name: 'Recovery codes' });
    await codes.waitFor();
    recovery = (await codes.getByRole('listitem').allTextContents()).map((c) => c.trim());
    assert.equal(recovery.length, 10);
    await page.screenshot({ path: `${SHOTS}settings-2fa.png`, fullPage: true });
    await page.getByRole('button', { name: 'I saved my codes' }).click();
    await signOut(page);

    await signIn(page, srv.base, USER);
    await page.getByRole('heading', { name: 'Two-factor sign-in' }).waitFor();
    // The step used to enable it cannot be used again: take the next one (±1 step is accepted).
    await page.getByLabel('Authentication code').fill(totp(secret, 1));
    await page.getByRole('button', { name: 'Verify and sign in' }).click();
    await page.waitForURL('**/projects');
  });

  it('lists sessions, renames one, revokes it after a confirm naming the device, then revokes all others', async () => {
    const apiLogin = (code) =>
      fetch(`${srv.base}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'User-Agent': 'curl/8.5.0' },
        body: JSON.stringify({ email: USER.email, password: USER.password, totp_code: code }),
      }).then((r) => (assert.equal(r.status, 200), r.json()));
    const other = await apiLogin(recovery[0]);
    await page.goto(`${srv.base}/settings`);
    const sessions = page.getByRole('list', { name: 'Active sessions' });
    await sessions.getByText('This device').waitFor();
    await page.getByRole('button', { name: 'Rename session curl/8.5.0' }).click();
    await page.getByLabel('Device name').fill('Build server');
    await page.getByRole('button', { name: 'Save name' }).click();
    await page.getByRole('button', { name: 'Revoke session Build server' }).click();
    await page.getByRole('dialog').getByText('Sign out "Build server"?').waitFor();
    await confirm(page, 'Revoke session');
    await page.getByRole('button', { name: 'Revoke session Build server' }).waitFor({ state: 'detached' });
    const revoked = await fetch(`${srv.base}/api/v1/users/me`, { headers: { Authorization: `Bearer ${other.access_token}` } });
    assert.equal(revoked.status, 401, 'the revoked session is locked out at once');

    const third = await apiLogin(recovery[1]);
    await page.reload();
    await page.getByRole('button', { name: 'Revoke all other sessions' }).click();
    await confirm(page, 'Revoke all other sessions');
    await page.getByRole('button', { name: 'Revoke all other sessions' }).waitFor({ state: 'detached' });
    const r = await fetch(`${srv.base}/api/v1/users/me`, { headers: { Authorization: `Bearer ${third.access_token}` } });
    assert.equal(r.status, 401);
    await signOut(page);
  });

  it('an admin posts a status event and resolves the ticket; the status page and the landing badge show it', async () => {
    await signIn(page, srv.base, ADMIN);
    await page.waitForURL('**/projects');
    await page.getByRole('link', { name: 'Admin' }).click();
    await page.getByLabel('Search users by email or name').fill('ada');
    await page.getByRole('cell', { name: 'Ada Lovelace ada@example.com' }).waitFor();
    await page.getByRole('link', { name: 'Support', exact: true }).last().click();
    await page.getByLabel('Status of ticket Cannot find the mill').selectOption('resolved');
    await page.getByText('is now Resolved').waitFor();
    await page.getByRole('link', { name: 'Status events' }).click();
    await page.getByLabel('Service id').fill('api');
    await page.getByLabel('State').selectOption('degraded');
    await page.getByLabel('Description').fill('Slow responses in one region');
    await page.getByRole('button', { name: 'Post event' }).click();
    await page.getByText('Status event posted.').waitFor();
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByRole('cell', { name: 'status_event.create' }).first().waitFor();
    await page.getByLabel('Action starts with').fill('status_event.');
    await page.getByRole('cell', { name: 'auth.login' }).first().waitFor({ state: 'detached' });
    const day = (offset) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
    await page.getByLabel('Until (UTC)').fill(day(-1));
    await page.getByText('No entries match.').waitFor();
    await page.getByLabel('Until (UTC)').fill(day(0));
    await page.getByRole('cell', { name: 'status_event.create' }).first().waitFor();
    await page.goto(`${srv.base}/status`);
    await page.getByText('Slow responses in one region').first().waitFor();
    await page.getByText('Degraded performance').waitFor();
    await page.goto(`${srv.base}/`);
    await page.getByRole('link', { name: 'Degraded performance' }).waitFor();
  });

  it('resets a forgotten password through the emailed link, and shows a taken email next to its field', async () => {
    const bob = { name: 'Bob Babbage', email: 'bob@example.com', password: 'first-password-123' };
    await page.goto(`${srv.base}/`);
    await settled(page); // the session restore is over before the header is judged
    if (await page.getByRole('button', { name: 'Sign out' }).isVisible()) await signOut(page);
    await page.goto(`${srv.base}/register`);
    await page.getByLabel('Full name').fill(bob.name);
    await page.getByLabel('Email').fill(USER.email);
    await page.getByLabel('Password').fill(bob.password);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByText('An account with this email already exists.').waitFor();
    assert.equal(await page.getByLabel('Email').getAttribute('aria-invalid'), 'true');
    await page.getByLabel('Email').fill(bob.email);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL('**/projects');
    await signOut(page);

    await page.getByRole('link', { name: 'Sign in' }).first().click();
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await page.getByLabel('Email').fill(bob.email);
    await page.getByRole('button', { name: 'Send reset link' }).click();
    await page.getByText('If an account uses that address').waitFor();
    const mail = await srv.email(bob.email, { match: /reset-password\?token=/ });
    const link = mail.text.match(/https?:\/\/\S+\/reset-password\?token=[\w-]+/)[0];
    await page.goto(link);
    await page.getByLabel('New password', { exact: true }).fill('second-password-456');
    await page.getByLabel('Repeat the new password').fill('second-password-456');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.waitForURL('**/login');
    await signIn(page, srv.base, { email: bob.email, password: 'second-password-456' });
    await page.waitForURL('**/projects');

    // Changing the email asks for the current password (a wrong one is shown at its field).
    await page.goto(`${srv.base}/settings`);
    await page.getByLabel('Full name').fill('Bob B. Babbage');
    await page.getByLabel('Email', { exact: true }).fill('bob2@example.com');
    const current = page.getByLabel('Current password (needed to change the email)');
    await current.fill('not-my-password');
    await page.getByRole('button', { name: 'Save profile' }).click();
    await page.getByText('The password is incorrect.').waitFor();
    await current.fill('second-password-456');
    await page.getByRole('button', { name: 'Save profile' }).click();
    await page.getByText('Check your new address for a verification link').waitFor();
    await srv.email('bob2@example.com', { match: /verify-email\?token=/ });
    await signOut(page);
  });

  it('caused no CSP violation (browser events and the server counter)', async () => {
    await settled(page);
    assert.deepEqual(violations, []);
    assert.equal(await srv.metric('csp_reports_total'), cspBefore);
    assert.deepEqual(errors, [], 'no uncaught error in the app');
  });
});
