// @lit/localize in runtime mode. Messages are written in English in the code (`msg('Sign in')`); each
// other locale is a catalog keyed by the English text ({0}, {1}… stand for str`` expressions), turned
// into @lit/localize's hashed ids when it loads, so no extraction step is needed to add a string and a
// unit test can check that every locale covers every message.
import { configureLocalization } from '@lit/localize';
import { generateMsgId } from '@lit/localize/internal/id-generation.js';

export const LOCALES = [
  { code: 'en', name: 'English' },
  { code: 'fr', name: 'Français' },
] as const;
export type Locale = (typeof LOCALES)[number]['code'];
const KEY = 'nf-lang';

type Template = string | { strTag: true; strings: string[]; values: number[] };

/** English key → translation, both with {n} placeholders, into the templates @lit/localize expects. */
export function compileCatalog(catalog: Record<string, string>): Record<string, Template> {
  const out: Record<string, Template> = {};
  for (const [source, target] of Object.entries(catalog)) {
    const id = generateMsgId(source.split(/\{\d+\}/), false);
    const parts = target.split(/\{(\d+)\}/);
    if (parts.length === 1) {
      out[id] = target;
    } else {
      const strings = parts.filter((_, i) => i % 2 === 0);
      const values = parts.filter((_, i) => i % 2 === 1).map(Number);
      out[id] = { strTag: true, strings, values };
    }
  }
  return out;
}

const { getLocale, setLocale } = configureLocalization({
  sourceLocale: 'en',
  targetLocales: ['fr'],
  // One target locale today; a second one adds a branch here (Vite needs static import paths).
  loadLocale: async () => {
    const { catalog } = await import('./fr');
    return { templates: compileCatalog(catalog) } as never;
  },
});

export { getLocale };

export function savedLocale(): Locale {
  let saved: string | null = null;
  try {
    saved = localStorage.getItem(KEY);
  } catch {
    saved = null;
  }
  if (saved === 'en' || saved === 'fr') return saved;
  return navigator.language?.toLowerCase().startsWith('fr') ? 'fr' : 'en';
}

export async function useLocale(locale: Locale, save = false): Promise<void> {
  if (save) {
    try {
      localStorage.setItem(KEY, locale);
    } catch {
      /* storage disabled: the choice lasts for this page */
    }
  }
  document.documentElement.lang = locale;
  if (getLocale() !== locale) await setLocale(locale);
}

export function fmtDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  return new Intl.DateTimeFormat(getLocale(), { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));
}

export function fmtNumber(n: number): string {
  return new Intl.NumberFormat(getLocale()).format(n);
}
