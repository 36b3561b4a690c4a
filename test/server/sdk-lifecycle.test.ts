/**
 * The whole lifecycle of the embedded server under its manual clock, observed through the real SDK:
 * catalog import, job and run states, exact schedules, missed runs, one-time jobs, AMI retention,
 * injected failures, deletes, connector loss, the 90-day limit, and durability across a restart.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateReplicationJobCommand, DeleteReplicationJobCommand, DeleteServerCatalogCommand, DisassociateConnectorCommand, GetConnectorsCommand, GetReplicationJobsCommand,
  GetServersCommand, ImportServerCatalogCommand, StartOnDemandReplicationRunCommand, UpdateReplicationJobCommand, type Server,
} from '@aws-sdk/client-sms';
import { SdkSmsApi } from '../../src/sms/client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import {
  advanceTo, alignClock, allJobs, allServers, date, DAY, DEMO, epoch, expectSmsError, generatedInventory, HOUR, importCatalog, jobOf,
  runsOf, serverNamed,
} from '../helpers/sms-world.ts';

const UPLOAD_FAILED = 'ServerError: Failed to upload base disk(s) to S3. Please try again. If this problem persists, please contact AWS Support.';
const NO_CONNECTOR = /^No connectors are available to handle this request/;

async function serverOf(t: TestServer, serverId: string): Promise<Server> {
  const s = (await allServers(t)).find((x) => x.serverId === serverId);
  if (!s) throw new Error(`no server ${serverId}`);
  return s;
}

describe('the server catalog', () => {
  it('NOT_IMPORTED -> IMPORTING -> AVAILABLE, lastModifiedOn set at each step', async () => {
    const t = await startTestServer({ settings: { catalogImportSeconds: 10 } });
    try {
      const created = await alignClock(t);
      expect((await t.sms.send(new GetServersCommand({}))).serverCatalogStatus).toBe('NOT_IMPORTED');
      await t.advance(5);
      await t.sms.send(new ImportServerCatalogCommand({}));
      const importing = await t.sms.send(new GetServersCommand({}));
      expect([importing.serverCatalogStatus, epoch(importing.lastModifiedOn), importing.serverList]).toEqual(['IMPORTING', created + 5, []]);
      await t.advance(9.999);
      expect((await t.sms.send(new GetServersCommand({}))).serverCatalogStatus).toBe('IMPORTING');
      await t.advance(0.001);
      const available = await t.sms.send(new GetServersCommand({ maxResults: 100 }));
      expect([available.serverCatalogStatus, epoch(available.lastModifiedOn), available.serverList?.length]).toEqual(['AVAILABLE', created + 15, DEMO.vmCount]);
    } finally {
      await t.close();
    }
  });
});

describe('re-imports and catalog deletion', () => {
  it('a re-import drops the VMs no longer covered and adds them back with the same server ids; jobs run on after DeleteServerCatalog', async () => {
    const t = await startTestServer();
    try {
      const all = await importCatalog(t);
      const seed = await alignClock(t);
      const { replicationJobId } = await t.sms.send(
        new CreateReplicationJobCommand({ serverId: serverNamed(all, 'fin-db-01').serverId, seedReplicationTime: date(seed), frequency: 1 }),
      );
      await t.control.setConnectorStatus(DEMO.scvmmConnector, 'UNHEALTHY');
      const vsphereOnly = await importCatalog(t);
      expect(vsphereOnly.map((s) => s.serverId)).toEqual(all.filter((s) => s.vmServer?.vmServerAddress?.vmManagerId === DEMO.vsphere).map((s) => s.serverId));
      await t.control.setConnectorStatus(DEMO.scvmmConnector, 'HEALTHY');
      const again = await importCatalog(t);
      expect(new Set(again.map((s) => s.serverId))).toEqual(new Set(all.map((s) => s.serverId)));
      expect(serverNamed(again, 'fin-db-01').replicationJobId).toBe(replicationJobId);

      // The catalog goes; the job keeps replicating.
      await t.sms.send(new DeleteServerCatalogCommand({}));
      await advanceTo(t, seed + 2 * HOUR + 45);
      expect((await runsOf(t, replicationJobId!)).map((r) => r.state)).toEqual(['PENDING', 'COMPLETED', 'COMPLETED', 'COMPLETED']);
      expect((await jobOf(t, replicationJobId!)).state).toBe('ACTIVE');
    } finally {
      await t.close();
    }
  });
});

describe('a recurring job, step by step', () => {
  let t: TestServer;
  let servers: Server[];
  beforeAll(async () => {
    t = await startTestServer();
    servers = await importCatalog(t);
  });
  afterAll(() => t.close());

  it('PENDING until the seed run, ACTIVE with stages, COMPLETED with an AMI, then runs at seed + n x frequency exactly', async () => {
    const now = await alignClock(t);
    const seed = now + 600;
    const serverId = serverNamed(servers, 'web-01').serverId!;
    const { replicationJobId } = await t.sms.send(new CreateReplicationJobCommand({ serverId, seedReplicationTime: date(seed), frequency: 12 }));
    const id = replicationJobId!;

    await advanceTo(t, seed - 1);
    let job = await jobOf(t, id);
    expect(job.state).toBe('PENDING');
    expect(job.replicationRunList?.map((r) => r.state)).toEqual(['PENDING']);

    await advanceTo(t, seed);
    job = await jobOf(t, id);
    expect(job.state).toBe('ACTIVE');
    const seedRunId = job.replicationRunList![0]!.replicationRunId;
    const stages: [number, string, string][] = [
      [0, 'Uploading', '0%'],
      [9, 'Uploading', '33%'],
      [30, 'Converting', '26%'],
      [40, 'Preparing', '25%'],
    ];
    for (const [offset, stage, progress] of stages) {
      await advanceTo(t, seed + offset);
      const [run] = await runsOf(t, id);
      expect(run).toMatchObject({ replicationRunId: seedRunId, state: 'ACTIVE', type: 'AUTOMATIC', stageDetails: { stage, stageProgress: progress }, statusMessage: stage });
      expect(run!.amiId).toBeUndefined();
    }

    await advanceTo(t, seed + 45);
    job = await jobOf(t, id);
    const [next, seedRun] = await runsOf(t, id);
    expect(seedRun).toMatchObject({ replicationRunId: seedRunId, state: 'COMPLETED', statusMessage: 'Completed', completedTime: date(seed + 45) });
    expect(seedRun!.amiId).toMatch(/^ami-[0-9a-f]{17}$/);
    expect(seedRun!.stageDetails).toBeUndefined();
    expect(next).toMatchObject({ state: 'PENDING', type: 'AUTOMATIC', scheduledStartTime: date(seed + 12 * HOUR) });
    expect(job).toMatchObject({ state: 'ACTIVE', latestAmiId: seedRun!.amiId, nextReplicationRunStartTime: date(seed + 12 * HOUR) });
    expect(job.replicationRunList?.map((r) => r.replicationRunId)).toEqual([seedRunId]);

    await advanceTo(t, seed + 4 * 12 * HOUR + 45);
    const runs = await runsOf(t, id);
    expect(runs.map((r) => [r.state, epoch(r.scheduledStartTime), epoch(r.completedTime)])).toEqual([
      ['PENDING', seed + 5 * 12 * HOUR, undefined],
      ...[4, 3, 2, 1, 0].map((n) => ['COMPLETED', seed + n * 12 * HOUR, seed + n * 12 * HOUR + 45]),
    ]);
    expect(new Set(runs.map((r) => r.amiId).filter(Boolean)).size).toBe(5);
    expect((await jobOf(t, id)).latestAmiId).toBe(runs[1]!.amiId);
  });

  it('a run that comes due while an on-demand run is ACTIVE is MISSED, and the next slot is scheduled', async () => {
    const now = await alignClock(t);
    const { replicationJobId } = await t.sms.send(
      new CreateReplicationJobCommand({ serverId: serverNamed(servers, 'web-02').serverId, seedReplicationTime: date(now), frequency: 1 }),
    );
    const id = replicationJobId!;
    await advanceTo(t, now + HOUR - 20);
    const onDemand = await t.sms.send(new StartOnDemandReplicationRunCommand({ replicationJobId: id, description: 'just before' }));
    await advanceTo(t, now + HOUR + 30);
    const runs = await runsOf(t, id);
    expect(runs.map((r) => [r.type, r.state, epoch(r.scheduledStartTime)])).toEqual([
      ['AUTOMATIC', 'PENDING', now + 2 * HOUR],
      ['ON_DEMAND', 'COMPLETED', now + HOUR - 20],
      ['AUTOMATIC', 'MISSED', now + HOUR],
      ['AUTOMATIC', 'COMPLETED', now],
    ]);
    expect(runs[1]!.replicationRunId).toBe(onDemand.replicationRunId);
    expect(runs[2]!.statusMessage).toMatch(/another replication run was in progress/);
    expect((await jobOf(t, id)).state).toBe('ACTIVE');
  });

  it('a seed time in the past starts the seed run at once; seedReplicationTime reports the given value', async () => {
    const now = await alignClock(t);
    const { replicationJobId } = await t.sms.send(
      new CreateReplicationJobCommand({ serverId: serverNamed(servers, 'web-04').serverId, seedReplicationTime: date(now - 3600), frequency: 6 }),
    );
    const job = await jobOf(t, replicationJobId!);
    expect(job.state).toBe('ACTIVE');
    expect(job.seedReplicationTime).toEqual(date(now - 3600));
    expect((await runsOf(t, replicationJobId!)).map((r) => [r.state, epoch(r.scheduledStartTime)])).toEqual([['ACTIVE', now]]);
    await t.advance(45);
    // The schedule follows the time the seed run really started.
    expect((await jobOf(t, replicationJobId!)).nextReplicationRunStartTime).toEqual(date(now + 6 * HOUR));
  });

  it('runOnce: COMPLETED after its run, the server shows replicationJobTerminated, and a new job is allowed', async () => {
    const now = await alignClock(t);
    const serverId = serverNamed(servers, 'web-03').serverId!;
    const { replicationJobId } = await t.sms.send(new CreateReplicationJobCommand({ serverId, seedReplicationTime: date(now), runOnce: true }));
    const id = replicationJobId!;
    expect((await jobOf(t, id)).state).toBe('ACTIVE');
    expect(await serverOf(t, serverId)).toMatchObject({ replicationJobId: id, replicationJobTerminated: false });
    await t.advance(45);
    const job = await jobOf(t, id);
    expect(job).toMatchObject({ state: 'COMPLETED', statusMessage: 'Completed', runOnce: true });
    expect(job.nextReplicationRunStartTime).toBeUndefined();
    expect(job.latestAmiId).toMatch(/^ami-/);
    expect((await runsOf(t, id)).map((r) => r.state)).toEqual(['COMPLETED']);
    expect(await serverOf(t, serverId)).toMatchObject({ replicationJobId: id, replicationJobTerminated: true });
    // Nothing more happens to it.
    await t.advance(2 * DAY);
    expect((await runsOf(t, id)).map((r) => r.state)).toEqual(['COMPLETED']);
    const again = await t.sms.send(new CreateReplicationJobCommand({ serverId, seedReplicationTime: date(now + 3 * DAY) }));
    expect(await serverOf(t, serverId)).toMatchObject({ replicationJobId: again.replicationJobId, replicationJobTerminated: false });
  });

  it('numberOfRecentAmisToKeep prunes the oldest AMIs; runs keep showing the AMI they made', async () => {
    const now = await alignClock(t);
    const create = (vm: string, numberOfRecentAmisToKeep: number) =>
      t.sms.send(new CreateReplicationJobCommand({ serverId: serverNamed(servers, vm).serverId, seedReplicationTime: date(now), frequency: 1, numberOfRecentAmisToKeep }));
    const keep2 = (await create('app-01', 2)).replicationJobId!;
    const keepAll = (await create('app-02', 0)).replicationJobId!;
    await advanceTo(t, now + 4 * HOUR + 45);

    for (const id of [keep2, keepAll]) {
      const runs = (await runsOf(t, id)).filter((r) => r.state === 'COMPLETED');
      expect(runs).toHaveLength(5);
      expect(runs.every((r) => /^ami-[0-9a-f]{17}$/.test(r.amiId ?? ''))).toBe(true);
      expect((await jobOf(t, id)).latestAmiId).toBe(runs[0]!.amiId);
    }
    // AMIs are not in the API; the server's registry holds the ones still registered.
    const store = t.server.app.store;
    const amisOf = async (id: string) => (await runsOf(t, id)).filter((r) => r.amiId).map((r) => r.amiId!);
    expect(store.liveAmis(keep2)).toEqual((await amisOf(keep2)).slice(0, 2).reverse());
    expect(store.liveAmis(keepAll)).toEqual((await amisOf(keepAll)).reverse());

    // Lowering the number prunes at the next completed run.
    await t.sms.send(new UpdateReplicationJobCommand({ replicationJobId: keepAll, numberOfRecentAmisToKeep: 1 }));
    expect(store.liveAmis(keepAll)).toHaveLength(5);
    await t.advance(HOUR);
    expect(store.liveAmis(keepAll)).toEqual([(await jobOf(t, keepAll)).latestAmiId]);
  });

  it('DeleteReplicationJob: DELETING (open runs too), DELETED after deleteSeconds; a new job only once DELETED', async () => {
    const now = await alignClock(t);
    const serverId = serverNamed(servers, 'db-01').serverId!;
    const { replicationJobId } = await t.sms.send(new CreateReplicationJobCommand({ serverId, seedReplicationTime: date(now), frequency: 1 }));
    const id = replicationJobId!;
    await advanceTo(t, now + HOUR + 30); // seed done, the second run ACTIVE, in Converting
    await t.sms.send(new DeleteReplicationJobCommand({ replicationJobId: id }));
    let job = await jobOf(t, id);
    expect(job.state).toBe('DELETING');
    expect(job.nextReplicationRunStartTime).toBeUndefined();
    expect((await runsOf(t, id)).map((r) => [r.state, r.statusMessage])).toEqual([['DELETING', 'Converting'], ['COMPLETED', 'Completed']]);
    expect(await serverOf(t, serverId)).toMatchObject({ replicationJobId: id, replicationJobTerminated: false });
    await expectSmsError(t.sms.send(new CreateReplicationJobCommand({ serverId, seedReplicationTime: date(now + DAY) })), 'ReplicationJobAlreadyExistsException', 400);

    await t.advance(1.999);
    expect((await jobOf(t, id)).state).toBe('DELETING');
    await t.advance(0.001);
    job = await jobOf(t, id);
    expect(job.state).toBe('DELETED');
    const runs = await runsOf(t, id);
    expect(runs.map((r) => r.state)).toEqual(['DELETED', 'COMPLETED']);
    // The deleted run keeps its last statusMessage: the stage it had reached.
    expect(runs[0]!.statusMessage).toBe('Converting');
    expect(runs[0]!.stageDetails).toBeUndefined();
    expect(await serverOf(t, serverId)).toMatchObject({ replicationJobId: id, replicationJobTerminated: true });
    // No more runs.
    await t.advance(3 * HOUR);
    expect(await runsOf(t, id)).toHaveLength(2);
    const again = await t.sms.send(new CreateReplicationJobCommand({ serverId, seedReplicationTime: date(now + DAY) }));
    expect(again.replicationJobId).not.toBe(id);
  });
});

describe('the 90-day limit', () => {
  it('a job is terminated 90 days after its first run', async () => {
    // A server of its own: 90 days of the other tests' hourly jobs would be slow to play out.
    const t = await startTestServer();
    try {
      const servers = await importCatalog(t);
      const now = await alignClock(t);
      const { replicationJobId } = await t.sms.send(
        new CreateReplicationJobCommand({ serverId: serverNamed(servers, 'db-02').serverId, seedReplicationTime: date(now + HOUR), frequency: 24 }),
      );
      const id = replicationJobId!;
      const first = now + HOUR;
      await advanceTo(t, first + 90 * DAY - 1);
      expect((await jobOf(t, id)).state).toBe('ACTIVE');
      await advanceTo(t, first + 90 * DAY);
      const job = await jobOf(t, id);
      expect(job.state).toBe('DELETING');
      expect(job.statusMessage).toMatch(/90-day replication limit/);
      await t.advance(2);
      expect((await jobOf(t, id)).state).toBe('DELETED');
      const runs = await runsOf(t, id);
      expect(runs.filter((r) => r.state === 'COMPLETED')).toHaveLength(90);
      expect(runs[0]).toMatchObject({ state: 'DELETED', scheduledStartTime: date(first + 90 * DAY) });
    } finally {
      await t.close();
    }
  });
});

describe('the manual clock on the wire', () => {
  it('each answer carries the lifecycle time (x-sms-reconcile-clock); the SDK adapter judges time on it', async () => {
    const t = await startTestServer();
    const api = new SdkSmsApi({ endpoint: t.server.url, region: t.server.region, credentials: t.server.credentials });
    try {
      const now = await alignClock(t);
      await api.getConnectors();
      expect(Math.abs(api.serviceNow(Date.now()) / 1000 - now)).toBeLessThan(60);
      await t.advance(80 * DAY);
      await api.getConnectors();
      expect(Math.abs(api.serviceNow(Date.now()) / 1000 - (now + 80 * DAY))).toBeLessThan(60);
      const res = await fetch(t.server.url, { method: 'POST' }); // refused (unsigned), and still told the time
      expect(Number(res.headers.get('x-sms-reconcile-clock'))).toBeCloseTo(now + 80 * DAY, -2);
    } finally {
      api.destroy();
      await t.close();
    }
  });
});

describe('injected failures', () => {
  it('legacy-04 (fails after 1 run): FAILING with retries every 30 s, PAUSED_ON_FAILURE after 3, deleted 4 days later', async () => {
    const t = await startTestServer();
    try {
      const servers = await importCatalog(t);
      const seed = await alignClock(t);
      const serverId = serverNamed(servers, 'legacy-04').serverId!;
      const { replicationJobId } = await t.sms.send(new CreateReplicationJobCommand({ serverId, seedReplicationTime: date(seed), frequency: 24 }));
      const id = replicationJobId!;
      await advanceTo(t, seed + 45);
      expect(await jobOf(t, id)).toMatchObject({ state: 'ACTIVE', latestAmiId: expect.stringMatching(/^ami-/) });

      // The second run fails at 40% of its 45 s, in Uploading.
      const second = seed + DAY;
      await advanceTo(t, second + 17);
      expect((await runsOf(t, id))[0]).toMatchObject({ state: 'ACTIVE', stageDetails: { stage: 'Uploading' } });
      await advanceTo(t, second + 18);
      let runs = await runsOf(t, id);
      expect(runs[0]).toMatchObject({ state: 'PENDING', scheduledStartTime: date(second + 18 + 30) });
      expect(runs[1]).toMatchObject({ state: 'FAILED', statusMessage: UPLOAD_FAILED, scheduledStartTime: date(second) });
      expect(runs[1]!.amiId).toBeUndefined();
      let job = await jobOf(t, id);
      expect(job.state).toBe('FAILING');
      expect(job.statusMessage).toBe(`${UPLOAD_FAILED} 2 re-try run(s) remaining before the job will be failed.`);
      expect(job.nextReplicationRunStartTime).toEqual(date(second + 48));

      // Retry 1 at +48 fails at +66; retry 2 at +96 fails at +114.
      await advanceTo(t, second + 66);
      expect((await jobOf(t, id)).statusMessage).toMatch(/ 1 re-try run\(s\) remaining before the job will be failed\.$/);
      await advanceTo(t, second + 113);
      expect((await jobOf(t, id)).state).toBe('FAILING');
      await advanceTo(t, second + 114);
      job = await jobOf(t, id);
      expect(job.state).toBe('PAUSED_ON_FAILURE');
      expect(job.statusMessage).toBe(`Replication job paused after consecutive failed replication runs. ${UPLOAD_FAILED}`);
      expect(job.nextReplicationRunStartTime).toBeUndefined();
      runs = await runsOf(t, id);
      expect(runs.map((r) => [r.state, epoch(r.scheduledStartTime)])).toEqual([
        ['FAILED', second + 96],
        ['FAILED', second + 48],
        ['FAILED', second],
        ['COMPLETED', seed],
      ]);
      // Paused: no on-demand run, no run to move.
      await expectSmsError(t.sms.send(new StartOnDemandReplicationRunCommand({ replicationJobId: id })), 'OperationNotPermittedException', 400, /PAUSED_ON_FAILURE/);
      await expectSmsError(
        t.sms.send(new UpdateReplicationJobCommand({ replicationJobId: id, nextReplicationRunStartTime: date(second + DAY) })),
        'OperationNotPermittedException',
        400,
        /no scheduled run/,
      );
      expect(await serverOf(t, serverId)).toMatchObject({ replicationJobTerminated: false });

      // Paused for 4 days: deleted.
      await advanceTo(t, second + 114 + 4 * DAY - 1);
      expect((await jobOf(t, id)).state).toBe('PAUSED_ON_FAILURE');
      await t.advance(1);
      job = await jobOf(t, id);
      expect(job.state).toBe('DELETING');
      expect(job.statusMessage).toMatch(/paused on failure for more than 4 days/);
      await t.advance(2);
      expect((await jobOf(t, id)).state).toBe('DELETED');
      expect(await serverOf(t, serverId)).toMatchObject({ replicationJobId: id, replicationJobTerminated: true });
    } finally {
      await t.close();
    }
  });

  it('a one-time job on a VM that always fails ends FAILED; a VM that fails once recovers to ACTIVE', async () => {
    const inventory = generatedInventory({ vms: 3, vm: (i) => (i === 0 ? { failure: { afterRuns: 0 } } : i === 1 ? { failure: { afterRuns: 0, count: 1 } } : {}) });
    const t = await startTestServer({ inventory });
    try {
      const servers = await importCatalog(t);
      const seed = await alignClock(t);
      const [always, once] = servers;
      const failed = (await t.sms.send(new CreateReplicationJobCommand({ serverId: always!.serverId, seedReplicationTime: date(seed), runOnce: true }))).replicationJobId!;
      const recovers = (await t.sms.send(new CreateReplicationJobCommand({ serverId: once!.serverId, seedReplicationTime: date(seed), frequency: 6 }))).replicationJobId!;

      // Seed runs fail at +18: both FAILING, before any run completed (so no on-demand run yet).
      await advanceTo(t, seed + 18);
      for (const id of [failed, recovers]) {
        expect(await jobOf(t, id)).toMatchObject({ state: 'FAILING', statusMessage: expect.stringMatching(/2 re-try run\(s\) remaining/) });
      }
      await expectSmsError(t.sms.send(new StartOnDemandReplicationRunCommand({ replicationJobId: recovers })), 'OperationNotPermittedException', 400, /seed replication run has not completed/);

      // The retry at +48 succeeds for the VM that failed once: ACTIVE again, the failure count reset.
      await advanceTo(t, seed + 48 + 45);
      const ok = await jobOf(t, recovers);
      expect(ok.state).toBe('ACTIVE');
      expect(ok.statusMessage).toBeUndefined();
      expect(ok.latestAmiId).toMatch(/^ami-/);
      // The schedule still follows the seed time.
      expect(ok.nextReplicationRunStartTime).toEqual(date(seed + 6 * HOUR));
      expect((await runsOf(t, recovers)).map((r) => r.state)).toEqual(['PENDING', 'COMPLETED', 'FAILED']);

      // The one-time job fails 3 times: FAILED, terminated, and the server may get a new job.
      await advanceTo(t, seed + 114);
      const job = await jobOf(t, failed);
      expect(job.state).toBe('FAILED');
      expect(job.statusMessage).toBe(`Replication job failed after consecutive failed replication runs. ${UPLOAD_FAILED}`);
      expect((await runsOf(t, failed)).map((r) => r.state)).toEqual(['FAILED', 'FAILED', 'FAILED']);
      expect(await serverOf(t, always!.serverId!)).toMatchObject({ replicationJobId: failed, replicationJobTerminated: true });
      await expectSmsError(t.sms.send(new UpdateReplicationJobCommand({ replicationJobId: failed, description: 'x' })), 'OperationNotPermittedException', 400, /FAILED/);
      const next = await t.sms.send(new CreateReplicationJobCommand({ serverId: always!.serverId, seedReplicationTime: date(seed + DAY) }));
      expect(next.replicationJobId).toMatch(/^sms-job-/);
    } finally {
      await t.close();
    }
  });
});

describe('DisassociateConnector and replication', () => {
  it('jobs of a VM manager left without a healthy connector fail their next run; another covering connector keeps them going', async () => {
    const t = await startTestServer();
    try {
      const servers = await importCatalog(t);
      const seed = await alignClock(t);
      const create = async (vm: string) =>
        (await t.sms.send(new CreateReplicationJobCommand({ serverId: serverNamed(servers, vm).serverId, seedReplicationTime: date(seed), frequency: 1 })))
          .replicationJobId!;
      const vsphereJob = await create('web-01');
      const scvmmJob = await create('hr-app-01');
      await advanceTo(t, seed + 45);

      // The vSphere manager keeps a connector once c-1a2b... is healthy; the SCVMM manager loses its only one.
      await t.control.setConnectorStatus(DEMO.unhealthyVsphereConnector, 'HEALTHY');
      await t.sms.send(new DisassociateConnectorCommand({ connectorId: DEMO.healthyVsphereConnector }));
      await t.sms.send(new DisassociateConnectorCommand({ connectorId: DEMO.scvmmConnector }));
      expect((await t.sms.send(new GetConnectorsCommand({}))).connectorList?.map((c) => c.connectorId)).toEqual([DEMO.unhealthyVsphereConnector]);

      await advanceTo(t, seed + HOUR + 45);
      expect((await runsOf(t, vsphereJob)).map((r) => r.state)).toEqual(['PENDING', 'COMPLETED', 'COMPLETED']);
      expect((await jobOf(t, vsphereJob)).state).toBe('ACTIVE');
      const [retry, lost] = await runsOf(t, scvmmJob);
      expect(retry!.state).toBe('PENDING');
      expect(lost!.state).toBe('FAILED');
      expect(lost!.statusMessage).toMatch(NO_CONNECTOR);
      const job = await jobOf(t, scvmmJob);
      expect(job.state).toBe('FAILING');
      expect(job.statusMessage).toMatch(/No connectors are available.* 2 re-try run\(s\) remaining/);

      // Now the last vSphere connector goes unhealthy too: the vSphere job fails its next run.
      await t.control.setConnectorStatus(DEMO.unhealthyVsphereConnector, 'UNHEALTHY');
      await advanceTo(t, seed + 2 * HOUR + 45);
      expect((await runsOf(t, vsphereJob))[1]).toMatchObject({ state: 'FAILED', statusMessage: expect.stringMatching(NO_CONNECTOR) });
    } finally {
      await t.close();
    }
  });
});

describe('durability of a file-backed server', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sms-sdk-durable-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('after a restart with the same data directory: the same jobs, server ids, credentials, identity and clock', async () => {
    const first = await startTestServer({ dataDir: dir });
    let before: { jobs: unknown; servers: unknown; info: { serverId: string; now: number }; credentials: unknown; file: string | undefined; token: string };
    try {
      expect(first.server.credentialsOrigin).toBe('generated');
      expect(first.server.credentialsFile).toBe(join(dir, 'credentials.json'));
      expect(statSync(join(dir, 'credentials.json')).mode & 0o777).toBe(0o600);
      const servers = await importCatalog(first);
      const seed = await alignClock(first);
      for (const vm of ['web-01', 'web-02', 'hr-app-01']) {
        await first.sms.send(new CreateReplicationJobCommand({ serverId: serverNamed(servers, vm).serverId, seedReplicationTime: date(seed), frequency: 2, description: vm }));
      }
      await first.advance(45);
      before = {
        jobs: await allJobs(first),
        servers: await allServers(first),
        info: await first.control.info(),
        credentials: first.server.credentials,
        file: first.server.credentialsFile,
        token: (await first.sms.send(new GetReplicationJobsCommand({ maxResults: 1 }))).nextToken!,
      };
    } finally {
      await first.close();
    }

    const second = await startTestServer({ dataDir: dir });
    try {
      expect(second.server.credentialsOrigin).toBe('file');
      expect(second.server.credentials).toEqual(before.credentials);
      expect(second.server.credentialsFile).toBe(before.file);
      const info = await second.control.info();
      expect(info.serverId).toBe(before.info.serverId);
      expect(info.now).toBe(before.info.now);
      expect(await allJobs(second)).toEqual(before.jobs);
      expect(await allServers(second)).toEqual(before.servers);
      // A page token from before the restart still reads on.
      const page2 = await second.sms.send(new GetReplicationJobsCommand({ maxResults: 1, nextToken: before.token }));
      expect(page2.replicationJobList?.[0]?.description).toBe('web-02');
      // The lifecycle carries on, and ids issued before are never issued again.
      await second.advance(2 * HOUR);
      const jobs = await allJobs(second);
      expect(jobs.every((j) => j.replicationRunList?.[0]?.state === 'COMPLETED')).toBe(true);
      const oldIds = new Set((before.jobs as { replicationJobId: string }[]).map((j) => j.replicationJobId));
      const servers = await allServers(second);
      const created = await second.sms.send(
        new CreateReplicationJobCommand({ serverId: serverNamed(servers, 'web-03').serverId, seedReplicationTime: date(info.now + DAY) }),
      );
      expect(oldIds.has(created.replicationJobId!)).toBe(false);
    } finally {
      await second.close();
    }
  });
});
