/**
 * Every error the API reference lists for each action, in the situations BEHAVIOR.md gives for it,
 * through the real SDK over HTTP: the code (err.name), the HTTP status and a useful message. What
 * the SDK cannot send (wrong JSON types, broken bodies, unknown targets) goes as raw signed requests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateReplicationJobCommand, DeleteReplicationJobCommand, DeleteServerCatalogCommand, DisassociateConnectorCommand,
  GetConnectorsCommand, GetReplicationJobsCommand, GetReplicationRunsCommand, GetServersCommand, ImportServerCatalogCommand, SMSClient,
  StartOnDemandReplicationRunCommand, UpdateReplicationJobCommand, type LicenseType, type Server,
} from '@aws-sdk/client-sms';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { rawCall, type RawResponse } from '../helpers/sms-raw.ts';
import {
  alignClock, allJobs, allServers, date, DAY, DEMO, expectSmsError, importCatalog, jobOf, nowOf, runsOf, serverNamed, startWithCatalog,
} from '../helpers/sms-world.ts';

const INVALID = 'InvalidParameterException';
const MISSING = 'MissingRequiredParameterException';
const NOT_PERMITTED = 'OperationNotPermittedException';

describe('MissingRequiredParameterException for each required member', () => {
  let t: TestServer;
  let server: Server;
  beforeAll(async () => {
    t = await startTestServer();
    server = (await importCatalog(t))[0]!;
  });
  afterAll(() => t.close());

  const seed = () => date(Math.floor(Date.now() / 1000) + 3600);

  it('CreateReplicationJob: serverId (absent or empty) and seedReplicationTime', async () => {
    await expectSmsError(t.sms.send(new CreateReplicationJobCommand({ serverId: undefined, seedReplicationTime: seed() })), MISSING, 400, /serverId/);
    await expectSmsError(t.sms.send(new CreateReplicationJobCommand({ serverId: '', seedReplicationTime: seed() })), MISSING, 400, /serverId/);
    await expectSmsError(
      t.sms.send(new CreateReplicationJobCommand({ serverId: server.serverId, seedReplicationTime: undefined })),
      MISSING,
      400,
      /seedReplicationTime/,
    );
    expect(await allJobs(t)).toEqual([]);
  });

  it('replicationJobId of DeleteReplicationJob, UpdateReplicationJob, StartOnDemandReplicationRun and GetReplicationRuns', async () => {
    const input = { replicationJobId: undefined };
    await expectSmsError(t.sms.send(new DeleteReplicationJobCommand(input)), MISSING, 400, /replicationJobId/);
    await expectSmsError(t.sms.send(new UpdateReplicationJobCommand({ ...input, frequency: 2 })), MISSING, 400, /replicationJobId/);
    await expectSmsError(t.sms.send(new StartOnDemandReplicationRunCommand(input)), MISSING, 400, /replicationJobId/);
    await expectSmsError(t.sms.send(new GetReplicationRunsCommand(input)), MISSING, 400, /replicationJobId/);
  });

  it('connectorId of DisassociateConnector', async () => {
    await expectSmsError(t.sms.send(new DisassociateConnectorCommand({ connectorId: undefined })), MISSING, 400, /connectorId/);
    expect((await t.sms.send(new GetConnectorsCommand({}))).connectorList).toHaveLength(3);
  });
});

describe('InvalidParameterException', () => {
  let t: TestServer;
  let servers: Server[];
  let jobId: string;
  let now: number;
  beforeAll(async () => {
    ({ t, servers, now } = await startWithCatalog());
    jobId = (await t.sms.send(new CreateReplicationJobCommand({ serverId: serverNamed(servers, 'web-01').serverId, seedReplicationTime: date(now + 3600) })))
      .replicationJobId!;
  });
  afterAll(() => t.close());

  const create = (extra: Record<string, unknown>, vm = 'web-02') =>
    t.sms.send(new CreateReplicationJobCommand({ serverId: serverNamed(servers, vm).serverId, seedReplicationTime: date(now + 3600), ...extra }));
  const update = (extra: Record<string, unknown>) => t.sms.send(new UpdateReplicationJobCommand({ replicationJobId: jobId, ...extra }));

  it('an unknown licenseType', async () => {
    await expectSmsError(create({ licenseType: 'GPL' as LicenseType }), INVALID, 400, /licenseType must be one of AWS, BYOL.*GPL/);
    await expectSmsError(update({ licenseType: 'aws' as LicenseType }), INVALID, 400, /licenseType/);
  });

  it.each([0, 25, 1.5, -1])('frequency %s (whole hours 1..24)', async (frequency) => {
    await expectSmsError(create({ frequency }), INVALID, 400, /frequency must be a whole number of hours from 1 to 24/);
    await expectSmsError(update({ frequency }), INVALID, 400, /frequency/);
  });

  it('frequency 1 and 24 are accepted', async () => {
    await update({ frequency: 1 });
    await update({ frequency: 24 });
    expect((await jobOf(t, jobId)).frequency).toBe(24);
  });

  it.each([271, -1, 2.5])('numberOfRecentAmisToKeep %s (0..270)', async (n) => {
    await expectSmsError(create({ numberOfRecentAmisToKeep: n }), INVALID, 400, /numberOfRecentAmisToKeep must be a whole number from 0 to 270/);
    await expectSmsError(update({ numberOfRecentAmisToKeep: n }), INVALID, 400, /numberOfRecentAmisToKeep/);
  });

  it('a seedReplicationTime more than 30 days ahead; exactly 30 days is accepted', async () => {
    await expectSmsError(create({ seedReplicationTime: date(now + 30 * DAY + 1) }), INVALID, 400, /seedReplicationTime must be at most 30 days in the future/);
    const ok = await create({ seedReplicationTime: date(now + 30 * DAY) }, 'web-03');
    expect(ok.replicationJobId).toMatch(/^sms-job-/);
  });

  it('a nextReplicationRunStartTime in the past, now, or more than 30 days ahead', async () => {
    await expectSmsError(update({ nextReplicationRunStartTime: date(now - 60) }), INVALID, 400, /nextReplicationRunStartTime must be in the future/);
    await expectSmsError(update({ nextReplicationRunStartTime: date(now) }), INVALID, 400, /in the future/);
    await expectSmsError(update({ nextReplicationRunStartTime: date(now + 30 * DAY + 1) }), INVALID, 400, /at most 30 days/);
    expect((await jobOf(t, jobId)).nextReplicationRunStartTime).toEqual(date(now + 3600));
  });

  it.each(['bad role', 'a'.repeat(65), 'role/with/slash', 'role#1'])('roleName %j', async (roleName) => {
    await expectSmsError(create({ roleName }), INVALID, 400, /roleName|64/);
    await expectSmsError(update({ roleName }), INVALID, 400, /roleName|64/);
  });

  it('description over 255 and kmsKeyId over 2048 characters', async () => {
    await expectSmsError(create({ description: 'd'.repeat(256) }), INVALID, 400, /description must be at most 255/);
    await expectSmsError(update({ kmsKeyId: 'k'.repeat(2049) }), INVALID, 400, /kmsKeyId must be at most 2048/);
  });

  it('runOnce together with frequency; frequency on a runOnce job', async () => {
    await expectSmsError(create({ runOnce: true, frequency: 12 }), INVALID, 400, /frequency cannot be set on a one-time \(runOnce\)/);
    const once = await create({ runOnce: true }, 'web-04');
    await expectSmsError(
      t.sms.send(new UpdateReplicationJobCommand({ replicationJobId: once.replicationJobId, frequency: 12 })),
      INVALID,
      400,
      /runOnce/,
    );
  });

  it.each([0, 101, 2.5])('maxResults %s on each Get action (1..100)', async (maxResults) => {
    const re = /maxResults must be a whole number from 1 to 100/;
    await expectSmsError(t.sms.send(new GetServersCommand({ maxResults })), INVALID, 400, re);
    await expectSmsError(t.sms.send(new GetConnectorsCommand({ maxResults })), INVALID, 400, re);
    await expectSmsError(t.sms.send(new GetReplicationJobsCommand({ maxResults })), INVALID, 400, re);
    await expectSmsError(t.sms.send(new GetReplicationRunsCommand({ replicationJobId: jobId, maxResults })), INVALID, 400, re);
  });

  it('an unknown serverId on CreateReplicationJob', async () => {
    await expectSmsError(t.sms.send(new CreateReplicationJobCommand({ serverId: 's-00000000', seedReplicationTime: date(now + 60) })), INVALID, 400, /s-00000000 does not exist/);
    await expectSmsError(t.sms.send(new CreateReplicationJobCommand({ serverId: 'web-01', seedReplicationTime: date(now + 60) })), INVALID, 400, /web-01/);
  });

  it('an unknown replicationJobId on GetReplicationJobs, GetReplicationRuns and StartOnDemandReplicationRun', async () => {
    for (const id of ['sms-job-00000000', 'not-a-job']) {
      await expectSmsError(t.sms.send(new GetReplicationJobsCommand({ replicationJobId: id })), INVALID, 400, new RegExp(`${id} does not exist`));
      await expectSmsError(t.sms.send(new GetReplicationRunsCommand({ replicationJobId: id })), INVALID, 400, new RegExp(id));
      await expectSmsError(t.sms.send(new StartOnDemandReplicationRunCommand({ replicationJobId: id })), INVALID, 400, new RegExp(id));
    }
  });

  it('DisassociateConnector with a malformed, unknown or already disassociated connectorId', async () => {
    await expectSmsError(t.sms.send(new DisassociateConnectorCommand({ connectorId: 'c-123' })), INVALID, 400, /not a connector id/);
    await expectSmsError(t.sms.send(new DisassociateConnectorCommand({ connectorId: 'c-00000000000000000' })), INVALID, 400, /not associated/);
    await t.sms.send(new DisassociateConnectorCommand({ connectorId: DEMO.unhealthyVsphereConnector }));
    await expectSmsError(t.sms.send(new DisassociateConnectorCommand({ connectorId: DEMO.unhealthyVsphereConnector })), INVALID, 400, /not associated/);
  });

  it('more than 100 addresses in vmServerAddressList', async () => {
    const list = Array.from({ length: 101 }, (_, i) => ({ vmId: `vm-${i}` }));
    await expectSmsError(t.sms.send(new GetServersCommand({ vmServerAddressList: list })), INVALID, 400, /at most 100/);
  });

  it('none of the refused requests changed the job', async () => {
    const job = await jobOf(t, jobId);
    expect(job).toMatchObject({ frequency: 24, numberOfRecentAmisToKeep: 0, encrypted: false, state: 'PENDING' });
    expect(job.licenseType).toBeUndefined();
    expect(job.roleName).toBeUndefined();
    expect((await allJobs(t)).map((j) => j.vmServer?.vmName)).toEqual(['web-01', 'web-03', 'web-04']);
  });
});

describe('ReplicationJobNotFoundException, ReplicationJobAlreadyExistsException, ServerCannotBeReplicatedException', () => {
  let t: TestServer;
  let servers: Server[];
  let now: number;
  beforeAll(async () => {
    ({ t, servers, now } = await startWithCatalog());
  });
  afterAll(() => t.close());

  const create = (vm: string) =>
    t.sms.send(new CreateReplicationJobCommand({ serverId: serverNamed(servers, vm).serverId, seedReplicationTime: date(now + 3600) }));

  it('UpdateReplicationJob and DeleteReplicationJob of an unknown job', async () => {
    for (const replicationJobId of ['sms-job-00000000', 'nope']) {
      await expectSmsError(t.sms.send(new UpdateReplicationJobCommand({ replicationJobId, frequency: 2 })), 'ReplicationJobNotFoundException', 400, /cannot be found/);
      await expectSmsError(t.sms.send(new DeleteReplicationJobCommand({ replicationJobId })), 'ReplicationJobNotFoundException', 400, /cannot be found/);
    }
  });

  it('a second job for a server, also while the first is DELETING; allowed once it is DELETED', async () => {
    const first = await create('db-01');
    await expectSmsError(create('db-01'), 'ReplicationJobAlreadyExistsException', 400, new RegExp(`${first.replicationJobId}.*PENDING`));
    await t.sms.send(new DeleteReplicationJobCommand({ replicationJobId: first.replicationJobId }));
    await expectSmsError(create('db-01'), 'ReplicationJobAlreadyExistsException', 400, /DELETING/);
    await t.advance(2);
    const second = await create('db-01');
    expect(second.replicationJobId).not.toBe(first.replicationJobId);
  });

  it('legacy-03 has 24 volumes: ServerCannotBeReplicatedException', async () => {
    await expectSmsError(create('legacy-03'), 'ServerCannotBeReplicatedException', 400, /24 volumes \(at most 22\)/);
    const s = (await allServers(t)).find((x) => x.vmServer?.vmName === 'legacy-03')!;
    expect(s.replicationJobId).toBeUndefined();
  });

  it('UpdateReplicationJob after DeleteServerCatalog: ServerCannotBeReplicatedException, until the catalog is imported again', async () => {
    const { replicationJobId } = await create('db-02');
    await t.sms.send(new DeleteServerCatalogCommand({}));
    await expectSmsError(
      t.sms.send(new UpdateReplicationJobCommand({ replicationJobId, frequency: 6 })),
      'ServerCannotBeReplicatedException',
      400,
      /not in the server catalog/,
    );
    expect((await jobOf(t, replicationJobId!)).frequency).toBe(24);
    await importCatalog(t);
    await t.sms.send(new UpdateReplicationJobCommand({ replicationJobId, frequency: 6 }));
    expect((await jobOf(t, replicationJobId!)).frequency).toBe(6);
  });
});

describe('NoConnectorsAvailableException', () => {
  it('ImportServerCatalog with no healthy connector, CreateReplicationJob when the VM manager has none', async () => {
    const t = await startTestServer();
    try {
      const servers = await importCatalog(t);
      const seed = date((await nowOf(t)) + 3600);
      // The SCVMM manager's only connector goes UNHEALTHY: no job there, vSphere still fine.
      await t.control.setConnectorStatus(DEMO.scvmmConnector, 'UNHEALTHY');
      await expectSmsError(
        t.sms.send(new CreateReplicationJobCommand({ serverId: serverNamed(servers, 'hr-app-01').serverId, seedReplicationTime: seed })),
        'NoConnectorsAvailableException',
        400,
        /No connectors are available/,
      );
      await t.sms.send(new CreateReplicationJobCommand({ serverId: serverNamed(servers, 'web-01').serverId, seedReplicationTime: seed }));
      // A connector without the manager's capability does not count.
      await t.control.setConnectorStatus(DEMO.healthyVsphereConnector, 'UNHEALTHY');
      await expectSmsError(t.sms.send(new ImportServerCatalogCommand({})), 'NoConnectorsAvailableException', 400, /No connectors are available/);
      expect((await t.sms.send(new GetServersCommand({}))).serverCatalogStatus).toBe('AVAILABLE');
      // Disassociating the last healthy one is the same.
      await t.control.setConnectorStatus(DEMO.scvmmConnector, 'HEALTHY');
      await t.sms.send(new DisassociateConnectorCommand({ connectorId: DEMO.scvmmConnector }));
      await expectSmsError(t.sms.send(new ImportServerCatalogCommand({})), 'NoConnectorsAvailableException', 400);
    } finally {
      await t.close();
    }
  });
});

describe('OperationNotPermittedException', () => {
  it('CreateReplicationJob before any import is InvalidParameterException (the server was never seen)', async () => {
    const t = await startTestServer();
    try {
      await expectSmsError(t.sms.send(new CreateReplicationJobCommand({ serverId: 's-12345678', seedReplicationTime: date(Date.now() / 1000 + 60) })), INVALID, 400);
    } finally {
      await t.close();
    }
  });

  it('the catalog: import while importing, delete while importing, create while the catalog is IMPORTING or DELETED', async () => {
    const t = await startTestServer();
    try {
      const servers = await importCatalog(t);
      const seed = date((await nowOf(t)) + 3600);
      const serverId = serverNamed(servers, 'web-06').serverId;
      await t.sms.send(new ImportServerCatalogCommand({}));
      await expectSmsError(t.sms.send(new ImportServerCatalogCommand({})), NOT_PERMITTED, 400, /import is already in progress/);
      await expectSmsError(t.sms.send(new DeleteServerCatalogCommand({})), NOT_PERMITTED, 400, /cannot be deleted while an import is in progress/);
      await expectSmsError(t.sms.send(new CreateReplicationJobCommand({ serverId, seedReplicationTime: seed })), NOT_PERMITTED, 400, /IMPORTING.*ImportServerCatalog/);
      await t.advance(3);
      await t.sms.send(new DeleteServerCatalogCommand({}));
      await expectSmsError(t.sms.send(new CreateReplicationJobCommand({ serverId, seedReplicationTime: seed })), NOT_PERMITTED, 400, /DELETED/);
      expect(await allJobs(t)).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('jobs: delete a DELETING or DELETED job, update a DELETING, DELETED or COMPLETED job', async () => {
    const t = await startTestServer();
    try {
      const servers = await importCatalog(t);
      const now = await alignClock(t);
      const { replicationJobId } = await t.sms.send(
        new CreateReplicationJobCommand({ serverId: serverNamed(servers, 'web-01').serverId, seedReplicationTime: date(now + 3600) }),
      );
      await t.sms.send(new DeleteReplicationJobCommand({ replicationJobId }));
      await expectSmsError(t.sms.send(new DeleteReplicationJobCommand({ replicationJobId })), NOT_PERMITTED, 400, /already DELETING/);
      await expectSmsError(t.sms.send(new UpdateReplicationJobCommand({ replicationJobId, frequency: 2 })), NOT_PERMITTED, 400, /DELETING and can no longer be updated/);
      await t.advance(2);
      await expectSmsError(t.sms.send(new DeleteReplicationJobCommand({ replicationJobId })), NOT_PERMITTED, 400, /already DELETED/);
      await expectSmsError(t.sms.send(new UpdateReplicationJobCommand({ replicationJobId, description: 'x' })), NOT_PERMITTED, 400, /DELETED/);

      const once = await t.sms.send(
        new CreateReplicationJobCommand({ serverId: serverNamed(servers, 'web-02').serverId, seedReplicationTime: date(now), runOnce: true }),
      );
      await t.advance(45);
      expect((await jobOf(t, once.replicationJobId!)).state).toBe('COMPLETED');
      await expectSmsError(t.sms.send(new UpdateReplicationJobCommand({ replicationJobId: once.replicationJobId, description: 'x' })), NOT_PERMITTED, 400, /COMPLETED/);
      await expectSmsError(t.sms.send(new StartOnDemandReplicationRunCommand({ replicationJobId: once.replicationJobId })), NOT_PERMITTED, 400, /COMPLETED/);
    } finally {
      await t.close();
    }
  });

  it('on-demand runs: before the seed run, while the seed run is active, while another run is active', async () => {
    const t = await startTestServer();
    try {
      const servers = await importCatalog(t);
      const now = await alignClock(t);
      const { replicationJobId } = await t.sms.send(
        new CreateReplicationJobCommand({ serverId: serverNamed(servers, 'web-01').serverId, seedReplicationTime: date(now + 60) }),
      );
      const onDemand = () => t.sms.send(new StartOnDemandReplicationRunCommand({ replicationJobId }));
      await expectSmsError(onDemand(), NOT_PERMITTED, 400, /state PENDING/);
      await t.advance(70);
      await expectSmsError(onDemand(), NOT_PERMITTED, 400, /seed replication run has not completed/);
      await t.advance(40);
      const first = await onDemand();
      await expectSmsError(onDemand(), NOT_PERMITTED, 400, /another replication run is in progress/);
      const runs = await runsOf(t, replicationJobId!);
      expect(runs.filter((r) => r.type === 'ON_DEMAND').map((r) => r.replicationRunId)).toEqual([first.replicationRunId]);
    } finally {
      await t.close();
    }
  });

  it('the concurrent-job limit (maxConcurrentJobs 2); a DELETED job frees its slot, a DELETING one does not', async () => {
    const t = await startTestServer({ settings: { maxConcurrentJobs: 2 } });
    try {
      const servers = await importCatalog(t);
      const seed = date((await nowOf(t)) + 3600);
      const create = (vm: string) => t.sms.send(new CreateReplicationJobCommand({ serverId: serverNamed(servers, vm).serverId, seedReplicationTime: seed }));
      const a = await create('web-01');
      await create('web-02');
      await expectSmsError(create('web-03'), NOT_PERMITTED, 400, /limit of 2 concurrent replication jobs/);
      await t.sms.send(new DeleteReplicationJobCommand({ replicationJobId: a.replicationJobId }));
      await expectSmsError(create('web-03'), NOT_PERMITTED, 400, /limit of 2/);
      await t.advance(2);
      await create('web-03');
      expect((await allJobs(t)).map((j) => [j.vmServer?.vmName, j.state])).toEqual([
        ['web-01', 'DELETED'],
        ['web-02', 'PENDING'],
        ['web-03', 'PENDING'],
      ]);
    } finally {
      await t.close();
    }
  });
});

describe('ReplicationRunLimitExceededException', () => {
  it('a third on-demand run in 24 hours is refused; allowed again 24 hours after the first', async () => {
    const t = await startTestServer();
    try {
      const servers = await importCatalog(t);
      const now = await alignClock(t);
      const { replicationJobId } = await t.sms.send(
        new CreateReplicationJobCommand({ serverId: serverNamed(servers, 'web-01').serverId, seedReplicationTime: date(now) }),
      );
      // The seed run completes at now+45; the on-demand runs come an hour later, away from the automatic runs.
      await t.advance(3600);
      const onDemand = () => t.sms.send(new StartOnDemandReplicationRunCommand({ replicationJobId }));
      await onDemand(); // at now+3600
      await t.advance(45);
      await onDemand(); // at now+3645
      await t.advance(45);
      await expectSmsError(onDemand(), 'ReplicationRunLimitExceededException', 400, /2 on-demand runs per job in 24 hours/);
      // One second before the first run leaves the 24-hour window, still refused; then allowed.
      await t.advance(24 * 3600 - 91);
      await expectSmsError(onDemand(), 'ReplicationRunLimitExceededException', 400);
      await t.advance(1);
      const third = await onDemand();
      expect(third.replicationRunId).toMatch(/^sms-run-/);
      const runs = await runsOf(t, replicationJobId!);
      expect(runs.filter((r) => r.type === 'ON_DEMAND')).toHaveLength(3);
    } finally {
      await t.close();
    }
  });
});

describe('UnauthorizedOperationException for a read-only key', () => {
  let t: TestServer;
  let ro: SMSClient;
  let servers: Server[];
  let jobId: string;
  beforeAll(async () => {
    t = await startTestServer();
    servers = await importCatalog(t);
    jobId = (await t.sms.send(new CreateReplicationJobCommand({ serverId: servers[0]!.serverId, seedReplicationTime: date((await nowOf(t)) + 3600) })))
      .replicationJobId!;
    const credentials = { accessKeyId: 'AKIAREADONLY00000001', secretAccessKey: 'read-only-secret-0000000000000000000000' };
    await t.control.addCredentials({ ...credentials, readOnly: true });
    ro = new SMSClient({ endpoint: t.server.url, region: t.server.region, credentials, maxAttempts: 1 });
  });
  afterAll(async () => {
    ro.destroy();
    await t.close();
  });

  it('the four Get actions work', async () => {
    expect((await ro.send(new GetServersCommand({}))).serverList).toHaveLength(DEMO.vmCount);
    expect((await ro.send(new GetConnectorsCommand({}))).connectorList).toHaveLength(3);
    expect((await ro.send(new GetReplicationJobsCommand({}))).replicationJobList).toHaveLength(1);
    expect((await ro.send(new GetReplicationRunsCommand({ replicationJobId: jobId }))).replicationRunList).toHaveLength(1);
  });

  it('every mutating action is refused and changes nothing', async () => {
    const re = /does not have permissions/;
    const seed = date((await nowOf(t)) + 3600);
    await expectSmsError(ro.send(new CreateReplicationJobCommand({ serverId: servers[1]!.serverId, seedReplicationTime: seed })), 'UnauthorizedOperationException', 400, re);
    await expectSmsError(ro.send(new UpdateReplicationJobCommand({ replicationJobId: jobId, frequency: 2 })), 'UnauthorizedOperationException', 400, re);
    await expectSmsError(ro.send(new DeleteReplicationJobCommand({ replicationJobId: jobId })), 'UnauthorizedOperationException', 400, re);
    await expectSmsError(ro.send(new StartOnDemandReplicationRunCommand({ replicationJobId: jobId })), 'UnauthorizedOperationException', 400, re);
    await expectSmsError(ro.send(new ImportServerCatalogCommand({})), 'UnauthorizedOperationException', 400, re);
    await expectSmsError(ro.send(new DeleteServerCatalogCommand({})), 'UnauthorizedOperationException', 400, re);
    await expectSmsError(ro.send(new DisassociateConnectorCommand({ connectorId: DEMO.scvmmConnector })), 'UnauthorizedOperationException', 400, re);

    const jobs = await allJobs(t);
    expect(jobs.map((j) => [j.replicationJobId, j.state, j.frequency])).toEqual([[jobId, 'PENDING', 24]]);
    const catalog = await t.sms.send(new GetServersCommand({}));
    expect(catalog.serverCatalogStatus).toBe('AVAILABLE');
    expect((await t.sms.send(new GetConnectorsCommand({}))).connectorList).toHaveLength(3);
  });
});

describe('UnauthorizedOperationException for a key denied the Get actions', () => {
  it('each denied action is refused; the others work', async () => {
    const t = await startTestServer();
    const credentials = { accessKeyId: 'AKIADENIED0000000001', secretAccessKey: 'denied-secret-000000000000000000000000' };
    await t.control.addCredentials({ ...credentials, deniedActions: ['GetConnectors', 'GetServers', 'GetReplicationJobs', 'GetReplicationRuns'] });
    const denied = new SMSClient({ endpoint: t.server.url, region: t.server.region, credentials, maxAttempts: 1 });
    try {
      const re = /permissions to perform Get/;
      await expectSmsError(denied.send(new GetConnectorsCommand({})), 'UnauthorizedOperationException', 400, re);
      await expectSmsError(denied.send(new GetServersCommand({})), 'UnauthorizedOperationException', 400, re);
      await expectSmsError(denied.send(new GetReplicationJobsCommand({})), 'UnauthorizedOperationException', 400, re);
      await expectSmsError(denied.send(new GetReplicationRunsCommand({ replicationJobId: 'sms-job-00000000' })), 'UnauthorizedOperationException', 400, re);
      await denied.send(new ImportServerCatalogCommand({}));
      expect((await t.sms.send(new GetServersCommand({}))).serverCatalogStatus).toBe('IMPORTING');
    } finally {
      denied.destroy();
      await t.close();
    }
  });
});

describe('injected faults: ThrottlingException, InternalError, TemporarilyUnavailableException', () => {
  let t: TestServer;
  let servers: Server[];
  let jobId: string;
  let seed: Date;
  beforeAll(async () => {
    t = await startTestServer();
    servers = await importCatalog(t);
    seed = date((await nowOf(t)) + 3600);
    jobId = (await t.sms.send(new CreateReplicationJobCommand({ serverId: servers[0]!.serverId, seedReplicationTime: seed }))).replicationJobId!;
  });
  afterAll(() => t.close());

  const createOther = () => t.sms.send(new CreateReplicationJobCommand({ serverId: servers[1]!.serverId, seedReplicationTime: seed }));

  async function unchanged(): Promise<void> {
    const jobs = await allJobs(t);
    expect(jobs.map((j) => [j.replicationJobId, j.frequency])).toEqual([[jobId, 24]]);
    expect((await allServers(t))[1]!.replicationJobId).toBeUndefined();
  }

  it('a token bucket per action class: ThrottlingException 400 "Rate exceeded", the throttled mutation changes nothing', async () => {
    await t.control.setFaults({ throttle: { mutate: { ratePerSecond: 0.001, burst: 1 } } });
    await t.sms.send(new UpdateReplicationJobCommand({ replicationJobId: jobId, description: 'one' }));
    await expectSmsError(createOther(), 'ThrottlingException', 400, /Rate exceeded/);
    await expectSmsError(t.sms.send(new UpdateReplicationJobCommand({ replicationJobId: jobId, frequency: 3 })), 'ThrottlingException', 400);
    // Reads have their own bucket (none set here).
    await unchanged();

    await t.control.setFaults({ throttle: { read: { ratePerSecond: 0.001, burst: 2 } } });
    await t.sms.send(new GetConnectorsCommand({}));
    await t.sms.send(new GetServersCommand({}));
    await expectSmsError(t.sms.send(new GetReplicationJobsCommand({})), 'ThrottlingException', 400, /Rate exceeded/);
    await t.control.setFaults({});
    await unchanged();
  });

  it('InternalError 500 and TemporarilyUnavailableException 500, limited to the listed actions; nothing changes', async () => {
    await t.control.setFaults({ errors: { InternalError: 1 }, actions: ['CreateReplicationJob', 'UpdateReplicationJob'] });
    await expectSmsError(createOther(), 'InternalError', 500, /internal error/);
    await expectSmsError(t.sms.send(new UpdateReplicationJobCommand({ replicationJobId: jobId, frequency: 3 })), 'InternalError', 500);
    await unchanged(); // the Get actions are not faulted

    await t.control.setFaults({ errors: { TemporarilyUnavailableException: 1 } });
    await expectSmsError(createOther(), 'TemporarilyUnavailableException', 500, /temporarily unavailable/);
    await expectSmsError(t.sms.send(new GetConnectorsCommand({})), 'TemporarilyUnavailableException', 500);
    await t.control.setFaults({});
    await unchanged();
    expect((await createOther()).replicationJobId).toMatch(/^sms-job-/);
  });
});

describe('the wire: raw signed requests', () => {
  let t: TestServer;
  let jobId: string;
  beforeAll(async () => {
    t = await startTestServer();
    const servers = await importCatalog(t);
    jobId = (await t.sms.send(new CreateReplicationJobCommand({ serverId: servers[0]!.serverId, seedReplicationTime: date((await nowOf(t)) + 3600) })))
      .replicationJobId!;
  });
  afterAll(() => t.close());

  function expectWireError(res: RawResponse, code: string, status: number, message?: RegExp): void {
    expect(res.status).toBe(status);
    expect(res.headers['x-amzn-errortype']).toBe(code);
    expect(res.headers['content-type']).toBe('application/x-amz-json-1.1');
    expect(res.headers['x-amzn-requestid']).toMatch(/^[0-9a-f-]{36}$/);
    expect(Object.keys(res.json).sort()).toEqual(['__type', 'message']);
    expect(res.json['__type']).toBe(code);
    expect(typeof res.json['message']).toBe('string');
    if (message) expect(res.json['message']).toMatch(message);
  }

  it('an error answer has the x-amzn-errortype header and a {"__type","message"} body', async () => {
    const res = await rawCall(t.server, { target: 'DeleteReplicationJob', body: JSON.stringify({ replicationJobId: 'sms-job-00000000' }) });
    expectWireError(res, 'ReplicationJobNotFoundException', 400, /cannot be found/);
  });

  it('a success answer carries x-amzn-requestid and epoch-second timestamps', async () => {
    const res = await rawCall(t.server, { target: 'GetReplicationJobs', body: JSON.stringify({ replicationJobId: jobId }) });
    expect(res.status).toBe(200);
    expect(res.headers['x-amzn-requestid']).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers['x-amzn-errortype']).toBeUndefined();
    const job = (res.json['replicationJobList'] as Record<string, unknown>[])[0]!;
    expect(typeof job['seedReplicationTime']).toBe('number');
    expect(Number.isInteger(job['seedReplicationTime'])).toBe(true);
  });

  it('timestamps a client sets are truncated to whole seconds', async () => {
    const seed = Math.floor(Date.now() / 1000) + 7200;
    const res = await rawCall(t.server, { target: 'UpdateReplicationJob', body: JSON.stringify({ replicationJobId: jobId, nextReplicationRunStartTime: seed + 0.9 }) });
    expect(res.status).toBe(200);
    expect((await jobOf(t, jobId)).nextReplicationRunStartTime).toEqual(date(seed));
  });

  it('an empty body counts as {}', async () => {
    const res = await rawCall(t.server, { target: 'GetConnectors', body: '' });
    expect(res.status).toBe(200);
    expect((res.json['connectorList'] as unknown[]).length).toBe(3);
  });

  it('a body that is not JSON, or not a JSON object: SerializationException', async () => {
    expectWireError(await rawCall(t.server, { target: 'GetConnectors', body: '{"maxResults": 1' }), 'SerializationException', 400, /not valid JSON/);
    for (const body of ['[]', '"text"', '42', 'null', 'true']) {
      expectWireError(await rawCall(t.server, { target: 'GetConnectors', body }), 'SerializationException', 400, /must be a JSON object/);
    }
  });

  it('members of the wrong JSON type: SerializationException naming the member', async () => {
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['UpdateReplicationJob', { replicationJobId: jobId, frequency: '12' }, /'frequency' must be a number/],
      ['UpdateReplicationJob', { replicationJobId: jobId, encrypted: 'true' }, /'encrypted' must be a boolean/],
      ['UpdateReplicationJob', { replicationJobId: jobId, nextReplicationRunStartTime: '2030-01-01T00:00:00Z' }, /'nextReplicationRunStartTime' must be a timestamp/],
      ['UpdateReplicationJob', { replicationJobId: 42 }, /'replicationJobId' must be a string/],
      ['GetConnectors', { maxResults: '5' }, /'maxResults'/],
      ['GetServers', { vmServerAddressList: { vmId: 'vm-101' } }, /vmServerAddressList/],
      ['GetServers', { vmServerAddressList: ['vm-101'] }, /vmServerAddressList\[0\]/],
      ['CreateReplicationJob', { serverId: ['s-1'], seedReplicationTime: 1 }, /'serverId' must be a string/],
    ];
    for (const [target, body, message] of cases) {
      expectWireError(await rawCall(t.server, { target, body: JSON.stringify(body) }), 'SerializationException', 400, message);
    }
    expect((await jobOf(t, jobId)).frequency).toBe(24);
  });

  it('JSON null counts as absent; unknown members are ignored', async () => {
    const res = await rawCall(t.server, { target: 'UpdateReplicationJob', body: JSON.stringify({ replicationJobId: jobId, frequency: null, futureMember: 1 }) });
    expect(res.status).toBe(200);
    expect((await jobOf(t, jobId)).frequency).toBe(24);
    expectWireError(await rawCall(t.server, { target: 'DeleteReplicationJob', body: JSON.stringify({ replicationJobId: null }) }), MISSING, 400);
  });

  it('an unknown or missing target, or a method other than POST: UnknownOperationException; another path: 404', async () => {
    expectWireError(await rawCall(t.server, { target: 'DescribeApps' }), 'UnknownOperationException', 400, /Unknown operation .*DescribeApps/);
    expectWireError(await rawCall(t.server, { target: 'SomeOtherService_2020.GetConnectors' }), 'UnknownOperationException', 400);
    expectWireError(await rawCall(t.server, {}), 'UnknownOperationException', 400, /no X-Amz-Target/);
    expectWireError(await rawCall(t.server, { target: 'GetConnectors', method: 'PUT' }), 'UnknownOperationException', 400, /Only POST/);
    expectWireError(await rawCall(t.server, { target: 'GetConnectors', path: '/v1/sms' }), 'NotFoundException', 404, /POST \//);
  });

  it('a body over 1 MiB: 413 naming the limit, with or without content-length', async () => {
    const big = JSON.stringify({ description: 'x'.repeat(1024 * 1024) });
    expectWireError(await rawCall(t.server, { target: 'GetConnectors', body: big }), 'RequestEntityTooLargeException', 413, /limit of 1048576 bytes/);
    expectWireError(await rawCall(t.server, { target: 'GetConnectors', body: big, chunked: true }), 'RequestEntityTooLargeException', 413, /1048576/);
    // Just under the limit is read and answered.
    const under = JSON.stringify({ pad: 'x'.repeat(1024 * 1024 - 20) });
    expect(Buffer.byteLength(under)).toBeLessThanOrEqual(1024 * 1024);
    expect((await rawCall(t.server, { target: 'GetConnectors', body: under })).status).toBe(200);
    // The server is still up and its data intact.
    expect((await allJobs(t)).map((j) => j.replicationJobId)).toEqual([jobId]);
  });
});
