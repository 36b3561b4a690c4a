/**
 * The README's first command, the main job, run as a new user runs it: in a fresh copy of the
 * repository, through `npx sms-reconcile`, against the embedded server. Its output is checked:
 * the plan names the embedded target first, the apply creates the three quick-start jobs, and
 * `--wait` ends once each has completed its first replication run. A second plan shows no changes.
 *
 * Two departures from a fresh machine, both outside the command itself:
 * - `npm ci && ` is removed: the copy has a symlink to the real node_modules instead (the install
 *   is what `npm ci` would produce; repeating it would only cost time and the network).
 * - The copy's examples/inventory.yaml gets a `settings:` block with short timings (a run takes
 *   2 s instead of 45 s), so the command still runs verbatim, just faster.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyRepo, REPO_ROOT, removeAllCopies, type RepoCopy } from '../helpers/repo-copy.ts';

const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');

/** Line 1 of the README's first ```sh block, without its `# main job` comment. */
function mainJobCommand(): string {
  const block = /```sh\n([\s\S]*?)```/.exec(readme);
  if (!block?.[1]) throw new Error('README.md has no ```sh block');
  const first = block[1].split('\n')[0] ?? '';
  const m = /^(.*?)\s+#\s*main job\s*$/.exec(first);
  if (!m?.[1]) throw new Error(`the first line of the README's first sh block is not the main job: ${first}`);
  return m[1];
}

let copy: RepoCopy;

beforeAll(async () => {
  copy = await copyRepo({ prefix: 'smsr-quickstart' });
});

afterAll(async () => {
  await removeAllCopies();
});

describe("the README's main job", () => {
  it('is `npm ci && ` followed by the plan and the apply --wait of examples/quickstart through npx', () => {
    const cmd = mainJobCommand();
    expect(cmd.startsWith('npm ci && ')).toBe(true);
    expect(cmd).toContain('npx sms-reconcile plan -f examples/quickstart');
    expect(cmd).toContain('npx sms-reconcile apply -f examples/quickstart --auto-approve --wait');
  });

  it('plans and applies the quick start against the embedded server, waits for the first runs, and leaves nothing to plan', async () => {
    // Without `npm ci && `: node_modules is a symlink to the real, already installed one.
    const cmd = mainJobCommand().replace(/^npm ci && /, '');
    const r = await copy.sh(cmd, { timeoutMs: 100_000 });
    const out = r.stdout;
    expect(r.code, `exit ${r.code}\nstdout:\n${out}\nstderr:\n${r.stderr}`).toBe(0);
    expect(r.stderr).not.toMatch(/error|Internal/i);

    const lines = out.split('\n');
    // The plan (the first command) names the embedded target first.
    expect(lines[0]).toBe('Target: embedded SMS server (us-east-1, data .sms-reconcile/embedded)');
    expect(lines[1]).toBe('State: none yet (first apply creates it)');
    const planEnd = lines.findIndex((l) => l.startsWith('Plan: '));
    expect(lines[planEnd]).toBe('Plan: 1 catalog import, 3 to create. Destructive: none.');
    const plan = lines.slice(0, planEnd).join('\n');
    expect(plan).toMatch(/^ {2}\+ ServerCatalog\/catalog {2}will be imported$/m);
    for (const name of ['app-01', 'web-01', 'web-02']) expect(plan).toMatch(new RegExp(`^  \\+ ReplicationJob/${name} .* will be created$`, 'm'));

    // The apply: the catalog import, then the three jobs, each created once.
    const apply = lines.slice(planEnd + 1).join('\n');
    expect(apply).toContain('+ ServerCatalog/catalog: import started');
    for (const name of ['app-01', 'web-01', 'web-02']) {
      expect(apply.match(new RegExp(`^\\+ ReplicationJob/${name}: created \\(sms-job-[0-9a-f]+\\)`, 'gm')), name).toHaveLength(1);
    }
    expect(apply).toMatch(/^Apply complete: 3 created, 0 updated, 0 replaced, 0 deleted, 0 adopted, 0 moved, 0 runs started in \d+\.\ds\.$/m);

    // --wait: progress (plain lines, stdout is a pipe), then every job has its first AMI.
    expect(apply).toContain('Waiting for 3 job(s) to complete their first replication run...');
    for (const name of ['app-01', 'web-01', 'web-02']) {
      expect(apply).toMatch(new RegExp(`^ReplicationJob/${name} sms-job-[0-9a-f]+: (run completed: AMI|job .*, latest AMI) ami-[0-9a-f]+$`, 'm'));
    }
    expect(out.trimEnd().split('\n').at(-1)).toBe('All 3 new job(s) completed their first replication run.');
    expect(out).not.toContain('\u001b[');

    // The visible result, as `status --format json` reports it: three ACTIVE jobs with an AMI.
    const status = await copy.sh('npx sms-reconcile status --format json');
    expect(status.code, status.stderr).toBe(0);
    const jobs = (JSON.parse(status.stdout) as { jobs: { address: string; jobState: string; latestAmiId?: string }[] }).jobs;
    expect(jobs.map((j) => j.address)).toEqual(['ReplicationJob/app-01', 'ReplicationJob/web-01', 'ReplicationJob/web-02']);
    for (const j of jobs) {
      expect(j.jobState, j.address).toBe('ACTIVE');
      expect(j.latestAmiId, j.address).toMatch(/^ami-[0-9a-f]+$/);
    }

    // Nothing left to do: the same plan again, with --detailed-exitcode (0: no changes).
    const again = await copy.sh('npx sms-reconcile plan -f examples/quickstart --detailed-exitcode');
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout.split('\n')[0]).toBe('Target: embedded SMS server (us-east-1, data .sms-reconcile/embedded)');
    expect(again.stdout).toContain('No changes. The live jobs match the manifests.');
  }, 150_000);
});
