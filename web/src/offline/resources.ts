// The resources whose writes the outbox may queue (docs/offline.md, "opting in"): a collection URL and
// how to name one of its items in the sync centre. Anything else (the support form, auth, settings,
// admin) is never queued: it fails with the usual "needs a connection" message instead.
import type { Method } from '../api/writes';
import type { Json, Kind } from './outbox';

export interface Resource {
  collection: string;
  /** A short human name of an item, from a body or a snapshot. */
  label: (item: Json | null | undefined) => string;
}

export const RESOURCES: Resource[] = [
  { collection: '/api/v1/projects', label: (p) => String(p?.name ?? '') },
];

export const TMP = 'tmp-';

export interface Classified {
  kind: Kind;
  collection: string;
  item: string;
  resource: Resource;
}

/** Which queued write a request is, or null when it is not queueable. */
export function classify(method: Method, url: string, newId: () => string): Classified | null {
  const path = new URL(url, 'http://x').pathname;
  for (const resource of RESOURCES) {
    const c = resource.collection;
    if (path === c && method === 'POST') return { kind: 'create', collection: c, item: `${c}/${TMP}${newId()}`, resource };
    if (path.startsWith(c + '/') && !path.slice(c.length + 1).includes('/')) {
      if (method === 'PATCH') return { kind: 'update', collection: c, item: path, resource };
      if (method === 'DELETE') return { kind: 'delete', collection: c, item: path, resource };
    }
  }
  return null;
}

export function resourceOf(collection: string): Resource | undefined {
  return RESOURCES.find((r) => r.collection === collection);
}

export const isTmp = (id: string | undefined | null) => !!id && id.startsWith(TMP);
