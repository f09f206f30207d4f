import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

/**
 * The dashboard build. `vite build` only transpiles (type checking is `npm run typecheck`); `npm run dev`
 * proxies the API to a local `malpipe serve` on the default port 8787.
 */
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 1024 },
  server: {
    proxy: { '/api': { target: 'http://127.0.0.1:8787', changeOrigin: false } },
  },
});
