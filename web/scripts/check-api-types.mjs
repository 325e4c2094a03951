// Fails when src/api/schema.d.ts differs from what openapi-typescript makes of docs/openapi.json now
// (run `npm run api:types` to refresh it). Used by `make check`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const web = new URL('..', import.meta.url).pathname;
const out = join(mkdtempSync(join(tmpdir(), 'nf-types-')), 'schema.d.ts');
execFileSync(join(web, 'node_modules/.bin/openapi-typescript'), [join(web, '../docs/openapi.json'), '-o', out], {
  stdio: ['ignore', 'ignore', 'inherit'],
});
const committed = readFileSync(join(web, 'src/api/schema.d.ts'), 'utf8');
if (readFileSync(out, 'utf8') !== committed) {
  console.error('web/src/api/schema.d.ts is stale: run `cd web && npm run api:types` and commit it');
  process.exit(1);
}
console.log('web/src/api/schema.d.ts matches docs/openapi.json');
