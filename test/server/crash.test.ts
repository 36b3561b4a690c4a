/**
 * Durability: `kill -9` the server subprocess in the middle of a burst of CreateReplicationJob calls
 * (real SDK, many in flight), restart it on the same data directory, and check that every
 * acknowledged job is there, whole, and that no server got two jobs. Three kills at different
 * points, on one data directory, so the database also survives repeated crash recovery.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  CreateReplicationJobCommand, GetReplicationJobsCommand, GetReplicationRunsCommand, GetServersCommand, ImportServerCatalogCommand, SMSClient,
  type ReplicationJob, type Server,
} from '@aws-sdk/client-sms';
import { ControlClient } from '../../src/server/control-client.ts';
import { killAllCliProcesses, startCliServer, type CliServer } from '../helpers/subprocess.ts';
import { mulberry32 } from '../helpers/random.ts';

const VMS = 200;
const ROUNDS = 3;
const SEED = Number(process.env['CRASH_SEED'] ?? Date.now() % 2 ** 31);


const ENV = { SMS_SERVER_ACCESS_KEY_ID: 'AKIACRASHTEST0000001', SMS_SERVER_SECRET_ACCESS_KEY: 'crash-test-secret/0000000000000000000000' };

let root: string;
const clients: SMSClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await killAllCliProcesses();
});
afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

function writeInventory(file: string): void {
  const inventory = {
    apiVersion: 'sms-reconcile/v1',
    kind: 'Inventory',
    vmManagers: [
      {
        vmManagerId: '11111111-2222-4333-8444-555555555555',
        vmManagerName: 'vcenter-crash.example.com',
        vmManagerType: 'VSPHERE',
        vms: Array.from({ length: VMS }, (_, i) => ({ vmId: `vm-${1000 + i}`, vmName: `crash-${i}`, vmPath: `/DC/vm/crash/crash-${i}` })),
      },
    ],
    connectors: [
      { connectorId: 'c-00000000000000c01', vmManagerId: '11111111-2222-4333-8444-555555555555', status: 'HEALTHY', capabilityList: ['VSPHERE'] },
    ],
    settings: { maxConcurrentJobs: 1000 },
  };
  writeFileSync(file, JSON.stringify(inventory, null, 1));
}

function client(s: CliServer): SMSClient {
  const c = new SMSClient({ endpoint: s.url, region: s.region, credentials: s.credentials, maxAttempts: 1 });
  clients.push(c);
  return c;
}

async function allJobs(sms: SMSClient): Promise<ReplicationJob[]> {
  const out: ReplicationJob[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sms.send(new GetReplicationJobsCommand({ nextToken, maxResults: 100 }));
    out.push(...(page.replicationJobList ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return out;
}

async function allServers(sms: SMSClient): Promise<Server[]> {
  const out: Server[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sms.send(new GetServersCommand({ nextToken, maxResults: 100 }));
    expect(page.serverCatalogStatus).toBe('AVAILABLE');
    out.push(...(page.serverList ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return out;
}

/** What every job row must look like: every field the create set, nothing half-written. */
function expectCompleteJob(job: ReplicationJob, server: Server | undefined): void {
  expect(job.replicationJobId).toMatch(/^sms-job-[0-9a-f]{8}$/);
  expect(job.serverId).toMatch(/^s-[0-9a-f]{8}$/);
  expect(job).toMatchObject({
    serverType: 'VIRTUAL_MACHINE',
    frequency: 12,
    runOnce: false,
    licenseType: 'BYOL',
    roleName: 'sms-crash',
    description: `job for ${job.serverId}`,
    numberOfRecentAmisToKeep: 3,
    encrypted: false,
    state: 'PENDING',
  });
  expect(job.seedReplicationTime).toBeInstanceOf(Date);
  expect(job.nextReplicationRunStartTime).toEqual(job.seedReplicationTime);
  expect(job.vmServer?.vmServerAddress?.vmId).toMatch(/^vm-\d+$/);
  expect(job.vmServer?.vmName).toMatch(/^crash-\d+$/);
  expect(job.replicationRunList).toHaveLength(1);
  expect(job.replicationRunList?.[0]).toMatchObject({ state: 'PENDING', type: 'AUTOMATIC' });
  expect(job.replicationRunList?.[0]?.replicationRunId).toMatch(/^sms-run-[0-9a-f]{8}$/);
  // The server row points at the job.
  expect(server).toBeDefined();
  expect(server?.replicationJobId).toBe(job.replicationJobId);
  expect(server?.replicationJobTerminated).toBe(false);
  expect(server?.vmServer?.vmServerAddress?.vmId).toBe(job.vmServer?.vmServerAddress?.vmId);
}

/** After a restart: every ack is there and whole, no server has two jobs. Returns the jobs. */
async function verify(sms: SMSClient, acked: ReadonlyMap<string, string>, context: string): Promise<ReplicationJob[]> {
  const jobs = await allJobs(sms);
  const servers = await allServers(sms);
  expect(servers).toHaveLength(VMS);
  const byId = new Map(jobs.map((j) => [j.replicationJobId!, j]));
  expect(byId.size, `${context}: duplicate job ids in the listing`).toBe(jobs.length);
  for (const [jobId, serverId] of acked) {
    expect(byId.get(jobId)?.serverId, `${context}: acknowledged ${jobId} for ${serverId}`).toBe(serverId);
  }
  const perServer = new Map<string, number>();
  for (const j of jobs) perServer.set(j.serverId!, (perServer.get(j.serverId!) ?? 0) + 1);
  const doubled = [...perServer].filter(([, n]) => n > 1);
  expect(doubled, `${context}: servers with two jobs`).toEqual([]);
  const serverById = new Map(servers.map((s) => [s.serverId!, s]));
  for (const j of jobs) expectCompleteJob(j, serverById.get(j.serverId!));
  // Servers without a job show none.
  const withJob = new Set(jobs.map((j) => j.serverId));
  for (const s of servers) if (!withJob.has(s.serverId)) expect(s.replicationJobId).toBeUndefined();
  return jobs;
}

