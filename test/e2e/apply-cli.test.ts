/**
 * `sms-reconcile apply` end to end: the real binary as a subprocess (`node bin/sms-reconcile.mjs`)
 * against the embedded server run by the test (manual clock, catalog imported up front) through
 * `--endpoint-url`, with the server's key pair in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and
 * empty AWS config files. Each test has its own server, work directory and `--state` file.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SdkSmsApi } from '../../src/sms/client.ts';
import { decodeState } from '../../src/state/codec.ts';
import { closeImportedServer, removeWorkspaces, liveJobsByServer, startImportedServer, workspace, type Endpoint, type Workspace } from '../helpers/apply-cli.ts';
import { catalogDoc, genVm, jobDoc, jobsFor } from '../helpers/apply-harness.ts';
import type { TestServer } from '../helpers/server.ts';

let t: TestServer;
let endpoint: Endpoint;
let api: SdkSmsApi;

beforeEach(async () => {
  ({ t, endpoint, api } = await startImportedServer(64));
});

afterAll(() => removeWorkspaces());

afterEach(() => closeImportedServer({ t, api }));

const createdLines = (out: string): number => (out.match(/: created \(sms-job-/g) ?? []).length;

async function readState(ws: Workspace) {
  return decodeState(await readFile(ws.statePath, 'utf8'), { source: ws.statePath });
}

/** Exactly one live job per server of VMs from..to, and no other job. */
async function expectOneJobPerServer(from: number, to: number): Promise<void> {
  const byServer = await liveJobsByServer(api);
  const names = [...byServer.values()].map((jobs) => {
    expect(jobs.length, `server ${jobs[0]?.serverId ?? ''} has ${jobs.length} jobs`).toBe(1);
    return jobs[0]?.vmServer?.vmName;
  });
  const want = Array.from({ length: to - from + 1 }, (_, i) => genVm(from + i));
  expect(names.sort()).toEqual(want);
}

describe('apply, then plan', () => {
  it('applies the manifests; a re-plan shows no changes (--detailed-exitcode 0) and a second apply does nothing', async () => {
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests([catalogDoc(), ...jobsFor(1, 6, { frequency: 12, description: 'e2e', licenseType: 'BYOL' })]);
    const a = await ws.run(['apply', '-f', m, '--auto-approve']);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout.split('\n')[0]).toBe(`Target: SMS endpoint ${endpoint.url} (us-east-1)`);
    expect(a.stdout).toMatch(/Apply complete: 6 created, 0 updated, 0 replaced, 0 deleted, 0 adopted, 0 moved, 0 runs started in \d+\.\ds\./);
    await expectOneJobPerServer(1, 6);
    const state = await readState(ws);
    expect(Object.keys(state.resources).length).toBe(6);
    expect(state.pending).toEqual([]);
    expect(state.target).toMatchObject({ kind: 'remote', endpoint: endpoint.url, region: 'us-east-1' });

    const p = await ws.run(['plan', '-f', m, '--detailed-exitcode']);
    expect(p.code, p.stdout + p.stderr).toBe(0);
    const again = await ws.run(['apply', '-f', m, '--auto-approve']);
    expect(again.code, again.stderr).toBe(0);
    expect(createdLines(again.stdout)).toBe(0);
    expect((await readState(ws)).serial).toBe(state.serial);
    await expectOneJobPerServer(1, 6);
  });
});

