/**
 * A migration larger than the quota (issue 25): the real binary as a subprocess against an embedded
 * server with 120 VMs and the service's default quota of 50 concurrent jobs (manual clock: runs
 * last 20 s, deletes settle at once). The CreateReplicationJob calls are counted from the server's
 * debug request log (one line per request, with its action and error).
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SdkSmsApi } from '../../src/sms/client.ts';
import { closeImportedServer, removeWorkspaces, requestLog, startImportedServer, workspace, type Endpoint, type RequestLog, type Workspace } from '../helpers/apply-cli.ts';
import { catalogDoc, genVm, jobDoc, type ManifestDoc } from '../helpers/apply-harness.ts';
import type { TestServer } from '../helpers/server.ts';

const VMS = 120;
const QUOTA = 50;

let t: TestServer;
let endpoint: Endpoint;
let api: SdkSmsApi;
let log: RequestLog;

beforeEach(async () => {
  log = requestLog();
  ({ t, endpoint, api } = await startImportedServer(VMS, { logger: log.logger, settings: { runSeconds: 20, deleteSeconds: 0, catalogImportSeconds: 1, maxConcurrentJobs: QUOTA } }));
});

afterAll(() => removeWorkspaces());
afterEach(() => closeImportedServer({ t, api }));

/** dc-001..dc-120, one document each; those in `cut` say `cutover: true`. */
function estate(cut: (n: number) => boolean = () => false): ManifestDoc[] {
  return [catalogDoc(), ...Array.from({ length: VMS }, (_, i) => jobDoc(`dc-${String(i + 1).padStart(3, '0')}`, genVm(i + 1), { frequency: 12, ...(cut(i + 1) ? { cutover: true } : {}) }))];
}

const refused = () => log.entries.filter((e) => e.error !== undefined && e.error !== '').map((e) => `${e.action} ${e.error ?? ''}`);

async function apply(ws: Workspace, m: string): Promise<{ stdout: string; creates: number; deletes: number }> {
  log.reset();
  const r = await ws.run(['apply', '-f', m, '--auto-approve', '--max-concurrent-jobs', String(QUOTA)]);
  expect(r.code, r.stdout + r.stderr).toBe(0);
  return { stdout: r.stdout, creates: log.count('CreateReplicationJob'), deletes: log.count('DeleteReplicationJob') };
}

describe('a migration larger than the quota', () => {
  it('creates 50 of 120, then one apply retires 40 cut-over jobs and creates 40; no call is refused; finally all 120 are migrated', { timeout: 120_000 }, async () => {
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests(estate());

    const p = await ws.run(['plan', '-f', m, '--detailed-exitcode']);
    expect(p.code, p.stdout + p.stderr).toBe(2);
    expect(p.stdout).toContain('waiting for quota (0 of 50 in use)');
    expect(p.stdout).toMatch(/Plan: 120 to create.* 70 waiting for quota\./);

    const first = await apply(ws, m);
    expect(first.creates).toBe(50);
    expect(first.stdout).toContain('70 create(s) wait for quota');
    expect(refused()).toEqual([]);

    const again = await ws.run(['plan', '-f', m, '--detailed-exitcode']);
    expect(again.code).toBe(2);
    expect(again.stdout).toContain('70 waiting for quota.');
    expect(again.stdout).toContain('waiting for quota (50 of 50 in use)');

    await t.advance(30); // the seed runs complete, each with an AMI
    await ws.writeManifests(estate((n) => n <= 40));
    const second = await apply(ws, m);
    expect(second.deletes).toBe(40);
    expect(second.creates).toBe(40);
    expect(second.stdout).toContain('40 retired');
    expect(second.stdout).toContain('30 create(s) wait for quota');
    expect(refused()).toEqual([]);

    // Then the next 40 (and the 30 waiting), then the rest: the estate moves with cutover flags only.
    await t.advance(30);
    await ws.writeManifests(estate((n) => n <= 80));
    const third = await apply(ws, m);
    expect([third.deletes, third.creates]).toEqual([40, 30]);
    await t.advance(30);
    await ws.writeManifests(estate(() => true));
    const fourth = await apply(ws, m);
    expect([fourth.deletes, fourth.creates]).toEqual([40, 0]);
    expect(refused()).toEqual([]);

    const live = (await api.getReplicationJobs()).filter((j) => j.state !== 'DELETED');
    expect(live).toEqual([]);
    const status = await ws.run(['status']);
    expect(status.code, status.stdout + status.stderr).toBe(0);
    expect(status.stdout.match(/ami-[0-9a-f]+/g)?.length).toBe(VMS);
    const done = await ws.run(['plan', '-f', m, '--detailed-exitcode']);
    expect(done.code, done.stdout).toBe(0);
  });
});

