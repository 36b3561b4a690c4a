/**
 * Apply keeps going past a refused server (issue 15): the real binary as a subprocess against the
 * embedded server run by the test (manual clock, catalog imported up front), on 12 VMs of which 2
 * have 30 disks, which SMS refuses to replicate (ServerCannotBeReplicatedException).
 */
import { readFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SdkSmsApi } from '../../src/sms/client.ts';
import { decodeState } from '../../src/state/codec.ts';
import { closeImportedServer, liveJobsByServer, removeWorkspaces, startImportedServer, workspace, type Endpoint, type Workspace } from '../helpers/apply-cli.ts';
import { genVm, jobsFor } from '../helpers/apply-harness.ts';
import type { TestServer } from '../helpers/server.ts';
import { connectorId } from '../helpers/sms-world.ts';

/** gen-0004 and gen-0009 have 30 disks. */
const REFUSED = [4, 9];
const OK = Array.from({ length: 12 }, (_, i) => i + 1).filter((n) => !REFUSED.includes(n));
const address = (n: number) => `ReplicationJob/job-${String(n).padStart(4, '0')}`;

let t: TestServer;
let endpoint: Endpoint;
let api: SdkSmsApi;

beforeEach(async () => {
  ({ t, endpoint, api } = await startImportedServer(12, undefined, (i) => (REFUSED.includes(i + 1) ? { volumes: 30 } : {})));
});

afterAll(() => removeWorkspaces());

afterEach(() => closeImportedServer({ t, api }));