describe('two applies at once', () => {
  // 48 creates at 300 ms each, 4 at a time: the first apply holds the lock for ~4 s.
  const slow = { actions: ['CreateReplicationJob'], latencyMs: 300 } as const;

  it('the second fails on the lock, naming the holder (pid, operation) and its age; nothing is clobbered', async () => {
    await t.control.setFaults(slow);
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests(jobsFor(1, 48));
    const first = ws.spawn(['apply', '-f', m, '--auto-approve']);
    await first.waitForStdout(/: CreateReplicationJob\.\.\./);
    const second = await ws.run(['apply', '-f', m, '--auto-approve']);
    // Precondition: the first was still running when the second gave up.
    expect(first.proc.exitCode, 'the first apply finished before the second tried the lock').toBeNull();
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/Error \[state-locked\]: the state at .*state\.json is locked: lock [0-9a-f-]{36}, held by pid (\d+) on \S+ for "apply" since \S+ \(\d+s ago, lease until \S+\)/);
    expect(second.stderr).toContain(`held by pid ${first.pid} `);
    expect(second.stderr).toMatch(/--lock-timeout/);
    expect(createdLines(second.stdout)).toBe(0);
    const done = await first.waitForExit();
    expect(done.code, done.stderr).toBe(0);
    expect(createdLines(done.stdout)).toBe(48);
    await expectOneJobPerServer(1, 48);
    const state = await readState(ws);
    expect(Object.keys(state.resources).length).toBe(48);
    expect(state.pending).toEqual([]);
    await t.control.setFaults({});
    expect((await ws.run(['plan', '-f', m, '--detailed-exitcode'])).code).toBe(0);
  });

  it('with --lock-timeout both finish: one creates everything, the other waits and then has nothing to do', async () => {
    await t.control.setFaults(slow);
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests(jobsFor(1, 48));
    const a = ws.spawn(['apply', '-f', m, '--auto-approve', '--lock-timeout', '2m']);
    const b = ws.spawn(['apply', '-f', m, '--auto-approve', '--lock-timeout', '2m']);
    const [ra, rb] = await Promise.all([a.waitForExit(120_000), b.waitForExit(120_000)]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    expect([createdLines(ra.stdout), createdLines(rb.stdout)].sort((x, y) => x - y)).toEqual([0, 48]);
    // The one that waited planned against the state the other one left (it reads the state only once it holds the lock).
    const waited = createdLines(ra.stdout) === 0 ? ra : rb;
    const winner = waited === ra ? rb : ra;
    expect(winner.stdout).toContain('State: none yet (first apply creates it)');
    expect(waited.stdout).toMatch(/^State: lineage \S+ serial [1-9]\d*/m);
    await expectOneJobPerServer(1, 48);
    const state = await readState(ws);
    expect(Object.keys(state.resources).length).toBe(48);
    expect(state.pending).toEqual([]);
  });
});

