import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { generateMsgId } from '@lit/localize/internal/id-generation.js';
// @ts-expect-error — a plain .mjs script shared with the command line
import { messages } from '../../scripts/messages.mjs';
import { catalog } from '../../src/i18n/fr';
import { compileCatalog } from '../../src/i18n';

const source: string[] = messages(resolve(process.cwd(), 'src'));

describe('locales', () => {
  it('finds the messages of the source', () => {
    expect(source.length).toBeGreaterThan(200);
    expect(source).toContain('Sign in');
    expect(source).toContain('Project "{0}" created.');
  });

  it('French is complete and has no stale entries', () => {
    expect(source.filter((m) => !(m in catalog))).toEqual([]);
    expect(Object.keys(catalog).filter((k) => !source.includes(k))).toEqual([]);
  });

  it('every French entry keeps the placeholders of its English message', () => {
    for (const [en, fr] of Object.entries(catalog)) {
      const want = (en.match(/\{\d+\}/g) ?? []).sort();
      expect((fr.match(/\{\d+\}/g) ?? []).sort(), en).toEqual(want);
    }
  });

  it('compiles entries to the ids @lit/localize computes at run time', () => {
    const t = compileCatalog({ 'Sign in': 'Se connecter', 'By {0} · {1}': '{1} — par {0}' });
    expect(t[generateMsgId('Sign in', false)]).toBe('Se connecter');
    expect(t[generateMsgId(['By ', ' · ', ''], false)]).toEqual({ strTag: true, strings: ['', ' — par ', ''], values: [1, 0] });
  });
});
