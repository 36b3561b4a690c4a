/**
 * Cutover and the 90-day clock (issue 25, items 2 and 4): the real binary as a subprocess against
 * an embedded server run by the test, with its manual clock (the CLI reads the service's time from
 * its answers, so the 90-day clock runs on the server's). Jobs replicate only when the test
 * advances the clock: runs last 20 s, deletes settle at once.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SdkSmsApi } from '../../src/sms/client.ts';
import { decodeState, type StateDocument } from '../../src/state/codec.ts';
import { closeImportedServer, removeWorkspaces, startImportedServer, workspace, type Endpoint, type Workspace } from '../helpers/apply-cli.ts';
import { catalogDoc, genVm, jobDoc, type ManifestDoc } from '../helpers/apply-harness.ts';
import type { TestServer } from '../helpers/server.ts';

const DAY = 86_400;

let t: TestServer;
let endpoint: Endpoint;
let api: SdkSmsApi;

beforeEach(async () => {
  ({ t, endpoint, api } = await startImportedServer(4, { settings: { runSeconds: 20, deleteSeconds: 0, catalogImportSeconds: 1 } }));
});

afterAll(() => removeWorkspaces());
afterEach(() => closeImportedServer({ t, api }));

async function readState(ws: Workspace): Promise<StateDocument> {
  return decodeState(await readFile(ws.statePath, 'utf8'), { source: ws.statePath });
}

/** Three jobs (gen-0001..3) and a set of one (gen-0004), with `cutover` where asked. */
function estate(cut: { jobs?: number[]; setEntry?: boolean; preventDestroy?: boolean; seed?: string } = {}): ManifestDoc[] {
  const cutover = (n: number) => (cut.jobs?.includes(n) === true ? { cutover: true } : {});
  const seed = cut.seed === undefined ? {} : { seedReplicationTime: cut.seed };
  return [
    catalogDoc(),
    ...[1, 2, 3].map((n) => jobDoc(`dc-${n}`, genVm(n), { frequency: 12, ...seed, ...cutover(n), ...(cut.preventDestroy === true && n === 1 ? { lifecycle: { preventDestroy: true } } : {}) })),
    {
      apiVersion: 'sms-reconcile/v1',
      kind: 'ReplicationJobSet',
      metadata: { name: 'rest' },
      spec: { template: { frequency: 12 }, servers: [{ server: { vmName: genVm(4) }, ...(cut.setEntry === true ? { cutover: true } : {}) }] },
    },
  ];
}

async function applyAndReplicate(ws: Workspace, m: string): Promise<void> {
  const a = await ws.run(['apply', '-f', m, '--auto-approve']);
  expect(a.code, a.stdout + a.stderr).toBe(0);
  await t.advance(30); // the seed runs complete, each with an AMI
}

async function liveJobIds(): Promise<string[]> {
  return (await api.getReplicationJobs()).filter((j) => j.state !== 'DELETED').map((j) => j.replicationJobId).sort();
}