describe('saved plans', () => {
  it('applies a fresh saved plan exactly', async () => {
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests(jobsFor(1, 3));
    const p = await ws.run(['plan', '-f', m, '--out', 'plan.json']);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toContain('Saved the plan to plan.json');
    const a = await ws.run(['apply', 'plan.json', '--auto-approve']);
    expect(a.code, a.stderr).toBe(0);
    expect(createdLines(a.stdout)).toBe(3);
    await expectOneJobPerServer(1, 3);
  });

  it('refuses a stale plan with the reasons: the state moved, a job changed outside, a server got a job', async () => {
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests(jobsFor(1, 3, { description: 'v1' }));
    expect((await ws.run(['apply', '-f', m, '--auto-approve'])).code).toBe(0);
    const serial = (await readState(ws)).serial;
    const next = await ws.writeManifests(jobsFor(1, 5, { description: 'v1' }), 'next');
    expect((await ws.run(['plan', '-f', next, '--out', 'plan.json'])).code).toBe(0);
    // Meanwhile: the same change applied from the manifests, and job-0001 edited outside the tool.
    expect((await ws.run(['apply', '-f', next, '--auto-approve'])).code).toBe(0);
    const state = await readState(ws);
    const job1 = state.resources['ReplicationJob/job-0001']?.replicationJobId ?? '';
    await api.updateReplicationJob({ replicationJobId: job1, description: 'edited by hand' });
    const jobsBefore = (await api.getReplicationJobs()).length;

    const r = await ws.run(['apply', 'plan.json', '--auto-approve']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('The saved plan plan.json is stale:');
    expect(r.stderr).toContain(`  - the state moved from serial ${serial} to ${state.serial}: something was applied since the plan`);
    expect(r.stderr).toContain(`  - ReplicationJob/job-0001: job ${job1} was changed since the plan`);
    expect(r.stderr).toMatch(/ {2}- ReplicationJob\/job-0004: server s-[0-9a-f]{8} got job sms-job-[0-9a-f]{8} since the plan/);
    expect(r.stderr).toContain('Error [plan-stale]: refusing to apply a stale plan; nothing was changed');
    expect(createdLines(r.stdout)).toBe(0);
    expect((await api.getReplicationJobs()).length).toBe(jobsBefore);
    expect((await readState(ws)).serial).toBe(state.serial);
  });
});

describe('destructive changes', () => {
  it('preventDestroy holds after its document is deleted: plan fails naming it, apply refuses, the job stays', async () => {
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests([jobDoc('guarded', genVm(1), { lifecycle: { preventDestroy: true } }), jobDoc('plain', genVm(2))]);
    expect((await ws.run(['apply', '-f', m, '--auto-approve'])).code).toBe(0);
    const before = await readState(ws);
    const guarded = before.resources['ReplicationJob/guarded'];
    expect(guarded?.preventDestroy).toBe(true);

    await ws.writeManifests([jobDoc('plain', genVm(2))]);
    const p = await ws.run(['plan', '-f', m, '--detailed-exitcode']);
    expect(p.code).toBe(1);
    expect(p.stderr).toContain(`error prevent-destroy: ReplicationJob/guarded has lifecycle.preventDestroy, but this plan would delete its job ${guarded?.replicationJobId ?? ''}`);
    expect(p.stderr).toContain('Error [plan-failed]');
    const a = await ws.run(['apply', '-f', m, '--auto-approve', '--allow-destroy']);
    expect(a.code).toBe(1);
    expect(a.stderr).toContain('error prevent-destroy: ReplicationJob/guarded');
    const job = await api.getReplicationJob(guarded?.replicationJobId ?? '');
    expect(job?.state).not.toMatch(/DELET/);
    const after = await readState(ws);
    expect(after.serial).toBe(before.serial);
    expect(after.resources['ReplicationJob/guarded']).toEqual(guarded);
  });

  it('deletes need --allow-destroy when not confirmed at a terminal; with it, the job is deleted and forgotten', async () => {
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests(jobsFor(1, 2));
    expect((await ws.run(['apply', '-f', m, '--auto-approve'])).code).toBe(0);
    const jobId = (await readState(ws)).resources['ReplicationJob/job-0002']?.replicationJobId ?? '';
    await ws.writeManifests(jobsFor(1, 1));

    const refused = await ws.run(['apply', '-f', m, '--auto-approve']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Error [destroy-not-allowed]: the plan deletes or replaces 1 job(s); nothing was changed');
    expect(refused.stderr).toContain('--allow-destroy');
    expect((await api.getReplicationJob(jobId))?.state).not.toMatch(/DELET/);
    expect((await ws.run(['plan', '-f', m, '--detailed-exitcode'])).code).toBe(3);

    const ok = await ws.run(['apply', '-f', m, '--auto-approve', '--allow-destroy']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/Apply complete: 0 created, 0 updated, 0 replaced, 1 deleted/);
    expect((await api.getReplicationJob(jobId))?.state).toMatch(/^DELET/);
    expect((await readState(ws)).resources['ReplicationJob/job-0002']).toBeUndefined();
    expect((await ws.run(['plan', '-f', m, '--detailed-exitcode'])).code).toBe(0);
  });

  it('without --auto-approve, apply on a non-TTY refuses and changes nothing', async () => {
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests(jobsFor(1, 2));
    const r = await ws.run(['apply', '-f', m], { stdin: 'yes\n' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Error [approval-needed]: apply asks for confirmation, but stdin is not a terminal');
    expect(r.stderr).toContain('--auto-approve');
    expect((await api.getReplicationJobs()).length).toBe(0);
    expect(existsSync(ws.statePath)).toBe(false);
    expect(existsSync(join(ws.dir, 'state.json.journal'))).toBe(false);
  });
});
