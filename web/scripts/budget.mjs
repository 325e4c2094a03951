// The size budget of web.md, checked after `vite build` (fails the build when over):
//   initial JS for `/` (entry + its static imports + the landing chunk) ≤ 60 KB gzip,
//   each lazy route chunk (with the static imports it adds) ≤ 30 KB gzip, all CSS ≤ 15 KB gzip.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';

const dist = new URL('../dist/', import.meta.url).pathname;
const manifest = JSON.parse(readFileSync(join(dist, '.vite/manifest.json'), 'utf8'));
const LIMITS = { initial: 60 * 1024, chunk: 30 * 1024, css: 15 * 1024 };

const gz = (file) => gzipSync(readFileSync(join(dist, file)), { level: 9 }).length;
const kb = (n) => (n / 1024).toFixed(1) + ' KB';

/** The files a chunk needs before it runs: itself and its static imports, recursively. */
function closure(key, seen = new Set()) {
  const c = manifest[key];
  if (!c || seen.has(c.file)) return seen;
  seen.add(c.file);
  for (const k of c.imports ?? []) closure(k, seen);
  return seen;
}

const entryKey = Object.keys(manifest).find((k) => manifest[k].isEntry);
const landingKey = Object.keys(manifest).find((k) => k.endsWith('pages/landing.ts'));
const initial = closure(entryKey);
for (const f of closure(landingKey)) initial.add(f);
const initialBytes = [...initial].filter((f) => f.endsWith('.js')).reduce((s, f) => s + gz(f), 0);

const failures = [];
const rows = [['initial JS for /', initialBytes, LIMITS.initial]];
const base = closure(entryKey);
for (const [key, c] of Object.entries(manifest)) {
  if (!c.isDynamicEntry) continue;
  const extra = [...closure(key)].filter((f) => !base.has(f) && f.endsWith('.js'));
  rows.push([`lazy ${c.name ?? key}`, extra.reduce((s, f) => s + gz(f), 0), LIMITS.chunk]);
}
const css = new Set(Object.values(manifest).flatMap((c) => c.css ?? []));
rows.push(['CSS (all)', [...css].reduce((s, f) => s + gz(f), 0), LIMITS.css]);

console.log('budget (gzip):');
for (const [name, size, limit] of rows) {
  const over = size > limit;
  if (over) failures.push(name);
  console.log(`  ${over ? 'OVER' : 'ok  '} ${name.padEnd(28)} ${kb(size).padStart(9)} / ${kb(limit)}`);
}
if (failures.length) {
  console.error(`budget exceeded: ${failures.join(', ')}`);
  process.exit(1);
}
