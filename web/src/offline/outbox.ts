// The outbox of web.md: writes that could not reach the server, kept in IndexedDB (one database per
// user) and replayed in order by one tab at a time. A state machine with its I/O injected (store,
// transport, lock, clock), so every row of the replay table and every chaining rule is a unit test.
//
// An entry is one user intent: its Idempotency-Key is made before the first attempt and never changes,
// and once it was sent its body never changes either (the server may have committed it). A later edit
// of the same item is a new entry; the response of an earlier one (ETag, and for a create the real id)
// is written into the later ones, so a second offline edit never conflicts with the first.
import type { Method } from '../api/writes';

export type Kind = 'create' | 'update' | 'delete';
export type State = 'pending' | 'conflict' | 'dropped';
export type Json = Record<string, unknown>;

export interface Entry {
  /** Queue order (IndexedDB auto-increment). */
  seq?: number;
  key: string;
  kind: Kind;
  method: Method;
  url: string;
  /** The item's URL (`/api/v1/projects/<id>`; `…/tmp-<uuid>` until its create is done). */
  item: string;
  collection: string;
  body?: Json | null;
  /** The ETag of the version the user edited. */
  ifMatch: string | null;
  /** That version, for the conflict dialog. */
  snapshot: Json | null;
  /** Attempted at least once: the body is frozen. */
  sent: boolean;
  state: State;
  attempts: number;
  /** Not before (ms since epoch): backoff and Retry-After. */
  nextAt: number;
  createdAt: number;
  /** Why it was dropped: the item is gone (404), the server refused it (4xx), or its create was dropped. */
  reason?: 'gone' | 'rejected' | 'orphaned';
  error?: { status: number; code: string; detail: string };
  /** For a conflict: the server's current version and its ETag. */
  server?: { data: Json | null; etag: string | null };
}

export interface Store {
  all(): Promise<Entry[]>;
  put(e: Entry): Promise<number>;
  delete(seq: number): Promise<void>;
}

export type LockFn = <T>(name: string, fn: () => Promise<T>) => Promise<T>;

export interface OutboxDeps {
  store: Store;
  /** Sends the request of an entry (the app's: auth.fetch, which does 401 → one refresh → one retry). */
  transport: (e: Entry) => Promise<Response>;
  /** The server's current version of an item, for the conflict dialog. */
  current: (item: string) => Promise<{ data: Json | null; etag: string | null }>;
  lock: LockFn;
  now: () => number;
  newKey: () => string;
  /** The signed-in user now; replay stops when it is not the outbox's owner. */
  user: () => string | null;
  /** Timer for the backoff (injected so tests drive time). */
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (t: unknown) => void;
}

export type OutboxEvent =
  | { type: 'done'; entry: Entry; data: Json | null; replayed: boolean; status: number }
  | { type: 'conflict'; entry: Entry }
  | { type: 'dropped'; entry: Entry }
  | { type: 'signin'; count: number }
  | { type: 'change' };

export const MAX_BACKOFF = 5 * 60_000;

/** 1 s, 2 s, 4 s … capped at 5 min. */
export function backoff(attempts: number): number {
  return Math.min(MAX_BACKOFF, 1000 * 2 ** Math.max(0, attempts - 1));
}

/** Retry-After in ms (delta-seconds or an HTTP date), or 0. */
export function retryAfterMs(res: Response, now: number): number {
  const v = res.headers.get('Retry-After');
  if (!v) return 0;
  const n = Number(v);
  if (Number.isFinite(n)) return Math.max(0, n * 1000);
  const t = Date.parse(v);
  return Number.isFinite(t) ? Math.max(0, t - now) : 0;
}

export interface EnqueueInput {
  kind: Kind;
  method: Method;
  url: string;
  item: string;
  collection: string;
  body?: Json | null;
  ifMatch?: string | null;
  snapshot?: Json | null;
  key: string;
  /** True when a direct attempt already failed with a network error (the server may have it). */
  sent?: boolean;
}

