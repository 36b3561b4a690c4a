/**
 * The happy path of each of the 11 actions, through the real @aws-sdk/client-sms over HTTP against
 * the embedded server (manual clock). Every request member is sent and every response member the
 * API reference lists is checked, with the types the SDK parses them into (Dates for timestamps).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConnectorCapability, ConnectorStatus, CreateReplicationJobCommand, DeleteReplicationJobCommand, DeleteServerCatalogCommand,
  DisassociateConnectorCommand, GetConnectorsCommand, GetReplicationJobsCommand, GetReplicationRunsCommand, GetServersCommand,
  ImportServerCatalogCommand, ReplicationJobState, ReplicationRunState, ReplicationRunType, ServerCatalogStatus,
  StartOnDemandReplicationRunCommand, UpdateReplicationJobCommand, VmManagerType, type ReplicationJob, type ReplicationRun,
  type Server,
} from '@aws-sdk/client-sms';
import { loadInventoryFile } from '../../src/server/inventory.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import {
  alignClock, allJobs, allServers, date, DEMO, epoch, HOUR, importCatalog, jobOf, nowOf, runsOf, serverNamed, startWithCatalog,
} from '../helpers/sms-world.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Every SDK response: HTTP 200 and a request id in $metadata. */
function ok<T extends { $metadata: { httpStatusCode?: number; requestId?: string } }>(out: T): T {
  expect(out.$metadata.httpStatusCode).toBe(200);
  expect(out.$metadata.requestId).toMatch(UUID);
  return out;
}

const values = (e: Record<string, string>): string[] => Object.values(e);

function checkServerShape(s: Server): void {
  expect(s.serverId).toMatch(/^s-[0-9a-f]{8}$/);
  expect(s.serverType).toBe('VIRTUAL_MACHINE');
  expect(values(VmManagerType)).toContain(s.vmServer?.vmManagerType);
  expect(typeof s.vmServer?.vmManagerName).toBe('string');
  expect(typeof s.vmServer?.vmName).toBe('string');
  expect(typeof s.vmServer?.vmPath).toBe('string');
  expect(typeof s.vmServer?.vmServerAddress?.vmId).toBe('string');
  expect(typeof s.vmServer?.vmServerAddress?.vmManagerId).toBe('string');
}

function checkRunShape(r: ReplicationRun): void {
  expect(r.replicationRunId).toMatch(/^sms-run-[0-9a-f]{8}$/);
  expect(values(ReplicationRunState)).toContain(r.state);
  expect(values(ReplicationRunType)).toContain(r.type);
  expect(r.scheduledStartTime).toBeInstanceOf(Date);
  expect(typeof r.encrypted).toBe('boolean');
}

/** VMs the demo inventory's catalog holds: those of VM managers a HEALTHY connector with the manager's capability covers. */
function expectedDemoCatalog(): { vmManagerId: string; vmId: string; vmName: string; vmPath: string; vmManagerName: string; vmManagerType: string }[] {
  const inv = loadInventoryFile();
  const covered = new Set(
    inv.connectors
      .filter((c) => c.status === 'HEALTHY' && c.capabilityList.some((cap) => cap === inv.vmManagers.find((m) => m.vmManagerId === c.vmManagerId)?.vmManagerType))
      .map((c) => c.vmManagerId),
  );
  return inv.vmManagers
    .filter((m) => covered.has(m.vmManagerId))
    .flatMap((m) => m.vms.map((vm) => ({ vmManagerId: m.vmManagerId, vmId: vm.vmId, vmName: vm.vmName, vmPath: vm.vmPath, vmManagerName: m.vmManagerName, vmManagerType: m.vmManagerType })));
}

