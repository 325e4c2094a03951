// The signed-in session of this tab: the access token lives only in memory; the refresh token is the
// HttpOnly `nf_refresh` cookie (browser mode, api.md §1.1). A refresh rotates that cookie, so two
// concurrent refreshes would look like token reuse and revoke every session: refreshes are serialised
// across tabs with a Web Lock, and the winner shares the new access token over a BroadcastChannel.
import type { components } from './schema';
import { ProblemError, toProblem } from './problem';

export type User = components['schemas']['UserOut'];
type TokenOut = components['schemas']['TokenOut'];

export type LockFn = <T>(name: string, fn: () => Promise<T>) => Promise<T>;
export interface Channel {
  postMessage(msg: unknown): void;
  onmessage: ((ev: MessageEvent) => void) | null;
}
export interface AuthDeps {
  fetch: (req: Request) => Promise<Response>;
  lock: LockFn;
  channel: Channel | null;
  storage: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> | null;
  now: () => number;
}

type Message =
  | { type: 'token'; token: string; expiresAt: number; user: User; sessionId: string }
  | { type: 'user'; user: User }
  | { type: 'logout' };

const LOCK = 'nf-auth-refresh';
/** Not a secret: only says "try restoring from the cookie on load", so anonymous visits skip it. */
const HINT = 'nf-signed-in';
/** When some tab last refreshed (a time, not a token): a tab that waited for the lock meanwhile
 *  waits briefly for that tab's broadcast instead of rotating the cookie once more. */
const REFRESHED_AT = 'nf-refreshed-at';
const AUTH = '/api/v1/auth/';
/** The last signed-in user's profile (not a token): an offline reload shows their cached pages and
 *  queues their writes until the refresh cookie can be used again. */
const OFFLINE_USER = 'nf-offline-user';
/** Tells the service worker whose cache an API read belongs to (it never sees a token at rest). */
export const USER_HEADER = 'X-NF-User';
/** Routes where a 401 is an answer about the credentials sent, not about an expired access token. */
const NO_RETRY = ['login', 'register', 'token', 'refresh', 'verify-email', 'password-reset'];

/** A lock for one tab when the browser (or happy-dom) has no navigator.locks. */
export function localLock(): LockFn {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(_name: string, fn: () => Promise<T>) => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };
}

export function browserDeps(): AuthDeps {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  const lock: LockFn = locks
    ? <T>(name: string, fn: () => Promise<T>) => locks.request(name, fn) as Promise<T>
    : localLock();
  let storage: AuthDeps['storage'] = null;
  try {
    storage = globalThis.localStorage ?? null;
  } catch {
    storage = null;
  }
  return {
    fetch: (req) => globalThis.fetch(req),
    lock,
    channel: typeof BroadcastChannel === 'undefined' ? null : new BroadcastChannel('nf-auth'),
    storage,
    now: () => Date.now(),
  };
}

/** The service worker's cache of one user's API reads (public/sw-api.js uses the same name). */
export const apiCacheName = (user: string) => `nf-api-${user}`;

function needsRetry(url: string): boolean {
  const path = new URL(url, 'http://x').pathname;
  if (!path.startsWith(AUTH)) return true;
  const rest = path.slice(AUTH.length);
  return !NO_RETRY.some((p) => rest === p || rest.startsWith(p + '/'));
}

export class Auth extends EventTarget {
  user: User | null = null;
  sessionId: string | null = null;
  private token: string | null = null;
  private expiresAt = 0;
  /** Bumped whenever the token changes: a 401 for an older generation just retries. */
  private generation = 0;
  private inflight: Promise<boolean> | null = null;
  /** The last refresh failed before any answer (offline). */
  private unreachable = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Resolves once the first restore attempt is over (the router waits for it). */
  readonly ready: Promise<void>;
  private markReady!: () => void;
  private readonly deps: AuthDeps;