const createdLines = (out: string): number => (out.match(/: created \(sms-job-/g) ?? []).length;

async function readState(ws: Workspace) {
  return decodeState(await readFile(ws.statePath, 'utf8'), { source: ws.statePath });
}

/** The live jobs: their VM names (each server has at most one) and ids. */
async function liveJobs(): Promise<{ vms: string[]; ids: string[] }> {
  const byServer = await liveJobsByServer(api);
  for (const jobs of byServer.values()) expect(jobs.length, `server ${jobs[0]?.serverId ?? ''} has ${jobs.length} jobs`).toBe(1);
  const jobs = [...byServer.values()].map((j) => j[0]);
  return { vms: jobs.map((j) => j?.vmServer?.vmName ?? '').sort(), ids: jobs.map((j) => j?.replicationJobId ?? '').sort() };
}

function expectFailureReport(stdout: string, created: number): void {
  expect(stdout).toMatch(new RegExp(`\\nApply failed after \\d+\\.\\ds: ${created} created, 0 updated, 0 replaced, 0 deleted, 0 adopted, 0 moved, 0 runs started, 2 failed, 0 skipped\\.\\n`));
  expect(stdout).toContain('Failed (2):\n');
  for (const n of REFUSED) {
    expect(stdout).toMatch(
      new RegExp(`\\n {2}${address(n).replace('/', '\\/')} \\(VM ${genVm(n)}\\): CreateReplicationJob: ServerCannotBeReplicatedException: The provided server cannot be replicated: s-[0-9a-f]{8} has 30 volumes \\(at most 22\\)\\. \\(the next apply retries it\\)\\n`),
    );
  }
  expect(stdout).not.toContain('Skipped (');
  expect(stdout).toContain('run apply again to finish');
}

describe('apply keeps going past a refused server', () => {
  it('creates the other 10 jobs and exits 1 naming both VMs; a second apply retries only those 2; the plan shows only the 2 creates', async () => {
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests(jobsFor(1, 12, { frequency: 12 }));
    // Parallelism 1: in the old stop-at-first-failure behaviour, job-0004 stopped everything after it.
    const first = await ws.run(['apply', '-f', m, '--auto-approve', '--parallelism', '1']);
    expect(first.code, first.stdout + first.stderr).toBe(1);
    // Not a TTY: the log's events (JSON) are all stderr holds; no error message, no stack trace.
    expect(first.stderr.trim().split('\n').map((l) => (JSON.parse(l) as { event: string }).event)).toEqual(['apply.failed', 'apply.failed', 'apply.summary']);
    expect(createdLines(first.stdout)).toBe(10);
    expectFailureReport(first.stdout, 10);
    const live = await liveJobs();
    expect(live.vms).toEqual(OK.map(genVm));
    const state = await readState(ws);
    expect(Object.keys(state.resources).sort()).toEqual(OK.map(address));
    expect(state.pending).toEqual([]);

    // Again, with the JSON log: the same 2 failures, nothing created twice.
    const second = await ws.run(['apply', '-f', m, '--auto-approve', '--log-format', 'json']);
    expect(second.code, second.stdout + second.stderr).toBe(1);
    expect(createdLines(second.stdout)).toBe(0);
    expectFailureReport(second.stdout, 0);
    expect((await liveJobs()).ids).toEqual(live.ids);
    expect((await readState(ws)).pending).toEqual([]);
    const events = second.stderr.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const failed = events.filter((e) => e['event'] === 'apply.failed');
    expect(failed.map((e) => [e['address'], e['vmName'], e['operation'], e['code'], e['outcome'], e['onRerun']]).sort()).toEqual(
      REFUSED.map((n) => [address(n), genVm(n), 'CreateReplicationJob', 'ServerCannotBeReplicatedException', 'refused', 'retry']),
    );
    expect(failed.every((e) => e['level'] === 50 && typeof e['message'] === 'string')).toBe(true);
    expect(events.filter((e) => e['event'] === 'apply.summary')).toEqual([
      expect.objectContaining({ outcome: 'failed', created: 0, failed: 2, skipped: 0, notStarted: 0 }),
    ]);

    const plan = await ws.run(['plan', '-f', m, '--format', 'json', '--detailed-exitcode']);
    expect(plan.code, plan.stderr).toBe(2);
    const changes = (JSON.parse(plan.stdout) as { changes: { action: string; address: string }[] }).changes.filter((c) => c.action !== 'no-op');
    expect(changes.map((c) => `${c.action} ${c.address}`)).toEqual(REFUSED.map((n) => `create ${address(n)}`));
  });

  it('--fail-fast stops starting new work at the first failure', async () => {
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests(jobsFor(1, 12));
    const r = await ws.run(['apply', '-f', m, '--auto-approve', '--parallelism', '1', '--fail-fast']);
    expect(r.code).toBe(1);
    // One at a time in plan order: job-0001..0003 were created, job-0004 was refused, nothing after it started.
    expect(createdLines(r.stdout)).toBe(3);
    expect(r.stdout).toMatch(/\nApply failed after \d+\.\ds: 3 created, .*, 1 failed, 0 skipped, 8 not started\.\n/);
    expect(r.stdout).toContain(`Not started (--fail-fast): ${[5, 6, 7, 8, 9, 10, 11, 12].map(address).join(', ')}\n`);
    expect((await liveJobs()).vms).toEqual([1, 2, 3].map(genVm));
  });

  it('a plan where every operation fails: exit 1, every failure named, and the state still valid', async () => {
    await t.control.setConnectorStatus(connectorId(1), 'UNHEALTHY');
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests(jobsFor(1, 3));
    const r = await ws.run(['apply', '-f', m, '--auto-approve']);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/\nApply failed after \d+\.\ds: 0 created, .*, 3 failed, 0 skipped\.\n/);
    for (const n of [1, 2, 3]) expect(r.stdout).toMatch(new RegExp(`\\n {2}${address(n).replace('/', '\\/')} \\(VM ${genVm(n)}\\): CreateReplicationJob: NoConnectorsAvailableException: `));
    const state = await readState(ws);
    expect(state.resources).toEqual({});
    expect(state.pending).toEqual([]);
    expect((await liveJobs()).ids).toEqual([]);
  });
});
