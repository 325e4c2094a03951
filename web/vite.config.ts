import { defineConfig } from 'vitest/config';
import { VitePWA } from 'vite-plugin-pwa';

// The API runs on :8000 (`make dev`); the dev server proxies /api there so cookies stay same-origin.
const api = process.env.NEOFORGE_API ?? 'http://127.0.0.1:8000';

export default defineConfig({
  plugins: [
    // The service worker (docs/offline.md): Workbox precaches the app shell (every built file, so a tab
    // on the old build never misses a chunk), HTML navigations fall back to the precached index.html,
    // and public/sw-api.js adds the per-user cache of API reads. `prompt`: a new build waits until the
    // user accepts the "update available" toast. The manifest is public/manifest.webmanifest.
    VitePWA({
      strategies: 'generateSW',
      registerType: 'prompt',
      injectRegister: false,
      manifest: false,
      workbox: {
        globPatterns: ['**/*.{js,css,html,svg,png,webmanifest}'],
        globIgnores: ['sw-api.js', '.vite/**'],
        importScripts: ['/sw-api.js'],
        navigateFallback: '/index.html',
        navigateFallbackDenylist: [/^\/api(\/|$)/, /^\/docs(\/|$)/, /^\/metrics$/, /^\/health$/, /^\/ready$/],
        cleanupOutdatedCaches: true,
        clientsClaim: true,
        skipWaiting: false,
        inlineWorkboxRuntime: true,
        sourcemap: false,
      },
      devOptions: { enabled: false },
    }),
  ],
  build: {
    target: 'es2022',
    manifest: true, // read by scripts/budget.mjs to find the initial and the lazy chunks
    modulePreload: { polyfill: false }, // every supported browser has modulepreload
    sourcemap: false,
  },
  server: {
    port: 5173,
    proxy: {
      '/api': { target: api, changeOrigin: false },
      '/docs': { target: api },
      '/health': { target: api },
      '/ready': { target: api },
    },
  },
  test: {
    environment: 'happy-dom',
    include: ['test/unit/**/*.test.ts'],
  },
});