describe('ImportServerCatalog and GetServers', () => {
  let t: TestServer;
  let servers: Server[];
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(() => t.close());

  it('answers NOT_IMPORTED with an empty list before any import', async () => {
    const out = ok(await t.sms.send(new GetServersCommand({})));
    expect(out.serverCatalogStatus).toBe('NOT_IMPORTED');
    expect(values(ServerCatalogStatus)).toContain(out.serverCatalogStatus);
    expect(out.serverList).toEqual([]);
    // The data directory's creation time (whole seconds).
    expect(out.lastModifiedOn).toBeInstanceOf(Date);
    expect(epoch(out.lastModifiedOn)).toBe(Math.floor(await nowOf(t)));
    expect(out.nextToken).toBeUndefined();
  });

  it('imports: IMPORTING with an empty list, then AVAILABLE after catalogImportSeconds with every covered VM', async () => {
    const started = await alignClock(t);
    ok(await t.sms.send(new ImportServerCatalogCommand({})));
    const importing = ok(await t.sms.send(new GetServersCommand({})));
    expect(importing.serverCatalogStatus).toBe('IMPORTING');
    expect(importing.serverList).toEqual([]);
    expect(epoch(importing.lastModifiedOn)).toBe(started);

    await t.advance(2.999);
    expect((await t.sms.send(new GetServersCommand({}))).serverCatalogStatus).toBe('IMPORTING');
    await t.advance(0.001);
    const available = ok(await t.sms.send(new GetServersCommand({ maxResults: 100 })));
    expect(available.serverCatalogStatus).toBe('AVAILABLE');
    expect(epoch(available.lastModifiedOn)).toBe(started + 3);
    expect(available.nextToken).toBeUndefined();
    servers = available.serverList ?? [];

    const expected = expectedDemoCatalog();
    // Both VM managers of the demo inventory are covered (vSphere by c-0f3a..., SCVMM by c-2b3c...).
    expect(expected).toHaveLength(DEMO.vmCount);
    expect(servers).toHaveLength(expected.length);
    for (const s of servers) checkServerShape(s);
    expect(
      servers.map((s) => ({
        vmManagerId: s.vmServer?.vmServerAddress?.vmManagerId,
        vmId: s.vmServer?.vmServerAddress?.vmId,
        vmName: s.vmServer?.vmName,
        vmPath: s.vmServer?.vmPath,
        vmManagerName: s.vmServer?.vmManagerName,
        vmManagerType: s.vmServer?.vmManagerType,
      })),
    ).toEqual(expected);
    expect(new Set(servers.map((s) => s.serverId)).size).toBe(servers.length);
    // No job yet: neither replicationJobId nor replicationJobTerminated.
    for (const s of servers) {
      expect(s.replicationJobId).toBeUndefined();
      expect(s.replicationJobTerminated).toBeUndefined();
    }
  });

  it('filters by one vmServerAddress', async () => {
    const out = ok(await t.sms.send(new GetServersCommand({ vmServerAddressList: [{ vmManagerId: DEMO.vsphere, vmId: 'vm-105' }] })));
    expect(out.serverCatalogStatus).toBe('AVAILABLE');
    expect(out.serverList?.map((s) => s.vmServer?.vmName)).toEqual(['web-05']);
    expect(out.serverList?.[0]).toEqual(serverNamed(servers, 'web-05'));
  });

  it('filters by two addresses on different VM managers', async () => {
    const out = ok(
      await t.sms.send(
        new GetServersCommand({
          vmServerAddressList: [
            { vmManagerId: DEMO.scvmm, vmId: '7f1c2d3e-0000-4000-8000-000000000009' },
            { vmManagerId: DEMO.vsphere, vmId: 'vm-113' },
          ],
        }),
      ),
    );
    // Catalog order, not filter order.
    expect(out.serverList?.map((s) => s.vmServer?.vmName)).toEqual(['db-01', 'fin-db-01']);
  });

  it('answers an empty list when no address matches (a vmId of the other manager is no match)', async () => {
    const out = ok(
      await t.sms.send(
        new GetServersCommand({ vmServerAddressList: [{ vmManagerId: DEMO.scvmm, vmId: 'vm-101' }, { vmManagerId: DEMO.vsphere, vmId: 'vm-999' }] }),
      ),
    );
    expect(out.serverCatalogStatus).toBe('AVAILABLE');
    expect(out.serverList).toEqual([]);
    expect(out.nextToken).toBeUndefined();
  });

  it('treats a partial address as a wildcard for the missing member', async () => {
    const byManager = ok(await t.sms.send(new GetServersCommand({ maxResults: 100, vmServerAddressList: [{ vmManagerId: DEMO.scvmm }] })));
    expect(byManager.serverList).toHaveLength(16);
    expect(new Set(byManager.serverList?.map((s) => s.vmServer?.vmManagerName))).toEqual(new Set(['scvmm-dc2.example.com']));
    const byVm = ok(await t.sms.send(new GetServersCommand({ vmServerAddressList: [{ vmId: 'vm-124' }] })));
    expect(byVm.serverList?.map((s) => s.vmServer?.vmName)).toEqual(['batch-04']);
  });

  it('keeps server ids across a re-import', async () => {
    ok(await t.sms.send(new ImportServerCatalogCommand({})));
    await t.advance(3);
    const again = await allServers(t);
    expect(again.map((s) => s.serverId)).toEqual(servers.map((s) => s.serverId));
  });

  it('DeleteServerCatalog: DELETED with an empty list, lastModifiedOn set', async () => {
    const now = await nowOf(t);
    ok(await t.sms.send(new DeleteServerCatalogCommand({})));
    const out = ok(await t.sms.send(new GetServersCommand({})));
    expect(out.serverCatalogStatus).toBe('DELETED');
    expect(out.serverList).toEqual([]);
    expect(epoch(out.lastModifiedOn)).toBeCloseTo(now, 3);
  });
});

