// The outbox's IndexedDB: one database per user (`nf-outbox-<user id>`), one object store of entries in
// queue order. Opened lazily: a user who never queued a write has no database at all.
import { openDB, type IDBPDatabase } from 'idb';
import type { Entry, Store } from './outbox';

const STORE = 'entries';

export const dbName = (user: string) => `nf-outbox-${user}`;

async function exists(name: string): Promise<boolean> {
  const f = globalThis.indexedDB as IDBFactory | undefined;
  if (!f) return false;
  if (typeof f.databases !== 'function') return true; // cannot tell: open it
  return (await f.databases()).some((d) => d.name === name);
}

export function idbStore(user: string): Store {
  const name = dbName(user);
  let db: Promise<IDBPDatabase> | null = null;
  const open = () =>
    (db ??= openDB(name, 1, {
      upgrade(d) {
        d.createObjectStore(STORE, { keyPath: 'seq', autoIncrement: true });
      },
    }));
  return {
    async all() {
      if (!db && !(await exists(name))) return [];
      return ((await (await open()).getAll(STORE)) as Entry[]).sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
    },
    async put(e) {
      return (await (await open()).put(STORE, e)) as number;
    },
    async delete(seq) {
      await (await open()).delete(STORE, seq);
    },
  };
}
