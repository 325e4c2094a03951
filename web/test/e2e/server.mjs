// Starts the real neoforge binary for the browser tests: a free port, a temp dir with the SQLite
// database and the file email outbox, a known admin. `stop()` always kills it and removes the dir.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ADMIN = { email: 'admin@example.com', password: 'admin-e2e-Password-1' };

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

export function binaryPath() {
  const target = process.env.CARGO_TARGET_DIR ?? resolve(process.cwd(), '../target');
  const bin = process.env.NEOFORGE_BIN ?? join(target, 'debug/neoforge');
  if (!existsSync(bin)) throw new Error(`neoforge binary not found at ${bin}: build it (cargo build -p neoforge) or set NEOFORGE_BIN`);
  return bin;
}

export async function startServer(extraEnv = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'nf-e2e-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const outbox = join(dir, 'outbox');
  const env = {
    ...process.env,
    ENVIRONMENT: 'test',
    HOST: '127.0.0.1',
    PORT: String(port),
    PUBLIC_URL: base,
    DATA_DIR: dir,
    DATABASE_URL: `sqlite://${join(dir, 'db.sqlite')}`,
    EMAIL_BACKEND: 'file',
    EMAIL_OUTBOX_DIR: outbox,
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    RATE_LIMITING: 'false',
    LOG_LEVEL: 'warn',
    JOB_POLL_INTERVAL: '1s',
    ...extraEnv,
  };
  delete env.REDIS_URL;
  const child = spawn(binaryPath(), ['serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  // Never leave a server behind, even when the test process ends abruptly.
  const reap = () => child.exitCode === null && child.kill('SIGKILL');
  process.once('exit', reap);
  for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => (reap(), process.exit(130)));
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`neoforge exited early (${child.exitCode}):\n${log}`);
    try {
      const r = await fetch(`${base}/ready`);
      if (r.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`neoforge not ready after 30 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  // Fail fast and clearly when the binary serves the "web app not built" placeholder instead of web/dist
  // (a debug binary reads web/dist of the tree it was compiled from, at run time).
  const index = await (await fetch(`${base}/`, { headers: { Accept: 'text/html' } })).text();
  if (!index.includes('/theme.js')) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${binaryPath()} serves no web app at / (build web/dist in the tree the binary was compiled from):\n${index.slice(0, 300)}`);
  }

  /** The newest email to `to` (the file outbox holds one JSON file per message); waits for the job queue. */
  async function email(to, { after = 0, match = null, timeout = 15_000 } = {}) {
    const end = Date.now() + timeout;
    while (Date.now() < end) {
      if (existsSync(outbox)) {
        const mails = readdirSync(outbox)
          .filter((f) => f.endsWith('.json'))
          .map((f) => JSON.parse(readFileSync(join(outbox, f), 'utf8')))
          .filter((m) => JSON.stringify(m.to ?? m).includes(to) && (!match || match.test(m.text ?? '')));
        if (mails.length > after) return mails[mails.length - 1];
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`no email to ${to} within ${timeout} ms`);
  }

  async function metric(name) {
    const text = await (await fetch(`${base}/metrics`)).text();
    return text
      .split('\n')
      .filter((l) => l.startsWith(name) && !l.startsWith('#'))
      .reduce((s, l) => s + Number(l.split(' ').pop()), 0);
  }

  function stop() {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }

  return { base, port, dir, email, metric, stop, log: () => log };
}
