/**
 * Bad input to `sms-reconcile apply` (issue 5, "Bad input"): each is a clear error with exit 1 and
 * nothing lost - the state file byte for byte, the live jobs as they were. The real binary as a
 * subprocess against the embedded server run by the test, through `--endpoint-url`.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SdkSmsApi } from '../../src/sms/client.ts';
import { decodeState, encodeState, type StateDocument } from '../../src/state/codec.ts';
import { closeImportedServer, holdLock, removeWorkspaces, liveJobsByServer, startImportedServer, workspace, type Endpoint, type ImportedServer, type Workspace } from '../helpers/apply-cli.ts';
import { jobsFor } from '../helpers/apply-harness.ts';
import type { TestServer } from '../helpers/server.ts';
import { connectorId } from '../helpers/sms-world.ts';

let t: TestServer;
let endpoint: Endpoint;
let api: SdkSmsApi;
const extra: TestServer[] = [];

/** A server of 40 VMs, its catalog imported. */
const server = (): Promise<ImportedServer> => startImportedServer(40);

beforeEach(async () => {
  ({ t, endpoint, api } = await server());
});

afterAll(() => removeWorkspaces());

afterEach(async () => {
  await closeImportedServer({ t, api });
  for (const s of extra.splice(0)) await s.close();
});

