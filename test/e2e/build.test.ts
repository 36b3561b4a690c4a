/**
 * The bundle the bin runs (scripts/build.mjs), in a copy of the repository that was never built:
 * - without dist/, the bin says so with a hint, and builds nothing;
 * - `npm run build` makes it, and the CLI works from it (a plan of the quickstart, which loads the
 *   embedded server's chunk and reads examples/ and schemas/ through src/paths.ts);
 * - an edited source does not make the bin rebuild (it runs what was built); `--if-stale` rebuilds;
 * - SMS_RECONCILE_FROM_SOURCE=1 runs the TypeScript sources instead.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyRepo, removeAllCopies, type RepoCopy } from '../helpers/repo-copy.ts';

let copy: RepoCopy;

beforeAll(async () => {
  copy = await copyRepo({ prefix: 'smsr-build', dist: false });
});

afterAll(async () => {
  await removeAllCopies();
});

describe('the bundle behind bin/sms-reconcile.mjs', () => {
  it('is not built by the bin: without dist/, it says how to build it', async () => {
    expect(existsSync(copy.path('dist'))).toBe(false);
    const r = await copy.cli(['--version']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('Error: sms-reconcile is not built (dist/sms-reconcile.mjs is missing)\n  hint: run `npm run build` in the checkout (npm ci does it too)\n');
    expect(existsSync(copy.path('dist'))).toBe(false);
  });

  it('is built by npm run build, and the CLI runs a plan from it', async () => {
    const built = await copy.sh('npm run build --silent');
    expect(built.code, built.stderr).toBe(0);
    const plan = await copy.cli(['plan', '-f', 'examples/quickstart', '--format', 'json']);
    expect(plan.stderr).toBe('');
    expect(plan.code).toBe(0);
    const body = JSON.parse(plan.stdout) as { targetDescription: string; summary: Record<string, number> };
    expect(body.targetDescription).toMatch(/^embedded SMS server/);
    expect(body.summary['create']).toBe(3);
    const info = JSON.parse(copy.read('dist/build-info.json')) as { inputs: string[] };
    expect(info.inputs).toContain('src/cli/main.ts');
    expect(info.inputs).toContain('schemas/manifest.v1.schema.json');
    // No staging directory is left behind.
    expect(readdirSync(copy.dir).filter((f) => f.startsWith('.dist-'))).toEqual([]);
  });

  it('is not rebuilt at run time when a source changed; --if-stale rebuilds it', async () => {
    const before = statSync(copy.path('dist/sms-reconcile.mjs')).mtimeMs;
    const versionFile = copy.read('src/cli/version.ts');
    copy.write('src/cli/version.ts', versionFile.replace(/VERSION = '[^']+'/, "VERSION = '9.9.9-edited'"));
    const stale = await copy.cli(['--version']);
    expect(stale.code).toBe(0);
    expect(stale.stdout.trim()).not.toBe('9.9.9-edited');
    expect(statSync(copy.path('dist/sms-reconcile.mjs')).mtimeMs).toBe(before);
    const rebuilt = await copy.sh('node scripts/build.mjs --if-stale');
    expect(rebuilt.stdout).toBe('built dist/sms-reconcile.mjs\n');
    const fresh = await copy.cli(['--version']);
    expect(fresh.stdout.trim()).toBe('9.9.9-edited');
    expect((await copy.sh('node scripts/build.mjs --if-stale')).stdout).toBe('dist/sms-reconcile.mjs is up to date\n');
  });

  it('runs the TypeScript sources with SMS_RECONCILE_FROM_SOURCE=1', async () => {
    copy.write('src/cli/version.ts', copy.read('src/cli/version.ts').replace(/VERSION = '[^']+'/, "VERSION = '9.9.9-source'"));
    const r = await copy.cli(['--version'], { env: { SMS_RECONCILE_FROM_SOURCE: '1' } });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('9.9.9-source');
    expect(readFileSync(copy.path('dist/sms-reconcile.mjs'), 'utf8')).not.toContain('9.9.9-source');
  });
});