  constructor(deps: AuthDeps) {
    super();
    this.deps = deps;
    this.ready = new Promise((r) => (this.markReady = r));
    if (deps.channel) deps.channel.onmessage = (ev) => this.receive(ev.data as Message);
  }

  get signedIn(): boolean {
    return this.user !== null;
  }

  /** Signed in with an access token (false for a session shown from the offline copy). */
  get hasToken(): boolean {
    return this.token !== null;
  }

  get isAdmin(): boolean {
    return this.user?.is_admin === true;
  }

  /** Restores the session from the cookie after a reload (when this browser signed in before). */
  async restore(): Promise<void> {
    try {
      if (this.deps.storage?.getItem(HINT)) {
        const ok = await this.refresh(this.generation);
        // Offline: show the last user's cached pages and queue their writes until the network is back.
        if (!ok && this.unreachable) this.useOfflineUser();
      }
    } finally {
      this.markReady();
    }
  }

  private useOfflineUser(): void {
    let saved: User | null = null;
    try {
      saved = JSON.parse(this.deps.storage?.getItem(OFFLINE_USER) ?? 'null') as User | null;
    } catch {
      saved = null;
    }
    if (!saved?.id) return;
    this.user = saved;
    this.changed();
  }

  /** Back online after an offline boot: get a token from the cookie (a refused one signs out). */
  async reconnect(): Promise<void> {
    if (this.user && !this.token) await this.refresh(this.generation);
  }

  /** fetch() with the bearer token; a 401 triggers one (shared) refresh and one retry. */
  async fetch(req: Request): Promise<Response> {
    const retry = needsRetry(req.url) ? req.clone() : null;
    const sentWith = this.generation;
    const res = await this.deps.fetch(this.authorize(req));
    if (res.status !== 401 || !retry || (!this.token && !this.deps.storage?.getItem(HINT))) return res;
    if (!(await this.refresh(sentWith))) return res;
    return this.deps.fetch(this.authorize(retry));
  }

  /** One refresh at a time per origin. `seen` is the token generation the caller's request used. */
  refresh(seen: number): Promise<boolean> {
    if (this.generation !== seen) return Promise.resolve(this.token !== null);
    if (!this.inflight) {
      const started = this.deps.now();
      this.inflight = this.deps
        .lock(LOCK, async () => {
          // Another tab may have refreshed (and broadcast its token) while this one waited for the lock.
          if (this.generation !== seen) return this.token !== null;
          if (Number(this.deps.storage?.getItem(REFRESHED_AT) ?? 0) >= started) {
            await this.changeOrTimeout(1000);
            if (this.generation !== seen) return this.token !== null;
          }
          return this.doRefresh();
        })
        .finally(() => (this.inflight = null));
    }
    return this.inflight;
  }

  private async doRefresh(): Promise<boolean> {
    let res: Response;
    this.unreachable = false;
    try {
      res = await this.deps.fetch(this.json('/api/v1/auth/refresh', { refresh_in: 'cookie' }));
    } catch {
      this.unreachable = true;
      return false; // offline: keep the hint, try again later
    }
    if (res.ok) {
      this.accept((await res.json()) as TokenOut, true);
      this.deps.storage?.setItem(REFRESHED_AT, String(this.deps.now()));
      return true;
    }
    if (res.status === 401 || res.status === 400) this.clear(true);
    return false;
  }

