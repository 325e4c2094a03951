import { defineConfig } from 'vitest/config';

// The API runs on :8000 (`make dev`); the dev server proxies /api there so cookies stay same-origin.
const api = process.env.NEOFORGE_API ?? 'http://127.0.0.1:8000';

export default defineConfig({
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
