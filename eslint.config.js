// Lint rules. The pure core (see ARCHITECTURE.md section 2) may not import I/O: that rule is enforced here.
import js from '@eslint/js';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

const ioModules = ['fs', 'node:fs', 'fs/promises', 'node:fs/promises', 'http', 'node:http', 'https', 'node:https',
  'net', 'node:net', 'child_process', 'node:child_process', 'worker_threads', 'node:worker_threads', 'pino', 'pino-pretty', 'pg', 'better-sqlite3'];

export default tseslint.config(
  { ignores: ['node_modules/**', 'coverage/**', '.sms-reconcile/**', 'dist/**', '.dist-*/**', 'scratch/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'error', '@typescript-eslint/ban-ts-comment': 'error' },
  },
  {
    // Rooms of one concept (docs/ARCHITECTURE.md): no source file over 700 lines, no function over 80.
    files: ['src/**/*.ts'],
    rules: {
      'max-lines': ['error', { max: 700 }],
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    // Tests may be longer (a describe block is one function), but not without bound.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { 'max-lines': ['error', { max: 1500 }] },
  },
  {
    // No import circle among the sources (ARCHITECTURE.md: rooms and what each may import). Type-only
    // imports are not counted: they vanish at run time, and a type may name its neighbour's.
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.mjs'] })],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/extensions': ['.ts', '.js', '.mjs'],
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  {
    // The pure core: no fs, network, AWS SDK, database or logger imports.
    files: ['src/manifest/**/*.ts', 'src/model/**/*.ts', 'src/reconcile/**/*.ts', 'src/state/codec.ts', 'src/state/codec-sliced.ts', 'src/state/json-offset.ts', 'src/controller/estate.ts', 'src/report/render-*.ts'],
    ignores: ['src/manifest/load.ts', 'src/manifest/load-pool.ts', 'src/manifest/load-worker.ts', 'src/reconcile/apply.ts', 'src/reconcile/wait.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: ioModules.map((name) => ({ name, message: 'The pure core may not do I/O: pass it in through reconcile/ports.ts.' })),
        patterns: [{ group: ['@aws-sdk/*'], message: 'The pure core may not import the AWS SDK: use sms/api.ts types.' }],
      }],
    },
  },
);
