/**
 * Migration waves end to end (issue 19): the real binary as a subprocess against the embedded
 * server run by the test (manual clock, catalog imported up front), three waves of three VMs.
 *
 * - A plain apply creates wave 1 only, exits 0 and says which waves wait.
 * - `apply --wait` creates wave 2 only once every wave-1 job's first run has completed, and wave 3
 *   once wave 2's have: checked from each job's first run as GetReplicationRuns reports it (the
 *   server's clock), not from the CLI's output. A re-plan then shows no changes.
 * - A wave-1 server the service refuses (30 disks): wave 2 stays held, and the plan names it.
 * While the CLI waits, the test moves the server's manual clock forward in steps; the CLI's own
 * order of calls is what makes the waves follow one another.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { SdkSmsApi } from '../../src/sms/client.ts';
import { closeImportedServer, removeWorkspaces, startImportedServer, workspace, type ImportedServer, type Proc, type Workspace } from '../helpers/apply-cli.ts';
import { WAVES, waveDocs } from '../helpers/waves.ts';

const docs = waveDocs;

let s: ImportedServer | undefined;

afterEach(async () => {
  if (s) await closeImportedServer(s);
  s = undefined;
});
afterAll(() => removeWorkspaces());

const show = (r: { code: number | null; stdout: string; stderr: string }) => `exit ${String(r.code)}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

/** The live jobs' VM names. */
async function liveVms(api: SdkSmsApi): Promise<string[]> {
  return (await api.getReplicationJobs()).filter((j) => j.state !== 'DELETED').map((j) => j.vmServer?.vmName ?? '?').sort();
}

/** Each VM's first replication run as the service reports it: when it started and when it completed (server clock). */
async function firstRuns(api: SdkSmsApi): Promise<Map<string, { started: number; completed: number | undefined }>> {
  const out = new Map<string, { started: number; completed: number | undefined }>();
  for (const j of await api.getReplicationJobs()) {
    const { runs } = await api.getReplicationRuns(j.replicationJobId);
    const first = [...runs].sort((a, b) => (a.scheduledStartTime ?? 0) - (b.scheduledStartTime ?? 0))[0];
    out.set(j.vmServer?.vmName ?? '?', { started: first?.scheduledStartTime ?? Number.NaN, completed: first?.completedTime });
  }
  return out;
}

/** Moves the server's clock forward in steps of `seconds` while `proc` runs (the CLI polls in real time). */
async function pumpUntilExit(t: ImportedServer['t'], proc: Proc, seconds: number) {
  let done = false;
  const exited = proc.waitForExit(240_000).finally(() => {
    done = true;
  });
  while (!done) {
    await t.advance(seconds);
    await new Promise((r) => setTimeout(r, 150));
  }
  return exited;
}

async function planText(ws: Workspace, m: string, code: number) {
  const r = await ws.run(['plan', '-f', m, '--detailed-exitcode']);
  expect(r.code, show(r)).toBe(code);
  return r.stdout;
}

