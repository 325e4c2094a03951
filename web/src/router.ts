// History-API routing: a table of paths → lazily imported pages. `match` is pure (unit tested); the
// Router intercepts same-origin link clicks (through shadow roots, via composedPath) and popstate.

export type Access = 'any' | 'anon' | 'user' | 'admin';

export interface Route {
  path: string; // e.g. '/projects/:id'
  tag: string; // the custom element of the page
  load: () => Promise<unknown>;
  title: () => string;
  access?: Access;
}

export interface Match {
  route: Route;
  params: Record<string, string>;
}

const cache = new Map<string, { re: RegExp; keys: string[] }>();

function compile(path: string): { re: RegExp; keys: string[] } {
  let c = cache.get(path);
  if (!c) {
    const keys: string[] = [];
    const src = path
      .split('/')
      .map((seg) => {
        if (seg.startsWith(':')) {
          keys.push(seg.slice(1));
          return '([^/]+)';
        }
        return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      })
      .join('/');
    c = { re: new RegExp(`^${src}/?$`), keys };
    cache.set(path, c);
  }
  return c;
}

export function match(routes: Route[], pathname: string): Match | null {
  for (const route of routes) {
    const { re, keys } = compile(route.path);
    const m = re.exec(pathname);
    if (m) {
      const params: Record<string, string> = {};
      keys.forEach((k, i) => {
        try {
          params[k] = decodeURIComponent(m[i + 1]);
        } catch {
          params[k] = m[i + 1];
        }
      });
      return { route, params };
    }
  }
  return null;
}

/** Only plain left clicks on same-origin links that are not downloads or new-tab links are routed. */
export function routableLink(ev: MouseEvent, origin: string): URL | null {
  if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return null;
  const a = ev.composedPath().find((n): n is HTMLAnchorElement => (n as Element).tagName === 'A');
  if (!a || !a.href || a.hasAttribute('download') || (a.target && a.target !== '_self')) return null;
  const url = new URL(a.href, origin);
  if (url.origin !== origin) return null;
  if (url.pathname.startsWith('/api/') || url.pathname.startsWith('/docs')) return null;
  if (a.getAttribute('href')?.startsWith('#')) return null;
  return url;
}

export class Router extends EventTarget {
  readonly routes: Route[];
  current: (Match & { url: URL }) | null = null;
  private readonly win: Window;

  constructor(routes: Route[], win: Window = window) {
    super();
    this.routes = routes;
    this.win = win;
  }

  start(): void {
    this.win.addEventListener('popstate', () => this.resolve());
    this.win.document.addEventListener('click', (ev) => {
      const url = routableLink(ev, this.win.location.origin);
      if (url) {
        ev.preventDefault();
        this.navigate(url.pathname + url.search + url.hash);
      }
    });
    this.resolve();
  }

  navigate(to: string, opts: { replace?: boolean } = {}): void {
    const url = new URL(to, this.win.location.origin);
    const here = this.win.location.pathname + this.win.location.search;
    if (url.pathname + url.search !== here || opts.replace) {
      if (opts.replace) this.win.history.replaceState(null, '', url.href);
      else this.win.history.pushState(null, '', url.href);
    }
    this.resolve();
  }

  private resolve(): void {
    const url = new URL(this.win.location.href);
    const m = match(this.routes, url.pathname);
    this.current = m ? { ...m, url } : null;
    this.dispatchEvent(new Event('change'));
  }
}