  private changeOrTimeout(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.removeEventListener('change', done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.addEventListener('change', done);
    });
  }

  /** Sign in; throws a ProblemError (e.g. code `totp_required`) the form shows. */
  async login(email: string, password: string, totpCode?: string): Promise<User> {
    const body: Record<string, unknown> = { email, password, refresh_in: 'cookie' };
    if (totpCode) body.totp_code = totpCode;
    return this.signIn('/api/v1/auth/login', body);
  }

  async register(email: string, password: string, fullName: string): Promise<User> {
    return this.signIn('/api/v1/auth/register', { email, password, full_name: fullName, refresh_in: 'cookie' });
  }

  private async signIn(url: string, body: unknown): Promise<User> {
    let res: Response;
    try {
      res = await this.deps.fetch(this.json(url, body));
    } catch {
      throw ProblemError.network();
    }
    if (!res.ok) throw await toProblem(res);
    const out = (await res.json()) as TokenOut;
    this.accept(out, true);
    return out.user;
  }

  /** Revokes this session on the server (clears the cookie), then forgets it everywhere. */
  async logout(): Promise<void> {
    try {
      await this.fetch(this.json('/api/v1/auth/logout', {}));
    } catch {
      /* offline: the local state still goes */
    }
    this.clear(true);
  }

  /** Forget the session locally (after logout-all, account deletion, or a revoked session). */
  forget(): void {
    this.clear(true);
  }

  /** After PATCH /users/me or 2FA changes: the new user everywhere. */
  setUser(user: User): void {
    this.user = user;
    this.deps.storage?.setItem(OFFLINE_USER, JSON.stringify(user));
    this.deps.channel?.postMessage({ type: 'user', user } satisfies Message);
    this.changed();
  }

  private authorize(req: Request): Request {
    if (this.token) req.headers.set('Authorization', `Bearer ${this.token}`);
    if (this.user && new URL(req.url, 'http://x').pathname.startsWith('/api/')) req.headers.set(USER_HEADER, this.user.id);
    return req;
  }

  private json(url: string, body: unknown): Request {
    return new Request(new URL(url, globalThis.location?.href ?? 'http://localhost/').href, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(body),
      credentials: 'same-origin',
    });
  }

  private accept(out: TokenOut, broadcast: boolean): void {
    this.setToken(out.access_token, this.deps.now() + out.expires_in * 1000, out.user, out.session_id);
    this.deps.storage?.setItem(HINT, '1');
    this.deps.storage?.setItem(OFFLINE_USER, JSON.stringify(out.user));
    if (broadcast) {
      this.deps.channel?.postMessage({
        type: 'token',
        token: out.access_token,
        expiresAt: this.expiresAt,
        user: out.user,
        sessionId: out.session_id,
      } satisfies Message);
    }
  }

  private setToken(token: string, expiresAt: number, user: User, sessionId: string): void {
    this.token = token;
    this.expiresAt = expiresAt;
    this.user = user;
    this.sessionId = sessionId;
    this.generation++;
    this.schedule();
    this.changed();
  }

  /** Refresh a minute before expiry so a long-open tab rarely meets a 401 at all. */
  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    const due = this.expiresAt - this.deps.now() - 60_000;
    if (due > 0 && due < 2 ** 31) {
      const gen = this.generation;
      this.timer = setTimeout(() => void this.refresh(gen), due);
    }
  }

  private clear(broadcast: boolean): void {
    const had = this.user !== null || this.token !== null;
    const gone = this.user?.id ?? null;
    this.token = null;
    this.user = null;
    this.sessionId = null;
    this.expiresAt = 0;
    this.generation++;
    if (this.timer) clearTimeout(this.timer);
    this.deps.storage?.removeItem(HINT);
    this.deps.storage?.removeItem(OFFLINE_USER);
    // The signed-out user's cached API reads go with the session (their outbox stays, per user).
    if (gone) void globalThis.caches?.delete(apiCacheName(gone)).catch(() => undefined);
    if (broadcast) this.deps.channel?.postMessage({ type: 'logout' } satisfies Message);
    if (had) this.changed();
  }

  private receive(msg: Message): void {
    if (msg.type === 'token') this.setToken(msg.token, msg.expiresAt, msg.user, msg.sessionId);
    else if (msg.type === 'user') {
      this.user = msg.user;
      this.changed();
    } else if (msg.type === 'logout') this.clear(false);
  }

  private changed(): void {
    this.dispatchEvent(new Event('change'));
  }
}