describe('cutover', () => {
  it('retires the cut-over jobs (no --allow-destroy, exit 2 not 3), records them migrated with their final AMI; re-plan and the export round trip are empty', async () => {
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests(estate());
    await applyAndReplicate(ws, m);
    const before = await readState(ws);
    const job1 = before.resources['ReplicationJob/dc-1']?.replicationJobId ?? '';
    const setAddress = Object.keys(before.resources).find((a) => a.startsWith('ReplicationJobSet/rest[')) ?? '';
    const ami1 = (await api.getReplicationJob(job1))?.latestAmiId;
    expect(ami1).toMatch(/^ami-/);
    expect(before.resources['ReplicationJob/dc-1']?.replicationStartedAt).toMatch(/^\d{4}-/);

    await ws.writeManifests(estate({ jobs: [1], setEntry: true }));
    const p = await ws.run(['plan', '-f', m, '--detailed-exitcode']);
    expect(p.code, p.stdout + p.stderr).toBe(2);
    expect(p.stdout).not.toContain('Destructive changes');
    expect(p.stdout).toMatch(/=> ReplicationJob\/dc-1 {2}\(sms-job-[0-9a-f]{8}, server s-[0-9a-f]{8} gen-0001\) will be retired/);
    expect(p.stdout).toContain(`final AMI: ${ami1 ?? ''}`);
    expect(p.stdout).toContain('Plan: 2 to retire (3 unchanged). Destructive: none.'); // the catalog and two jobs unchanged
    const json = JSON.parse((await ws.run(['plan', '-f', m, '--format', 'json'])).stdout) as { summary: Record<string, number>; changes: { action: string; amiId: string | null; destructive: boolean }[] };
    expect(json.summary['retire']).toBe(2);
    expect(json.changes.filter((c) => c.action === 'retire').every((c) => c.amiId?.startsWith('ami-') === true && !c.destructive)).toBe(true);

    const a = await ws.run(['apply', '-f', m, '--auto-approve']);
    expect(a.code, a.stdout + a.stderr).toBe(0);
    expect(a.stdout).toMatch(/Apply complete: 0 created, 0 updated, 0 replaced, 0 deleted, 0 adopted, 0 moved, 0 runs started, 2 retired in \d+\.\ds\./);
    expect(await liveJobIds()).toHaveLength(2);
    expect((await ws.run(['state', 'list'])).stdout).toMatch(/ReplicationJob\/dc-1 +migrated \(ami-[0-9a-f]+\)/);
    expect((await api.getReplicationJob(job1))?.state).toBe('DELETED');

    const after = await readState(ws);
    const rec = after.resources['ReplicationJob/dc-1'];
    expect(rec?.replicationJobId).toBeUndefined();
    expect(rec?.migrated).toMatchObject({ amiId: ami1, replicationJobId: job1 });
    expect(after.resources[setAddress]?.migrated?.amiId).toMatch(/^ami-/);

    const s = await ws.run(['status']);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stdout).toContain('Migrated (2): cut over, their jobs retired; the final AMIs:');
    expect(s.stdout).toMatch(new RegExp(`ReplicationJob/dc-1 {2}s-[0-9a-f]{8} {2}${ami1 ?? ''} {2}retired \\d{4}-\\d\\d-\\d\\d \\(${job1}\\)`));
    expect(s.stdout).toContain('Live jobs: 2 of 50');

    const again = await ws.run(['plan', '-f', m, '--detailed-exitcode']);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toContain('Migrated: 2 servers cut over');
    await t.advance(13 * 3600); // more runs of the other jobs: still nothing to do for the migrated ones
    expect((await ws.run(['plan', '-f', m, '--detailed-exitcode'])).code).toBe(0);

    const e = await ws.run(['export', '--out', 'exported']);
    expect(e.code, e.stdout + e.stderr).toBe(0);
    const exported = await readFile(`${ws.dir}/exported/dc-1.yaml`, 'utf8');
    expect(exported).toContain('cutover: true');
    const round = await ws.run(['plan', '-f', 'exported', '--detailed-exitcode']);
    expect(round.code, round.stdout + round.stderr).toBe(0);
  });

  it('refuses a retire with no completed replication, during a run, and on a server with no job: blocked in the plan, apply exits 1 naming it, nothing deleted', async () => {
    const ws = await workspace(endpoint);
    // Seeded a day ahead: the jobs wait for their first run.
    const seed = new Date(Math.ceil(Date.now() / 1000 + DAY) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const m = await ws.writeManifests(estate({ seed }));
    const a = await ws.run(['apply', '-f', m, '--auto-approve']);
    expect(a.code, a.stderr).toBe(0);
    const ids = await liveJobIds();

    // No run has completed.
    await ws.writeManifests(estate({ jobs: [1], seed }));
    const p = await ws.run(['plan', '-f', m, '--detailed-exitcode']);
    expect(p.code, p.stderr).toBe(2);
    expect(p.stdout).toContain('ReplicationJob/dc-1');
    expect(p.stdout).toContain('is blocked: apply refuses to retire it, and deletes nothing');
    expect(p.stdout).toContain('blocked: cutover requested, but gen-0001 has no completed replication');
    expect(p.stdout).toContain('1 to retire (1 blocked)');
    const refused = await ws.run(['apply', '-f', m, '--auto-approve']);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('ReplicationJob/dc-1');
    expect(refused.stdout).toContain('cutover requested, but gen-0001 has no completed replication');
    expect(await liveJobIds()).toEqual(ids);

    // A run in progress.
    await t.advance(DAY + 7); // about 12 s into the seed run: the server clock started 5 s ahead (startImportedServer)
    const during = await ws.run(['apply', '-f', m, '--auto-approve']);
    expect(during.code).toBe(1);
    expect(during.stdout).toMatch(/cutover requested, but a replication run of gen-0001 is in progress \(Uploading \d+%\)/);
    expect(await liveJobIds()).toEqual(ids);
    expect((await readState(ws)).resources['ReplicationJob/dc-1']?.migrated).toBeUndefined();

    // A server with no job: the set's member has none if its job is gone.
    const member = (await readState(ws)).resources;
    const setJob = Object.values(member).find((r) => r.address.startsWith('ReplicationJobSet/'))?.replicationJobId ?? '';
    await api.deleteReplicationJob(setJob);
    await t.advance(1);
    await ws.writeManifests(estate({ setEntry: true, seed }));
    const none = await ws.run(['plan', '-f', m]);
    expect(none.stdout).toMatch(/blocked: cutover requested, but gen-0004 has no replication job/);
    const noneApply = await ws.run(['apply', '-f', m, '--auto-approve']);
    expect(noneApply.code).toBe(1);
    expect(noneApply.stdout).toMatch(/ReplicationJobSet\/rest\[s-[0-9a-f]{8}\] \(VM gen-0004\): retire: .*no replication job/);
    expect((await liveJobIds()).length).toBe(3);
  });

  it('preventDestroy blocks a retire: the plan fails naming it, nothing is deleted', async () => {
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests(estate({ preventDestroy: true }));
    await applyAndReplicate(ws, m);
    const ids = await liveJobIds();
    await ws.writeManifests(estate({ jobs: [1], preventDestroy: true }));
    const p = await ws.run(['plan', '-f', m]);
    expect(p.code).toBe(1);
    expect(p.stderr).toContain('error prevent-destroy: ReplicationJob/dc-1 has lifecycle.preventDestroy, but this plan would retire its job');
    const a = await ws.run(['apply', '-f', m, '--auto-approve', '--allow-destroy']);
    expect(a.code).toBe(1);
    expect(await liveJobIds()).toEqual(ids);
  });

  it('cutover: "yes" is a schema error at its position', async () => {
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests([jobDoc('dc-1', genVm(1), { cutover: 'yes' })]);
    const v = await ws.run(['validate', '-f', m]);
    expect(v.code).toBe(1);
    expect(v.stdout + v.stderr).toMatch(/0000\.yaml:\d+:\d+: error SMSR-M\d+: .*cutover/);
  });
});

