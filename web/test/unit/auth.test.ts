// The client wrapper: one refresh for many parallel 401s, one retry, cross-tab sharing, sign-out on a
// refused refresh. Locks and the BroadcastChannel are injected (happy-dom has neither).
import { describe, expect, it } from 'vitest';
import { Auth, localLock, type AuthDeps, type Channel } from '../../src/api/auth';

const user = { id: 'u1', email: 'a@example.com', full_name: 'A', is_active: true, is_admin: false, is_verified: true, totp_enabled: false, created_at: '', updated_at: '' };

function token(t: string) {
  return new Response(JSON.stringify({ access_token: t, token_type: 'bearer', expires_in: 900, session_id: 's1', user }), {
    status: 200,
    headers: { 'Content-Type': 'application/json' },
  });
}

/** A fake server: /api/v1/projects needs the current token; each refresh mints the next one. */
function server(opts: { refreshStatus?: number } = {}) {
  const s = { refreshes: 0, current: 'tok0', calls: [] as string[] };
  const fetch = async (req: Request): Promise<Response> => {
    const path = new URL(req.url).pathname;
    s.calls.push(`${req.method} ${path} ${req.headers.get('Authorization') ?? '-'}`);
    if (path === '/api/v1/auth/refresh') {
      s.refreshes++;
      await new Promise((r) => setTimeout(r, 10));
      if (opts.refreshStatus) return new Response('{"code":"invalid_refresh_token"}', { status: opts.refreshStatus });
      s.current = `tok${s.refreshes}`;
      return token(s.current);
    }
    if (req.headers.get('Authorization') !== `Bearer ${s.current}`) return new Response('{"code":"invalid_token"}', { status: 401 });
    return new Response('[]', { status: 200 });
  };
  return { s, fetch };
}

function memoryStorage(): AuthDeps['storage'] {
  const m = new Map<string, string>();
  return { getItem: (k) => m.get(k) ?? null, setItem: (k, v) => void m.set(k, v), removeItem: (k) => void m.delete(k) };
}

/** Channels that deliver to every other member, asynchronously, like BroadcastChannel. */
function bus() {
  const members: Channel[] = [];
  return () => {
    const ch: Channel = {
      onmessage: null,
      postMessage(msg) {
        for (const m of members) if (m !== ch) setTimeout(() => m.onmessage?.({ data: msg } as MessageEvent), 0);
      },
    };
    members.push(ch);
    return ch;
  };
}

const url = 'http://localhost:3000/api/v1/projects';

describe('Auth', () => {
  it('five parallel 401s cause exactly one refresh, then each request is retried once', async () => {
    const { s, fetch } = server();
    const storage = memoryStorage();
    storage!.setItem('nf-signed-in', '1');
    const auth = new Auth({ fetch, lock: localLock(), channel: null, storage, now: Date.now });
    const res = await Promise.all([1, 2, 3, 4, 5].map(() => auth.fetch(new Request(url))));
    expect(res.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(s.refreshes).toBe(1);
    expect(s.calls.filter((c) => c.startsWith('GET')).length).toBe(10);
  });

  it('restores the session from the cookie when this browser signed in before', async () => {
    const { s, fetch } = server();
    const storage = memoryStorage();
    storage!.setItem('nf-signed-in', '1');
    const auth = new Auth({ fetch, lock: localLock(), channel: null, storage, now: Date.now });
    await auth.restore();
    expect(auth.signedIn).toBe(true);
    expect(s.calls[0]).toBe('POST /api/v1/auth/refresh -');
    expect((await auth.fetch(new Request(url))).status).toBe(200);
    expect(s.refreshes).toBe(1);
  });

  it('an anonymous visitor never calls refresh', async () => {
    const { s, fetch } = server();
    const auth = new Auth({ fetch, lock: localLock(), channel: null, storage: memoryStorage(), now: Date.now });
    await auth.restore();
    expect((await auth.fetch(new Request(url))).status).toBe(401);
    expect(s.refreshes).toBe(0);
  });

  it('a refused refresh signs out and the original 401 is returned without a second retry', async () => {
    const { s, fetch } = server({ refreshStatus: 401 });
    const storage = memoryStorage();
    storage!.setItem('nf-signed-in', '1');
    const auth = new Auth({ fetch, lock: localLock(), channel: null, storage, now: Date.now });
    const r = await auth.fetch(new Request(url));
    expect(r.status).toBe(401);
    expect(s.refreshes).toBe(1);
    expect(storage!.getItem('nf-signed-in')).toBeNull();
    expect(auth.signedIn).toBe(false);
  });

  it('a 401 from the login route is an answer, not a reason to refresh', async () => {
    const fetch = async () => new Response('{"code":"invalid_credentials","detail":"no"}', { status: 401, headers: { 'Content-Type': 'application/problem+json' } });
    const storage = memoryStorage();
    storage!.setItem('nf-signed-in', '1');
    const auth = new Auth({ fetch, lock: localLock(), channel: null, storage, now: Date.now });
    await expect(auth.login('a@example.com', 'x')).rejects.toMatchObject({ code: 'invalid_credentials', status: 401 });
  });

  it('two tabs restoring together share one lock: one refresh, and the second tab takes the broadcast token', async () => {
    const { s, fetch } = server();
    const storage = memoryStorage();
    storage!.setItem('nf-signed-in', '1');
    const lock = localLock(); // stands in for navigator.locks, which spans tabs
    const channel = bus();
    const a = new Auth({ fetch, lock, channel: channel(), storage, now: Date.now });
    const b = new Auth({ fetch, lock, channel: channel(), storage, now: Date.now });
    await Promise.all([a.restore(), b.restore()]);
    expect(a.signedIn && b.signedIn).toBe(true);
    expect(s.refreshes).toBe(1);
    expect((await b.fetch(new Request(url))).status).toBe(200);
  });

  it('logout in one tab signs the other out', async () => {
    const { fetch } = server();
    const storage = memoryStorage();
    storage!.setItem('nf-signed-in', '1');
    const channel = bus();
    const a = new Auth({ fetch, lock: localLock(), channel: channel(), storage, now: Date.now });
    const b = new Auth({ fetch, lock: localLock(), channel: channel(), storage, now: Date.now });
    await a.restore();
    await new Promise((r) => setTimeout(r, 5));
    expect(b.signedIn).toBe(true);
    await a.logout();
    await new Promise((r) => setTimeout(r, 5));
    expect(b.signedIn).toBe(false);
  });
});
