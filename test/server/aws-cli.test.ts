/**
 * The AWS CLI v2 (`/usr/bin/aws`, Debian package awscli) against `sms-reconcile server`: each of the
 * 11 actions once, with the CLI's own request signing, JSON parsing, error reporting and automatic
 * pagination. Skipped, visibly, where /usr/bin/aws is not installed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlClient } from '../../src/server/control-client.ts';
import { killAllCliProcesses, startCliServer, type CliServer } from '../helpers/subprocess.ts';

const AWS = '/usr/bin/aws';
const hasAws = existsSync(AWS);
if (!hasAws) {
  console.warn(`aws-cli.test.ts: SKIPPING the AWS CLI tests: ${AWS} is not installed (Debian/Ubuntu: apt-get install -y awscli).`);
}

interface AwsResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed as JSON; {} for an empty answer. */
  readonly json: Record<string, any>;
}

let root: string;
let server: CliServer;
let control: ControlClient;
let awsEnv: NodeJS.ProcessEnv;

function aws(...args: string[]): Promise<AwsResult> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile(
      AWS,
      ['sms', ...args, '--endpoint-url', server.url, '--region', 'us-east-1', '--output', 'json'],
      { env: awsEnv, timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        let json: Record<string, any> = {};
        if (code === 0 && stdout.trim() !== '') json = JSON.parse(stdout) as Record<string, any>;
        if (process.env['AWS_CLI_TIMING']) console.log(`${Date.now() - t0} ms: aws sms ${args.join(' ')}`);
        resolve({ code, stdout, stderr, json });
      },
    );
  });
}

/** A successful call: exit 0, nothing on stderr. */
async function ok(...args: string[]): Promise<Record<string, any>> {
  const r = await aws(...args);
  expect(r.stderr, `aws sms ${args.join(' ')}`).toBe('');
  expect(r.code, `aws sms ${args.join(' ')}`).toBe(0);
  return r.json;
}

const iso = (epochSeconds: number): string => new Date(epochSeconds * 1000).toISOString();
const epoch = (isoText: string): number => Date.parse(isoText) / 1000;

