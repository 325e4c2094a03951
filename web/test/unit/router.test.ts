import { describe, expect, it } from 'vitest';
import { match, routableLink, type Route } from '../../src/router';

const r = (path: string): Route => ({ path, tag: 'x-' + path, load: async () => undefined, title: () => path });
const routes = [r('/'), r('/projects'), r('/projects/:id'), r('/community/:id')];

describe('match', () => {
  it('matches static paths, with or without a trailing slash', () => {
    expect(match(routes, '/')?.route.path).toBe('/');
    expect(match(routes, '/projects')?.route.path).toBe('/projects');
    expect(match(routes, '/projects/')?.route.path).toBe('/projects');
  });
  it('extracts and decodes parameters', () => {
    expect(match(routes, '/projects/abc')?.params).toEqual({ id: 'abc' });
    expect(match(routes, '/community/a%20b')?.params).toEqual({ id: 'a b' });
  });
  it('returns null for unknown paths (the 404 page)', () => {
    expect(match(routes, '/nope')).toBeNull();
    expect(match(routes, '/projects/a/b')).toBeNull();
  });
});

describe('routableLink', () => {
  const click = (href: string, init: MouseEventInit = {}, attrs: Record<string, string> = {}) => {
    const a = document.createElement('a');
    a.setAttribute('href', href);
    for (const [k, v] of Object.entries(attrs)) a.setAttribute(k, v);
    document.body.append(a);
    let url: URL | null = null;
    a.addEventListener('click', (ev) => {
      url = routableLink(ev, location.origin);
      ev.preventDefault();
    });
    a.dispatchEvent(new MouseEvent('click', { bubbles: true, composed: true, button: 0, ...init }));
    a.remove();
    return url as URL | null;
  };
  it('routes same-origin app links', () => {
    expect(click('/projects?x=1')?.pathname).toBe('/projects');
  });
  it('leaves modified clicks, other origins, downloads, the API and the docs to the browser', () => {
    expect(click('/projects', { ctrlKey: true })).toBeNull();
    expect(click('https://example.org/')).toBeNull();
    expect(click('/file', {}, { download: '' })).toBeNull();
    expect(click('/docs')).toBeNull();
    expect(click('/api/v1/openapi.json')).toBeNull();
    expect(click('#main')).toBeNull();
  });
});
