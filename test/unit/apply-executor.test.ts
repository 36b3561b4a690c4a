/**
 * The executor (src/reconcile/apply.ts) driven directly: applyPlan and recover with the real
 * SdkSmsApi over HTTP against the embedded server (manual clock), the memory state store and a
 * clock whose sleep moves the server's clock. Nothing sleeps for real for the lifecycle: waits for
 * the catalog and for DELETED advance the server's clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runMarker } from '../../src/reconcile/apply.ts';
import { isDeferred } from '../../src/reconcile/change.ts';
import type { ApplyEvent } from '../../src/reconcile/ports.ts';
import type { ReplicationJobInfo } from '../../src/sms/api.ts';
import {
  catalogDoc, concurrencyOf, connectorDoc, genVm, importCatalog, jobDoc, jobsFor, startHarness, type Harness, type ManifestDoc,
} from '../helpers/apply-harness.ts';
import { connectorId, generatedInventory } from '../helpers/sms-world.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function harness(...args: Parameters<typeof startHarness>): Promise<Harness> {
  h = await startHarness(...args);
  return h;
}

const addressOf = (n: number): string => `ReplicationJob/job-${String(n).padStart(4, '0')}`;

/** The serverId of generated VM n. */
async function serverOf(hh: Harness, n: number): Promise<string> {
  const s = (await hh.api.getServers()).servers.find((x) => x.vmServer.vmName === genVm(n));
  if (!s) throw new Error(`no server for ${genVm(n)}`);
  return s.serverId;
}

function jobsByServer(jobs: readonly ReplicationJobInfo[]): Map<string, ReplicationJobInfo[]> {
  const out = new Map<string, ReplicationJobInfo[]>();
  for (const j of jobs) out.set(j.serverId, [...(out.get(j.serverId) ?? []), j]);
  return out;
}

/** The index of each phase event, and the phase each operation started in. */
function phasesOf(events: readonly ApplyEvent[]): { order: string[]; startedIn: Map<string, string>; phaseAt: number[] } {
  const order: string[] = [];
  const phaseAt: number[] = [];
  const startedIn = new Map<string, string>();
  events.forEach((e, i) => {
    if (e.type === 'phase') {
      order.push(e.phase);
      phaseAt.push(i);
    }
    if (e.type === 'start' || (e.type === 'done' && e.ms === 0)) startedIn.set(`${e.change.address} ${e.operation}`, order.at(-1) ?? '');
  });
  return { order, startedIn, phaseAt };
}

/** Every effective change of a fresh plan is a no-op. */
async function expectConverged(hh: Harness, docs: readonly ManifestDoc[]): Promise<void> {
  const again = await hh.plan(docs);
  expect(again.changes.filter((c) => c.action !== 'no-op').map((c) => `${c.action} ${c.address}`)).toEqual([]);
}

