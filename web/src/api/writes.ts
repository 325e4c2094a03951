// The one door every write of the app goes through. Part 2 backs it with the IndexedDB outbox: that is
// why a write is a plain, serialisable description (method, url, body, Idempotency-Key, If-Match), and
// why the key is made here, before the first attempt, and reused by every retry of the same intent.
import { auth } from './client';
import { ProblemError, toProblem } from './problem';

export type Method = 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface Write {
  method: Method;
  url: string;
  body?: unknown;
  /** The ETag of the version the user was looking at: a stale edit becomes a 412, not a lost update. */
  ifMatch?: string | null;
  /** Generated once per user intent. Only sent on the routes that honour it (api.md §4). */
  idempotencyKey?: string;
}

export interface WriteResult<T> {
  data: T;
  etag: string | null;
  status: number;
  replayed: boolean;
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
  let res: Response;
  try {
    res = await auth.fetch(toRequest(write));
  } catch {
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
export const patch = <T>(url: string, body: unknown, ifMatch?: string | null) =>
  send<T>({ method: 'PATCH', url, body, ifMatch });
export const del = (url: string, ifMatch?: string | null, body?: unknown) =>
  send<null>({ method: 'DELETE', url, ifMatch, body });
