import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

/**
 * The built page may only load its own bundle and talk to its own origin: sample names, strings and IoCs
 * shown here are attacker-controlled, so a Content-Security-Policy backs up React's escaping. Inline style
 * attributes stay allowed (entropy bar widths). Build only: the dev server injects inline scripts.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

function contentSecurityPolicy(): Plugin {
  return {
    name: 'malpipe-csp',
    apply: 'build',
    transformIndexHtml: () => [
      { tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: CONTENT_SECURITY_POLICY }, injectTo: 'head-prepend' },
    ],
  };
}

/**
 * The dashboard build. `vite build` only transpiles (type checking is `npm run typecheck`); `npm run dev`
 * proxies the API to a local `malpipe serve` on the default port 8787.
 */
export default defineConfig({
  plugins: [react(), contentSecurityPolicy()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 1024 },
  server: {
    proxy: { '/api': { target: 'http://127.0.0.1:8787', changeOrigin: false } },
  },
});
