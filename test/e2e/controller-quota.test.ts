/**
 * The controller and the quota (issue 25): it creates new jobs as slots free up. Five servers, an
 * account that allows three jobs: the controller creates three and lists two as pending; once two
 * of the three have replicated and are cut over (a commit of the manifests, nothing else), it
 * retires them and creates the two that waited, in one cycle. The real binary against an embedded
 * server run by the test (manual clock; deletes settle at once); no create is ever refused.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SdkSmsApi } from '../../src/sms/client.ts';
import { closeImportedServer, removeWorkspaces, requestLog, startImportedServer, workspace, type Endpoint, type RequestLog } from '../helpers/apply-cli.ts';
import { jobsFor } from '../helpers/apply-harness.ts';
import { startController } from '../helpers/controller.ts';
import type { TestServer } from '../helpers/server.ts';

let t: TestServer;
let endpoint: Endpoint;
let api: SdkSmsApi;
let log: RequestLog;

beforeEach(async () => {
  log = requestLog();
  ({ t, endpoint, api } = await startImportedServer(5, { logger: log.logger, settings: { maxConcurrentJobs: 3, runSeconds: 20, deleteSeconds: 0 } }));
});
afterEach(() => closeImportedServer({ t, api }));
afterAll(() => removeWorkspaces());

const live = async () => (await api.getReplicationJobs()).filter((j) => j.state !== 'DELETED').map((j) => j.vmServer?.vmName ?? '').sort();

describe('controller: quota', { timeout: 180_000 }, () => {
  it('creates within the quota, then creates the waiting jobs in the slots that cut-over jobs free', async () => {
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests(jobsFor(1, 5, { frequency: 12 }));
    const c = await startController(ws, m, ['--max-concurrent-jobs', '3']);
    const first = await c.waitForStatus((s) => s.lastCycle?.result === 'success' && s.jobs.length === 3);
    expect(first.pending.filter((p) => p.action === 'create').map((p) => p.address)).toEqual(['ReplicationJob/job-0004', 'ReplicationJob/job-0005']);
    expect(await live()).toEqual(['gen-0001', 'gen-0002', 'gen-0003']);
    await t.advance(30); // the seed runs complete

    await ws.writeManifests(jobsFor(1, 5, { frequency: 12 }).map((d, i) => (i < 2 ? { ...d, spec: { ...(d['spec'] as object), cutover: true } } : d)));
    await c.waitForStatus((s) => s.lastCycle?.result === 'success' && s.jobs.length === 3 && s.pending.length === 0, 90_000);
    expect(await live()).toEqual(['gen-0003', 'gen-0004', 'gen-0005']);
    expect(log.count('CreateReplicationJob')).toBe(5);
    expect(log.entries.filter((e) => e.error !== undefined && e.error !== '')).toEqual([]);
  });
});
