// The outbox state machine (src/offline/outbox.ts) on the real IndexedDB store (fake-indexeddb): every
// row of the replay table of web.md and every chaining rule is a case here.
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { Outbox, backoff, overlay, overlayOne, type Entry, type EnqueueInput, type OutboxDeps, type OutboxEvent } from '../../src/offline/outbox';
import { idbStore, dbName } from '../../src/offline/store';
import { diffFields, mergedBody } from '../../src/offline/conflict';
import { Auth, localLock, type AuthDeps } from '../../src/api/auth';
import { toRequest } from '../../src/api/writes';

const C = '/api/v1/projects';
let users = 0;
let keys = 0;

type Reply = Response | Error | ((req: Call) => Response | Error);
interface Call { method: string; url: string; key: string; ifMatch: string | null; body: unknown }

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(status === 204 ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
const problem = (status: number, code: string, detail = code, headers: Record<string, string> = {}) =>
  json(status, { type: 'about:blank', title: code, status, code, detail }, headers);

/** A scripted server: each call takes the next reply (or the default); every call is recorded. */
function harness(opts: { user?: string; replies?: Reply[]; fallback?: Reply; current?: { data: Record<string, unknown> | null; etag: string | null } } = {}) {
  const user = opts.user ?? `u${++users}`;
  const calls: Call[] = [];
  const replies = [...(opts.replies ?? [])];
  const clock = { now: 1_000_000 };
  const events: OutboxEvent[] = [];
  const store = idbStore(user);
  let signedIn: string | null = user;
  const deps: OutboxDeps = {
    store,
    transport: async (e) => {
      const call = { method: e.method, url: e.url, key: e.key, ifMatch: e.ifMatch, body: e.body };
      calls.push(call);
      let r = replies.length ? replies.shift()! : (opts.fallback ?? json(200, {}));
      if (typeof r === 'function') r = r(call);
      if (r instanceof Error) throw r;
      return r;
    },
    current: async () => opts.current ?? { data: { id: 'p1', name: 'Theirs', description: 'd' }, etag: '"v9"' },
    lock: localLock(),
    now: () => clock.now,
    newKey: () => `k${++keys}`,
    user: () => signedIn,
  };
  const make = () => {
    const o = new Outbox(user, deps);
    o.on((e) => events.push(e));
    return o;
  };
  return { user, calls, replies, clock, events, store, deps, make, signOut: () => (signedIn = null), signIn: (u = user) => (signedIn = u) };
}

const create = (name: string, extra: Partial<EnqueueInput> = {}): EnqueueInput => ({
  kind: 'create', method: 'POST', url: C, item: `${C}/tmp-${name}`, collection: C, body: { name }, key: `key-create-${name}-${++keys}`, ...extra,
});
const update = (item: string, body: Record<string, unknown>, ifMatch: string | null = '"v1"', extra: Partial<EnqueueInput> = {}): EnqueueInput => ({
  kind: 'update', method: 'PATCH', url: item, item, collection: C, body, ifMatch, snapshot: { id: item.slice(C.length + 1), name: 'Base', description: 'd' }, key: `key-upd-${++keys}`, ...extra,
});
const remove = (item: string, ifMatch: string | null = '"v1"', extra: Partial<EnqueueInput> = {}): EnqueueInput => ({
  kind: 'delete', method: 'DELETE', url: item, item, collection: C, ifMatch, snapshot: { name: 'Base' }, key: `key-del-${++keys}`, ...extra,
});

describe('outbox: the replay table', () => {
  it('2xx → done: the entry goes, the real id and the ETag are written into later entries of the same item', async () => {
    const h = harness({
      replies: [json(201, { id: 'real-1', name: 'A' }, { ETag: '"e1"' }), json(200, { id: 'real-1', name: 'B' }, { ETag: '"e2"' }), json(200, { id: 'real-1', name: 'C' }, { ETag: '"e3"' })],
    });
    const o = h.make();
    await o.enqueue(create('a'));
    await o.enqueue(update(`${C}/tmp-a`, { name: 'B' }, null));
    await o.enqueue(update(`${C}/tmp-a`, { name: 'C' }, null));
    await o.replay();
    expect(h.calls.map((c) => [c.method, c.url, c.ifMatch])).toEqual([
      ['POST', C, null],
      ['PATCH', `${C}/real-1`, '"e1"'],
      ['PATCH', `${C}/real-1`, '"e2"'], // the second offline edit never conflicts with the first
    ]);
    expect(o.entries).toEqual([]);
    expect(h.events.filter((e) => e.type === 'done')).toHaveLength(3);
  });

  it('2xx with Idempotent-Replayed (the first answer was lost) → done, reported as replayed', async () => {
    const h = harness({ replies: [json(201, { id: 'r' }, { ETag: '"e"', 'Idempotent-Replayed': 'true' })] });
    const o = h.make();
    await o.enqueue(create('lost', { key: 'the-key', sent: true }));
    await o.replay();
    expect(h.calls[0].key).toBe('the-key');
    const done = h.events.find((e) => e.type === 'done') as Extract<OutboxEvent, { type: 'done' }>;
    expect(done.replayed).toBe(true);
    expect(o.entries).toEqual([]);
  });

  it('401 → one refresh, then the retry carries the same Idempotency-Key', async () => {
    const seen: string[] = [];
    let refreshes = 0;
    let token = 'old';
    const m = new Map<string, string>([['nf-signed-in', '1']]);
    const deps: AuthDeps = {
      fetch: async (req) => {
        const path = new URL(req.url).pathname;
        if (path === '/api/v1/auth/refresh') {
          refreshes++;
          token = 'new';
          return json(200, { access_token: 'new', token_type: 'bearer', expires_in: 900, session_id: 's', user: { id: 'u-auth' } });
        }
        seen.push(`${req.headers.get('Authorization')} ${req.headers.get('Idempotency-Key')}`);
        return req.headers.get('Authorization') === `Bearer ${token}` && token === 'new' ? json(201, { id: 'r1' }) : problem(401, 'invalid_token');
      },
      lock: localLock(),
      channel: null,
      storage: { getItem: (k) => m.get(k) ?? null, setItem: (k, v) => void m.set(k, v), removeItem: (k) => void m.delete(k) },
      now: () => Date.now(),
    };
    const auth = new Auth(deps);
    const h = harness({ user: 'u-auth' });
    h.deps.transport = (e) => auth.fetch(toRequest({ method: e.method, url: `http://localhost${e.url}`, body: e.body ?? undefined, ifMatch: e.ifMatch, idempotencyKey: e.key }));
    const o = h.make();
    await o.enqueue(create('x', { key: 'same-key' }));
    await o.replay();
    expect(refreshes).toBe(1);
    expect(seen).toEqual(['null same-key', 'Bearer new same-key']);
    expect(o.entries).toEqual([]);
  });

  it('refresh refused (401 after the refresh) → "sign in to sync N changes", resumed only for the same user', async () => {
    const h = harness({ replies: [problem(401, 'invalid_token')] });
    const o = h.make();
    await o.enqueue(create('a'));
    await o.enqueue(create('b'));
    await o.replay();
    expect(o.needsSignIn).toBe(true);
    expect(h.events.find((e) => e.type === 'signin')).toEqual({ type: 'signin', count: 2 });
    expect(o.pending).toHaveLength(2);
    // Another user signs in: this queue is not theirs; nothing is sent.
    h.signIn('someone-else');
    const other = h.make();
    await other.load();
    await other.replay();
    expect(h.calls).toHaveLength(1);
    expect(other.needsSignIn).toBe(true);
    // Their own database is another one, empty.
    expect(await idbStore('someone-else').all()).toEqual([]);
    expect(dbName(h.user)).toBe(`nf-outbox-${h.user}`);
    // The same user again: the queue resumes, same keys.
    h.signIn();
    const again = h.make();
    await again.load();
    await again.replay();
    expect(h.calls.map((c) => c.key)).toEqual([h.calls[0].key, h.calls[0].key, h.calls[2].key]);
    expect(again.entries).toEqual([]);
  });

  for (const [name, reply] of [
    ['409 idempotency_in_progress', () => problem(409, 'idempotency_in_progress', 'busy', { 'Retry-After': '7' })],
    ['429', () => problem(429, 'rate_limited', 'slow down', { 'Retry-After': '30' })],
    ['503', () => problem(503, 'unavailable', 'later', { 'Retry-After': '12' })],
  ] as const) {
    it(`${name} → retried later with backoff, never sooner than Retry-After, in order`, async () => {
      const h = harness({ replies: [reply()] });
      const o = h.make();
      await o.enqueue(create('first'));
      await o.enqueue(create('second'));
      await o.replay();
      const ra = Number(reply().headers.get('Retry-After')) * 1000;
      expect(h.calls).toHaveLength(1); // the second waits behind the first
      const [first] = o.pending;
      expect(first.nextAt).toBe(h.clock.now + Math.max(ra, backoff(1)));
      h.clock.now += ra - 1;
      await o.replay();
      expect(h.calls).toHaveLength(1); // not a millisecond early
      h.clock.now += 1;
      await o.replay();
      expect(h.calls.map((c) => c.key)).toEqual([h.calls[0].key, h.calls[0].key, h.calls[2].key]);
      expect(o.entries).toEqual([]);
    });
  }

  it('backoff grows 1 s, 2 s, 4 s … capped at 5 min, and "retry now" skips it', async () => {
    expect([1, 2, 3, 4].map(backoff)).toEqual([1000, 2000, 4000, 8000]);
    expect(backoff(30)).toBe(300_000);
    const h = harness({ replies: [new TypeError('offline'), new TypeError('offline')] });
    const o = h.make();
    await o.enqueue(create('a'));
    await o.replay();
    expect(o.pending[0].nextAt).toBe(h.clock.now + 1000);
    await o.replay();
    expect(h.calls).toHaveLength(1);
    await o.retryNow();
    expect(h.calls).toHaveLength(2);
    expect(o.pending[0].nextAt).toBe(h.clock.now + 2000);
  });

  it('a network error marks the entry sent and replays the same key; the timer fires the replay', async () => {
    const timers: { fn: () => void; ms: number }[] = [];
    const h = harness({ replies: [new TypeError('Failed to fetch'), json(201, { id: 'r' })] });
    h.deps.setTimer = (fn, ms) => timers.push({ fn, ms });
    h.deps.clearTimer = () => undefined;
    const o = h.make();
    await o.enqueue(create('a', { key: 'k-net' }));
    await o.replay();
    expect(o.pending[0].sent).toBe(true);
    expect(timers.at(-1)?.ms).toBe(1000);
    h.clock.now += 1000;
    timers.at(-1)!.fn();
    await new Promise((r) => setTimeout(r, 20));
    await o.replay();
    expect(h.calls.map((c) => c.key)).toEqual(['k-net', 'k-net']);
    expect(o.entries).toEqual([]);
  });

  it('412 → a conflict with the server\'s version; later edits of that item wait, other items go on', async () => {
    const h = harness({
      replies: [problem(412, 'precondition_failed', 'changed', { ETag: '"v9"' }), json(201, { id: 'other' })],
      current: { data: { id: 'p1', name: 'Theirs', description: 'd' }, etag: '"v9"' },
    });
    const o = h.make();
    await o.enqueue(update(`${C}/p1`, { name: 'Mine', description: 'd' }));
    await o.enqueue(update(`${C}/p1`, { description: 'later' }, null));
    await o.enqueue(create('other'));
    await o.replay();
    expect(h.calls.map((c) => c.method)).toEqual(['PATCH', 'POST']);
    expect(o.conflicts).toHaveLength(1);
    expect(o.conflicts[0].server).toEqual({ data: { id: 'p1', name: 'Theirs', description: 'd' }, etag: '"v9"' });
    expect(o.pending).toHaveLength(1); // the later edit of p1 waits for the decision
    expect(h.events.some((e) => e.type === 'conflict')).toBe(true);
  });

  it('412, "keep mine" → sent again with the new ETag, under a new key (a sent body never changes)', async () => {
    const h = harness({ replies: [problem(412, 'precondition_failed'), json(200, { id: 'p1' }, { ETag: '"v10"' })] });
    const o = h.make();
    await o.enqueue(update(`${C}/p1`, { name: 'Mine', description: 'd' }, '"v1"', { key: 'k-first' }));
    await o.replay();
    const c = o.conflicts[0];
    await o.keepMine(c.seq!, mergedBody(c));
    expect(h.calls.map((x) => x.ifMatch)).toEqual(['"v1"', '"v9"']);
    expect(h.calls[0].key).toBe('k-first');
    expect(h.calls[1].key).not.toBe('k-first');
    expect(h.calls[1].body).toEqual({ name: 'Mine', description: 'd' });
    expect(o.entries).toEqual([]);
  });

  it('412, "take theirs" → mine is dropped, nothing more is sent, and later edits apply to their version', async () => {
    const h = harness({ replies: [problem(412, 'precondition_failed'), json(200, { id: 'p1' })] });
    const o = h.make();
    await o.enqueue(update(`${C}/p1`, { name: 'Mine' }));
    await o.enqueue(update(`${C}/p1`, { description: 'x' }, null));
    await o.replay();
    await o.takeTheirs(o.conflicts[0].seq!);
    expect(h.calls).toHaveLength(2);
    expect(h.calls[1].ifMatch).toBe('"v9"');
    expect(o.entries).toEqual([]);
  });

  it('404 on an edit or a delete → dropped as gone, kept for the sync centre until dismissed', async () => {
    const h = harness({ replies: [problem(404, 'not_found'), problem(404, 'not_found')] });
    const o = h.make();
    await o.enqueue(update(`${C}/p1`, { name: 'Mine' }));
    await o.enqueue(remove(`${C}/p2`));
    await o.replay();
    expect(o.dropped.map((e) => [e.kind, e.reason])).toEqual([['update', 'gone'], ['delete', 'gone']]);
    expect(h.events.filter((e) => e.type === 'dropped')).toHaveLength(2);
    await o.dismiss(o.dropped[0].seq!);
    expect(o.dropped).toHaveLength(1);
    expect((await h.store.all()).length).toBe(1);
  });

  it('another 4xx → dropped with the problem detail; writes that depended on a failed create are kept as orphaned', async () => {
    const h = harness({ replies: [problem(422, 'validation_error', 'Name is too long.'), json(201, { id: 'ok' })] });
    const o = h.make();
    await o.enqueue(create('bad'));
    await o.enqueue(update(`${C}/tmp-bad`, { name: 'Still bad' }, null));
    await o.enqueue(create('good'));
    await o.replay();
    expect(o.dropped.map((e) => [e.kind, e.reason, e.error?.detail])).toEqual([
      ['create', 'rejected', 'Name is too long.'],
      ['update', 'orphaned', 'Name is too long.'],
    ]);
    expect(h.calls.map((c) => c.method)).toEqual(['POST', 'POST']);
    expect(o.pending).toEqual([]);
  });

  it('a 409 that is not idempotency_in_progress is another 4xx: dropped with its detail', async () => {
    const h = harness({ replies: [problem(409, 'quota_exceeded', 'You can have at most 100 projects.')] });
    const o = h.make();
    await o.enqueue(create('q'));
    await o.replay();
    expect(o.dropped[0].error).toEqual({ status: 409, code: 'quota_exceeded', detail: 'You can have at most 100 projects.' });
  });
});

describe('outbox: chaining rules', () => {
  it('a body that was sent is never changed: a later edit is a new entry with a new key', async () => {
    const h = harness({ replies: [new TypeError('offline')] });
    const o = h.make();
    await o.enqueue(update(`${C}/p1`, { name: 'One' }, '"v1"', { key: 'k-one' }));
    await o.replay();
    expect(o.pending[0].sent).toBe(true);
    await o.enqueue(update(`${C}/p1`, { name: 'Two' }, '"v1"', { key: 'k-two' }));
    expect(o.pending.map((e) => [e.key, e.body])).toEqual([['k-one', { name: 'One' }], ['k-two', { name: 'Two' }]]);
  });

  it('unsent edits stay separate entries (one create and two updates reach the server)', async () => {
    const h = harness({ replies: [json(201, { id: 'r' }, { ETag: '"a"' }), json(200, {}, { ETag: '"b"' }), json(200, {}, { ETag: '"c"' })] });
    const o = h.make();
    await o.enqueue(create('p'));
    await o.enqueue(update(`${C}/tmp-p`, { name: 'p2' }, null));
    await o.enqueue(update(`${C}/tmp-p`, { name: 'p3' }, null));
    expect(new Set(o.entries.map((e) => e.key)).size).toBe(3);
    await o.replay();
    expect(h.calls.map((c) => c.method)).toEqual(['POST', 'PATCH', 'PATCH']);
  });

  it('deleting an unsent create cancels both locally (and the edits between): nothing is sent', async () => {
    const h = harness();
    const o = h.make();
    await o.enqueue(create('keep'));
    await o.enqueue(create('gone'));
    await o.enqueue(update(`${C}/tmp-gone`, { name: 'edited' }, null));
    const r = await o.enqueue(remove(`${C}/tmp-gone`, null));
    expect(r).toBeNull();
    expect(o.entries.map((e) => e.item)).toEqual([`${C}/tmp-keep`]);
    await o.replay();
    expect(h.calls.map((c) => c.method)).toEqual(['POST']);
  });

  it('deleting a create that was already sent queues the delete, which gets the real id', async () => {
    const h = harness({ replies: [new TypeError('offline'), json(201, { id: 'real' }, { ETag: '"e"' }), json(204, null)] });
    const o = h.make();
    await o.enqueue(create('s'));
    await o.replay();
    expect(await o.enqueue(remove(`${C}/tmp-s`, null))).not.toBeNull();
    await o.retryNow();
    expect(h.calls.map((c) => [c.method, c.url])).toEqual([['POST', C], ['POST', C], ['DELETE', `${C}/real`]]);
  });

  it('survives a restart: a new Outbox on the same database replays what the old one kept', async () => {
    const h = harness({ replies: [new TypeError('offline'), json(201, { id: 'r' })] });
    const first = h.make();
    await first.enqueue(create('persist', { key: 'k-persist' }));
    await first.replay();
    first.stop();
    const reopened = h.make();
    await reopened.load();
    expect(reopened.pending.map((e) => e.key)).toEqual(['k-persist']);
    await reopened.retryNow();
    expect(h.calls.map((c) => c.key)).toEqual(['k-persist', 'k-persist']);
    expect(await h.store.all()).toEqual([]);
  });

  it('one replaying tab: two tabs replaying at once send each entry exactly once', async () => {
    const h = harness({ fallback: () => json(201, { id: `r${Math.random()}` }) });
    const tab1 = h.make();
    const tab2 = h.make();
    await tab1.enqueue(create('a'));
    await tab1.enqueue(create('b'));
    await tab2.load();
    await Promise.all([tab1.replay(), tab2.replay()]);
    expect(h.calls).toHaveLength(2);
    expect(new Set(h.calls.map((c) => c.key)).size).toBe(2);
  });
});

describe('outbox: what the UI shows', () => {
  const e = (x: Partial<Entry>): Entry => ({ key: 'k', kind: 'update', method: 'PATCH', url: '', item: '', collection: C, ifMatch: null, snapshot: null, sent: false, state: 'pending', attempts: 0, nextAt: 0, createdAt: 0, ...x });

  it('overlay: pending creates first, edits merged and marked, deletes hidden, dropped ignored', () => {
    const items = [{ id: '1', name: 'one' }, { id: '2', name: 'two' }, { id: '3', name: 'three' }];
    const entries = [
      e({ kind: 'create', item: `${C}/tmp-x`, body: { name: 'new' } }),
      e({ kind: 'update', item: `${C}/1`, body: { name: 'uno' } }),
      e({ kind: 'delete', item: `${C}/2` }),
      e({ kind: 'update', item: `${C}/3`, body: { name: 'lost' }, state: 'dropped' }),
    ];
    expect(overlay(items, entries, C)).toEqual([
      { id: 'tmp-x', name: 'new', _pending: true },
      { id: '1', name: 'uno', _pending: true },
      { id: '3', name: 'three' },
    ]);
    expect(overlayOne(null, entries, `${C}/tmp-x`)).toEqual({ id: 'tmp-x', name: 'new', _pending: true });
    expect(overlayOne(items[1], entries, `${C}/2`)).toBeNull();
  });

  it('the conflict dialog: fields changed on one side only are pre-resolved, "keep mine" merges them', () => {
    const c = {
      kind: 'update' as const,
      snapshot: { id: 'p', name: 'Base', description: 'Base text', updated_at: 'a' },
      body: { name: 'Mine', description: 'Base text' },
      server: { data: { id: 'p', name: 'Base', description: 'Their text', updated_at: 'b' }, etag: '"v2"' },
    };
    expect(diffFields(c).map((d) => [d.field, d.resolution])).toEqual([['name', 'mine'], ['description', 'theirs']]);
    expect(mergedBody(c)).toEqual({ name: 'Mine', description: 'Their text' });
    const both = { ...c, server: { data: { name: 'Theirs', description: 'Base text' }, etag: '"v3"' } };
    expect(diffFields(both).find((d) => d.field === 'name')?.resolution).toBe('both');
    expect(mergedBody(both)).toEqual({ name: 'Mine', description: 'Base text' });
    expect(diffFields({ ...c, body: { name: 'Base' }, server: { data: { name: 'Base', description: 'Base text' }, etag: null } }).every((d) => d.resolution === 'same')).toBe(true);
  });
});