describe('applyPlan: order', () => {
  it('imports the catalog first, waits for AVAILABLE, then creates the jobs that waited for it (replan)', async () => {
    const hh = await harness({ vms: 4 });
    const docs = [catalogDoc(), ...jobsFor(1, 3, { frequency: 12, description: 'deferred' })];
    const { plan, result } = await hh.apply(docs);
    // Made before the import: the creates are deferred, without a server.
    expect(plan.changes.map((c) => [c.action, c.address, isDeferred(c)])).toEqual([
      ['import-catalog', 'ServerCatalog/catalog', false],
      ['create', addressOf(1), true],
      ['create', addressOf(2), true],
      ['create', addressOf(3), true],
    ]);
    expect(result.failed).toEqual([]);
    expect(result.notStarted).toEqual([]);
    expect(result.completed.map((c) => c.operation)).toEqual(['ImportServerCatalog', 'CreateReplicationJob', 'CreateReplicationJob', 'CreateReplicationJob']);
    // Waited on the (manual) clock for the import, which takes 3 s on this server.
    expect(hh.clock.advanced).toBeGreaterThanOrEqual(3000);
    const importDone = hh.events.findIndex((e) => e.type === 'done' && e.operation === 'ImportServerCatalog');
    const waited = hh.events.findIndex((e) => e.type === 'waiting' && e.what.includes('catalog'));
    const firstCreate = hh.events.findIndex((e) => e.type === 'start' && e.operation === 'CreateReplicationJob');
    expect(importDone).toBeGreaterThanOrEqual(0);
    expect(waited).toBeGreaterThan(importDone);
    expect(firstCreate).toBeGreaterThan(waited);
    // Each job is on its own VM's server, and recorded.
    const state = await hh.store.read();
    for (let n = 1; n <= 3; n++) {
      const rec = state?.resources[addressOf(n)];
      expect(rec?.serverId).toBe(await serverOf(hh, n));
      expect(result.created).toContainEqual({ address: addressOf(n), replicationJobId: rec?.replicationJobId });
    }
    expect((await hh.liveJobs()).length).toBe(3);
    await expectConverged(hh, docs);
  });

  it('runs catalog import -> disassociate -> deletes and replace-deletes (waited to DELETED) -> creates, updates, adopts, moves, start-runs', async () => {
    const hh = await harness({ vms: 10 });
    await importCatalog(hh);
    const v1 = [catalogDoc({ maxAgeHours: 1 }), ...jobsFor(1, 6, { description: 'v1' })];
    const first = await hh.apply(v1);
    expect(first.result.failed).toEqual([]);
    // Seed runs complete (runSeconds 20), so on-demand runs are allowed.
    await hh.advance(60);
    // A job nobody manages yet, on VM 7: to be adopted.
    const unmanaged = await hh.api.createReplicationJob({ serverId: await serverOf(hh, 7), seedReplicationTime: Math.floor(hh.clock.now() / 1000), description: 'v1' });
    const before = new Map((await hh.liveJobs()).map((j) => [j.serverId, j.replicationJobId]));
    const state1 = await hh.store.read();
    const jobOf = (n: number) => state1?.resources[addressOf(n)]?.replicationJobId ?? '';
    // The catalog gets older than maxAgeHours: the plan re-imports it.
    await hh.advance(2 * 3600);

    const v2: ManifestDoc[] = [
      catalogDoc({ maxAgeHours: 1 }),
      connectorDoc('second', connectorId(2)),
      // job-0001 is gone from the manifests: delete.
      jobDoc('job-0002', genVm(2), { description: 'v1' }), // --replace
      jobDoc('job-0003', genVm(3), { description: 'v2' }), // update
      jobDoc('moved-0004', genVm(4), { description: 'v1' }), // move
      jobDoc('job-0005', genVm(5), { description: 'v1', onDemandRun: { token: 't1' } }), // start-run
      jobDoc('job-0006', genVm(6), { description: 'v1' }), // no-op
      jobDoc('job-0007', genVm(7), { description: 'v1' }), // adopt
      jobDoc('job-0008', genVm(8), { description: 'v1' }), // create
    ];
    hh.events.length = 0;
    const { plan, result } = await hh.apply(v2, { diff: { replace: [addressOf(2)] } });
    expect(plan.changes.map((c) => `${c.action} ${c.address}`).sort()).toEqual(
      [
        'import-catalog ServerCatalog/catalog', 'disassociate-connector Connector/second', `delete ${addressOf(1)}`, `replace ${addressOf(2)}`,
        `update ${addressOf(3)}`, 'move ReplicationJob/moved-0004', `no-op ${addressOf(5)}`, `start-run ${addressOf(5)}`, `no-op ${addressOf(6)}`, `adopt ${addressOf(7)}`,
        `create ${addressOf(8)}`,
      ].sort(),
    );
    expect(result.failed).toEqual([]);
    expect(result.notStarted).toEqual([]);

    const { order, startedIn, phaseAt } = phasesOf(hh.events);
    expect(order).toEqual(['catalog', 'disassociate', 'delete', 'create']);
    expect(Object.fromEntries(startedIn)).toEqual({
      'ServerCatalog/catalog ImportServerCatalog': 'catalog',
      'Connector/second DisassociateConnector': 'disassociate',
      [`${addressOf(1)} DeleteReplicationJob`]: 'delete',
      [`${addressOf(2)} DeleteReplicationJob`]: 'delete',
      [`${addressOf(2)} CreateReplicationJob`]: 'create',
      [`${addressOf(3)} UpdateReplicationJob`]: 'create',
      'ReplicationJob/moved-0004 move': 'create',
      [`${addressOf(5)} StartOnDemandReplicationRun`]: 'create',
      [`${addressOf(7)} adopt`]: 'create',
      [`${addressOf(8)} CreateReplicationJob`]: 'create',
    });
    // A phase starts only once everything of the previous one has finished.
    for (let p = 1; p < phaseAt.length; p++) {
      const upTo = hh.events.slice(0, phaseAt[p]);
      expect(concurrencyOf(upTo).allFinished, `operations still running when phase ${order[p] ?? ''} started`).toBe(true);
    }
    // The replaced job reached DELETED before its replacement was created; the catalog was AVAILABLE first.
    const waitDeleted = hh.events.findIndex((e) => e.type === 'waiting' && e.what.includes(`${jobOf(2)} to reach DELETED`));
    const createReplacement = hh.events.findIndex((e) => e.type === 'start' && e.change.address === addressOf(2) && e.operation === 'CreateReplicationJob');
    expect(waitDeleted).toBeGreaterThan(0);
    expect(createReplacement).toBeGreaterThan(waitDeleted);
    expect((await hh.api.getReplicationJob(jobOf(2)))?.state).toBe('DELETED');

    const state = await hh.store.read();
    const r = state?.resources ?? {};
    expect(r[addressOf(1)]).toBeUndefined();
    expect(['DELETING', 'DELETED']).toContain((await hh.api.getReplicationJob(jobOf(1)))?.state);
    expect(r[addressOf(2)]?.replicationJobId).not.toBe(jobOf(2));
    expect(r[addressOf(2)]?.serverId).toBe(await serverOf(hh, 2));
    expect(r[addressOf(3)]?.appliedSpec.description).toBe('v2');
    expect((await hh.api.getReplicationJob(jobOf(3)))?.description).toBe('v2');
    expect(r[addressOf(4)]).toBeUndefined();
    expect(r['ReplicationJob/moved-0004']?.replicationJobId).toBe(jobOf(4));
    expect(r[addressOf(5)]?.onDemandRunToken).toBe('t1');
    const runs = await hh.api.getReplicationRuns(jobOf(5));
    expect(runs.runs.filter((x) => x.type === 'ON_DEMAND').map((x) => x.description)).toEqual([expect.stringContaining(runMarker('t1'))]);
    expect(r[addressOf(7)]?.replicationJobId).toBe(unmanaged);
    expect(r[addressOf(8)]?.serverId).toBe(await serverOf(hh, 8));
    expect((await hh.api.getConnectors()).map((c) => c.connectorId)).toEqual([connectorId(1)]);
    // Jobs that were not to be touched kept their ids.
    expect((await hh.liveJobs()).find((j) => j.serverId === (r[addressOf(6)]?.serverId ?? ''))?.replicationJobId).toBe(before.get(r[addressOf(6)]?.serverId ?? ''));
    // One live job per server.
    for (const [serverId, jobs] of jobsByServer((await hh.liveJobs()).filter((j) => j.state !== 'DELETING'))) expect(jobs.length, serverId).toBe(1);
    await expectConverged(hh, v2);
  });
});

