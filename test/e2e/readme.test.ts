/**
 * Every ```sh block of README.md, run in order in a fresh copy of the repository (node_modules a
 * symlink to the installed one), against the embedded server, as a reader pastes them into one
 * terminal (test/helpers/readme.ts): a README change that breaks a block fails here, and so in CI.
 *
 * - Never run: the fresh-machine lines (`# main job`, `# tests`), `npm ci` and the benchmarks; a
 *   block marked `<!-- readme-test: skip (REASON) -->` is reported as skipped with its reason.
 * - A block marked `background-first-line` runs its first command in the background (the "second
 *   terminal" the README mentions) until the block ends.
 * - A block that needs an outside tool (the AWS CLI with `sms`) runs with what `.ci/run` installs;
 *   outside CI, when the tool is missing, it is skipped with a message (and the blocks after it
 *   still run: each example is self-contained).
 * - The copy's inventory has short timings (a replication run takes 2 s), so `--wait` takes seconds.
 * - `npx sms-reconcile` runs the copy's bin directly (what npx resolves to, checked once below, from
 *   a subdirectory as the tour runs it), without npm's start-up for each of some 35 commands.
 * Besides each block exiting 0, the blocks show what the README says they show (checked below), and
 * no tracked file was changed.
 */
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inCi } from '../helpers/pg.ts';
import { awsWithSms, BlockShell, hasCommands, runnableScript, shBlocks, toolsNeeded, type ShBlock } from '../helpers/readme.ts';
import { copyRepo, REPO_ROOT, removeAllCopies, type Finished, type RepoCopy } from '../helpers/repo-copy.ts';

const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const blocks = shBlocks(readme);
const hasAwsSms = awsWithSms() !== undefined;

let copy: RepoCopy;
let shell: BlockShell;
/** Output of each block that ran, by index. */
const outputs = new Map<number, Finished>();

beforeAll(async () => {
  copy = await copyRepo({ prefix: 'smsr-readme' });
  shell = new BlockShell(copy, { directNpx: true });
});

afterAll(async () => {
  await removeAllCopies();
});

function title(b: ShBlock): string {
  const first = runnableScript(b).split('\n').find((l) => l.trim() !== '' && !l.trim().startsWith('#')) ?? '';
  return `block ${b.index} (README line ${b.line}, ${b.section}): ${first.trim().slice(0, 80)}`;
}

const show = (r: Finished) => `exit ${String(r.code)}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

async function runBlock(b: ShBlock, script: string): Promise<Finished> {
  if (b.directive?.kind !== 'background-first-line') return shell.run(script);
  const lines = script.split('\n');
  const first = lines.findIndex((l) => l.trim() !== '' && !l.trim().startsWith('#'));
  const bg = shell.background(lines[first] ?? '');
  try {
    await bg.waitForStdout(/^listening on http:\/\/\S+$/m, 60_000);
    return await shell.run(lines.slice(first + 1).join('\n'));
  } finally {
    bg.kill('SIGTERM');
    await bg.waitForExit(15_000).catch(() => bg.kill('SIGKILL'));
  }
}

describe('README.md, every shell block in order', { timeout: 240_000 }, () => {
  it('has blocks to run, and the two fresh-machine lines are recognized', () => {
    expect(blocks.length).toBeGreaterThan(5);
    const first = blocks[0]!;
    expect(first.lines.some((l) => /#\s*main job$/.test(l))).toBe(true);
    expect(first.lines.some((l) => /#\s*tests$/.test(l))).toBe(true);
    expect(hasCommands(runnableScript(first))).toBe(false);
  });

  it('`npx sms-reconcile` is the copy\'s own bin, from a subdirectory too', async () => {
    copy.write('.sms-reconcile/sub/.keep', '');
    const r = await copy.sh('npx sms-reconcile --version', { cwd: '.sms-reconcile/sub' });
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout.trim()).toBe((JSON.parse(copy.read('package.json')) as { version: string }).version);
  });

  for (const b of blocks) {
    const script = runnableScript(b);
    if (!hasCommands(script)) continue;
    if (b.directive?.kind === 'skip') {
      it.skip(`${title(b)} [skipped in README.md: ${b.directive.reason}]`, () => undefined);
      continue;
    }
    const missing = toolsNeeded(script).filter((t) => t.kind === 'aws-sms' && !hasAwsSms);
    if (missing.length > 0 && !inCi()) {
      const why = `needs ${missing.map((t) => t.name).join(', ')}, not found here`;
      console.warn(`[readme] ${title(b)} is skipped: ${why}`);
      it.skip(`${title(b)} [skipped: ${why}]`, () => undefined);
      continue;
    }
    it(title(b), async () => {
      for (const t of missing) throw new Error(`CI is set but ${t.name} is missing: .ci/run installs it`);
      const r = await runBlock(b, script);
      outputs.set(b.index, r);
      expect(r.code, show(r)).toBe(0);
      expect(r.stderr, show(r)).not.toMatch(/Internal error|command not found|No such file or directory/);
    });
  }

  it('shows what the README says it shows', () => {
    const out = (match: RegExp) => [...outputs.values()].find((r) => match.test(r.stdout + r.stderr));
    const all = [...outputs.values()].map((r) => r.stdout + r.stderr).join('\n');
    // The tour, in its own folder: the catalog import and three creates, then one in-place update.
    expect(all).toContain('Plan: 1 catalog import, 3 to create. Destructive: none.');
    expect(all).toMatch(/^Plan: 1 to update \(\d+ unchanged\)\. Destructive: none\.$/m);
    expect(all).toMatch(/^exit 2$/m);
    // Its export: checked, and a plan on it has nothing to do.
    const exported = out(/^Wrote 3 job manifest\(s\) and catalog\.yaml to exported\.$/m);
    expect(exported?.stderr).toContain('`plan` on the exported manifests shows no changes.');
    expect(exported?.stdout).toContain('No changes. The live jobs match the manifests.');
    // Trying the examples one after another never plans a delete of another example's jobs.
    expect(all).not.toMatch(/to delete/);
    expect(all).not.toContain('foreign-root');
    // The adoption: three jobs recorded, and nothing left to do.
    expect(all).toContain('Recorded 3 job(s) in state');
    // The GitOps pipeline planned and applied.
    expect(all).toContain('pipeline: changes planned (see .sms-reconcile/pipeline/plan.md)');
    expect(all).toMatch(/^Apply complete: 4 created/m);
  });

  it('changed no tracked file, and left nothing in the repository root', () => {
    const walk = (dir: string): string[] =>
      readdirSync(join(copy.dir, dir)).flatMap((f) => (statSync(join(copy.dir, dir, f)).isDirectory() ? walk(join(dir, f)) : [join(dir, f)]));
    for (const f of walk('examples')) {
      if (f === join('examples', 'inventory.yaml')) continue; // the copy's short timings
      expect(copy.read(f), f).toBe(readFileSync(join(REPO_ROOT, f), 'utf8'));
    }
    for (const f of ['plan.md', 'plan.json', 'exported']) expect(existsSync(copy.path(f)), f).toBe(false);
  });
});
