import { defineConfig } from 'vitest/config';

/**
 * `unit`: extraction, storage, messages, manifest and the built bundle (no browser).
 * `e2e`: the built extension in Debian's Chromium against a real malpipe server (test/e2e/).
 * The root suite excludes apps/extension; `npm test -w @malpipe/extension` runs both projects.
 */
export default defineConfig({
  test: {
    pool: 'forks',
    projects: [
      { test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: ['test/e2e/**'], environment: 'node' } },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          testTimeout: 90_000,
          hookTimeout: 90_000,
        },
      },
    ],
  },
});
