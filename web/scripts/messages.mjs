// Lists every message of the source (msg('…') and msg(str`…`)), as catalog keys: str`` expressions
// become {0}, {1}… Used by the i18n unit test (every locale complete) and by `node scripts/messages.mjs`
// to print what a translator needs.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function files(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') && !p.endsWith('.d.ts') ? [p] : [];
  });
}

function unescape(s) {
  return s.replace(/\\(['"`\\])/g, '$1');
}

export function messages(srcDir) {
  const out = new Set();
  for (const file of files(srcDir)) {
    if (file.includes('/i18n/')) continue;
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/msg\(\s*'((?:[^'\\]|\\.)*)'/g)) out.add(unescape(m[1]));
    for (const m of text.matchAll(/msg\(\s*"((?:[^"\\]|\\.)*)"/g)) out.add(unescape(m[1]));
    for (const m of text.matchAll(/msg\(\s*str`((?:[^`\\]|\\.)*)`/g)) {
      let i = 0;
      out.add(unescape(m[1].replace(/\$\{(?:[^{}]|\{[^{}]*\})*\}/g, () => `{${i++}}`)));
    }
  }
  return [...out].sort();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const m of messages(new URL('../src', import.meta.url).pathname)) console.log(JSON.stringify(m));
}
