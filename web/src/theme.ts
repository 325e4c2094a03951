// Theme choice (system | light | dark), the same logic as /theme.js, which applies it before first paint.
export type ThemeChoice = 'system' | 'light' | 'dark';
const KEY = 'nf-theme';
const media = () => window.matchMedia('(prefers-color-scheme: dark)');

export function themeChoice(): ThemeChoice {
  try {
    const v = localStorage.getItem(KEY);
    if (v === 'light' || v === 'dark') return v;
  } catch {
    /* storage disabled */
  }
  return 'system';
}

export function applyTheme(choice: ThemeChoice = themeChoice()): 'light' | 'dark' {
  const dark = choice === 'dark' || (choice === 'system' && media().matches);
  document.documentElement.dataset.theme = dark ? 'dark' : 'light';
  return dark ? 'dark' : 'light';
}

export function setTheme(choice: ThemeChoice): void {
  try {
    if (choice === 'system') localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, choice);
  } catch {
    /* storage disabled */
  }
  applyTheme(choice);
  window.dispatchEvent(new Event('nf-theme'));
}

/** Follow the OS while the choice is "system". */
export function watchSystemTheme(): void {
  media().addEventListener('change', () => {
    if (themeChoice() === 'system') applyTheme('system');
  });
}