describe('the 90-day clock', () => {
  it('warns at 80 days (10 left) in plan and status; at 90 days the server terminates the job and the plan reports it expired, recreating it only with --replace', async () => {
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests([catalogDoc(), jobDoc('dc-1', genVm(1), { frequency: 24 })]);
    await applyAndReplicate(ws, m);

    await t.advance(80 * DAY);
    const p = await ws.run(['plan', '-f', m, '--detailed-exitcode']);
    expect(p.code, p.stdout + p.stderr).toBe(0);
    expect(p.stdout).toContain('Warning: gen-0001: SMS terminates this job in 10 days: cut over, or ask AWS Support for an extension');
    const s = await ws.run(['status']);
    expect(s.stdout).toContain('Warning: gen-0001: SMS terminates this job in 10 days: cut over, or ask AWS Support for an extension');
    const sj = JSON.parse((await ws.run(['status', '--format', 'json'])).stdout) as { expiring: { address: string; daysLeft: number }[] };
    expect(sj.expiring).toEqual([expect.objectContaining({ address: 'ReplicationJob/dc-1', daysLeft: 10 })]);

    await t.advance(4 * DAY);
    expect((await ws.run(['plan', '-f', m])).stdout).toContain('SMS terminates this job in 6 days');

    await t.advance(7 * DAY);
    const job = (await readState(ws)).resources['ReplicationJob/dc-1']?.replicationJobId ?? '';
    expect((await api.getReplicationJob(job))?.state).toBe('DELETED');
    const expired = await ws.run(['plan', '-f', m, '--detailed-exitcode']);
    expect(expired.code, expired.stdout + expired.stderr).toBe(0);
    expect(expired.stdout).toMatch(new RegExp(`Warning: gen-0001: SMS terminated job ${job} on \\S+, 90 days after its replication began \\(expired\\); plan with --replace ReplicationJob/dc-1 to create a new job`));
    expect((await ws.run(['apply', '-f', m, '--auto-approve'])).stdout).not.toContain('created');
    expect(await liveJobIds()).toEqual([]);

    const planned = await ws.run(['plan', '-f', m, '--replace', 'ReplicationJob/dc-1', '--out', 'replace.plan']);
    expect(planned.stdout).toMatch(/\+ ReplicationJob\/dc-1 .* will be created/);
    const replaced = await ws.run(['apply', 'replace.plan', '--auto-approve']);
    expect(replaced.code, replaced.stdout + replaced.stderr).toBe(0);
    expect(await liveJobIds()).toHaveLength(1);
  });
});

