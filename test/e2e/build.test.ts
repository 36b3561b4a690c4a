/**
 * The bundle the bin runs (scripts/build.mjs), in a fresh copy of the repository (no dist/):
 * - the first run builds it, and the CLI works from it (a plan of the quickstart, which loads the
 *   embedded server's chunk and reads examples/ and schemas/ through src/paths.ts);
 * - an edited source makes the next run rebuild, so a checkout never runs stale code;
 * - several CLIs starting at once on a stale bundle all work (builds are staged and renamed);
 * - SMS_RECONCILE_FROM_SOURCE=1 runs the TypeScript sources instead.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyRepo, removeAllCopies, type RepoCopy } from '../helpers/repo-copy.ts';

let copy: RepoCopy;

beforeAll(async () => {
  copy = await copyRepo({ prefix: 'smsr-build' });
});

afterAll(async () => {
  await removeAllCopies();
});

describe('the bundle behind bin/sms-reconcile.mjs', () => {
  it('is built on the first run of a fresh clone, and runs a plan', async () => {
    expect(existsSync(copy.path('dist'))).toBe(false);
    const plan = await copy.cli(['plan', '-f', 'examples/quickstart', '--format', 'json']);
    expect(plan.stderr).toBe('');
    expect(plan.code).toBe(0);
    const body = JSON.parse(plan.stdout) as { targetDescription: string; summary: Record<string, number> };
    expect(body.targetDescription).toMatch(/^embedded SMS server/);
    expect(body.summary['create']).toBe(3);
    expect(existsSync(copy.path('dist/sms-reconcile.mjs'))).toBe(true);
    const info = JSON.parse(copy.read('dist/build-info.json')) as { inputs: string[] };
    expect(info.inputs).toContain('src/cli/main.ts');
    expect(info.inputs).toContain('schemas/manifest.v1.schema.json');
    // No staging directory is left behind.
    expect(readdirSync(copy.dir).filter((f) => f.startsWith('.dist-'))).toEqual([]);
  });

  it('is rebuilt when a source file changed, by every one of several CLIs started at once', async () => {
    const before = statSync(copy.path('dist/sms-reconcile.mjs')).mtimeMs;
    const versionFile = copy.read('src/cli/version.ts');
    copy.write('src/cli/version.ts', versionFile.replace(/VERSION = '[^']+'/, "VERSION = '9.9.9-edited'"));
    const runs = await Promise.all(Array.from({ length: 4 }, () => copy.cli(['--version'])));
    for (const r of runs) {
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe('9.9.9-edited');
    }
    expect(statSync(copy.path('dist/sms-reconcile.mjs')).mtimeMs).toBeGreaterThan(before);
    expect(readFileSync(copy.path('dist/sms-reconcile.mjs'), 'utf8')).toContain('9.9.9-edited');
  });

  it('runs the TypeScript sources with SMS_RECONCILE_FROM_SOURCE=1', async () => {
    copy.write('src/cli/version.ts', copy.read('src/cli/version.ts').replace(/VERSION = '[^']+'/, "VERSION = '9.9.9-source'"));
    // The bundle is stale now, but the sources run without rebuilding it.
    const r = await copy.cli(['--version'], { env: { SMS_RECONCILE_FROM_SOURCE: '1' } });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('9.9.9-source');
    expect(readFileSync(copy.path('dist/sms-reconcile.mjs'), 'utf8')).not.toContain('9.9.9-source');
  });
});

