// The session side of offline-first (src/api/auth.ts): an offline reload shows the last user's profile
// (never a token) so their cached pages render and writes queue; API requests name the user for the
// service worker's per-user cache; sign-out deletes that cache; the token never reaches storage.
import { describe, expect, it, vi } from 'vitest';
import { Auth, USER_HEADER, apiCacheName, localLock, type AuthDeps } from '../../src/api/auth';

const user = { id: 'u-off', email: 'o@example.com', full_name: 'O', is_active: true, is_admin: false, is_verified: true, totp_enabled: false, created_at: '', updated_at: '' };
const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1LW9mZiJ9.c2lnbmF0dXJlc2lnbmF0dXJl';

function storage() {
  const m = new Map<string, string>();
  return { m, s: { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), removeItem: (k: string) => void m.delete(k) } };
}

function tokenResponse() {
  return new Response(JSON.stringify({ access_token: JWT, token_type: 'bearer', expires_in: 900, session_id: 's', user }), { status: 200 });
}

describe('offline session', () => {
  it('an offline reload shows the last signed-in user without a token; back online, reconnect() gets one', async () => {
    const { m, s } = storage();
    let online = true;
    const seen: (string | null)[] = [];
    const fetch: AuthDeps['fetch'] = async (req) => {
      if (!online) throw new TypeError('Failed to fetch');
      if (new URL(req.url).pathname === '/api/v1/auth/refresh') return tokenResponse();
      seen.push(req.headers.get(USER_HEADER));
      return new Response('{}', { status: 200 });
    };
    s.setItem('nf-signed-in', '1'); // this browser signed in before
    const first = new Auth({ fetch, lock: localLock(), channel: null, storage: s, now: Date.now });
    await first.restore();
    expect(first.user?.id).toBe('u-off');
    // Nothing at rest holds the token: only a hint and the profile.
    expect([...m.values()].join(' ')).not.toContain(JWT);

    online = false;
    const reloaded = new Auth({ fetch, lock: localLock(), channel: null, storage: s, now: Date.now });
    await reloaded.restore();
    expect(reloaded.user?.id).toBe('u-off');
    expect(reloaded.hasToken).toBe(false);

    online = true;
    await reloaded.reconnect();
    expect(reloaded.hasToken).toBe(true);
    await reloaded.fetch(new Request('http://localhost/api/v1/projects'));
    expect(seen).toEqual(['u-off']); // the service worker's cache is named by this header
  });

  it('a refused refresh is not "offline": nobody is shown as signed in', async () => {
    const { s } = storage();
    s.setItem('nf-signed-in', '1');
    s.setItem('nf-offline-user', JSON.stringify(user));
    const fetch: AuthDeps['fetch'] = async () => new Response('{"code":"invalid_refresh_token"}', { status: 401 });
    const auth = new Auth({ fetch, lock: localLock(), channel: null, storage: s, now: Date.now });
    await auth.restore();
    expect(auth.user).toBeNull();
    expect(s.getItem('nf-offline-user')).toBeNull();
  });

  it("signing out deletes the user's cache of API reads", async () => {
    const { s } = storage();
    const deleted: string[] = [];
    vi.stubGlobal('caches', { delete: async (name: string) => (deleted.push(name), true) });
    const fetch: AuthDeps['fetch'] = async (req) => (new URL(req.url).pathname === '/api/v1/auth/refresh' ? tokenResponse() : new Response(null, { status: 204 }));
    const auth = new Auth({ fetch, lock: localLock(), channel: null, storage: s, now: Date.now });
    s.setItem('nf-signed-in', '1');
    await auth.restore();
    await auth.logout();
    expect(deleted).toEqual([apiCacheName('u-off')]);
    expect(s.getItem('nf-offline-user')).toBeNull();
    vi.unstubAllGlobals();
  });
});
