import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'apps/web/**', 'apps/extension/**', 'packages/yara-native/build/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Analysers are pure: no I/O, no environment.
    files: ['packages/analyzers/src/**/*.ts'],
    ignores: ['**/*.test.ts', '**/test/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: ['node:fs', 'node:fs/promises', 'node:net', 'node:http', 'node:https', 'node:child_process', 'fs', 'net', 'http', 'https'] },
      ],
      'no-restricted-globals': ['error', 'fetch', 'process'],
    },
  },
  { languageOptions: { globals: { process: 'readonly', Buffer: 'readonly', console: 'readonly' } } },
);