describe('applyPlan: concurrency', () => {
  it.each([1, 3, 4])('runs at most %i operations at once, and reaches that many', async (parallelism) => {
    const hh = await harness({ vms: 12, faults: { actions: ['CreateReplicationJob'], latencyMs: 40 } });
    await importCatalog(hh);
    const docs = jobsFor(1, 12);
    const { result } = await hh.apply(docs, { parallelism });
    expect(result.failed).toEqual([]);
    const c = concurrencyOf(hh.events);
    expect(c.max).toBe(parallelism);
    expect(c.maxPerServer).toBe(1);
    expect(c.allFinished).toBe(true);
    expect((await hh.liveJobs()).length).toBe(12);
  });

  it('runs at most one operation per server: an update and an on-demand run of one job run one after the other', async () => {
    const hh = await harness({ vms: 8, faults: { actions: ['UpdateReplicationJob', 'StartOnDemandReplicationRun'], latencyMs: 40 } });
    await importCatalog(hh);
    await hh.apply(jobsFor(1, 8, { description: 'v1' }));
    await hh.advance(60);
    hh.events.length = 0;
    const docs = jobsFor(1, 8, { description: 'v2', onDemandRun: { token: 'again' } });
    const { plan, result } = await hh.apply(docs, { parallelism: 4 });
    expect(plan.changes.filter((c) => c.action === 'update').length).toBe(8);
    expect(plan.changes.filter((c) => c.action === 'start-run').length).toBe(8);
    expect(result.failed).toEqual([]);
    const c = concurrencyOf(hh.events);
    expect(c.maxPerServer).toBe(1);
    expect(c.max).toBe(4);
    // Per server, the run starts after the update finished.
    for (let n = 1; n <= 8; n++) {
      const address = addressOf(n);
      const updated = hh.events.findIndex((e) => e.type === 'done' && e.change.address === address && e.operation === 'UpdateReplicationJob');
      const runStart = hh.events.findIndex((e) => e.type === 'start' && e.change.address === address && e.operation === 'StartOnDemandReplicationRun');
      expect(updated).toBeGreaterThanOrEqual(0);
      expect(runStart).toBeGreaterThan(updated);
    }
    await expectConverged(hh, docs);
  });
});