describe(hasAws ? `AWS CLI v2 (${AWS}) against sms-reconcile server` : `AWS CLI v2: SKIPPED, ${AWS} is not installed`, () => {
  beforeAll(async () => {
    if (!hasAws) return;
    root = mkdtempSync(join(tmpdir(), 'sms-aws-cli-'));
    const empty = join(root, 'empty');
    writeFileSync(empty, '');
    server = await startCliServer({ dataDir: join(root, 'data'), args: ['--clock', 'manual'] });
    control = new ControlClient(server.url, server.region, server.credentials);
    awsEnv = {
      PATH: process.env['PATH'],
      HOME: root,
      LANG: 'C.UTF-8',
      AWS_ACCESS_KEY_ID: server.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: server.credentials.secretAccessKey,
      // Nothing from this machine's AWS configuration may interfere.
      AWS_CONFIG_FILE: empty,
      AWS_SHARED_CREDENTIALS_FILE: empty,
      AWS_PAGER: '',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_MAX_ATTEMPTS: '1',
    };
  });

  afterAll(async () => {
    await killAllCliProcesses();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it.skipIf(!hasAws)('runs each of the 11 actions, with automatic pagination and the service errors', async () => {
    // GetConnectors: the demo inventory's three connectors.
    const connectors = await ok('get-connectors');
    expect(connectors['connectorList']).toHaveLength(3);
    const unhealthy = (connectors['connectorList'] as any[]).find((c) => c.status === 'UNHEALTHY');
    expect(unhealthy).toMatchObject({ connectorId: expect.stringMatching(/^c-[0-9a-f]{17}$/), vmManagerType: 'VSPHERE' });
    expect(Number.isNaN(Date.parse(unhealthy.associatedOn))).toBe(false);

    // ImportServerCatalog, then the catalog is AVAILABLE once the import time has passed.
    expect(await ok('import-server-catalog')).toEqual({});
    const again = await aws('import-server-catalog');
    expect(again.code).toBe(254);
    expect(again.stderr).toContain('(OperationNotPermittedException) when calling the ImportServerCatalog operation');
    await control.advanceClock(5);

    // GetServers: the whole catalog, all pages (automatic pagination, default and --page-size 5).
    const [all, small, firstSeven, status] = await Promise.all([
      ok('get-servers'),
      ok('get-servers', '--page-size', '5'),
      ok('get-servers', '--page-size', '5', '--max-items', '7'),
      ok('get-servers', '--no-paginate', '--max-results', '3'),
    ]);
    const ids = (all['serverList'] as any[]).map((s) => s.serverId as string);
    expect(ids).toHaveLength(40);
    expect(new Set(ids).size).toBe(40);
    for (const id of ids) expect(id).toMatch(/^s-[0-9a-f]{8}$/);
    expect((small['serverList'] as any[]).map((s) => s.serverId)).toEqual(ids);
    expect((firstSeven['serverList'] as any[]).map((s) => s.serverId)).toEqual(ids.slice(0, 7));
    expect(typeof firstSeven['NextToken']).toBe('string');
    const rest = await ok('get-servers', '--starting-token', firstSeven['NextToken'] as string);
    expect((rest['serverList'] as any[]).map((s) => s.serverId)).toEqual(ids.slice(7));
    expect(status).toMatchObject({ serverCatalogStatus: 'AVAILABLE' });
    expect(status['serverList']).toHaveLength(3);
    expect(typeof status['nextToken']).toBe('string');

    const web01 = (all['serverList'] as any[]).find((s) => s.vmServer.vmName === 'web-01');
    const filtered = await ok(
      'get-servers',
      '--vm-server-address-list',
      `vmManagerId=${web01.vmServer.vmServerAddress.vmManagerId},vmId=${web01.vmServer.vmServerAddress.vmId}`,
    );
    expect((filtered['serverList'] as any[]).map((s) => s.serverId)).toEqual([web01.serverId]);

    // CreateReplicationJob.
    const now = (await control.info()).now;
    const created = await ok(
      'create-replication-job',
      '--server-id', web01.serverId,
      '--seed-replication-time', iso(Math.floor(now)),
      '--frequency', '12',
      '--license-type', 'BYOL',
      '--role-name', 'sms',
      '--description', 'from the aws cli',
      '--number-of-recent-amis-to-keep', '2',
    );
    const jobId = created['replicationJobId'] as string;
    expect(jobId).toMatch(/^sms-job-[0-9a-f]{8}$/);
    const duplicate = await aws('create-replication-job', '--server-id', web01.serverId, '--seed-replication-time', iso(Math.floor(now)));
    expect(duplicate.code).toBe(254);
    expect(duplicate.stderr).toContain('(ReplicationJobAlreadyExistsException) when calling the CreateReplicationJob operation');

    // UpdateReplicationJob, then GetReplicationJobs shows it.
    expect(await ok('update-replication-job', '--replication-job-id', jobId, '--frequency', '6', '--description', 'updated')).toEqual({});
    const jobs = await ok('get-replication-jobs', '--replication-job-id', jobId);
    expect(jobs['replicationJobList']).toHaveLength(1);
    const job = jobs['replicationJobList'][0];
    expect(job).toMatchObject({
      replicationJobId: jobId,
      serverId: web01.serverId,
      serverType: 'VIRTUAL_MACHINE',
      frequency: 6,
      runOnce: false,
      licenseType: 'BYOL',
      roleName: 'sms',
      description: 'updated',
      numberOfRecentAmisToKeep: 2,
      state: 'ACTIVE',
    });
    expect(epoch(job.seedReplicationTime)).toBe(Math.floor(now));
    const allJobs = await ok('get-replication-jobs');
    expect((allJobs['replicationJobList'] as any[]).map((j) => j.replicationJobId)).toEqual([jobId]);

    // The seed run completes; GetReplicationRuns shows it with its AMI.
    await control.advanceClock(60);
    // --no-paginate: the CLI's paginated result keeps only replicationRunList.
    const runs = await ok('get-replication-runs', '--no-paginate', '--replication-job-id', jobId);
    expect(runs['replicationJob']).toMatchObject({ replicationJobId: jobId, state: 'ACTIVE' });
    const seedRun = (runs['replicationRunList'] as any[]).find((r) => r.state === 'COMPLETED');
    expect(seedRun).toMatchObject({
      replicationRunId: expect.stringMatching(/^sms-run-[0-9a-f]{8}$/),
      type: 'AUTOMATIC',
      amiId: expect.stringMatching(/^ami-[0-9a-f]{17}$/),
      statusMessage: 'Completed',
    });
    expect(epoch(seedRun.completedTime)).toBeGreaterThan(now);

    // StartOnDemandReplicationRun.
    const onDemand = await ok('start-on-demand-replication-run', '--replication-job-id', jobId, '--description', 'on demand from the cli');
    const runId = onDemand['replicationRunId'] as string;
    expect(runId).toMatch(/^sms-run-[0-9a-f]{8}$/);
    const runs2 = await ok('get-replication-runs', '--replication-job-id', jobId);
    expect((runs2['replicationRunList'] as any[])[0]).toMatchObject({
      replicationRunId: runId,
      type: 'ON_DEMAND',
      state: 'ACTIVE',
      description: 'on demand from the cli',
      stageDetails: { stage: 'Uploading' },
    });

    // DeleteReplicationJob.
    expect(await ok('delete-replication-job', '--replication-job-id', jobId)).toEqual({});
    const deleting = await ok('get-replication-jobs', '--replication-job-id', jobId);
    expect(deleting['replicationJobList'][0].state).toBe('DELETING');
    const missing = await aws('delete-replication-job', '--replication-job-id', 'sms-job-00000000');
    expect(missing.code).toBe(254);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toContain('An error occurred (ReplicationJobNotFoundException) when calling the DeleteReplicationJob operation');

    // DisassociateConnector: it leaves GetConnectors.
    expect(await ok('disassociate-connector', '--connector-id', unhealthy.connectorId)).toEqual({});
    const connectors2 = await ok('get-connectors');
    expect((connectors2['connectorList'] as any[]).map((c) => c.connectorId)).not.toContain(unhealthy.connectorId);
    expect(connectors2['connectorList']).toHaveLength(2);

    // DeleteServerCatalog.
    expect(await ok('delete-server-catalog')).toEqual({});
    const deleted = await ok('get-servers', '--no-paginate');
    expect(deleted).toMatchObject({ serverCatalogStatus: 'DELETED', serverList: [] });
  }, 120_000);

  it.skipIf(!hasAws)('reports a bad secret, an unknown key and an out-of-range value as errors with their codes', async () => {
    const [badSecret, badKey, badValue] = await Promise.all([
      new Promise<AwsResult>((resolve) =>
        execFile(
          AWS,
          ['sms', 'get-connectors', '--endpoint-url', server.url, '--region', 'us-east-1', '--output', 'json'],
          { env: { ...awsEnv, AWS_SECRET_ACCESS_KEY: 'not-the-secret' } },
          (err, stdout, stderr) => resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr, json: {} }),
        ),
      ),
      new Promise<AwsResult>((resolve) =>
        execFile(
          AWS,
          ['sms', 'get-connectors', '--endpoint-url', server.url, '--region', 'us-east-1', '--output', 'json'],
          { env: { ...awsEnv, AWS_ACCESS_KEY_ID: 'AKIANOTAKEY000000000' } },
          (err, stdout, stderr) => resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr, json: {} }),
        ),
      ),
      aws('create-replication-job', '--server-id', 's-00000000', '--seed-replication-time', iso(Math.floor(Date.now() / 1000)), '--frequency', '99'),
    ]);
    expect(badSecret.code).toBe(254);
    expect(badSecret.stderr).toContain('(SignatureDoesNotMatch) when calling the GetConnectors operation');
    expect(badKey.code).toBe(254);
    expect(badKey.stderr).toContain('(InvalidClientTokenId) when calling the GetConnectors operation');
    expect(badValue.code).toBe(254);
    expect(badValue.stderr).toContain('(InvalidParameterException) when calling the CreateReplicationJob operation');
    expect(badValue.stderr).toContain('frequency must be a whole number of hours from 1 to 24');
  }, 60_000);
});