describe('--max-concurrent-jobs', () => {
  it('is a global option of plan, apply, status and controller; 0, negative and not a number exit 1 naming it (the env var too)', async () => {
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests([catalogDoc(), jobDoc('dc-1', genVm(1))]);
    for (const bad of ['0', '-3', 'abc', '1.5']) {
      const r = await ws.run(['plan', '-f', m, '--max-concurrent-jobs', bad]);
      expect(r.code, bad).toBe(1);
      expect(r.stderr).toContain(`Error [bad-max-concurrent-jobs]: --max-concurrent-jobs "${bad}" is not a whole number of at least 1`);
    }
    const before = await ws.run(['--max-concurrent-jobs', '0', 'apply', '-f', m, '--auto-approve']);
    expect(before.code).toBe(1);
    expect(before.stderr).toContain('--max-concurrent-jobs "0"');
    expect(await liveJobIds()).toEqual([]);
    const env = await ws.run(['plan', '-f', m], { env: { SMS_RECONCILE_MAX_CONCURRENT_JOBS: 'abc' } });
    expect(env.code).toBe(1);
    expect(env.stderr).toContain('SMS_RECONCILE_MAX_CONCURRENT_JOBS "abc" is not a whole number');
    const ok = await ws.run(['apply', '-f', m, '--auto-approve', '--max-concurrent-jobs', '1']);
    expect(ok.code, ok.stderr).toBe(0);
    const s = await ws.run(['status', '--max-concurrent-jobs', '7']);
    expect(s.stdout).toContain('Live jobs: 1 of 7');
    const st = await ws.run(['status', '--max-concurrent-jobs', 'x']);
    expect(st.code).toBe(1);
    expect(st.stderr).toContain('--max-concurrent-jobs "x"');
    // The controller's bad flags exit 2 (its contract), naming the flag, before it starts anything.
    const ctl = await ws.run(['controller', '-f', m, '--max-concurrent-jobs', '-1', '--listen', '127.0.0.1:0']);
    expect(ctl.code).toBe(2);
    expect(ctl.stderr).toContain('--max-concurrent-jobs "-1" is not a whole number of at least 1');
    const warn = await ws.run(['plan', '-f', await ws.writeManifests([catalogDoc(), jobDoc('dc-1', genVm(1)), jobDoc('dc-2', genVm(2))]), '--max-concurrent-jobs', '1']);
    // The limit is a planning constraint (issue 25): dc-1 holds the one slot, dc-2 waits for quota.
    expect(warn.stdout).toContain('waiting for quota (1 of 1 in use)');
    expect(warn.stdout).toContain('1 job(s) wait for quota: 1 of 1 concurrent jobs in use');
  });
});