const createdLines = (out: string): number => (out.match(/: created \(sms-job-/g) ?? []).length;
const readState = async (ws: Workspace) => decodeState(await readFile(ws.statePath, 'utf8'));
const jobCount = async (a: SdkSmsApi = api) => (await a.getReplicationJobs()).filter((j) => j.state !== 'DELETED').length;

/** A workspace with 3 jobs applied. */
async function applied(): Promise<{ ws: Workspace; m: string; state: StateDocument; text: string }> {
  const ws = await workspace(endpoint);
  const m = await ws.writeManifests(jobsFor(1, 3));
  const r = await ws.run(['apply', '-f', m, '--auto-approve']);
  expect(r.code, r.stderr).toBe(0);
  const text = await readFile(ws.statePath, 'utf8');
  return { ws, m, state: decodeState(text), text };
}

describe('bad state', () => {
  it('a corrupt state file: exit 1 naming the file and the position; the file is untouched, nothing is created', async () => {
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests(jobsFor(1, 3));
    const corrupt = '{\n  "formatVersion": 1,\n  "lineage": oops\n}\n';
    await writeFile(ws.statePath, corrupt);
    for (const cmd of [['apply', '-f', m, '--auto-approve'], ['plan', '-f', m]]) {
      const r = await ws.run(cmd);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^Error \[state-corrupt\]: .*state\.json is not valid JSON at line 3, column \d+/m);
      expect(r.stderr).toMatch(/hint: .*\.backup.*nothing was overwritten/);
    }
    expect(await readFile(ws.statePath, 'utf8')).toBe(corrupt);
    expect(await jobCount()).toBe(0);
  });

  it('a state file from a newer formatVersion: exit 1 saying so; the file is untouched', async () => {
    const { ws, m, state } = await applied();
    const newer = encodeState(state).replace('"formatVersion": 1', '"formatVersion": 2');
    await writeFile(ws.statePath, newer);
    const before = await jobCount();
    await ws.writeManifests(jobsFor(1, 5));
    const r = await ws.run(['apply', '-f', m, '--auto-approve']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Error \[state-version-newer\]: .*state\.json has formatVersion 2, written by a newer sms-reconcile; this one reads formatVersion 1 at most/);
    expect(r.stderr).toContain('the file was left untouched');
    expect(await readFile(ws.statePath, 'utf8')).toBe(newer);
    expect(await jobCount()).toBe(before);
  });

  it('a lock held by another process: exit 1 showing the holder and its age; once it is gone, apply proceeds', async () => {
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests(jobsFor(1, 3));
    const holder = await holdLock(ws.statePath);
    const r = await ws.run(['apply', '-f', m, '--auto-approve']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Error [state-locked]: the state at ${ws.statePath} is locked: lock ${holder.info.id}, held by pid ${holder.info.holder.pid} on ${holder.info.holder.host} for "a test holding the lock" since ${holder.info.created} (`);
    expect(r.stderr).toMatch(/\(\d+s ago, lease until /);
    expect(r.stderr).toContain(`sms-reconcile force-unlock ${holder.info.id}`);
    expect(await jobCount()).toBe(0);
    // kill -9 of the holder: its lock is taken over at once (its pid is dead on this host).
    holder.proc.kill('SIGKILL');
    await holder.proc.exited;
    const ok = await ws.run(['apply', '-f', m, '--auto-approve']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(createdLines(ok.stdout)).toBe(3);
  });
});

describe('bad plan files', () => {
  it('a plan file edited by hand: exit 1, modified; nothing is changed', async () => {
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests(jobsFor(1, 3, { description: 'planned' }));
    expect((await ws.run(['plan', '-f', m, '--out', 'plan.json'])).code).toBe(0);
    const file = `${ws.dir}/plan.json`;
    const text = await readFile(file, 'utf8');
    expect(text).toContain('"description": "planned"');
    await writeFile(file, text.replace('"description": "planned"', '"description": "edited"'));
    const r = await ws.run(['apply', 'plan.json', '--auto-approve']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Error [plan-file-modified]: plan.json was modified after it was written (its checksum does not match)');
    expect(await jobCount()).toBe(0);
  });

  it('a plan file for other manifests: exit 1, stale because the manifests at its paths differ (or cannot be read)', async () => {
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests(jobsFor(1, 3));
    expect((await ws.run(['plan', '-f', m, '--out', 'plan.json'])).code).toBe(0);
    const plan = await readFile(`${ws.dir}/plan.json`, 'utf8');
    // The manifests at the plan's paths are now other manifests.
    await ws.writeManifests(jobsFor(4, 6));
    const r = await ws.run(['apply', 'plan.json', '--auto-approve']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('The saved plan plan.json is stale:\n  - the manifests changed since the plan (their digest differs)\n');
    expect(r.stderr).toContain('Error [plan-stale]');
    // The plan taken to a directory without its manifests.
    const elsewhere = await workspace(endpoint, 'elsewhere');
    await writeFile(`${elsewhere.dir}/plan.json`, plan);
    const r2 = await elsewhere.run(['apply', 'plan.json', '--auto-approve']);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain('  - the manifests the plan was made from cannot be read here');
    expect(await jobCount()).toBe(0);
  });

  it('a plan file for another target: exit 1, stale because the target differs; a state of another target is refused too', async () => {
    const other = await server();
    extra.push(other.t);
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests(jobsFor(1, 3));
    expect((await ws.run(['plan', '-f', m, '--out', 'plan.json'])).code).toBe(0);
    const otherEnv = { AWS_ACCESS_KEY_ID: other.endpoint.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: other.endpoint.credentials.secretAccessKey };
    const r = await ws.run(['apply', 'plan.json', '--auto-approve'], { endpointUrl: other.endpoint.url, env: otherEnv });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`  - the target differs: the plan was made against remote ${endpoint.url} (us-east-1), this is remote ${other.endpoint.url} (us-east-1)`);
    expect(await jobCount(other.api)).toBe(0);

    expect((await ws.run(['apply', '-f', m, '--auto-approve'])).code).toBe(0);
    const text = await readFile(ws.statePath, 'utf8');
    const r2 = await ws.run(['apply', '-f', m, '--auto-approve'], { endpointUrl: other.endpoint.url, env: otherEnv });
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain(`Error [state-target-mismatch]: the state at ${ws.statePath} belongs to remote ${endpoint.url} (us-east-1), not to remote ${other.endpoint.url} (us-east-1)`);
    expect(await readFile(ws.statePath, 'utf8')).toBe(text);
    expect(await jobCount(other.api)).toBe(0);
    other.api.destroy();
  });
});

describe('a remote error mid-apply', () => {
  const slowCreates = { actions: ['CreateReplicationJob'], latencyMs: 150 } as const;

  /** Starts applying 30 creates; once `after` are done, `fault` runs. Returns the finished run. */
  async function applyWithFault(ws: Workspace, m: string, after: number, fault: () => Promise<void>, flags: readonly string[] = []) {
    await t.control.setFaults(slowCreates);
    const p = ws.spawn(['apply', '-f', m, '--auto-approve', ...flags]);
    await p.waitForStdout((out) => createdLines(out) >= after);
    await fault();
    return p.waitForExit(120_000);
  }

  it('a definite refusal (no healthy connector): exit 1 naming every refused create (the others went on); after the fix, apply converges', async () => {
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests(jobsFor(1, 30));
    const r = await applyWithFault(ws, m, 6, () => t.control.setConnectorStatus(connectorId(1), 'UNHEALTHY'));
    expect(r.code).toBe(1);
    const done = createdLines(r.stdout);
    expect(done).toBeGreaterThanOrEqual(6);
    expect(done).toBeLessThan(30);
    // Keep going: every create was tried; each one after the connector went away was refused, once.
    expect(r.stdout).toMatch(new RegExp(`\\nApply failed after \\d+\\.\\ds: ${done} created, 0 updated, 0 replaced, 0 deleted, 0 adopted, 0 moved, 0 runs started, ${30 - done} failed, 0 skipped\\.\\n`));
    expect(r.stdout.match(/^ {2}ReplicationJob\/job-\d{4} \(VM gen-\d{4}\): CreateReplicationJob: NoConnectorsAvailableException: .* \(the next apply retries it\)$/gm)).toHaveLength(30 - done);
    expect(r.stdout).not.toContain('Not started');
    expect(r.stdout).toContain('Everything done is recorded in the state; run apply again to finish');
    // Recorded: exactly the jobs that exist; no intent left pending (the refusals were definite).
    const state = await readState(ws);
    const live = await api.getReplicationJobs();
    expect(Object.values(state.resources).map((x) => x.replicationJobId).sort()).toEqual(live.map((j) => j.replicationJobId).sort());
    expect(live.length).toBe(done);
    expect(state.pending).toEqual([]);

    await t.control.setFaults({});
    await t.control.setConnectorStatus(connectorId(1), 'HEALTHY');
    const again = await ws.run(['apply', '-f', m, '--auto-approve']);
    expect(again.code, again.stderr).toBe(0);
    expect(createdLines(again.stdout)).toBe(30 - done);
    const byServer = await liveJobsByServer(api);
    expect(byServer.size).toBe(30);
    for (const jobs of byServer.values()) expect(jobs.length).toBe(1);
    expect((await ws.run(['plan', '-f', m, '--detailed-exitcode'])).code).toBe(0);
  });

  it('an unknown outcome (500s past the retry budget, --fail-fast): exit 1, the intents stay pending; the next apply recovers them and converges', async () => {
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests(jobsFor(1, 30));
    // --fail-fast: the creates already running use up their retry budgets; no other starts.
    const r = await applyWithFault(ws, m, 6, () => t.control.setFaults({ actions: ['CreateReplicationJob'], errors: { InternalError: 1 } }), ['--fail-fast']);
    expect(r.code).toBe(1);
    const done = createdLines(r.stdout);
    expect(r.stdout).toMatch(/Apply failed after \d+\.\ds: \d+ created, .* not started\./);
    expect(r.stdout).toMatch(/ {2}ReplicationJob\/job-\d{4} \(VM gen-\d{4}\): CreateReplicationJob: InternalError: .*\(gave up after \d+ attempts\) \(the outcome is unknown: the next apply checks whether it happened, and retries it if not\)/);
    const state = await readState(ws);
    expect(state.pending.length).toBeGreaterThanOrEqual(1);
    expect(state.pending.every((p) => p.operation === 'CreateReplicationJob')).toBe(true);
    expect(Object.keys(state.resources).length).toBe(done);
    expect(await jobCount()).toBe(done);

    await t.control.setFaults({});
    const again = await ws.run(['apply', '-f', m, '--auto-approve']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`Recovering ${state.pending.length} operation(s) an earlier run left unfinished...`);
    expect(again.stdout).toMatch(/CreateReplicationJob: no job was created for server s-[0-9a-f]{8}: the next plan creates it/);
    expect(createdLines(again.stdout)).toBe(30 - done);
    const byServer = await liveJobsByServer(api);
    expect(byServer.size).toBe(30);
    for (const jobs of byServer.values()) expect(jobs.length).toBe(1);
    const final = await readState(ws);
    expect(final.pending).toEqual([]);
    expect(Object.keys(final.resources).length).toBe(30);
    expect((await ws.run(['plan', '-f', m, '--detailed-exitcode'])).code).toBe(0);
  });
});