describe('applyPlan: failures', () => {
  it('keeps going past refused servers: every independent create runs; the refusals are reported with VM, code and message, and not retried', async () => {
    // gen-0004 and gen-0007 have 30 volumes: CreateReplicationJob answers ServerCannotBeReplicatedException (400).
    const inventory = generatedInventory({ vms: 10, vm: (i) => (i === 3 || i === 6 ? { volumes: 30 } : {}) });
    const hh = await harness({ inventory });
    await importCatalog(hh);
    const docs = jobsFor(1, 10);
    const { result } = await hh.apply(docs, { parallelism: 2 });
    expect(result.failed.map((f) => [f.address, f.vmName, f.operation, f.code, f.outcome, f.onRerun])).toEqual([
      [addressOf(4), genVm(4), 'CreateReplicationJob', 'ServerCannotBeReplicatedException', 'refused', 'retry'],
      [addressOf(7), genVm(7), 'CreateReplicationJob', 'ServerCannotBeReplicatedException', 'refused', 'retry'],
    ]);
    expect(result.failed[0]?.message).toMatch(/has 30 volumes \(at most 22\)/);
    expect(result.skipped).toEqual([]);
    expect(result.notStarted).toEqual([]);
    expect(result.completed.map((c) => c.address).sort()).toEqual([1, 2, 3, 5, 6, 8, 9, 10].map(addressOf));
    // Refused once each: not retried within the run.
    expect(hh.events.filter((e) => e.type === 'start' && e.change.address === addressOf(4))).toHaveLength(1);
    expect(await hh.store.pendingIntents()).toEqual([]);
    expect((await hh.liveJobs()).length).toBe(8);
    // The next run plans exactly the two refused creates again.
    const again = await hh.plan(docs);
    expect(again.changes.filter((c) => c.action !== 'no-op').map((c) => `${c.action} ${c.address}`)).toEqual([`create ${addressOf(4)}`, `create ${addressOf(7)}`]);
  });

  it('a failure stops only what depends on it: the create half of a replace whose delete failed, the on-demand run after a failed update', async () => {
    const hh = await harness({ vms: 6, retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1, budgetMs: 1000 } });
    await importCatalog(hh);
    await hh.apply(jobsFor(1, 4, { description: 'v1' }));
    await hh.advance(60);
    await hh.t.control.setFaults({ actions: ['DeleteReplicationJob', 'UpdateReplicationJob'], errors: { InternalError: 1 } });
    hh.events.length = 0;
    const docs = [
      ...jobsFor(1, 1, { description: 'v1' }), // replaced: its delete fails
      ...jobsFor(2, 2, { description: 'v2', onDemandRun: { token: 't' } }), // update fails; the run depends on it
      ...jobsFor(3, 3, { description: 'v1', onDemandRun: { token: 't' } }), // independent run
      ...jobsFor(4, 5, { description: 'v1' }), // independent create (job-0005)
    ];
    const { plan, result } = await hh.apply(docs, { diff: { replace: [addressOf(1)] } });
    expect(plan.changes.filter((c) => c.action !== 'no-op').map((c) => `${c.action} ${c.address}`).sort()).toEqual(
      [`replace ${addressOf(1)}`, `update ${addressOf(2)}`, `start-run ${addressOf(2)}`, `start-run ${addressOf(3)}`, `create ${addressOf(5)}`].sort(),
    );
    expect(result.failed.map((f) => [f.address, f.operation, f.code, f.outcome, f.onRerun])).toEqual([
      [addressOf(1), 'DeleteReplicationJob', 'InternalError', 'unknown', 'recover-then-retry'],
      [addressOf(2), 'UpdateReplicationJob', 'InternalError', 'unknown', 'recover-then-retry'],
    ]);
    // The replace's create half is part of its failure; the run of job-0002 is skipped, naming the update.
    expect(result.skipped.map((s) => [s.change.action, s.change.address, s.because])).toEqual([['start-run', addressOf(2), { address: addressOf(2), operation: 'UpdateReplicationJob' }]]);
    expect(hh.events.some((e) => e.type === 'start' && e.change.address === addressOf(1) && e.operation === 'CreateReplicationJob')).toBe(false);
    expect(result.completed.map((c) => `${c.address} ${c.operation}`).sort()).toEqual([`${addressOf(3)} StartOnDemandReplicationRun`, `${addressOf(5)} CreateReplicationJob`]);
    expect(result.notStarted).toEqual([]);
  });

  it('a failed catalog import skips the jobs that waited for it, naming it', async () => {
    const hh = await harness({ vms: 4, retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1, budgetMs: 1000 } });
    await hh.t.control.setFaults({ actions: ['ImportServerCatalog'], errors: { InternalError: 1 } });
    const { result } = await hh.apply([catalogDoc(), ...jobsFor(1, 2)]);
    expect(result.failed.map((f) => [f.address, f.operation, f.code])).toEqual([['ServerCatalog/catalog', 'ImportServerCatalog', 'InternalError']]);
    const because = { address: 'ServerCatalog/catalog', operation: 'ImportServerCatalog' };
    expect(result.skipped.map((s) => [s.change.address, s.because])).toEqual([[addressOf(1), because], [addressOf(2), because]]);
    expect(hh.events.filter((e) => e.type === 'skipped')).toHaveLength(2);
    expect(result.completed).toEqual([]);
  });

  it('--fail-fast stops new work at the first failure, lets running operations finish, and reports done / failed / not started', async () => {
    // gen-0004 has 24 volumes: CreateReplicationJob answers ServerCannotBeReplicatedException (400).
    const inventory = generatedInventory({ vms: 10, vm: (i) => (i === 3 ? { volumes: 24 } : {}) });
    const hh = await harness({ inventory, faults: { actions: ['CreateReplicationJob'], latencyMs: 40 } });
    await importCatalog(hh);
    const docs = jobsFor(1, 10);
    const { plan, result } = await hh.apply(docs, { parallelism: 2, failFast: true });
    expect(result.failed.map((f) => f.address)).toEqual([addressOf(4)]);
    expect(result.failed[0]?.error).toMatch(/ServerCannotBeReplicatedException/);
    expect(hh.events.some((e) => e.type === 'failed' && e.change.address === addressOf(4))).toBe(true);
    // Running operations finished; nothing started after the failure.
    expect(concurrencyOf(hh.events).allFinished).toBe(true);
    const failedAt = hh.events.findIndex((e) => e.type === 'failed');
    const startedAfter = hh.events.slice(failedAt).filter((e) => e.type === 'start');
    expect(startedAfter).toEqual([]);
    // done + failed + not started is every change, each once.
    const done = result.completed.map((c) => c.address);
    const notStarted = result.notStarted.map((c) => c.address);
    expect([...done, addressOf(4), ...notStarted].sort()).toEqual(plan.changes.map((c) => c.address).sort());
    expect(done).toEqual(expect.arrayContaining([addressOf(1), addressOf(2), addressOf(3)]));
    expect(notStarted.length).toBeGreaterThanOrEqual(4);
    expect(notStarted).toContain(addressOf(10));
    // Everything done is recorded; the definite refusal is resolved (not pending); no job for gen-0004.
    const state = await hh.store.read();
    expect(Object.keys(state?.resources ?? {}).sort()).toEqual([...done].sort());
    expect(await hh.store.pendingIntents()).toEqual([]);
    const live = await hh.liveJobs();
    expect(live.map((j) => j.replicationJobId).sort()).toEqual(result.completed.map((c) => c.replicationJobId).sort());
    const unreplicable = await serverOf(hh, 4);
    expect(live.some((j) => j.serverId === unreplicable)).toBe(false);
    // Without the unreplicable VM, the next apply finishes the work.
    hh.events.length = 0;
    const rest = docs.filter((_, i) => i !== 3);
    const second = await hh.apply(rest, { parallelism: 2, failFast: true });
    expect(second.result.failed).toEqual([]);
    expect(second.result.completed.map((c) => c.address).sort()).toEqual([...notStarted].sort());
    expect((await hh.liveJobs()).length).toBe(9);
    await expectConverged(hh, rest);
  });

  it('leaves the intent pending when the outcome is unknown (5xx past the retries); recovery then resolves it as not happened', async () => {
    const hh = await harness({
      vms: 3,
      faults: { actions: ['CreateReplicationJob'], errors: { InternalError: 1 } },
      retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1, budgetMs: 1000 },
    });
    await importCatalog(hh);
    const docs = jobsFor(1, 1);
    const { result } = await hh.apply(docs);
    expect(result.failed.map((f) => [f.address, f.operation])).toEqual([[addressOf(1), 'CreateReplicationJob']]);
    expect(result.failed[0]?.error).toMatch(/InternalError/);
    const pending = await hh.store.pendingIntents();
    expect(pending.map((p) => [p.address, p.operation, p.serverId])).toEqual([[addressOf(1), 'CreateReplicationJob', await serverOf(hh, 1)]]);
    expect((await hh.store.read())?.resources[addressOf(1)]).toBeUndefined();

    await hh.t.control.setFaults({});
    hh.events.length = 0;
    expect(await hh.recover()).toBe(1);
    expect(hh.events.filter((e) => e.type === 'recovered').map((e) => e.type === 'recovered' && [e.intent.address, e.happened])).toEqual([[addressOf(1), false]]);
    expect(await hh.store.pendingIntents()).toEqual([]);
    const again = await hh.apply(docs);
    expect(again.plan.changes.map((c) => c.action)).toEqual(['create']);
    expect(again.result.failed).toEqual([]);
    expect((await hh.liveJobs()).length).toBe(1);
  });

  it('a stop request mid-apply starts nothing new; every change not started is listed once', async () => {
    const hh = await harness({ vms: 8, faults: { actions: ['CreateReplicationJob'], latencyMs: 30 } });
    await importCatalog(hh);
    const stop = { requested: false };
    const sink = hh.events;
    // Stop as soon as the first operation is done (a Ctrl-C mid-apply).
    const origPush = sink.push.bind(sink);
    sink.push = (...items: ApplyEvent[]) => {
      if (items.some((e) => e.type === 'done')) stop.requested = true;
      return origPush(...items);
    };
    const docs = jobsFor(1, 8);
    const { plan, result } = await hh.apply(docs, { parallelism: 2, stop });
    sink.push = origPush;
    expect(result.stopped).toBe(true);
    expect(result.failed).toEqual([]);
    expect(hh.events.some((e) => e.type === 'stopping')).toBe(true);
    expect(concurrencyOf(hh.events).allFinished).toBe(true);
    const done = result.completed.map((c) => c.address);
    const notStarted = result.notStarted.map((c) => c.address);
    // The two running creates finished; the other six never started.
    expect(done.length).toBe(2);
    expect([...done, ...notStarted].sort()).toEqual(plan.changes.map((c) => c.address).sort());
    expect(Object.keys((await hh.store.read())?.resources ?? {}).sort()).toEqual([...done].sort());
    expect((await hh.liveJobs()).length).toBe(2);
    await hh.apply(docs);
    expect((await hh.liveJobs()).length).toBe(8);
  });

  it('a stop requested before anything ran lists every change as not started, each once (a replace too)', async () => {
    const hh = await harness({ vms: 4 });
    await importCatalog(hh);
    await hh.apply(jobsFor(1, 2));
    const { plan, result } = await hh.apply(jobsFor(1, 4), { stop: { requested: true }, diff: { replace: [addressOf(1)] } });
    expect(plan.changes.map((c) => `${c.action} ${c.address}`)).toEqual([`replace ${addressOf(1)}`, `create ${addressOf(3)}`, `create ${addressOf(4)}`, `no-op ${addressOf(2)}`]);
    expect(result.stopped).toBe(true);
    expect(result.completed).toEqual([]);
    expect(result.notStarted.map((c) => c.address)).toEqual([addressOf(1), addressOf(3), addressOf(4)]);
  });
});