describe('GetConnectors and DisassociateConnector', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(() => t.close());

  it('lists every associated connector with all members', async () => {
    const out = ok(await t.sms.send(new GetConnectorsCommand({})));
    expect(out.nextToken).toBeUndefined();
    const list = out.connectorList ?? [];
    expect(list.map((c) => c.connectorId)).toEqual([DEMO.healthyVsphereConnector, DEMO.unhealthyVsphereConnector, DEMO.scvmmConnector]);
    for (const c of list) {
      expect(c.associatedOn).toBeInstanceOf(Date);
      expect(values(ConnectorStatus)).toContain(c.status);
      expect(values(VmManagerType)).toContain(c.vmManagerType);
      for (const cap of c.capabilityList ?? []) expect(values(ConnectorCapability)).toContain(cap);
    }
    const first = list[0]!;
    expect({ ...first, associatedOn: undefined }).toEqual({
      associatedOn: undefined,
      connectorId: 'c-0f3a9b1c2d4e5f607',
      version: '1.0.13.245',
      status: 'HEALTHY',
      capabilityList: ['VSPHERE', 'SNAPSHOT_BATCHING'],
      vmManagerName: 'vcenter-dc1.example.com',
      vmManagerType: 'VSPHERE',
      vmManagerId: DEMO.vsphere,
      ipAddress: '192.0.2.10',
      macAddress: '00:50:56:9a:10:01',
    });
    expect(list[1]).toMatchObject({ status: 'UNHEALTHY', capabilityList: ['VSPHERE'], version: '1.0.12.181' });
    expect(list[2]).toMatchObject({ vmManagerType: 'SCVMM', capabilityList: ['SCVMM', 'HYPERV-MANAGER'], vmManagerId: DEMO.scvmm });
  });

  it('DisassociateConnector removes the connector from GetConnectors and nothing else', async () => {
    ok(await t.sms.send(new DisassociateConnectorCommand({ connectorId: DEMO.unhealthyVsphereConnector })));
    const out = ok(await t.sms.send(new GetConnectorsCommand({})));
    expect(out.connectorList?.map((c) => c.connectorId)).toEqual([DEMO.healthyVsphereConnector, DEMO.scvmmConnector]);
    // The vSphere manager is still covered by the healthy connector: an import still finds all 40 VMs.
    expect(await importCatalog(t)).toHaveLength(DEMO.vmCount);
  });
});

