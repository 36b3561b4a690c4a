/**
 * The examples tried one after another in one folder, by the README's own commands (its "Trying
 * the examples" section: the quick start, then waves, then adopt), in a fresh copy of the
 * repository against the embedded server: no plan ever deletes another example's jobs, and each
 * example's state, planned again at the end, has nothing to do.
 *
 * Then the guard for when a user does share a state: the quick start's state (the default one)
 * pointed at examples/waves plans the quick start's jobs for delete, and says so first: a warning
 * naming both roots and the count, suggesting --state, in the text plan and in the JSON plan's
 * warnings[] (stdout stays valid JSON).
 *
 * And export round-trips each example: apply, export (to a fresh folder, the path echoed as given),
 * plan on the export: exit 0 with --detailed-exitcode, as export's closing line says.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { BlockShell, runnableScript, shBlocks } from '../helpers/readme.ts';
import { copyRepo, REPO_ROOT, removeAllCopies, type Finished, type RepoCopy } from '../helpers/repo-copy.ts';

const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const exampleBlocks = shBlocks(readme).filter((b) => b.section === 'Trying the examples');

let copy: RepoCopy;

beforeAll(async () => {
  copy = await copyRepo({ prefix: 'smsr-examples' });
});

afterAll(async () => {
  await removeAllCopies();
});

const show = (r: Finished) => `exit ${String(r.code)}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

async function cli(args: readonly string[], expectCode = 0): Promise<Finished> {
  const r = await copy.cli(args);
  expect(r.code, `sms-reconcile ${args.join(' ')}\n${show(r)}`).toBe(expectCode);
  return r;
}

interface PlanJson {
  summary: Record<string, number>;
  warnings: { code: string; message: string; address: string | null; source: unknown }[];
  changes: { action: string; address: string; manifestRoot: string | null }[];
}

/** Each example, the state its README commands give it, and what it applies. */
const EXAMPLES = [
  { name: 'quickstart', state: '.sms-reconcile/state.json', manifests: ['examples/quickstart'], extra: [] as string[] },
  { name: 'waves', state: '.sms-reconcile/waves.json', manifests: ['examples/waves'], extra: [] as string[] },
  { name: 'adopt', state: '.sms-reconcile/adopt/state.json', manifests: ['.sms-reconcile/adopt/manifests'], extra: ['--embedded-dir', '.sms-reconcile/adopt/embedded'] },
] as const;