describe('three waves of three VMs', { timeout: 300_000 }, () => {
  it('plain apply: wave 1 only, exit 0; apply --wait: wave 2 after wave 1 replicated, wave 3 after wave 2; then no changes', async () => {
    s = await startImportedServer(9);
    const { t, api } = s;
    const ws = await workspace(s.endpoint, 'waves');
    const m = await ws.writeManifests(docs);

    const before = await planText(ws, m, 2);
    // The members are named in address order (serverIds): any order of the three.
    expect(before).toMatch(/^Wave 2 \(3 creates\): waiting for wave 1: 0 of 3 replicated \((gen-000[123] has no job yet(; )?){3}\):$/m);
    expect(before).toContain('Plan: 9 to create. Destructive: none. 6 waiting for wave 1.');

    const plain = await ws.run(['apply', '-f', m, '--auto-approve']);
    expect(plain.code, show(plain)).toBe(0);
    expect(plain.stdout).toMatch(/^Apply complete: 3 created, /m);
    expect(plain.stdout).toContain('Held, not carried out by this apply (6):');
    expect(plain.stdout).toContain('  Wave 2 (3 creates): waits for wave 1 to complete its first replication runs');
    expect(plain.stdout).toContain('  Wave 3 (3 creates): waits for wave 1 to complete its first replication runs');
    expect(await liveVms(api)).toEqual(WAVES[0]!.vms);

    // Wave 1 runs, wave 2 still waits (and says for whom); held changes count as pending (exit 2).
    await t.advance(20);
    const waiting = await planText(ws, m, 2);
    expect(waiting).toMatch(/^Wave 2 \(3 creates\): waiting for wave 1: 0 of 3 replicated \((gen-000[123] running, Uploading \d+%(; )?){3}\):$/m);
    expect(waiting).toContain('Plan: 6 to create (3 unchanged). Destructive: none. 6 waiting for wave 1.');

    // The clock stands still until the CLI waits for wave 1 (whose runs are then still going).
    const proc = ws.spawn(['apply', '-f', m, '--auto-approve', '--wait']);
    await proc.waitForStdout(/^Waiting for wave 1: 3 job\(s\) to complete their first replication run\.$/m, 60_000);
    const r = await pumpUntilExit(t, proc, 15);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toContain('Wave 1 has replicated (3 of 3 jobs have their first AMI): the next wave\'s gate is open.');
    expect(r.stdout).toContain('Wave 2 has replicated (3 of 3 jobs have their first AMI): the next wave\'s gate is open.');
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('All 3 new job(s) completed their first replication run.');
    expect(await liveVms(api)).toEqual(WAVES.flatMap((w) => w.vms));

    // The order, as the service saw it: each wave's first runs start after every first run of the wave before completed.
    const runs = await firstRuns(api);
    for (const [earlier, later] of [[WAVES[0]!, WAVES[1]!], [WAVES[1]!, WAVES[2]!]] as const) {
      const completed = earlier.vms.map((v) => runs.get(v)?.completed ?? Number.POSITIVE_INFINITY);
      const started = later.vms.map((v) => runs.get(v)?.started ?? Number.NEGATIVE_INFINITY);
      expect(Math.min(...started), `wave ${later.wave} started ${started.join(',')}; wave ${earlier.wave} completed ${completed.join(',')}`).toBeGreaterThanOrEqual(Math.max(...completed));
    }
    for (const v of WAVES.flatMap((w) => w.vms)) expect(runs.get(v)?.completed, v).toBeDefined();

    const after = await planText(ws, m, 0);
    expect(after).toContain('No changes. The live jobs match the manifests.');
    const status = await ws.run(['status', '-f', m]);
    expect(status.stdout).toContain('1     3         3        3           0       open');
    expect(status.stdout).toContain('3     3         3        3           0       open');
  });

  it('a refused wave-1 server keeps wave 2 held: the plan names it, apply --wait stops there with exit 1', async () => {
    // gen-0002 has 30 disks: SMS refuses to replicate it (ServerCannotBeReplicatedException).
    s = await startImportedServer(9, undefined, (i) => (i === 1 ? { volumes: 30 } : {}));
    const { t, api } = s;
    const ws = await workspace(s.endpoint, 'refused');
    const m = await ws.writeManifests(docs);

    const first = await ws.run(['apply', '-f', m, '--auto-approve']);
    expect(first.code, show(first)).toBe(1);
    expect(first.stdout).toContain('ServerCannotBeReplicatedException');
    expect(await liveVms(api)).toEqual(['gen-0001', 'gen-0003']);

    // The other two replicate; wave 2 still waits, and the plan says for which server.
    for (let i = 0; i < 10; i++) await t.advance(15);
    const text = await planText(ws, m, 2);
    expect(text).toContain('Wave 2 (3 creates): waiting for wave 1: 2 of 3 replicated (gen-0002 has no job yet):');
    const json = JSON.parse((await ws.run(['plan', '-f', m, '--format', 'json'])).stdout) as { changes: { address: string; gatedBy: { kind: string; waitingFor?: { members: { serverName: string; state: string }[] } } | null }[] };
    const held = json.changes.filter((c) => c.gatedBy !== null);
    expect(held).toHaveLength(6);
    for (const c of held) expect(c.gatedBy?.waitingFor?.members).toEqual([expect.objectContaining({ serverName: 'gen-0002', state: 'no-job' })]);

    const wait = await ws.run(['apply', '-f', m, '--auto-approve', '--wait']);
    expect(wait.code, show(wait)).toBe(1);
    expect(wait.stdout).toContain('gen-0002');
    expect(wait.stdout).toContain('ServerCannotBeReplicatedException');
    expect(await liveVms(api)).toEqual(['gen-0001', 'gen-0003']);
  });

  it('a saved plan applied after a gate opened is refused as stale, naming the wave', async () => {
    s = await startImportedServer(9);
    const { t } = s;
    const ws = await workspace(s.endpoint, 'stale');
    const m = await ws.writeManifests(docs);
    const first = await ws.run(['apply', '-f', m, '--auto-approve']);
    expect(first.code, show(first)).toBe(0);
    const saved = await ws.run(['plan', '-f', m, '--out', 'waves.plan']);
    expect(saved.code, show(saved)).toBe(0);
    for (let i = 0; i < 10; i++) await t.advance(15); // wave 1's first runs complete
    const r = await ws.run(['apply', 'waves.plan', '--auto-approve']);
    expect(r.code, show(r)).toBe(1);
    expect(r.stderr).toContain("wave 2's gate opened since the plan (wave 1 has replicated): its creates were planned as held");
    expect(r.stderr).not.toContain("wave 3's gate"); // wave 3 still waits (now for wave 2): its gate did not move
  });

  it('apply --wait: a failed first replication in wave 1 stops the advance naming the job; --wait-timeout says where it stopped', async () => {
    // gen-0003's runs fail (from its first run, for ever): its job ends PAUSED_ON_FAILURE after three tries.
    s = await startImportedServer(9, undefined, (i) => (i === 2 ? { failure: { afterRuns: 0 } } : {}));
    const { t, api } = s;
    const ws = await workspace(s.endpoint, 'failed');
    const m = await ws.writeManifests(docs);

    // The clock stands still: the wait ends at --wait-timeout, naming the wave it waited for.
    const timedOut = await ws.run(['apply', '-f', m, '--auto-approve', '--wait', '--wait-timeout', '3s']);
    expect(timedOut.code, show(timedOut)).toBe(1);
    expect(timedOut.stdout).toContain('Stopped waiting for wave 1 after --wait-timeout 3s');
    expect(timedOut.stdout).toContain('waves 2, 3 not started');
    expect(timedOut.stderr).toContain('wait-timeout');
    expect(await liveVms(api)).toEqual(WAVES[0]!.vms);

    const proc = ws.spawn(['apply', '-f', m, '--auto-approve', '--wait']);
    await proc.waitForStdout(/^Waiting for wave 1: 3 job\(s\)/m, 60_000);
    const r = await pumpUntilExit(t, proc, 15);
    expect(r.code, show(r)).toBe(1);
    expect(r.stdout).toMatch(/^Wave 1 did not replicate: ReplicationJobSet\/wave-1\[s-[0-9a-f]+\] \(sms-job-[0-9a-f]+, PAUSED_ON_FAILURE: ServerError: Failed to upload base disk\(s\) to S3\..*\)\. The later waves are not started; the jobs already created are left as they are\.$/m);
    // Nothing of wave 2 was created; wave 1's jobs are left as they are.
    expect(await liveVms(api)).toEqual(WAVES[0]!.vms);
  });

  it('--max-wave: a bad value exits 1 naming the flag; a good one holds the later waves', async () => {
    s = await startImportedServer(9);
    const ws = await workspace(s.endpoint, 'max-wave');
    const m = await ws.writeManifests(docs);
    for (const [verb, value] of [['plan', '0'], ['plan', '-1'], ['apply', 'abc'], ['apply', '1.5']] as const) {
      const r = await ws.run([verb, '-f', m, '--max-wave', value, ...(verb === 'apply' ? ['--auto-approve'] : [])]);
      expect(r.code, show(r)).toBe(1);
      expect(r.stderr).toContain(`--max-wave ${value} is not a whole number from 1`);
    }
    const r = await ws.run(['plan', '-f', m, '--max-wave', '1', '--format', 'json']);
    const plan = JSON.parse(r.stdout) as { options: { maxWave: number }; changes: { wave: number; gatedBy: { kind: string } | null }[] };
    expect(plan.options.maxWave).toBe(1);
    expect(plan.changes.filter((c) => c.gatedBy?.kind === 'max-wave').map((c) => c.wave)).toEqual([2, 2, 2, 3, 3, 3]);
  });
});