describe('replication jobs', () => {
  let t: TestServer;
  let servers: Server[];
  let now: number;
  beforeAll(async () => {
    ({ t, servers, now } = await startWithCatalog());
  });
  afterAll(() => t.close());

  it('CreateReplicationJob with every member, reported back in full by GetReplicationJobs', async () => {
    const server = serverNamed(servers, 'app-01');
    const seed = now + 600;
    const created = ok(
      await t.sms.send(
        new CreateReplicationJobCommand({
          serverId: server.serverId,
          seedReplicationTime: date(seed),
          frequency: 12,
          runOnce: false,
          licenseType: 'BYOL',
          roleName: 'sms-role_1+=,.@-',
          description: 'app-01 nightly',
          numberOfRecentAmisToKeep: 5,
          encrypted: true,
          kmsKeyId: 'arn:aws:kms:us-east-1:123456789012:alias/sms',
        }),
      ),
    );
    expect(created.replicationJobId).toMatch(/^sms-job-[0-9a-f]{8}$/);
    const id = created.replicationJobId!;

    const listed = ok(await t.sms.send(new GetReplicationJobsCommand({ replicationJobId: id })));
    expect(listed.nextToken).toBeUndefined();
    const job = listed.replicationJobList![0]!;
    expect(job.seedReplicationTime).toBeInstanceOf(Date);
    expect(job.nextReplicationRunStartTime).toBeInstanceOf(Date);
    expect(job).toEqual({
      replicationJobId: id,
      serverId: server.serverId,
      serverType: 'VIRTUAL_MACHINE',
      vmServer: server.vmServer,
      seedReplicationTime: date(seed),
      frequency: 12,
      runOnce: false,
      nextReplicationRunStartTime: date(seed),
      licenseType: 'BYOL',
      roleName: 'sms-role_1+=,.@-',
      state: 'PENDING',
      description: 'app-01 nightly',
      numberOfRecentAmisToKeep: 5,
      encrypted: true,
      kmsKeyId: 'arn:aws:kms:us-east-1:123456789012:alias/sms',
      replicationRunList: [
        {
          replicationRunId: expect.stringMatching(/^sms-run-[0-9a-f]{8}$/),
          state: 'PENDING',
          type: 'AUTOMATIC',
          scheduledStartTime: date(seed),
          encrypted: true,
          kmsKeyId: 'arn:aws:kms:us-east-1:123456789012:alias/sms',
        },
      ],
    });
    expect(values(ReplicationJobState)).toContain(job.state);

    // GetServers now links the server to its job.
    const s = ok(await t.sms.send(new GetServersCommand({ vmServerAddressList: [server.vmServer!.vmServerAddress!] })));
    expect(s.serverList?.[0]).toMatchObject({ serverId: server.serverId, replicationJobId: id, replicationJobTerminated: false });
  });

  it('CreateReplicationJob with only the required members reports the defaults', async () => {
    const server = serverNamed(servers, 'app-02');
    const seed = now + 900;
    const { replicationJobId } = ok(await t.sms.send(new CreateReplicationJobCommand({ serverId: server.serverId, seedReplicationTime: date(seed) })));
    const job = await jobOf(t, replicationJobId!);
    expect(job).toMatchObject({ runOnce: false, encrypted: false, numberOfRecentAmisToKeep: 0, frequency: 24, state: 'PENDING' });
    for (const k of ['licenseType', 'roleName', 'description', 'kmsKeyId', 'latestAmiId', 'statusMessage'] as const) expect(job[k]).toBeUndefined();
    // A one-time job reports no frequency.
    const once = ok(
      await t.sms.send(new CreateReplicationJobCommand({ serverId: serverNamed(servers, 'app-03').serverId, seedReplicationTime: date(seed), runOnce: true })),
    );
    const onceJob = await jobOf(t, once.replicationJobId!);
    expect(onceJob.runOnce).toBe(true);
    expect(onceJob.frequency).toBeUndefined();
  });

  it('GetReplicationJobs lists all jobs in creation order, and one by replicationJobId', async () => {
    const all = ok(await t.sms.send(new GetReplicationJobsCommand({})));
    expect(all.nextToken).toBeUndefined();
    const names = all.replicationJobList?.map((j) => j.vmServer?.vmName);
    expect(names).toEqual(['app-01', 'app-02', 'app-03']);
    for (const j of all.replicationJobList ?? []) {
      expect(j.replicationJobId).toMatch(/^sms-job-[0-9a-f]{8}$/);
      const one = ok(await t.sms.send(new GetReplicationJobsCommand({ replicationJobId: j.replicationJobId })));
      expect(one.replicationJobList).toEqual([j]);
    }
  });

  it('GetReplicationRuns: the job and its runs, with an ACTIVE run\'s stageDetails and a COMPLETED run\'s amiId and completedTime', async () => {
    const server = serverNamed(servers, 'app-04');
    const start = (await alignClock(t)) + 60;
    const { replicationJobId } = ok(
      await t.sms.send(new CreateReplicationJobCommand({ serverId: server.serverId, seedReplicationTime: date(start), frequency: 2, description: 'runs' })),
    );
    const id = replicationJobId!;
    const pending = ok(await t.sms.send(new GetReplicationRunsCommand({ replicationJobId: id })));
    expect(pending.nextToken).toBeUndefined();
    expect(pending.replicationJob).toEqual(await jobOf(t, id));
    expect(pending.replicationRunList).toHaveLength(1);
    checkRunShape(pending.replicationRunList![0]!);

    await t.advance(60 + 10);
    const active = ok(await t.sms.send(new GetReplicationRunsCommand({ replicationJobId: id })));
    expect(active.replicationJob?.state).toBe('ACTIVE');
    const run = active.replicationRunList![0]!;
    expect(run).toMatchObject({ state: 'ACTIVE', type: 'AUTOMATIC', stageDetails: { stage: 'Uploading', stageProgress: expect.stringMatching(/^\d{1,2}%$/) } });
    expect(run.amiId).toBeUndefined();
    expect(run.completedTime).toBeUndefined();

    await t.advance(35);
    const done = ok(await t.sms.send(new GetReplicationRunsCommand({ replicationJobId: id })));
    const [next, completed] = done.replicationRunList!;
    checkRunShape(completed!);
    expect(completed).toMatchObject({ replicationRunId: run.replicationRunId, state: 'COMPLETED', statusMessage: 'Completed', scheduledStartTime: date(start) });
    expect(completed!.amiId).toMatch(/^ami-[0-9a-f]{17}$/);
    expect(epoch(completed!.completedTime)).toBe(start + 45);
    expect(completed!.stageDetails).toBeUndefined();
    expect(next).toMatchObject({ state: 'PENDING', type: 'AUTOMATIC', scheduledStartTime: date(start + 2 * HOUR) });
    expect(done.replicationJob?.latestAmiId).toBe(completed!.amiId);
    expect(done.replicationJob?.nextReplicationRunStartTime).toEqual(date(start + 2 * HOUR));
  });

  it('UpdateReplicationJob changes each member it is given and leaves the others', async () => {
    const server = serverNamed(servers, 'app-05');
    const seed = (await nowOf(t)) + 3600;
    const { replicationJobId } = ok(await t.sms.send(new CreateReplicationJobCommand({ serverId: server.serverId, seedReplicationTime: date(Math.floor(seed)) })));
    const id = replicationJobId!;
    const before = await jobOf(t, id);
    const changes = [
      { description: 'updated description' },
      { encrypted: true },
      { kmsKeyId: 'alias/other' },
      { licenseType: 'AWS' as const },
      { roleName: 'other-role' },
      { numberOfRecentAmisToKeep: 270 },
      { frequency: 1 },
    ];
    let expected: ReplicationJob = before;
    for (const change of changes) {
      ok(await t.sms.send(new UpdateReplicationJobCommand({ replicationJobId: id, ...change })));
      expected = { ...expected, ...change };
      const after = await jobOf(t, id);
      expect({ ...after, replicationRunList: undefined }).toEqual({ ...expected, replicationRunList: undefined });
    }
    expect(expected).toMatchObject({ description: 'updated description', encrypted: true, kmsKeyId: 'alias/other', licenseType: 'AWS', roleName: 'other-role', numberOfRecentAmisToKeep: 270, frequency: 1 });
  });

  it('UpdateReplicationJob nextReplicationRunStartTime moves the pending run; a frequency change applies after the next run', async () => {
    const server = serverNamed(servers, 'app-06');
    const base = await alignClock(t);
    const seed = base + 100;
    const { replicationJobId } = ok(await t.sms.send(new CreateReplicationJobCommand({ serverId: server.serverId, seedReplicationTime: date(seed), frequency: 24 })));
    const id = replicationJobId!;
    const pendingBefore = (await runsOf(t, id))[0]!;

    // Move the seed run 2 hours later: the same run, at the new time.
    ok(await t.sms.send(new UpdateReplicationJobCommand({ replicationJobId: id, nextReplicationRunStartTime: date(base + 2 * HOUR) })));
    let runs = await runsOf(t, id);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ replicationRunId: pendingBefore.replicationRunId, state: 'PENDING', scheduledStartTime: date(base + 2 * HOUR) });
    expect((await jobOf(t, id)).nextReplicationRunStartTime).toEqual(date(base + 2 * HOUR));
    // The seed time itself is what the client gave.
    expect((await jobOf(t, id)).seedReplicationTime).toEqual(date(seed));

    // Nothing happens at the old seed time.
    await t.advance(200);
    expect((await jobOf(t, id)).state).toBe('PENDING');

    // Frequency 24 -> 6: the pending run keeps its time, the one after follows the new frequency.
    ok(await t.sms.send(new UpdateReplicationJobCommand({ replicationJobId: id, frequency: 6 })));
    expect((await jobOf(t, id)).nextReplicationRunStartTime).toEqual(date(base + 2 * HOUR));
    await t.advance(2 * HOUR - 200 + 45);
    runs = await runsOf(t, id);
    expect(runs.map((r) => [r.state, epoch(r.scheduledStartTime)])).toEqual([
      ['PENDING', base + 2 * HOUR + 6 * HOUR],
      ['COMPLETED', base + 2 * HOUR],
    ]);
    expect((await jobOf(t, id)).frequency).toBe(6);
  });

  it('StartOnDemandReplicationRun starts an ON_DEMAND run at once, with its description', async () => {
    // app-04's job completed its seed run above; its next automatic run is 2 hours after the seed.
    const job = (await allJobs(t)).find((j) => j.vmServer?.vmName === 'app-04')!;
    const at = await nowOf(t);
    const out = ok(await t.sms.send(new StartOnDemandReplicationRunCommand({ replicationJobId: job.replicationJobId, description: 'before cut-over' })));
    expect(out.replicationRunId).toMatch(/^sms-run-[0-9a-f]{8}$/);
    const runs = await runsOf(t, job.replicationJobId!);
    expect(runs[0]).toMatchObject({
      replicationRunId: out.replicationRunId,
      state: 'ACTIVE',
      type: 'ON_DEMAND',
      description: 'before cut-over',
      stageDetails: { stage: 'Uploading', stageProgress: '0%' },
    });
    expect(epoch(runs[0]!.scheduledStartTime)).toBeCloseTo(at, 3);
    // The job's replicationRunList shows the active run.
    expect((await jobOf(t, job.replicationJobId!)).replicationRunList?.[0]?.replicationRunId).toBe(out.replicationRunId);
    await t.advance(45);
    const after = await runsOf(t, job.replicationJobId!);
    expect(after.find((r) => r.replicationRunId === out.replicationRunId)).toMatchObject({ state: 'COMPLETED', amiId: expect.stringMatching(/^ami-/) });
  });

  it('DeleteReplicationJob: DELETING at once, DELETED after deleteSeconds, still listed', async () => {
    const job = (await allJobs(t)).find((j) => j.vmServer?.vmName === 'app-02')!;
    ok(await t.sms.send(new DeleteReplicationJobCommand({ replicationJobId: job.replicationJobId })));
    expect((await jobOf(t, job.replicationJobId!)).state).toBe('DELETING');
    const server = (await allServers(t)).find((s) => s.serverId === job.serverId)!;
    expect(server.replicationJobTerminated).toBe(false);
    await t.advance(2);
    const deleted = await jobOf(t, job.replicationJobId!);
    expect(deleted.state).toBe('DELETED');
    expect(deleted.nextReplicationRunStartTime).toBeUndefined();
    expect((await allJobs(t)).map((j) => j.replicationJobId)).toContain(job.replicationJobId);
    const after = (await allServers(t)).find((s) => s.serverId === job.serverId)!;
    expect(after).toMatchObject({ replicationJobId: job.replicationJobId, replicationJobTerminated: true });
  });
});