export class Outbox {
  readonly user: string;
  entries: Entry[] = [];
  /** Set when the refresh was refused: "sign in to sync N changes". */
  needsSignIn = false;
  private readonly deps: OutboxDeps;
  private listeners = new Set<(e: OutboxEvent) => void>();
  private running: Promise<void> | null = null;
  private again = false;
  private timer: unknown = null;
  private stopped = false;

  constructor(user: string, deps: OutboxDeps) {
    this.user = user;
    this.deps = deps;
  }

  on(fn: (e: OutboxEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(e: OutboxEvent): void {
    for (const fn of this.listeners) fn(e);
  }

  /** Reads the queue from the store (after a start, or when another tab changed it). */
  async load(): Promise<Entry[]> {
    this.entries = (await this.deps.store.all()).sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
    this.emit({ type: 'change' });
    return this.entries;
  }

  get pending(): Entry[] {
    return this.entries.filter((e) => e.state === 'pending');
  }
  get conflicts(): Entry[] {
    return this.entries.filter((e) => e.state === 'conflict');
  }
  get dropped(): Entry[] {
    return this.entries.filter((e) => e.state === 'dropped');
  }
  /** Writes still to reach the server (pending and conflicts). */
  get unsynced(): number {
    return this.entries.filter((e) => e.state !== 'dropped').length;
  }

  /** Adds a write, applying the chaining rules. Returns the stored entry, or null when it cancelled
   *  an unsent create (deleting an item that never reached the server removes both locally). */
  async enqueue(input: EnqueueInput): Promise<Entry | null> {
    await this.load();
    const forItem = this.entries.filter((e) => e.item === input.item && e.state !== 'dropped');
    if (input.kind === 'delete') {
      const create = forItem.find((e) => e.kind === 'create' && !e.sent && e.state === 'pending');
      if (create) {
        for (const e of forItem) if ((e.seq ?? 0) >= (create.seq ?? 0)) await this.deps.store.delete(e.seq!);
        await this.load();
        return null;
      }
    }
    const entry: Entry = {
      key: input.key,
      kind: input.kind,
      method: input.method,
      url: input.url,
      item: input.item,
      collection: input.collection,
      body: input.body ?? null,
      ifMatch: input.ifMatch ?? null,
      snapshot: input.snapshot ?? null,
      sent: input.sent ?? false,
      state: 'pending',
      attempts: input.sent ? 1 : 0,
      nextAt: 0,
      createdAt: this.deps.now(),
    };
    entry.seq = await this.deps.store.put(entry);
    await this.load();
    return entry;
  }

  /** Replays the queue now, in order, under the per-user lock (one replaying tab). */
  replay(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        await this.deps.lock(`nf-outbox-${this.user}`, async () => {
          do {
            this.again = false;
            await this.pass();
          } while (this.again && !this.stopped);
        });
      } finally {
        this.running = null;
      }
      this.schedule();
    })();
    return this.running;
  }

  /** "Retry now": forget the backoff of every pending entry and replay. */
  async retryNow(): Promise<void> {
    await this.load();
    for (const e of this.pending) if (e.nextAt) await this.deps.store.put({ ...e, nextAt: 0 });
    this.needsSignIn = false;
    await this.replay();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) this.deps.clearTimer?.(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    if (this.timer) this.deps.clearTimer?.(this.timer);
    this.timer = null;
    if (this.stopped || this.needsSignIn || !this.deps.setTimer) return;
    const next = this.pending.map((e) => e.nextAt).filter((t) => t > 0);
    if (!next.length) return;
    const ms = Math.max(0, Math.min(...next) - this.deps.now());
    this.timer = this.deps.setTimer(() => {
      this.timer = null;
      void this.replay();
    }, ms);
  }

  /** One pass: the first eligible entry, its outcome, again, until nothing can be sent now. */
  private async pass(): Promise<void> {
    for (;;) {
      if (this.stopped || this.needsSignIn) return;
      await this.load();
      const blocked = new Set(this.conflicts.map((e) => e.item));
      const next = this.pending.find((e) => !blocked.has(e.item));
      if (!next) return;
      // In order: a backed-off entry holds the queue (the server asked everyone to wait).
      if (next.nextAt > this.deps.now()) return;
      if (this.deps.user() !== this.user) {
        this.signIn();
        return;
      }
      if (!(await this.attempt(next))) return;
    }
  }

  private signIn(): void {
    this.needsSignIn = true;
    this.emit({ type: 'signin', count: this.unsynced });
  }

  /** Sends one entry and applies the replay table. Returns false when the pass must stop. */
  private async attempt(e: Entry): Promise<boolean> {
    const store = this.deps.store;
    // Marked sent before the request leaves: after a crash the body is frozen all the same.
    const sending: Entry = { ...e, sent: true, attempts: e.attempts + 1 };
    await store.put(sending);
    let res: Response;
    try {
      res = await this.deps.transport(sending);
    } catch {
      await this.later(sending, 0);
      return false;
    }
    const s = res.status;
    if (res.ok) {
      await this.done(sending, res);
      return true;
    }
    const problem = await readProblem(res);
    if (s === 401) {
      await store.put(sending);
      this.signIn();
      return false;
    }
    if ((s === 409 && problem.code === 'idempotency_in_progress') || s === 429 || s === 503 || s >= 500) {
      await this.later(sending, retryAfterMs(res, this.deps.now()));
      return false;
    }
    if (s === 412) {
      let server: Entry['server'];
      try {
        server = await this.deps.current(sending.item);
      } catch {
        server = { data: null, etag: res.headers.get('ETag') };
      }
      const c: Entry = { ...sending, state: 'conflict', server, error: problem };
      await store.put(c);
      await this.load();
      this.emit({ type: 'conflict', entry: c });
      return true;
    }
    const gone = s === 404 && sending.kind !== 'create';
    await this.drop(sending, gone ? 'gone' : 'rejected', problem);
    return true;
  }

  private async later(e: Entry, retryAfter: number): Promise<void> {
    const wait = Math.max(backoff(e.attempts), retryAfter);
    await this.deps.store.put({ ...e, nextAt: this.deps.now() + wait });
    await this.load();
  }

  private async drop(e: Entry, reason: NonNullable<Entry['reason']>, error: Entry['error']): Promise<void> {
    const d: Entry = { ...e, state: 'dropped', reason, error };
    await this.deps.store.put(d);
    this.emit({ type: 'dropped', entry: d });
    // Writes that depended on a create that will never exist are dropped with it (kept, never lost).
    if (e.kind === 'create') {
      for (const later of this.entries)
        if (later.item === e.item && later.seq !== e.seq && later.state !== 'dropped') {
          const o: Entry = { ...later, state: 'dropped', reason: 'orphaned', error };
          await this.deps.store.put(o);
          this.emit({ type: 'dropped', entry: o });
        }
    }
    await this.load();
  }

  private async done(e: Entry, res: Response): Promise<void> {
    const text = res.status === 204 ? '' : await res.text();
    let data: Json | null = null;
    try {
      data = text ? (JSON.parse(text) as Json) : null;
    } catch {
      data = null;
    }
    const etag = res.headers.get('ETag');
    const realItem = e.kind === 'create' && typeof data?.id === 'string' ? `${e.collection}/${data.id}` : null;
    await this.deps.store.delete(e.seq!);
    for (const later of this.entries) {
      if (later.seq === e.seq || later.item !== e.item || (later.seq ?? 0) < (e.seq ?? 0)) continue;
      const next: Entry = { ...later };
      if (realItem) {
        next.url = later.url.replace(e.item, realItem);
        next.item = realItem;
      }
      // The version this later edit was made on top of is the one just written.
      if (etag && e.kind !== 'delete') {
        next.ifMatch = etag;
        if (data) next.snapshot = data;
      }
      await this.deps.store.put(next);
    }
    await this.load();
    this.emit({ type: 'done', entry: e, data, replayed: res.headers.get('Idempotent-Replayed') === 'true', status: res.status });
  }

  /** Conflict, "keep mine": the merged body is sent again against the server's ETag. A body that was
   *  sent is never changed, so this is a new intent with a new key, in the same place in the queue. */
  async keepMine(seq: number, body?: Json | null): Promise<void> {
    const e = this.entries.find((x) => x.seq === seq && x.state === 'conflict');
    if (!e) return;
    const next: Entry = {
      ...e,
      key: this.deps.newKey(),
      body: e.kind === 'delete' ? null : (body ?? e.body ?? null),
      ifMatch: e.server?.etag ?? null,
      snapshot: e.server?.data ?? e.snapshot,
      sent: false,
      state: 'pending',
      attempts: 0,
      nextAt: 0,
    };
    delete next.server;
    delete next.error;
    await this.deps.store.put(next);
    await this.load();
    await this.replay();
  }

  /** Conflict, "take theirs": mine is dropped; later edits of the item now apply to the server's version. */
  async takeTheirs(seq: number): Promise<void> {
    const e = this.entries.find((x) => x.seq === seq && x.state === 'conflict');
    if (!e) return;
    await this.deps.store.delete(seq);
    for (const later of this.entries)
      if (later.item === e.item && (later.seq ?? 0) > seq && later.state === 'pending' && e.server?.etag)
        await this.deps.store.put({ ...later, ifMatch: e.server.etag, snapshot: e.server.data });
    await this.load();
    await this.replay();
  }

  /** Removes a dropped entry from the sync centre (the user saw it, or copied it). */
  async dismiss(seq: number): Promise<void> {
    const e = this.entries.find((x) => x.seq === seq);
    if (!e || e.state !== 'dropped') return;
    await this.deps.store.delete(seq);
    await this.load();
  }
}

