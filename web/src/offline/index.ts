// The outbox of the signed-in user, wired into the app: started on sign-in (and on load), replayed on
// start, on `online`, on its backoff timer and on "retry now"; other tabs are told when the queue
// changes (BroadcastChannel) so every tab shows the same pending marks. Writes reach it only through
// api/writes.ts (`queue`).
import { auth } from '../api/client';
import { toRequest, newKey, type Write, type WriteResult } from '../api/writes';
import { localLock, type LockFn } from '../api/auth';
import { Outbox, type Entry, type Json, type OutboxEvent, type Store } from './outbox';
import { idbStore } from './store';
import { classify } from './resources';
import { net } from './net';

/** Tells the UI the queue changed (`detail` is the OutboxEvent). */
export const sync = new EventTarget();
let box: Outbox | null = null;
const channel = typeof BroadcastChannel === 'undefined' ? null : new BroadcastChannel('nf-outbox');
/** The user whose queue is kept while signed out: "sign in to sync N changes". */
const OWNER = 'nf-outbox-owner';

function lock(): LockFn {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  return locks ? <T>(name: string, fn: () => Promise<T>) => locks.request(name, fn) as Promise<T> : localLock();
}

function broadcasting(store: Store, user: string): Store {
  const tell = () => channel?.postMessage({ user });
  return {
    all: () => store.all(),
    put: async (e) => {
      const seq = await store.put(e);
      tell();
      return seq;
    },
    delete: async (seq) => {
      await store.delete(seq);
      tell();
    },
  };
}

export function outbox(): Outbox | null {
  return box;
}

function emit(e: OutboxEvent): void {
  sync.dispatchEvent(new CustomEvent('change', { detail: e }));
}

function start(user: string): void {
  box?.stop();
  const o = new Outbox(user, {
    store: broadcasting(idbStore(user), user),
    transport: (e) =>
      auth.fetch(toRequest({ method: e.method, url: e.url, body: e.body ?? undefined, ifMatch: e.ifMatch, idempotencyKey: e.key })),
    current: async (item) => {
      const res = await auth.fetch(new Request(new URL(item, location.href).href, { headers: { Accept: 'application/json' } }));
      if (!res.ok) return { data: null, etag: null };
      return { data: (await res.json()) as Json, etag: res.headers.get('ETag') };
    },
    lock: lock(),
    now: () => Date.now(),
    newKey,
    user: () => auth.user?.id ?? null,
    setTimer: (fn, ms) => setTimeout(fn, ms),
    clearTimer: (t) => clearTimeout(t as ReturnType<typeof setTimeout>),
  });
  box = o;
  o.on((e) => {
    try {
      if (o.unsynced || o.dropped.length) localStorage.setItem(OWNER, user);
      else if (localStorage.getItem(OWNER) === user) localStorage.removeItem(OWNER);
    } catch {
      /* storage disabled */
    }
    emit(e);
  });
  void o.load().then(() => o.replay());
}

/** Follows the session: the signed-in user's outbox, none when signed out (the queue stays on disk). */
let owner: string | null = null;
function follow(): void {
  const id = auth.user?.id ?? null;
  net.setUser(id);
  if (id === owner) {
    // Same user back from an offline boot or a refused refresh: resume.
    if (id && box?.needsSignIn && auth.hasToken) void box.retryNow();
    return;
  }
  owner = id;
  box?.stop();
  box = null;
  if (id) start(id);
  emit({ type: 'change' });
}

if (typeof window !== 'undefined') {
  auth.addEventListener('change', follow);
  window.addEventListener('online', () => {
    if (box?.needsSignIn) box.needsSignIn = false;
    void box?.replay();
  });
  if (channel)
    channel.onmessage = (ev: MessageEvent<{ user: string }>) => {
      if (box && ev.data?.user === box.user) void box.load();
    };
}

/** How many changes of a signed-out user wait for them to sign in again (the banner's "sign in to sync"). */
export async function waitingForSignIn(): Promise<number> {
  let user: string | null = null;
  try {
    user = localStorage.getItem(OWNER);
  } catch {
    user = null;
  }
  if (!user || auth.user) return 0;
  return (await idbStore(user).all()).filter((e) => e.state !== 'dropped').length;
}

export interface PendingResult<T> extends WriteResult<T> {
  pending: true;
}

/** The door's offline half: a queueable write of a signed-in user goes to the outbox when the browser
 *  is offline, when earlier writes still wait (order), or after a network error (`sentAlready`: the
 *  server may have it, so the body is frozen and the same key is replayed). Returns null when the write
 *  is not queueable (the caller then sends it, or throws the network error). */
export async function queue<T>(w: Write & { idempotencyKey: string }, sentAlready: boolean): Promise<PendingResult<T> | null> {
  const o = box;
  if (!o || !auth.user) return null;
  const c = classify(w.method, w.url, newKey);
  if (!c) return null;
  const mustQueue = sentAlready || !net.online || o.unsynced > 0 || w.url.includes('/tmp-');
  if (!mustQueue) return null;
  const body = (w.body ?? null) as Json | null;
  const snapshot = (w.snapshot ?? null) as Json | null;
  const url = c.kind === 'create' ? w.url : c.item;
  const entry = await o.enqueue({
    kind: c.kind,
    method: w.method,
    url,
    item: c.item,
    collection: c.collection,
    body,
    ifMatch: w.ifMatch ?? null,
    snapshot,
    key: w.idempotencyKey,
    sent: sentAlready,
  });
  void o.replay();
  const id = c.item.slice(c.collection.length + 1);
  const now = new Date().toISOString();
  const data =
    c.kind === 'create'
      ? { created_at: now, updated_at: now, ...body, id, _pending: true }
      : c.kind === 'update'
        ? { ...(snapshot ?? {}), ...body, _pending: true }
        : null;
  return { data: data as T, etag: null, status: 0, replayed: false, pending: true, ...(entry ? {} : { cancelled: true }) };
}

/** True when the outbox holds a write for this item that has not reached the server. */
export function isPending(itemUrl: string): boolean {
  return !!box?.entries.some((e: Entry) => e.item === itemUrl && e.state !== 'dropped');
}