describe('the examples, one after another in one folder', { timeout: 180_000 }, () => {
  it("the README's commands for quick start, waves and adopt: no plan deletes anything", async () => {
    expect(exampleBlocks.length).toBeGreaterThanOrEqual(2);
    const text = exampleBlocks.map((b) => runnableScript(b)).join('\n');
    for (const e of ['examples/quickstart', 'examples/waves --state .sms-reconcile/waves.json', '--state .sms-reconcile/adopt/state.json']) expect(text).toContain(e);
    const shell = new BlockShell(copy, { directNpx: true }); // npx resolution: test/e2e/readme.test.ts
    for (const b of exampleBlocks) {
      const r = await shell.run(runnableScript(b));
      expect(r.code, show(r)).toBe(0);
      expect(r.stdout, show(r)).not.toMatch(/to delete|will be deleted/);
      expect(r.stdout + r.stderr, show(r)).not.toContain('Warning: this plan deletes');
    }
  });

  it("afterwards, each example's state has nothing to do", async () => {
    for (const e of EXAMPLES) {
      const r = await cli(['plan', ...e.manifests.flatMap((m) => ['-f', m]), '--state', e.state, ...e.extra, '--format', 'json', '--detailed-exitcode']);
      const plan = JSON.parse(r.stdout) as PlanJson;
      expect(plan.summary['delete'], e.name).toBe(0);
      expect(plan.warnings, e.name).toEqual([]);
    }
  });

  it('one state pointed at two roots: the plan warns, naming both roots and the count, and suggests --state (text and JSON)', async () => {
    const waves = ['--state', '.sms-reconcile/waves.json'];
    const text = await cli(['plan', '-f', 'examples/quickstart', ...waves, '--detailed-exitcode'], 3);
    expect(text.stdout).toContain(
      "Warning: this plan deletes 10 job(s) recorded from examples/waves, which is not among this plan's manifests (-f examples/quickstart): if examples/waves is another manifest set, give each set its own state with --state (e.g. --state .sms-reconcile/<set>.json) instead of sharing this one",
    );
    const json = await cli(['plan', '-f', 'examples/quickstart', ...waves, '--format', 'json', '--detailed-exitcode'], 3);
    const plan = JSON.parse(json.stdout) as PlanJson;
    const warning = plan.warnings.find((w) => w.code === 'foreign-root-delete');
    expect(warning?.message).toMatch(/^this plan deletes 10 job\(s\) recorded from examples\/waves, which is not among this plan's manifests \(-f examples\/quickstart\): .*--state/);
    expect(plan.summary['delete']).toBe(10);
    // The changes carry the root their document was read under (apply records it).
    expect(plan.changes.filter((c) => c.action !== 'delete').every((c) => c.manifestRoot === 'examples/quickstart')).toBe(true);
    const state = JSON.parse(copy.read('.sms-reconcile/waves.json')) as { resources: Record<string, { manifestRoot?: string }> };
    expect(new Set(Object.values(state.resources).map((r) => r.manifestRoot))).toEqual(new Set(['examples/waves']));

    // The quick start's state pointed at waves: its protected app-01 stops the plan, and the warning says why first.
    const refused = await cli(['plan', '-f', 'examples/waves'], 1);
    expect(refused.stderr).toMatch(/^Warning: this plan deletes 3 job\(s\) recorded from examples\/quickstart, which is not among this plan's manifests \(-f examples\/waves\)/m);
    expect(refused.stderr.indexOf('Warning:')).toBeLessThan(refused.stderr.indexOf('error prevent-destroy'));
  });

  for (const name of ['quickstart', 'waves', 'gitops'] as const) {
    it(`export round-trips examples/${name}: plan on the export exits 0, as export says (a world and state of its own)`, async () => {
      const own = ['--state', `.sms-reconcile/rt-${name}.json`, '--embedded-dir', `.sms-reconcile/rt-${name}`];
      const manifests = name === 'gitops' ? 'examples/gitops/manifests' : `examples/${name}`;
      await cli(['apply', '-f', manifests, ...own, '--auto-approve']);
      const out = copy.path(`.sms-reconcile/exported-${name}`);
      const r = await cli(['export', ...own, '--out', out]);
      // The path as given (here absolute), not relative to the working directory.
      expect(r.stdout).toMatch(/^Wrote \d+ job manifest\(s\) and catalog\.yaml to (.*)\.\n$/);
      expect(r.stdout.endsWith(` to ${out}.\n`)).toBe(true);
      expect(r.stderr).toContain('`plan` on the exported manifests shows no changes.');
      const plan = await cli(['plan', '-f', out, ...own, '--detailed-exitcode']);
      expect(plan.stdout).toContain('No changes. The live jobs match the manifests.');
      const file = (f: string) => parse(readFileSync(join(out, f), 'utf8')) as { kind: string; spec: Record<string, unknown> & { servers?: unknown[] } };
      if (name === 'quickstart') {
        expect(file('app-01.yaml').spec['lifecycle']).toEqual({ preventDestroy: true });
      } else if (name === 'waves') {
        // A plain apply creates wave 1 only (waves 2 and 3 wait for its first replications).
        const infrastructure = file('infrastructure.yaml');
        expect(infrastructure.kind).toBe('ReplicationJobSet');
        expect(infrastructure.spec.servers).toHaveLength(4);
        expect(existsSync(join(out, 'apps.yaml'))).toBe(false);
      } else {
        const dbTier = file('db-tier.yaml');
        expect(dbTier.spec.servers).toHaveLength(4);
        expect(dbTier.spec['lifecycle']).toEqual({ preventDestroy: true });
      }
    });
  }
});
