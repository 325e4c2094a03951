// Registers the service worker from this bundled module (never an inline script: the CSP has no
// 'unsafe-inline'), with workbox-window loaded lazily. The script URL goes through a Trusted Types policy
// (`register()` is a script-URL sink under the report-only `require-trusted-types-for 'script'`).
// A new build waits (vite-plugin-pwa `registerType: 'prompt'`) while the old worker keeps serving the old
// precache, so no chunk goes missing; the "update available" toast activates it and reloads.
import { msg } from '@lit/localize';
import { toast } from '../components/toast';

const SW = '/sw.js';

interface TrustedTypesLike {
  createPolicy(name: string, rules: { createScriptURL: (url: string) => string }): { createScriptURL(url: string): unknown };
}

function scriptUrl(): string {
  const tt = (globalThis as { trustedTypes?: TrustedTypesLike }).trustedTypes;
  if (!tt) return SW;
  const policy = tt.createPolicy('nf-sw', {
    createScriptURL: (url) => {
      if (url !== SW) throw new TypeError(`not the service worker: ${url}`);
      return url;
    },
  });
  return policy.createScriptURL(SW) as string;
}

export function startServiceWorker(): void {
  if (!('serviceWorker' in navigator)) return;
  void import('workbox-window')
    .then(({ Workbox }) => {
      const wb = new Workbox(scriptUrl(), { scope: '/' });
      let prompted = false;
      const prompt = () => {
        if (prompted) return;
        prompted = true;
        toast(msg('A new version of NeoForge is available.'), 'info', {
          label: msg('Reload to update'),
          run: () => {
            wb.addEventListener('controlling', () => window.location.reload());
            wb.messageSkipWaiting();
          },
        });
      };
      wb.addEventListener('waiting', prompt);
      // A build installed by another tab while this one was open.
      wb.addEventListener('installed', (e) => {
        if (e.isExternal) prompt();
      });
      return wb.register({ immediate: true }).then((reg) => {
        // A tab left open still hears about new builds.
        if (reg) setInterval(() => void reg.update().catch(() => undefined), 60 * 60_000);
      });
    })
    .catch(() => undefined); // no service worker (private mode, blocked): the app works online
}
