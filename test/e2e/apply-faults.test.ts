/**
 * An apply of 200 creates under the server's faults (issue 5: "20% throttling, 5% 500s"): every
 * job is created exactly once. The real binary as a subprocess against the embedded server run by
 * the test; the server's answers are counted from its request log (one debug line per request).
 * Every request has a 20% chance of ThrottlingException and a 5% chance of InternalError
 * (src/server/faults.ts `errors`), whatever the rate the client's adaptive limiter settles at.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SdkSmsApi } from '../../src/sms/client.ts';
import { decodeState } from '../../src/state/codec.ts';
import { closeImportedServer, removeWorkspaces, liveJobsByServer, requestLog, startImportedServer, workspace, type Endpoint, type RequestLog } from '../helpers/apply-cli.ts';
import { genVm, jobDoc } from '../helpers/apply-harness.ts';
import type { TestServer } from '../helpers/server.ts';

const JOBS = 200;
const PARALLELISM = process.env['APPLY_FAULTS_PARALLELISM'] ?? '8';

let t: TestServer;
let endpoint: Endpoint;
let api: SdkSmsApi;
let log: RequestLog;

beforeEach(async () => {
  log = requestLog();
  ({ t, endpoint, api } = await startImportedServer(JOBS + 10, { logger: log.logger }));
});

afterAll(() => removeWorkspaces());

afterEach(() => closeImportedServer({ t, api }));

describe('apply under faults', () => {
  it(`creates ${JOBS} jobs exactly once under 20% ThrottlingException and 5% InternalError`, { timeout: 180_000 }, async () => {
    const ws = await workspace(endpoint);
    // gen-0001..0099 and gen-0100..0199 by two job sets, gen-0200 by its own document.
    const set = (name: string, vmNameGlob: string) => ({
      apiVersion: 'sms-reconcile/v1',
      kind: 'ReplicationJobSet',
      metadata: { name },
      spec: { template: { frequency: 12, description: 'under faults' }, match: { vmNameGlob } },
    });
    const m = await ws.writeManifests([set('first', 'gen-00*'), set('second', 'gen-01*'), jobDoc('last', genVm(200), { frequency: 12, description: 'under faults' })]);
    await t.control.setFaults({ errors: { ThrottlingException: 0.2, InternalError: 0.05 } });
    log.reset();
    const started = performance.now();
    const r = await ws.run(['apply', '-f', m, '--auto-approve', '--parallelism', PARALLELISM, '--max-concurrent-jobs', '1000'], { timeoutMs: 170_000 });
    const seconds = (performance.now() - started) / 1000;
    expect(r.code, r.stdout.slice(-2000) + r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`Apply complete: ${JOBS} created, 0 updated`));

    const creates = log.count('CreateReplicationJob');
    const ok = log.count('CreateReplicationJob', { status: 200 });
    const throttled = log.count('CreateReplicationJob', { error: 'ThrottlingException' });
    const internal = log.entries.filter((e) => e.error === 'InternalError').length;
    const summary = { seconds: Number(seconds.toFixed(1)), creates, ok, throttled, throttledShare: Number((throttled / creates).toFixed(3)), internalErrors: internal, requests: log.entries.length };
    console.info(`apply under faults: ${JSON.stringify(summary)}`);
    // Exactly once: 200 successful CreateReplicationJob answers, one live job per server.
    expect(ok).toBe(JOBS);
    expect(throttled / creates).toBeGreaterThanOrEqual(0.12);
    expect(throttled / creates).toBeLessThanOrEqual(0.3);
    expect(internal).toBeGreaterThan(0);
    const byServer = await liveJobsByServer(api);
    const vms = [...byServer.values()].map((jobs) => {
      expect(jobs.length).toBe(1);
      return jobs[0]?.vmServer?.vmName ?? '';
    });
    expect(vms.sort()).toEqual(Array.from({ length: JOBS }, (_, i) => genVm(i + 1)));
    const state = decodeState(await readFile(ws.statePath, 'utf8'));
    expect(state.pending).toEqual([]);
    expect(Object.values(state.resources).map((x) => x.replicationJobId).sort()).toEqual([...byServer.values()].map((j) => j[0]?.replicationJobId).sort());

    await t.control.setFaults({});
    expect((await ws.run(['plan', '-f', m, '--detailed-exitcode', '--max-concurrent-jobs', '1000'])).code).toBe(0);
  });
});
