/**
 * `sms-reconcile controller` end to end: the real binary as subprocesses against the embedded
 * server run by the test (manual clock, catalog imported), through `--endpoint-url`, each test with
 * its own server, work directory and `--state` file. Controllers run with a 1 s interval; the tests
 * wait for events by polling /status with generous timeouts, and assert no elapsed time.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { chmod, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SdkSmsApi } from '../../src/sms/client.ts';
import { closeImportedServer, expectOneJobPerGeneratedServer, holdLock, removeWorkspaces, startImportedServer, workspace, type Endpoint } from '../helpers/apply-cli.ts';
import { jobsFor } from '../helpers/apply-harness.ts';
import { logEvents, startController } from '../helpers/controller.ts';
import { freePort, inCi } from '../helpers/pg.ts';
import type { TestServer } from '../helpers/server.ts';

let t: TestServer;
let endpoint: Endpoint;
let api: SdkSmsApi;

beforeEach(async () => {
  ({ t, endpoint, api } = await startImportedServer(8));
});
afterEach(() => closeImportedServer({ t, api }));
afterAll(() => removeWorkspaces());

const metricValue = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe('controller: leader election on one file state', { timeout: 180_000 }, () => {
  it('one leads; the other is healthy, not ready, leader 0; after kill -9 of the leader the standby leads, with one job per server', async () => {
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests(jobsFor(1, 4, { frequency: 12 }));
    const a = await startController(ws, m);
    const sa = await a.waitForStatus((s) => s.leader && s.lastCycle?.result === 'success');
    expect(sa.holder).toBe(sa.identity);
    const b = await startController(ws, m);
    const sb = await b.waitForStatus((s) => s.holder === sa.identity);
    expect(sb.leader).toBe(false);
    expect(sb.lastCycle).toBeNull();
    expect((await a.get('/readyz')).status).toBe(200);
    expect((await b.get('/healthz')).status).toBe(200);
    expect((await b.get('/readyz')).status).toBe(503);
    expect(metricValue((await b.get('/metrics')).text, 'sms_reconcile_leader')).toBe(0);
    expect(metricValue((await a.get('/metrics')).text, 'sms_reconcile_leader')).toBe(1);
    await expectOneJobPerGeneratedServer(api, 4);

    a.proc.kill('SIGKILL');
    await a.proc.exited;
    // More jobs while nobody leads: the new leader must create exactly these.
    await ws.writeManifests(jobsFor(1, 6, { frequency: 12 }));
    const taken = await b.waitForStatus((s) => s.leader && s.lastCycle?.result === 'success' && s.jobs.length === 6, 90_000);
    expect(taken.holder).toBe(taken.identity);
    expect((await b.get('/readyz')).status).toBe(200);
    await expectOneJobPerGeneratedServer(api, 6);
    const changes = logEvents(b.proc.stderr(), 'controller.leadership');
    expect(changes.at(-1)).toMatchObject({ leader: true, previousHolder: sa.identity, holder: taken.identity });
  });
});

describe('controller: cycles', { timeout: 180_000 }, () => {
  it('undoes drift made with the SDK; logs one line per cycle', async () => {
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests(jobsFor(1, 2, { frequency: 12, description: 'managed' }));
    const c = await startController(ws, m);
    const first = await c.waitForStatus((s) => s.lastCycle?.result === 'success' && s.jobs.length === 2);
    const job = first.jobs[0];
    const id = (await api.getReplicationJobs()).find((j) => j.description === 'managed')?.replicationJobId;
    expect(job && id).toBeTruthy();
    await api.updateReplicationJob({ replicationJobId: id ?? '', description: 'changed in the console' });
    await c.waitForStatus(() => true);
    await expect
      .poll(async () => (await api.getReplicationJob(id ?? ''))?.description, { timeout: 60_000, interval: 200 })
      .toBe('managed');
    // The job is put back before the cycle that did it logs its line: wait for the line too.
    await expect
      .poll(() => logEvents(c.proc.stderr(), 'controller.cycle').some((l) => l['drift'] === 1 && l['result'] === 'success'), { timeout: 60_000, interval: 200 })
      .toBe(true);
    const cycles = logEvents(c.proc.stderr(), 'controller.cycle');
    for (const l of cycles) expect(Object.keys(l)).toEqual(expect.arrayContaining(['result', 'revision', 'durationMs', 'changes', 'drift']));
  });

  it('a broken manifest makes an invalid cycle that changes nothing, with its diagnostics in /status; fixed, the next cycle succeeds', async () => {
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests(jobsFor(1, 2, { frequency: 12, colour: 'blue' }));
    const c = await startController(ws, m);
    const bad = await c.waitForStatus((s) => s.lastCycle?.result === 'invalid');
    expect(bad.lastCycle?.errors[0]?.code).toBe('manifest-invalid');
    expect(bad.lastCycle?.errors[0]?.detail).toMatch(/colour/);
    expect((await api.getReplicationJobs()).length).toBe(0);
    await expect.poll(() => logEvents(c.proc.stderr(), 'controller.cycle-error').some((l) => String(l['detail']).includes('colour')), { timeout: 30_000, interval: 100 }).toBe(true);
    await ws.writeManifests(jobsFor(1, 2, { frequency: 12 }));
    await c.waitForStatus((s) => s.lastCycle?.result === 'success' && s.jobs.length === 2);
    await expectOneJobPerGeneratedServer(api, 2);
  });

  it('observe mode reports drift and pending changes and changes nothing', async () => {
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests(jobsFor(1, 2, { frequency: 12, description: 'managed' }));
    const applied = await ws.run(['apply', '-f', m, '--auto-approve']);
    expect(applied.code, applied.stderr).toBe(0);
    const id = (await api.getReplicationJobs())[0]?.replicationJobId ?? '';
    await api.updateReplicationJob({ replicationJobId: id, description: 'changed in the console' });
    await ws.writeManifests(jobsFor(1, 3, { frequency: 12, description: 'managed' }));
    const c = await startController(ws, m, ['--mode', 'observe']);
    const s = await c.waitForStatus((x) => x.lastCycle?.result === 'success');
    expect(s.drift.length).toBeGreaterThanOrEqual(1);
    expect(s.pending.map((p) => [p.action, p.why])).toEqual(expect.arrayContaining([['create', 'observe-mode'], ['update', 'observe-mode']]));
    const metrics = (await c.get('/metrics')).text;
    expect(metricValue(metrics, 'sms_reconcile_drift_resources')).toBeGreaterThanOrEqual(1);
    expect(metricValue(metrics, 'sms_reconcile_pending_changes{action="create"}')).toBe(1);
    await c.waitForStatus((x) => x.lastCycle !== null && Date.parse(x.lastCycle.startedAt) > Date.parse(s.lastCycle?.startedAt ?? ''));
    expect((await api.getReplicationJob(id))?.description).toBe('changed in the console');
    expect((await api.getReplicationJobs()).length).toBe(2);
    // Reads only: the controller's own count of its API calls names no mutating operation.
    const calls = (await c.get('/metrics')).text.split('\n').filter((l) => l.startsWith('sms_reconcile_api_requests_total{'));
    expect(calls.some((l) => l.includes('operation="GetReplicationJobs"'))).toBe(true);
    expect(calls.filter((l) => /operation="(Create|Update|Delete|Start|Import|Disassociate)/.test(l))).toEqual([]);
  });

  it('without --allow-destroy a delete is reported pending and not done', async () => {
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests(jobsFor(1, 2, { frequency: 12 }));
    expect((await ws.run(['apply', '-f', m, '--auto-approve'])).code).toBe(0);
    await ws.writeManifests(jobsFor(1, 1, { frequency: 12 }));
    const c = await startController(ws, m);
    const s = await c.waitForStatus((x) => x.lastCycle?.result === 'success');
    expect(s.pending).toEqual([expect.objectContaining({ action: 'delete', why: 'destroy-not-allowed' })]);
    expect((await api.getReplicationJobs()).filter((j) => j.state !== 'DELETED' && j.state !== 'DELETING').length).toBe(2);
  });
});

describe('controller: failures at run time', { timeout: 180_000 }, () => {
  it('an unreachable endpoint makes failed cycles, retried with backoff', async () => {
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests(jobsFor(1, 1));
    const c = await startController(ws, m, ['--interval', '1m', '--retry-interval', '200ms'], { endpointUrl: `http://127.0.0.1:${await freePort()}` });
    const s = await c.waitForStatus((x) => x.consecutiveFailures >= 3);
    expect(s.lastCycle?.result).toBe('failed');
    expect(s.lastCycle?.errors[0]?.code).toBe('endpoint-unreachable');
    expect((await c.get('/healthz')).status).toBe(200);
    expect(metricValue((await c.get('/metrics')).text, 'sms_reconcile_reconcile_total{result="failed"}')).toBeGreaterThanOrEqual(3);
  });

  it('a state lock held by a manual apply: the cycle fails with state-locked and never breaks it; once its holder is gone, the next cycle applies', async () => {
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests(jobsFor(1, 2, { frequency: 12 }));
    const holder = await holdLock(ws.statePath);
    const c = await startController(ws, m);
    const s = await c.waitForStatus((x) => x.lastCycle?.result === 'failed');
    expect(s.lastCycle?.errors[0]).toMatchObject({ code: 'state-locked' });
    expect(s.lastCycle?.errors[0]?.message).toContain(String(holder.info.holder.pid));
    expect((await api.getReplicationJobs()).length).toBe(0);
    holder.proc.kill('SIGTERM');
    await holder.proc.exited;
    await c.waitForStatus((x) => x.lastCycle?.result === 'success' && x.jobs.length === 2);
    await expectOneJobPerGeneratedServer(api, 2);
  });
});

describe('controller: signals', { timeout: 120_000 }, () => {
  it('SIGTERM exits 0; apply --lock-timeout 0s then takes the lock at once and plan shows no changes', async () => {
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests(jobsFor(1, 3, { frequency: 12 }));
    const c = await startController(ws, m);
    await c.waitForStatus((s) => s.lastCycle?.result === 'success' && s.jobs.length === 3);
    c.proc.kill('SIGTERM');
    const exit = await c.proc.waitForExit(30_000);
    expect(exit.code, exit.stderr).toBe(0);
    expect(logEvents(exit.stderr, 'controller.stopped').length).toBe(1);
    const apply = await ws.run(['apply', '-f', m, '--auto-approve', '--lock-timeout', '0s']);
    expect(apply.code, apply.stderr).toBe(0);
    const plan = await ws.run(['plan', '-f', m, '--detailed-exitcode']);
    expect(plan.code, plan.stdout + plan.stderr).toBe(0);
  });
});

describe('controller: signals during an apply', { timeout: 180_000 }, () => {
  // 8 creates at 1 s each, 2 at a time: the apply takes ~4 s; the signal comes after the first two.
  const slow = { actions: ['CreateReplicationJob'], latencyMs: 1_000 } as const;

  it('SIGTERM mid-apply lets running operations finish, exits 0, and leaves a state the next apply finishes with one job per server', async () => {
    await t.control.setFaults(slow);
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests(jobsFor(1, 8, { frequency: 12 }));
    const c = await startController(ws, m, ['--parallelism', '2']);
    await expect.poll(() => logEvents(c.proc.stderr(), 'controller.operation-done').length, { timeout: 60_000, interval: 20 }).toBeGreaterThan(0);
    c.proc.kill('SIGTERM');
    const exit = await c.proc.waitForExit(30_000);
    expect(exit.code, exit.stderr).toBe(0);
    // It stopped mid-apply: the creates not started were left for the next run.
    expect(logEvents(exit.stderr, 'controller.operation-done').length).toBeLessThan(8);
    const apply = await ws.run(['apply', '-f', m, '--auto-approve', '--lock-timeout', '0s']);
    expect(apply.code, apply.stderr).toBe(0);
    await expectOneJobPerGeneratedServer(api, 8);
  });

  it('a second signal exits at once', async () => {
    await t.control.setFaults({ actions: ['CreateReplicationJob'], latencyMs: 5_000 });
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests(jobsFor(1, 8, { frequency: 12 }));
    const c = await startController(ws, m, ['--log-level', 'debug']);
    // Creates are in flight (each takes 5 s): the first signal waits for them.
    await expect.poll(() => logEvents(c.proc.stderr(), 'apply.start').length, { timeout: 60_000, interval: 50 }).toBeGreaterThan(0);
    c.proc.kill('SIGTERM');
    await expect.poll(() => logEvents(c.proc.stderr(), 'controller.stopping').length, { timeout: 30_000, interval: 50 }).toBe(1);
    c.proc.kill('SIGTERM');
    const exit = await c.proc.waitForExit(30_000);
    expect(exit.code, exit.stderr).toBe(130);
    expect(logEvents(exit.stderr, 'controller.exit-now').length).toBe(1);
  });
});

describe('controller: webhook', { timeout: 120_000 }, () => {
  it('refuses unsigned and wrongly signed requests (401, no cycle) and accepts a signed one (a cycle runs)', async () => {
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests(jobsFor(1, 1, { frequency: 12 }));
    const secretFile = join(ws.dir, 'webhook-secret');
    await writeFile(secretFile, 's3cret\n', { mode: 0o600 });
    const c = await startController(ws, m, ['--interval', '1h', '--webhook-secret-file', secretFile]);
    const first = await c.waitForStatus((s) => s.lastCycle?.result === 'success');
    const body = JSON.stringify({ ref: 'refs/heads/main' });
    const post = (headers: Record<string, string>) => fetch(`${c.url}/reconcile`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
    expect((await post({})).status).toBe(401);
    expect((await post({ 'x-hub-signature-256': `sha256=${createHmac('sha256', 'wrong').update(body).digest('hex')}` })).status).toBe(401);
    expect((await post({ 'x-hub-signature-256': 'sha256=zz' })).status).toBe(401);
    expect((await c.status()).lastCycle?.startedAt).toBe(first.lastCycle?.startedAt);
    const ok = await post({ 'x-hub-signature-256': `sha256=${createHmac('sha256', 's3cret').update(body).digest('hex')}` });
    expect(ok.status).toBe(202);
    await c.waitForStatus((s) => s.lastCycle !== null && s.lastCycle.startedAt !== first.lastCycle?.startedAt);
    expect((await c.get('/nope')).status).toBe(404);
    const big = await fetch(`${c.url}/reconcile`, { method: 'POST', body: 'x'.repeat(2 * 1024 * 1024) });
    expect(big.status).toBe(413);
  });
});

describe('controller: bad input at start exits 2 naming the flag', { timeout: 120_000 }, () => {
  it('--interval, --listen, --lease-ttl, a port in use, a missing or readable secret file', async () => {
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests(jobsFor(1, 1));
    const readable = join(ws.dir, 'readable-secret');
    await writeFile(readable, 'x\n');
    await chmod(readable, 0o644);
    const empty = join(ws.dir, 'empty-secret');
    await writeFile(empty, '\n', { mode: 0o600 });
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const busyPort = (busy.address() as { port: number }).port;
    try {
      const cases: [string[], RegExp][] = [
        [['--interval', 'often'], /--interval/],
        [['--listen', 'localhost'], /--listen/],
        [['--lease-ttl', 'soon'], /--lease-ttl/],
        [['--listen', `127.0.0.1:${busyPort}`], /--listen 127\.0\.0\.1:\d+: the port is in use/],
        [['--webhook-secret-file', join(ws.dir, 'missing')], /--webhook-secret-file .*no such file/],
        [['--webhook-secret-file', readable], /--webhook-secret-file .*readable by group or others/],
        [['--webhook-secret-file', empty], /--webhook-secret-file .*empty/],
      ];
      const results = await Promise.all(cases.map(([args]) => ws.run(['controller', '-f', m, '--listen', '127.0.0.1:0', ...args])));
      results.forEach((r, i) => {
        expect(r.code, `${cases[i]?.[0].join(' ')}: ${r.stderr}`).toBe(2);
        expect(r.stderr).toMatch(cases[i]?.[1] ?? /never/);
      });
    } finally {
      busy.close();
    }
  });
});

/** promtool (Debian's prometheus package), or undefined when it is not installed. */
function promtool(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

describe('controller: /metrics', { timeout: 120_000 }, () => {
  const tool = promtool();
  if (tool === undefined && !inCi()) {
    it.skip('promtool check metrics accepts /metrics (skipped: promtool is not installed; apt-get install prometheus)', () => undefined);
    return;
  }
  it('promtool check metrics accepts /metrics after a cycle; no series carries a job label', async () => {
    expect(tool, 'CI installs promtool (.ci/run)').toBeDefined();
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests(jobsFor(1, 2, { frequency: 12 }));
    const c = await startController(ws, m);
    await c.waitForStatus((s) => s.lastCycle?.result === 'success' && s.jobs.length === 2);
    const text = (await c.get('/metrics')).text;
    for (const name of [
      'sms_reconcile_build_info', 'sms_reconcile_leader', 'sms_reconcile_reconcile_total', 'sms_reconcile_reconcile_duration_seconds_bucket',
      'sms_reconcile_last_success_timestamp_seconds', 'sms_reconcile_drift_resources', 'sms_reconcile_pending_changes', 'sms_reconcile_jobs',
      'sms_reconcile_api_requests_total', 'sms_reconcile_jobs_expiring{within="7d"}', 'sms_reconcile_jobs_expiring{within="15d"}',
    ]) expect(text).toContain(name);
    expect(text).not.toMatch(/address=|replicationJobId=|serverId=/);
    // The process's memory, read at the scrape: a resident size of some megabytes, more than the heap in use.
    const value = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value('process_resident_memory_bytes')).toBeGreaterThan(10 * 1048576);
    expect(value('process_resident_memory_bytes')).toBeGreaterThan(value('nodejs_heap_size_used_bytes'));
    expect(value('nodejs_heap_size_total_bytes')).toBeGreaterThanOrEqual(value('nodejs_heap_size_used_bytes'));
    expect(value('nodejs_external_memory_bytes')).toBeGreaterThan(0);
    const checked = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const p = execFile(tool ?? 'promtool', ['check', 'metrics'], (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: stdout + stderr }));
      p.stdin?.end(text);
    });
    expect(checked.out).toBe('');
    expect(checked.code).toBe(0);
  });
});