describe('kill -9 during a burst of CreateReplicationJob (subprocess)', () => {
  it(`loses no acknowledged job and half-writes none, over ${ROUNDS} kills (seed ${SEED})`, async () => {
    const random = mulberry32(SEED);
    root = mkdtempSync(join(tmpdir(), 'sms-crash-'));
    const dataDir = join(root, 'data');
    const inventory = join(root, 'inventory.json');
    writeInventory(inventory);
    const args = ['--clock', 'manual', '--inventory', inventory];

    const acked = new Map<string, string>();
    let seedTime = 0;
    const killedAfter: number[] = [];
    const rounds: string[] = [];

    for (let round = 0; round < ROUNDS; round++) {
      const server = await startCliServer({ dataDir, env: ENV, args });
      const sms = client(server);
      if (round === 0) {
        await sms.send(new ImportServerCatalogCommand({}));
        const control = new ControlClient(server.url, server.region, server.credentials);
        await control.advanceClock(5);
        seedTime = Math.floor((await control.info()).now) + 86_400;
      }
      const jobs = await verify(sms, acked, `before round ${round}`);
      const taken = new Set(jobs.map((j) => j.serverId));
      const free = (await allServers(sms)).map((s) => s.serverId!).filter((id) => !taken.has(id));
      expect(free.length).toBeGreaterThan(40);
      // Shuffle, so each round's burst hits the servers in another order.
      for (let i = free.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [free[i], free[j]] = [free[j]!, free[i]!];
      }
      const killAt = 5 + Math.floor(random() * Math.min(40, free.length / 2));
      killedAfter.push(killAt);

      let acks = 0;
      const burst = free.map(async (serverId) => {
        const out = await sms.send(
          new CreateReplicationJobCommand({
            serverId,
            seedReplicationTime: new Date(seedTime * 1000),
            frequency: 12,
            licenseType: 'BYOL',
            roleName: 'sms-crash',
            description: `job for ${serverId}`,
            numberOfRecentAmisToKeep: 3,
          }),
        );
        acked.set(out.replicationJobId!, serverId);
        acks++;
        if (acks === killAt) server.kill('SIGKILL');
      });
      const settled = await Promise.allSettled(burst);
      const exit = await server.waitForExit(10_000);
      expect(exit.signal, `round ${round}: the server was killed by the test, not stopped otherwise`).toBe('SIGKILL');
      const failed = settled.filter((s) => s.status === 'rejected').length;
      // It died mid-burst: some creates were acknowledged, some never answered.
      expect(acks).toBeGreaterThanOrEqual(killAt);
      expect(failed, `round ${round}: killed after ${killAt} acks of ${free.length}`).toBeGreaterThan(0);
      expect(acks + failed).toBe(free.length);
      rounds.push(`round ${round}: ${free.length} creates fired, SIGKILL at ack ${killAt}, ${acks} acked, ${failed} unanswered`);
    }

    // The last restart: every ack of every round, whole; and the server answers normally.
    const server = await startCliServer({ dataDir, env: ENV, args });
    const sms = client(server);
    const jobs = await verify(sms, acked, `after ${ROUNDS} kills at ${killedAfter.join(', ')} acks`);
    expect(jobs.length).toBeGreaterThanOrEqual(acked.size);
    console.info(`crash test (CRASH_SEED=${SEED}):\n  ${rounds.join('\n  ')}\n  after restart: ${jobs.length} jobs, ${acked.size} acknowledged`);
    const sample = jobs[Math.floor(random() * jobs.length)]!;
    const runs = await sms.send(new GetReplicationRunsCommand({ replicationJobId: sample.replicationJobId }));
    expect(runs.replicationRunList).toHaveLength(1);
    expect(runs.replicationRunList?.[0]?.state).toBe('PENDING');

    const taken = new Set(jobs.map((j) => j.serverId));
    const free = (await allServers(sms)).find((s) => !taken.has(s.serverId));
    expect(free).toBeDefined();
    const create = (serverId: string) =>
      sms.send(new CreateReplicationJobCommand({ serverId, seedReplicationTime: new Date(seedTime * 1000), frequency: 12 }));
    const fresh = await create(free!.serverId!);
    expect(fresh.replicationJobId).toMatch(/^sms-job-[0-9a-f]{8}$/);
    expect(jobs.some((j) => j.replicationJobId === fresh.replicationJobId), 'a job id is never reissued').toBe(false);
    await expect(create(sample.serverId!)).rejects.toMatchObject({ name: 'ReplicationJobAlreadyExistsException' });

    expect(await server.stop()).toEqual({ code: 0, signal: null });
    const db = new Database(join(dataDir, 'sms-server.db'), { readonly: true });
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      expect((db.prepare('SELECT count(*) AS n FROM jobs').get() as { n: number }).n).toBe(jobs.length + 1);
    } finally {
      db.close();
    }
  }, 90_000);
});
