import { defineConfig } from 'vitest/config';

/** Unit tests of the dashboard's pure helpers (no DOM needed). The root suite excludes apps/web. */
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx', 'test/**/*.test.ts'],
    environment: 'node',
    pool: 'forks',
  },
});