async function readProblem(res: Response): Promise<{ status: number; code: string; detail: string }> {
  let doc: { code?: string; detail?: string } = {};
  try {
    doc = (await res.clone().json()) as typeof doc;
  } catch {
    doc = {};
  }
  return { status: res.status, code: doc.code ?? `http_${res.status}`, detail: doc.detail ?? (res.statusText || `HTTP ${res.status}`) };
}

/** The list a page shows: the server's items with the queue applied (creates first, edits merged,
 *  deletes removed), each touched item marked `_pending` (or `_conflict`). */
export function overlay<T extends { id: string }>(items: T[], entries: Entry[], collection: string): (T & { _pending?: boolean })[] {
  let out: (T & { _pending?: boolean; _conflict?: boolean })[] = [...items];
  for (const e of entries) {
    if (e.collection !== collection || e.state === 'dropped') continue;
    const id = e.item.slice(collection.length + 1);
    const flag = e.state === 'conflict' ? { _conflict: true, _pending: true } : { _pending: true };
    if (e.kind === 'create') {
      if (!out.some((x) => x.id === id)) out = [{ ...(e.body ?? {}), id, ...flag } as unknown as T & typeof flag, ...out];
    } else if (e.kind === 'update') {
      out = out.map((x) => (x.id === id ? { ...x, ...(e.body ?? {}), ...flag } : x));
    } else {
      out = out.filter((x) => x.id !== id);
    }
  }
  return out;
}

/** One item with the queue applied; `null` when a pending delete removes it. */
export function overlayOne<T extends { id: string }>(item: T | null, entries: Entry[], itemUrl: string): (T & { _pending?: boolean; _conflict?: boolean }) | null {
  let out: (T & { _pending?: boolean; _conflict?: boolean }) | null = item;
  for (const e of entries) {
    if (e.item !== itemUrl || e.state === 'dropped') continue;
    const flag = e.state === 'conflict' ? { _conflict: true, _pending: true } : { _pending: true };
    const id = itemUrl.slice(itemUrl.lastIndexOf('/') + 1);
    if (e.kind === 'create') out = { ...(e.body ?? {}), id, ...(out ?? {}), ...flag } as never;
    else if (e.kind === 'update' && out) out = { ...out, ...(e.body ?? {}), ...flag };
    else if (e.kind === 'delete') out = null;
  }
  return out;
}