describe('recover', () => {
  async function withJob(): Promise<{ hh: Harness; serverId: string; jobId: string; docs: ManifestDoc[] }> {
    const hh = await harness({ vms: 3 });
    await importCatalog(hh);
    const docs = jobsFor(1, 1, { description: 'v1' });
    await hh.apply(docs);
    const jobId = (await hh.store.read())?.resources[addressOf(1)]?.replicationJobId ?? '';
    return { hh, serverId: await serverOf(hh, 1), jobId, docs };
  }

  const recovered = (hh: Harness) => hh.events.filter((e): e is Extract<ApplyEvent, { type: 'recovered' }> => e.type === 'recovered').map((e) => ({ op: e.intent.operation, happened: e.happened }));

  it('a pending create whose job exists is adopted into state; the next plan has nothing to do', async () => {
    const hh = await harness({ vms: 3 });
    await importCatalog(hh);
    await hh.store.initialize(hh.lock, hh.target);
    const serverId = await serverOf(hh, 1);
    const seed = Math.floor(hh.clock.now() / 1000);
    await hh.store.appendIntent(hh.lock, { address: addressOf(1), operation: 'CreateReplicationJob', serverId, spec: { description: 'crashed', seedReplicationTime: seed } });
    // The call went through; the process died before recording the result.
    const jobId = await hh.api.createReplicationJob({ serverId, seedReplicationTime: seed, description: 'crashed' });
    expect(await hh.recover()).toBe(1);
    expect(recovered(hh)).toEqual([{ op: 'CreateReplicationJob', happened: true }]);
    expect(await hh.store.pendingIntents()).toEqual([]);
    const rec = (await hh.store.read())?.resources[addressOf(1)];
    expect(rec).toMatchObject({ replicationJobId: jobId, serverId, appliedSpec: { description: 'crashed', seedReplicationTime: seed } });
    const plan = await hh.plan(jobsFor(1, 1, { description: 'crashed' }));
    expect(plan.changes.map((c) => c.action)).toEqual(['no-op']);
  });

  it('a pending create whose job does not exist is resolved as not happened; the next apply creates exactly one job', async () => {
    const hh = await harness({ vms: 3 });
    await importCatalog(hh);
    await hh.store.initialize(hh.lock, hh.target);
    await hh.store.appendIntent(hh.lock, { address: addressOf(1), operation: 'CreateReplicationJob', serverId: await serverOf(hh, 1), spec: {} });
    expect(await hh.recover()).toBe(1);
    expect(recovered(hh)).toEqual([{ op: 'CreateReplicationJob', happened: false }]);
    expect((await hh.store.read())?.resources).toEqual({});
    const { plan } = await hh.apply(jobsFor(1, 1));
    expect(plan.changes.map((c) => c.action)).toEqual(['create']);
    expect((await hh.liveJobs()).length).toBe(1);
  });

  it('a pending create does not claim a job that state already records under another address', async () => {
    const { hh, serverId } = await withJob();
    hh.events.length = 0;
    await hh.store.appendIntent(hh.lock, { address: 'ReplicationJob/other', operation: 'CreateReplicationJob', serverId, spec: {} });
    await hh.recover();
    expect(recovered(hh)).toEqual([{ op: 'CreateReplicationJob', happened: false }]);
    expect((await hh.store.read())?.resources['ReplicationJob/other']).toBeUndefined();
  });

  it('a pending delete: done -> the record is removed; not done -> kept (the next plan deletes)', async () => {
    const { hh, serverId, jobId } = await withJob();
    hh.events.length = 0;
    await hh.store.appendIntent(hh.lock, { address: addressOf(1), operation: 'DeleteReplicationJob', serverId, replicationJobId: jobId });
    await hh.recover();
    expect(recovered(hh)).toEqual([{ op: 'DeleteReplicationJob', happened: false }]);
    expect((await hh.store.read())?.resources[addressOf(1)]?.replicationJobId).toBe(jobId);

    hh.events.length = 0;
    await hh.store.appendIntent(hh.lock, { address: addressOf(1), operation: 'DeleteReplicationJob', serverId, replicationJobId: jobId });
    await hh.api.deleteReplicationJob(jobId);
    await hh.recover();
    expect(recovered(hh)).toEqual([{ op: 'DeleteReplicationJob', happened: true }]);
    expect((await hh.store.read())?.resources[addressOf(1)]).toBeUndefined();
    expect(await hh.store.pendingIntents()).toEqual([]);
  });

  it('a pending retire that happened: the server is recorded as migrated with the final AMI its intent names; the next plan with cutover has nothing to do', async () => {
    const { hh, serverId, jobId } = await withJob();
    hh.events.length = 0;
    await hh.store.appendIntent(hh.lock, { address: addressOf(1), operation: 'DeleteReplicationJob', serverId, replicationJobId: jobId, finalAmiId: 'ami-0000000000000000a' });
    await hh.api.deleteReplicationJob(jobId);
    await hh.recover();
    expect(recovered(hh)).toEqual([{ op: 'DeleteReplicationJob', happened: true }]);
    const rec = (await hh.store.read())?.resources[addressOf(1)];
    expect(rec).not.toHaveProperty('replicationJobId');
    expect(rec?.migrated).toMatchObject({ amiId: 'ami-0000000000000000a', replicationJobId: jobId });
    await hh.advance(5);
    expect((await hh.plan(jobsFor(1, 1, { description: 'v1', cutover: true }))).changes.map((c) => c.action)).toEqual(['no-op']);
  });

  it('a retire: deletes the job, waits for DELETED, records the final AMI; a blocked one deletes nothing and fails as retire-blocked', async () => {
    const hh = await harness({ vms: 3 });
    await importCatalog(hh);
    await hh.apply(jobsFor(1, 2, { frequency: 12 }));
    const cut = jobsFor(1, 2, { frequency: 12 }).map((d, i) => (i === 0 ? { ...d, spec: { ...(d['spec'] as object), cutover: true } } : d));
    // Both runs are ACTIVE: the retire is blocked, and fails without a delete.
    await hh.advance(5);
    const blocked = await hh.apply(cut);
    expect(blocked.plan.changes.find((c) => c.action === 'retire')).toHaveProperty('blocked');
    expect(blocked.result.failed.map((f) => [f.address, f.code, f.outcome])).toEqual([[addressOf(1), 'retire-blocked', 'refused']]);
    expect((await hh.liveJobs()).length).toBe(2);
    await hh.advance(30);
    const jobId = (await hh.store.read())?.resources[addressOf(1)]?.replicationJobId ?? '';
    const ami = (await hh.api.getReplicationJob(jobId))?.latestAmiId;
    const { result } = await hh.apply(cut);
    expect(result.failed).toEqual([]);
    expect(result.completed.map((c) => [c.address, c.action, c.operation])).toEqual([[addressOf(1), 'retire', 'DeleteReplicationJob']]);
    expect((await hh.api.getReplicationJob(jobId))?.state).toBe('DELETED');
    expect((await hh.store.read())?.resources[addressOf(1)]?.migrated).toMatchObject({ amiId: ami, replicationJobId: jobId });
  });

  it('a pending update: live values match -> recorded as applied; they do not -> state unchanged', async () => {
    const { hh, serverId, jobId, docs } = await withJob();
    hh.events.length = 0;
    await hh.store.appendIntent(hh.lock, { address: addressOf(1), operation: 'UpdateReplicationJob', serverId, replicationJobId: jobId, spec: { description: 'v2' } });
    await hh.recover();
    expect(recovered(hh)).toEqual([{ op: 'UpdateReplicationJob', happened: false }]);
    expect((await hh.store.read())?.resources[addressOf(1)]?.appliedSpec.description).toBe('v1');
    expect((await hh.plan(docs)).changes.map((c) => c.action)).toEqual(['no-op']);

    hh.events.length = 0;
    await hh.store.appendIntent(hh.lock, { address: addressOf(1), operation: 'UpdateReplicationJob', serverId, replicationJobId: jobId, spec: { description: 'v2' } });
    await hh.api.updateReplicationJob({ replicationJobId: jobId, description: 'v2' });
    await hh.recover();
    expect(recovered(hh)).toEqual([{ op: 'UpdateReplicationJob', happened: true }]);
    expect((await hh.store.read())?.resources[addressOf(1)]?.appliedSpec.description).toBe('v2');
    expect((await hh.plan(jobsFor(1, 1, { description: 'v2' }))).changes.map((c) => c.action)).toEqual(['no-op']);
  });

  it('a pending on-demand run: found by its marker -> token recorded; not found -> the next plan starts it', async () => {
    const { hh, serverId, jobId } = await withJob();
    await hh.advance(60); // the seed run completes
    const withToken = (token: string) => jobsFor(1, 1, { description: 'v1', onDemandRun: { token } });
    hh.events.length = 0;
    await hh.store.appendIntent(hh.lock, { address: addressOf(1), operation: 'StartOnDemandReplicationRun', serverId, replicationJobId: jobId, onDemandRunToken: 'tok-1' });
    await hh.recover();
    expect(recovered(hh)).toEqual([{ op: 'StartOnDemandReplicationRun', happened: false }]);
    expect((await hh.store.read())?.resources[addressOf(1)]?.onDemandRunToken).toBeUndefined();
    expect((await hh.plan(withToken('tok-1'))).changes.map((c) => c.action).sort()).toEqual(['no-op', 'start-run']);

    hh.events.length = 0;
    await hh.store.appendIntent(hh.lock, { address: addressOf(1), operation: 'StartOnDemandReplicationRun', serverId, replicationJobId: jobId, onDemandRunToken: 'tok-1' });
    await hh.api.startOnDemandReplicationRun(jobId, `before the crash ${runMarker('tok-1')}`);
    await hh.recover();
    expect(recovered(hh)).toEqual([{ op: 'StartOnDemandReplicationRun', happened: true }]);
    expect((await hh.store.read())?.resources[addressOf(1)]?.onDemandRunToken).toBe('tok-1');
    expect((await hh.plan(withToken('tok-1'))).changes.map((c) => c.action)).toEqual(['no-op']);
  });

  it('pending catalog imports and disassociations are resolved by observation', async () => {
    const hh = await harness({ vms: 2 });
    await hh.store.initialize(hh.lock, hh.target);
    await hh.store.appendIntent(hh.lock, { address: 'ServerCatalog/catalog', operation: 'ImportServerCatalog' });
    await hh.store.appendIntent(hh.lock, { address: 'Connector/second', operation: 'DisassociateConnector', connectorId: connectorId(2) });
    await hh.recover();
    expect(recovered(hh)).toEqual([
      { op: 'ImportServerCatalog', happened: false },
      { op: 'DisassociateConnector', happened: false },
    ]);
    hh.events.length = 0;
    await hh.store.appendIntent(hh.lock, { address: 'ServerCatalog/catalog', operation: 'ImportServerCatalog' });
    await hh.store.appendIntent(hh.lock, { address: 'Connector/second', operation: 'DisassociateConnector', connectorId: connectorId(2) });
    await hh.api.importServerCatalog();
    await hh.api.disassociateConnector(connectorId(2));
    await hh.recover();
    expect(recovered(hh)).toEqual([
      { op: 'ImportServerCatalog', happened: true },
      { op: 'DisassociateConnector', happened: true },
    ]);
    expect(await hh.store.pendingIntents()).toEqual([]);
  });
});

