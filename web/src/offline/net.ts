// Connectivity as the UI shows it: offline when the browser says so or when the last API read came from
// the service worker's cache (the network failed); "last synced" is when the last read came from the
// server (kept per user in localStorage: a time, nothing secret).
export const CACHED_HEADER = 'X-NF-Cached';

class Net extends EventTarget {
  /** True while reads are being answered from the cache. */
  stale = false;
  lastSynced: number | null = null;
  private user: string | null = null;

  get online(): boolean {
    return globalThis.navigator?.onLine !== false;
  }

  get offline(): boolean {
    return !this.online || this.stale;
  }

  setUser(user: string | null): void {
    this.user = user;
    let saved: string | null = null;
    try {
      saved = user ? localStorage.getItem(`nf-synced-${user}`) : null;
    } catch {
      saved = null;
    }
    this.lastSynced = saved ? Number(saved) : null;
    this.changed();
  }

  /** An API answer: from the server, or (with the cache header) a copy saved at that time. */
  saw(res: Response): void {
    const cached = res.headers.get(CACHED_HEADER);
    if (cached) {
      const t = Number(cached);
      if (!this.stale || (Number.isFinite(t) && !this.lastSynced)) {
        this.stale = true;
        if (Number.isFinite(t) && (!this.lastSynced || t > this.lastSynced)) this.lastSynced = t;
        this.changed();
      }
      return;
    }
    this.stale = false;
    this.lastSynced = Date.now();
    try {
      if (this.user) localStorage.setItem(`nf-synced-${this.user}`, String(this.lastSynced));
    } catch {
      /* storage disabled */
    }
    this.changed();
  }

  changed(): void {
    this.dispatchEvent(new Event('change'));
  }
}

export const net = new Net();
if (typeof window !== 'undefined') {
  window.addEventListener('online', () => net.changed());
  window.addEventListener('offline', () => net.changed());
}
