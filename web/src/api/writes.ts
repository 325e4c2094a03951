// The one door every write of the app goes through, backed by the IndexedDB outbox (src/offline): a
// write is a plain, serialisable description (method, url, body, Idempotency-Key, If-Match), the key is
// made here, before the first attempt, and reused by every retry of the same intent. A queueable write
// (docs/offline.md) made offline, or that fails with a network error, comes back `pending`.
import { auth } from './client';
import { ProblemError, toProblem } from './problem';
import { queue } from '../offline';

export type Method = 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface Write {
  method: Method;
  url: string;
  body?: unknown;
  /** The ETag of the version the user was looking at: a stale edit becomes a 412, not a lost update. */
  ifMatch?: string | null;
  /** Generated once per user intent. Only sent on the routes that honour it (api.md §4). */
  idempotencyKey?: string;
  /** The version the user edited (edits and deletes), shown by the conflict dialog after a 412. */
  snapshot?: unknown;
}

export interface WriteResult<T> {
  data: T;
  etag: string | null;
  status: number;
  replayed: boolean;
  /** Queued in the outbox: shown at once, marked pending, sent when the server can be reached. */
  pending?: boolean;
  /** A delete that cancelled an unsent create locally: nothing was or will be sent. */
  cancelled?: boolean;
}

const IDEMPOTENT = /^\/api\/v1\/(projects|support|community|status\/events)(\/|$)/;

export function newKey(): string {
  return globalThis.crypto.randomUUID();
}

/** Builds the Request of a write; exported for tests and for the outbox's replay in part 2. */
export function toRequest(w: Write): Request {
  const headers = new Headers({ Accept: 'application/json' });
  if (w.body !== undefined) headers.set('Content-Type', 'application/json');
  if (w.ifMatch) headers.set('If-Match', w.ifMatch);
  const path = new URL(w.url, 'http://x').pathname;
  if (IDEMPOTENT.test(path) && w.method !== 'PUT') headers.set('Idempotency-Key', w.idempotencyKey ?? newKey());
  return new Request(new URL(w.url, globalThis.location?.href ?? 'http://localhost/').href, {
    method: w.method,
    headers,
    body: w.body === undefined ? undefined : JSON.stringify(w.body),
    credentials: 'same-origin',
  });
}

/** Sends a write now. Throws ProblemError (status 0 = never reached the server). */
export async function send<T = unknown>(w: Write): Promise<WriteResult<T>> {
  const write = { ...w, idempotencyKey: w.idempotencyKey ?? newKey() };
  const queued = await queue<T>(write, false);
  if (queued) return queued;
  let res: Response;
  try {
    res = await auth.fetch(toRequest(write));
  } catch {
    // The server may have committed it: the outbox replays the same body with the same key.
    const later = await queue<T>(write, true);
    if (later) return later;
    throw ProblemError.network();
  }
  if (!res.ok) throw await toProblem(res);
  const text = res.status === 204 ? '' : await res.text();
  return {
    data: (text ? JSON.parse(text) : null) as T,
    etag: res.headers.get('ETag'),
    status: res.status,
    replayed: res.headers.get('Idempotent-Replayed') === 'true',
  };
}

export const post = <T>(url: string, body?: unknown) => send<T>({ method: 'POST', url, body });
export const patch = <T>(url: string, body: unknown, ifMatch?: string | null, snapshot?: unknown) =>
  send<T>({ method: 'PATCH', url, body, ifMatch, snapshot });
export const del = (url: string, ifMatch?: string | null, body?: unknown, snapshot?: unknown) =>
  send<null>({ method: 'DELETE', url, ifMatch, body, snapshot });