describe('the quota at apply time (issue 25)', () => {
  it('a create counted on a retire that did not free its slot waits, not attempted; the others run', async () => {
    const hh = await harness({ vms: 4, settings: { maxConcurrentJobs: 2, deleteSeconds: 0 }, retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1, budgetMs: 1000 } });
    await importCatalog(hh);
    const quota = { diff: { maxConcurrentJobs: 2 } };
    expect((await hh.apply(jobsFor(1, 2, { frequency: 12 }), quota)).result.failed).toEqual([]);
    await hh.advance(30); // the seed runs complete: both can be retired
    const cut = [...jobsFor(1, 2, { frequency: 12, cutover: true }), ...jobsFor(3, 4, { frequency: 12 })];
    // The plan counts on both retires: its two creates take the slots they free.
    const planned = await hh.plan(cut, quota.diff);
    expect(planned.changes.filter((c) => c.action === 'create' && c.slotFromRetire === true).map((c) => c.address)).toEqual([addressOf(3), addressOf(4)]);
    // The service fails every delete: no slot is freed, so no create is attempted (none refused).
    await hh.t.control.setFaults({ errors: { InternalError: 1 }, actions: ['DeleteReplicationJob'] });
    const { result } = await hh.apply(cut, quota);
    expect(result.failed.map((f) => `${f.address} ${f.operation}`).sort()).toEqual([`${addressOf(1)} DeleteReplicationJob`, `${addressOf(2)} DeleteReplicationJob`]);
    expect(result.completed.filter((c) => c.operation === 'CreateReplicationJob')).toEqual([]);
    expect(result.waitingForQuota.map((c) => c.address)).toEqual([addressOf(3), addressOf(4)]);
    expect((await hh.liveJobs()).length).toBe(2);
  });
});
