import { defineConfig } from 'vitest/config';

/**
 * Three projects, so a developer runs a part in seconds (`npx vitest --project unit`):
 * - unit: pure modules and in-process checks; needs no bundle;
 * - e2e: the CLI as a subprocess, the embedded server over HTTP, the state stores (PostgreSQL when
 *   SMS_RECONCILE_TEST_PG_URL is set);
 * - slow: crash and fuzz tests (many processes, seeded random kills).
 * `npm test` runs all three.
 */
const SLOW = ['test/crash/**/*.test.ts', 'test/server/fuzz.test.ts', 'test/server/crash.test.ts', 'test/contract/*crash*.test.ts', 'test/e2e/apply-faults.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Two test files at a time. Vitest's default on a 2-core machine is one (cores - 1), but the
    // e2e files mostly wait on the processes they start: on the 2-core CI machine, two at a time
    // ran the suite in 473 s instead of 713 s, with the same 1,108 tests passing.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        extends: true,
        test: { name: 'e2e', include: ['test/e2e/**/*.test.ts', 'test/server/**/*.test.ts', 'test/contract/**/*.test.ts'], exclude: SLOW, globalSetup: ['test/global-setup.ts'] },
      },
      { extends: true, test: { name: 'slow', include: SLOW, globalSetup: ['test/global-setup.ts'] } },
    ],
  },
});
