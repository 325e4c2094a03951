// The field-by-field view of a 412: for each field, the version the user edited (base), theirs (the
// server's current one) and mine. A field changed on one side only is pre-resolved to that side; a field
// both sides changed differently is a real conflict ("keep mine" takes mine, "take theirs" drops mine).
import type { Entry, Json } from './outbox';

export type Resolution = 'same' | 'mine' | 'theirs' | 'both';

export interface FieldDiff {
  field: string;
  base: unknown;
  mine: unknown;
  theirs: unknown;
  /** same: nothing to decide; mine: only I changed it; theirs: only they did; both: a real conflict. */
  resolution: Resolution;
}

/** Server-managed fields never shown or sent back. */
const META = new Set(['id', 'owner_id', 'author_id', 'created_at', 'updated_at', 'version', 'etag']);

const eq = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

export function diffFields(e: Pick<Entry, 'kind' | 'body' | 'snapshot' | 'server'>): FieldDiff[] {
  const base: Json = e.snapshot ?? {};
  const theirs: Json = e.server?.data ?? {};
  // A delete's "mine" is the item gone: show what the server has now against what I saw.
  const mine: Json = e.kind === 'delete' ? base : { ...base, ...(e.body ?? {}) };
  const fields = new Set([...Object.keys(e.body ?? {}), ...Object.keys(base), ...Object.keys(theirs)]);
  const out: FieldDiff[] = [];
  for (const field of fields) {
    if (META.has(field) || field.startsWith('_')) continue;
    const m = mine[field];
    const t = theirs[field];
    const b = base[field];
    let resolution: Resolution;
    if (eq(m, t)) resolution = 'same';
    else if (eq(m, b)) resolution = 'theirs';
    else if (eq(t, b)) resolution = 'mine';
    else resolution = 'both';
    out.push({ field, base: b, mine: m, theirs: t, resolution });
  }
  return out;
}

/** The body "keep mine" sends: my value for fields I changed (both sides included), theirs elsewhere.
 *  Only the fields of my original body are sent (a PATCH of what I touched). */
export function mergedBody(e: Pick<Entry, 'kind' | 'body' | 'snapshot' | 'server'>): Json | null {
  if (e.kind === 'delete') return null;
  const out: Json = {};
  const diffs = new Map(diffFields(e).map((d) => [d.field, d]));
  for (const [k, v] of Object.entries(e.body ?? {})) {
    const d = diffs.get(k);
    out[k] = d && d.resolution === 'theirs' ? d.theirs : v;
  }
  return out;
}