describe('an account whose real quota is lower than the flag', () => {
  it('names the refusal once, exits 1, leaves the other creates waiting, and says to lower the flag', { timeout: 60_000 }, async () => {
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests(estate().slice(0, 56)); // the catalog and 55 jobs; the server allows 50
    log.reset();
    const r = await ws.run(['apply', '-f', m, '--auto-approve', '--max-concurrent-jobs', '60', '--parallelism', '1']);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(log.count('CreateReplicationJob')).toBe(51);
    expect(refused()).toEqual(['CreateReplicationJob OperationNotPermittedException']);
    const out = r.stdout + r.stderr;
    expect(out.match(/its real limit is lower than --max-concurrent-jobs 60/g)?.length).toBe(1);
    expect(out).toContain('lower --max-concurrent-jobs');
    expect(out).toContain('Waiting for quota, not created (4)');
  });

  it('with creates in flight (--parallelism 8), those refused after the first wait with the others: one failure reported', { timeout: 60_000 }, async () => {
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests(estate().slice(0, 56));
    log.reset();
    const r = await ws.run(['apply', '-f', m, '--auto-approve', '--max-concurrent-jobs', '60', '--parallelism', '8']);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const refusals = refused().length;
    expect(refusals).toBeGreaterThanOrEqual(1);
    expect(log.count('CreateReplicationJob')).toBe(50 + refusals);
    const out = r.stdout + r.stderr;
    expect(out.match(/its real limit is lower than --max-concurrent-jobs 60/g)?.length).toBe(1);
    // One failure in the report, whatever the number refused; the 4 others wait.
    expect(r.stdout.match(/^! ReplicationJob\/dc-\d+: CreateReplicationJob failed: OperationNotPermittedException/gm)?.length, out).toBe(1);
    expect(r.stdout).toContain('Failed (1):');
    expect(r.stdout).toMatch(/Apply failed after .*: 50 created, .* 1 failed, 0 skipped\./);
    // Each create refused after the first (in flight with it) says it waits, and waits with the others.
    expect(r.stdout.match(/was refused for the account's limit too, and waits for quota with the others/g)?.length ?? 0).toBe(refusals - 1);
    expect(out).toContain('Waiting for quota, not created (4)');
  });
});

describe('a saved plan and the quota', () => {
  it('is refused as stale when the free slots changed since the plan, saying how many it expected', { timeout: 60_000 }, async () => {
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests(estate().slice(0, 4)); // the catalog and 3 jobs, against a limit of 2
    const p = await ws.run(['plan', '-f', m, '--max-concurrent-jobs', '2', '--out', 'plan.json']);
    expect(p.code, p.stdout + p.stderr).toBe(0);
    expect(p.stdout).toContain('1 waiting for quota.');
    // Someone else takes a slot (a job made outside sms-reconcile).
    const other = (await api.getServers()).servers.find((s) => s.vmServer.vmName === genVm(100));
    await api.createReplicationJob({ serverId: other?.serverId ?? '', seedReplicationTime: Math.floor(Date.now() / 1000) + 3600, frequency: 12 });
    log.reset();
    const r = await ws.run(['apply', 'plan.json', '--auto-approve']);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toContain('the free concurrent-job slots changed since the plan: it expected 2 free (0 of 2 in use), there are 1 (1 of 2 in use)');
    expect(log.count('CreateReplicationJob')).toBe(0);
  });
});
