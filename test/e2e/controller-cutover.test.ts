/**
 * The controller and cutover (issue 25): committing `cutover: true` is all a person does; the
 * controller retires the job in apply mode (no --allow-destroy: a retire is not destructive), the
 * state records the server as migrated, and the 90-day gauge counts the jobs near their end. The
 * real binary against an embedded server run by the test (manual clock; deletes settle at once).
 */
import { readFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SdkSmsApi } from '../../src/sms/client.ts';
import { decodeState } from '../../src/state/codec.ts';
import { closeImportedServer, removeWorkspaces, startImportedServer, workspace, type Endpoint } from '../helpers/apply-cli.ts';
import { jobsFor } from '../helpers/apply-harness.ts';
import { startController } from '../helpers/controller.ts';
import type { TestServer } from '../helpers/server.ts';

const DAY = 86_400;
let t: TestServer;
let endpoint: Endpoint;
let api: SdkSmsApi;

beforeEach(async () => {
  ({ t, endpoint, api } = await startImportedServer(3, { settings: { maxConcurrentJobs: 1000, runSeconds: 20, deleteSeconds: 0 } }));
});
afterEach(() => closeImportedServer({ t, api }));
afterAll(() => removeWorkspaces());

const gauge = (text: string, within: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`sms_reconcile_jobs_expiring{within="${within}"} `));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
};

describe('controller: cutover', { timeout: 180_000 }, () => {
  it('committing cutover flags retires the jobs without a person; the gauge counts the jobs within 15 and 7 days of their end', async () => {
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests(jobsFor(1, 3, { frequency: 12 }));
    const c = await startController(ws, m);
    await c.waitForStatus((s) => s.lastCycle?.result === 'success' && s.jobs.length === 3);
    await t.advance(30); // the seed runs complete

    // Two of the three servers are cut over: a commit of the manifests, nothing else.
    await ws.writeManifests(jobsFor(1, 3, { frequency: 12 }).map((d, i) => (i === 2 ? d : { ...d, spec: { ...(d['spec'] as object), cutover: true } })));
    const done = await c.waitForStatus((s) => s.lastCycle?.result === 'success' && s.jobs.length === 1, 90_000);
    expect(done.jobs.map((j) => j.address)).toEqual(['ReplicationJob/job-0003']);
    const state = decodeState(await readFile(ws.statePath, 'utf8'));
    for (const a of ['ReplicationJob/job-0001', 'ReplicationJob/job-0002']) expect(state.resources[a]?.migrated?.amiId, a).toMatch(/^ami-/);
    expect((await api.getReplicationJobs()).filter((j) => j.state !== 'DELETED')).toHaveLength(1);

    expect(gauge((await c.get('/metrics')).text, '15d')).toBe(0);
    await t.advance(80 * DAY);
    await expect.poll(async () => gauge((await c.get('/metrics')).text, '15d'), { timeout: 30_000, interval: 200 }).toBe(1);
    expect(gauge((await c.get('/metrics')).text, '7d')).toBe(0);
    await t.advance(4 * DAY);
    await expect.poll(async () => gauge((await c.get('/metrics')).text, '7d'), { timeout: 30_000, interval: 200 }).toBe(1);
  });
});
