import Database from 'better-sqlite3';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { ReplicationJobState, ReplicationRunState, ReplicationRunType, ServerCatalogStatus } from '../../model/job.ts';

/**
 * The embedded server's durable state: one SQLite database (WAL) per data directory, or `:memory:`.
 * Every request runs in one transaction that commits before the response is written, so an
 * acknowledged write survives kill -9 (WAL with synchronous=NORMAL is durable against process
 * crashes; only a power loss can drop the last transactions).
 */

export interface JobRow {
  seq: number;
  replicationJobId: string;
  serverId: string;
  state: ReplicationJobState;
  statusMessage: string | null;
  frequency: number | null;
  runOnce: number;
  seedReplicationTime: number;
  licenseType: string | null;
  roleName: string | null;
  description: string | null;
  numberOfRecentAmisToKeep: number;
  encrypted: number;
  kmsKeyId: string | null;
  latestAmiId: string | null;
  createdAt: number;
  /** Schedule anchor: automatic runs fall at anchorTime + n * frequency hours. */
  anchorTime: number;
  firstRunAt: number | null;
  deleteRequestedAt: number | null;
  pausedAt: number | null;
  consecutiveFailures: number;
  /** Runs started so far (drives injected failures). */
  runCount: number;
  /** The earliest time at which this job's state changes by itself; null when it never will. */
  nextEventAt: number | null;
}

export interface RunRow {
  seq: number;
  replicationRunId: string;
  replicationJobId: string;
  state: ReplicationRunState;
  type: ReplicationRunType;
  scheduledStartTime: number;
  startedAt: number | null;
  /** When an ACTIVE run ends: completes, or fails when `fails` is set. */
  endsAt: number | null;
  fails: number;
  failMessage: string | null;
  completedTime: number | null;
  amiId: string | null;
  statusMessage: string | null;
  description: string | null;
  encrypted: number;
  kmsKeyId: string | null;
}

export interface ServerRow {
  seq: number;
  serverId: string;
  vmManagerId: string;
  vmId: string;
  vmName: string;
  vmPath: string;
  vmManagerName: string;
  vmManagerType: string;
  inCatalog: number;
  replicationJobId: string | null;
}

export interface ConnectorRow {
  seq: number;
  connectorId: string;
  vmManagerId: string;
  vmManagerName: string;
  vmManagerType: string;
  status: string;
  capabilityList: string;
  version: string;
  ipAddress: string | null;
  macAddress: string | null;
  associatedOn: number;
  disassociatedAt: number | null;
}

export interface CatalogRow {
  status: ServerCatalogStatus;
  lastModifiedOn: number;
  importStartedAt: number | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS issued_ids (id TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS connectors (
  seq INTEGER PRIMARY KEY, connectorId TEXT NOT NULL UNIQUE, vmManagerId TEXT NOT NULL, vmManagerName TEXT NOT NULL,
  vmManagerType TEXT NOT NULL, status TEXT NOT NULL, capabilityList TEXT NOT NULL, version TEXT NOT NULL,
  ipAddress TEXT, macAddress TEXT, associatedOn REAL NOT NULL, disassociatedAt REAL);
CREATE TABLE IF NOT EXISTS servers (
  seq INTEGER PRIMARY KEY, serverId TEXT NOT NULL UNIQUE, vmManagerId TEXT NOT NULL, vmId TEXT NOT NULL,
  vmName TEXT NOT NULL, vmPath TEXT NOT NULL, vmManagerName TEXT NOT NULL, vmManagerType TEXT NOT NULL,
  inCatalog INTEGER NOT NULL, replicationJobId TEXT, UNIQUE (vmManagerId, vmId));
CREATE TABLE IF NOT EXISTS jobs (
  seq INTEGER PRIMARY KEY, replicationJobId TEXT NOT NULL UNIQUE, serverId TEXT NOT NULL, state TEXT NOT NULL,
  statusMessage TEXT, frequency INTEGER, runOnce INTEGER NOT NULL, seedReplicationTime REAL NOT NULL,
  licenseType TEXT, roleName TEXT, description TEXT, numberOfRecentAmisToKeep INTEGER NOT NULL, encrypted INTEGER NOT NULL,
  kmsKeyId TEXT, latestAmiId TEXT, createdAt REAL NOT NULL, anchorTime REAL NOT NULL, firstRunAt REAL,
  deleteRequestedAt REAL, pausedAt REAL, consecutiveFailures INTEGER NOT NULL, runCount INTEGER NOT NULL, nextEventAt REAL);
CREATE INDEX IF NOT EXISTS jobs_next_event ON jobs (nextEventAt) WHERE nextEventAt IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_server ON jobs (serverId);
CREATE INDEX IF NOT EXISTS jobs_live ON jobs (state) WHERE state NOT IN ('DELETED', 'FAILED', 'COMPLETED');
CREATE TABLE IF NOT EXISTS runs (
  seq INTEGER PRIMARY KEY, replicationRunId TEXT NOT NULL UNIQUE, replicationJobId TEXT NOT NULL, state TEXT NOT NULL,
  type TEXT NOT NULL, scheduledStartTime REAL NOT NULL, startedAt REAL, endsAt REAL, fails INTEGER NOT NULL,
  failMessage TEXT, completedTime REAL, amiId TEXT, statusMessage TEXT, description TEXT, encrypted INTEGER NOT NULL, kmsKeyId TEXT);
CREATE INDEX IF NOT EXISTS runs_job ON runs (replicationJobId, seq);
CREATE TABLE IF NOT EXISTS amis (amiId TEXT PRIMARY KEY, replicationJobId TEXT NOT NULL, createdAt REAL NOT NULL, deregisteredAt REAL);
CREATE INDEX IF NOT EXISTS amis_job ON amis (replicationJobId, createdAt);
`;

export const DB_FILE = 'sms-server.db';

export function openDatabase(dataDir: string): Database.Database {
  let db: Database.Database;
  if (dataDir === ':memory:') {
    db = new Database(':memory:');
  } else {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const file = join(dataDir, DB_FILE);
    // Create it 0600 first: it holds the page-token secret. SQLite gives -wal/-shm the same mode.
    closeSync(openSync(file, 'a', 0o600));
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
  }
  db.pragma('foreign_keys = OFF');
  db.exec(SCHEMA);
  return db;
}

/** Typed access to the tables. Callers run it inside `db.transaction`. */
export class SmsStore {
  readonly db: Database.Database;
  private readonly s;

  constructor(db: Database.Database) {
    this.db = db;
    const p = <T = unknown>(sql: string) => db.prepare<unknown[], T>(sql);
    this.s = {
      getMeta: p<{ value: string }>('SELECT value FROM meta WHERE key = ?'),
      setMeta: p('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      issueId: p('INSERT OR IGNORE INTO issued_ids (id) VALUES (?)'),
      insertConnector: p(`INSERT INTO connectors (connectorId, vmManagerId, vmManagerName, vmManagerType, status, capabilityList, version,
        ipAddress, macAddress, associatedOn, disassociatedAt) VALUES (@connectorId, @vmManagerId, @vmManagerName, @vmManagerType, @status,
        @capabilityList, @version, @ipAddress, @macAddress, @associatedOn, NULL)`),
      connectorById: p<ConnectorRow>('SELECT * FROM connectors WHERE connectorId = ?'),
      connectorsPage: p<ConnectorRow>('SELECT * FROM connectors WHERE disassociatedAt IS NULL AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?'),
      activeConnectors: p<ConnectorRow>('SELECT * FROM connectors WHERE disassociatedAt IS NULL'),
      setConnectorStatus: p('UPDATE connectors SET status = ? WHERE connectorId = ?'),
      disassociate: p('UPDATE connectors SET disassociatedAt = ? WHERE connectorId = ?'),
      maxSeq: {
        connectors: p<{ m: number | null }>('SELECT MAX(seq) AS m FROM connectors'),
        servers: p<{ m: number | null }>('SELECT MAX(seq) AS m FROM servers'),
        jobs: p<{ m: number | null }>('SELECT MAX(seq) AS m FROM jobs'),
        runs: p<{ m: number | null }>('SELECT MAX(seq) AS m FROM runs'),
      },
      serverById: p<ServerRow>('SELECT * FROM servers WHERE serverId = ?'),
      serverByVm: p<ServerRow>('SELECT * FROM servers WHERE vmManagerId = ? AND vmId = ?'),
      insertServer: p(`INSERT INTO servers (serverId, vmManagerId, vmId, vmName, vmPath, vmManagerName, vmManagerType, inCatalog, replicationJobId)
        VALUES (@serverId, @vmManagerId, @vmId, @vmName, @vmPath, @vmManagerName, @vmManagerType, 1, NULL)`),
      refreshServer: p('UPDATE servers SET vmName = ?, vmPath = ?, vmManagerName = ?, vmManagerType = ?, inCatalog = 1 WHERE serverId = ?'),
      clearCatalog: p('UPDATE servers SET inCatalog = 0'),
      serversPage: p<ServerRow>('SELECT * FROM servers WHERE inCatalog = 1 AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?'),
      setServerJob: p('UPDATE servers SET replicationJobId = ? WHERE serverId = ?'),
      insertJob: p(`INSERT INTO jobs (replicationJobId, serverId, state, statusMessage, frequency, runOnce, seedReplicationTime, licenseType,
        roleName, description, numberOfRecentAmisToKeep, encrypted, kmsKeyId, latestAmiId, createdAt, anchorTime, firstRunAt,
        deleteRequestedAt, pausedAt, consecutiveFailures, runCount, nextEventAt) VALUES (@replicationJobId, @serverId, @state,
        @statusMessage, @frequency, @runOnce, @seedReplicationTime, @licenseType, @roleName, @description, @numberOfRecentAmisToKeep,
        @encrypted, @kmsKeyId, @latestAmiId, @createdAt, @anchorTime, @firstRunAt, @deleteRequestedAt, @pausedAt,
        @consecutiveFailures, @runCount, @nextEventAt)`),
      updateJob: p(`UPDATE jobs SET state = @state, statusMessage = @statusMessage, frequency = @frequency, licenseType = @licenseType,
        roleName = @roleName, description = @description, numberOfRecentAmisToKeep = @numberOfRecentAmisToKeep, encrypted = @encrypted,
        kmsKeyId = @kmsKeyId, latestAmiId = @latestAmiId, anchorTime = @anchorTime, firstRunAt = @firstRunAt,
        deleteRequestedAt = @deleteRequestedAt, pausedAt = @pausedAt, consecutiveFailures = @consecutiveFailures,
        runCount = @runCount, nextEventAt = @nextEventAt WHERE replicationJobId = @replicationJobId`),
      jobById: p<JobRow>('SELECT * FROM jobs WHERE replicationJobId = ?'),
      jobsPage: p<JobRow>('SELECT * FROM jobs WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?'),
      nextEvent: p<{ t: number | null }>('SELECT MIN(nextEventAt) AS t FROM jobs WHERE nextEventAt IS NOT NULL'),
      dueJobs: p<JobRow>('SELECT * FROM jobs WHERE nextEventAt IS NOT NULL AND nextEventAt <= ? ORDER BY nextEventAt'),
      liveJobCount: p<{ n: number }>("SELECT COUNT(*) AS n FROM jobs WHERE state NOT IN ('DELETED', 'FAILED', 'COMPLETED')"),
      insertRun: p(`INSERT INTO runs (replicationRunId, replicationJobId, state, type, scheduledStartTime, startedAt, endsAt, fails, failMessage,
        completedTime, amiId, statusMessage, description, encrypted, kmsKeyId) VALUES (@replicationRunId, @replicationJobId, @state, @type,
        @scheduledStartTime, @startedAt, @endsAt, @fails, @failMessage, @completedTime, @amiId, @statusMessage, @description, @encrypted, @kmsKeyId)`),
      updateRun: p(`UPDATE runs SET state = @state, scheduledStartTime = @scheduledStartTime, startedAt = @startedAt, endsAt = @endsAt,
        fails = @fails, failMessage = @failMessage, completedTime = @completedTime, amiId = @amiId, statusMessage = @statusMessage
        WHERE replicationRunId = @replicationRunId`),
      openRuns: p<RunRow>("SELECT * FROM runs WHERE replicationJobId = ? AND state IN ('PENDING', 'ACTIVE', 'DELETING') ORDER BY seq"),
      runsPageDesc: p<RunRow>('SELECT * FROM runs WHERE replicationJobId = ? AND seq < ? AND seq <= ? ORDER BY seq DESC LIMIT ?'),
      activeRun: p<RunRow>("SELECT * FROM runs WHERE replicationJobId = ? AND state = 'ACTIVE' ORDER BY seq DESC LIMIT 1"),
      lastFinishedRun: p<RunRow>("SELECT * FROM runs WHERE replicationJobId = ? AND state NOT IN ('PENDING', 'ACTIVE') ORDER BY seq DESC LIMIT 1"),
      pendingRun: p<RunRow>("SELECT * FROM runs WHERE replicationJobId = ? AND state = 'PENDING' ORDER BY seq DESC LIMIT 1"),
      completedRunCount: p<{ n: number }>("SELECT COUNT(*) AS n FROM runs WHERE replicationJobId = ? AND state = 'COMPLETED'"),
      onDemandSince: p<{ n: number }>("SELECT COUNT(*) AS n FROM runs WHERE replicationJobId = ? AND type = 'ON_DEMAND' AND startedAt > ?"),
      insertAmi: p('INSERT INTO amis (amiId, replicationJobId, createdAt, deregisteredAt) VALUES (?, ?, ?, NULL)'),
      liveAmis: p<{ amiId: string }>('SELECT amiId FROM amis WHERE replicationJobId = ? AND deregisteredAt IS NULL ORDER BY createdAt, amiId'),
      deregisterAmi: p('UPDATE amis SET deregisteredAt = ? WHERE amiId = ?'),
    };
  }

  getMeta(key: string): string | undefined {
    return this.s.getMeta.get(key)?.value;
  }
  setMeta(key: string, value: string): void {
    this.s.setMeta.run(key, value);
  }
  /** Records an id as issued; false when it was issued before (the caller draws another). */
  issueId(id: string): boolean {
    return this.s.issueId.run(id).changes === 1;
  }
  maxSeq(table: 'connectors' | 'servers' | 'jobs' | 'runs'): number {
    return this.s.maxSeq[table].get()?.m ?? 0;
  }

  catalog(): CatalogRow {
    const raw = this.getMeta('catalog');
    if (raw === undefined) throw new Error('server data not initialised');
    return JSON.parse(raw) as CatalogRow;
  }
  setCatalog(row: CatalogRow): void {
    this.setMeta('catalog', JSON.stringify(row));
  }

  insertConnector(row: Omit<ConnectorRow, 'seq' | 'disassociatedAt'>): void {
    this.s.insertConnector.run(row);
  }
  connector(id: string): ConnectorRow | undefined {
    return this.s.connectorById.get(id);
  }
  connectorsPage(afterSeq: number, highWater: number, limit: number): ConnectorRow[] {
    return this.s.connectorsPage.all(afterSeq, highWater, limit);
  }
  activeConnectors(): ConnectorRow[] {
    return this.s.activeConnectors.all();
  }
  setConnectorStatus(id: string, status: string): boolean {
    return this.s.setConnectorStatus.run(status, id).changes === 1;
  }
  disassociateConnector(id: string, at: number): void {
    this.s.disassociate.run(at, id);
  }

  server(id: string): ServerRow | undefined {
    return this.s.serverById.get(id);
  }
  serverByVm(vmManagerId: string, vmId: string): ServerRow | undefined {
    return this.s.serverByVm.get(vmManagerId, vmId);
  }
  insertServer(row: Omit<ServerRow, 'seq' | 'inCatalog' | 'replicationJobId'>): void {
    this.s.insertServer.run(row);
  }
  refreshServer(row: Pick<ServerRow, 'serverId' | 'vmName' | 'vmPath' | 'vmManagerName' | 'vmManagerType'>): void {
    this.s.refreshServer.run(row.vmName, row.vmPath, row.vmManagerName, row.vmManagerType, row.serverId);
  }
  clearCatalog(): void {
    this.s.clearCatalog.run();
  }
  serversPage(afterSeq: number, highWater: number, limit: number): ServerRow[] {
    return this.s.serversPage.all(afterSeq, highWater, limit);
  }
  setServerJob(serverId: string, jobId: string): void {
    this.s.setServerJob.run(jobId, serverId);
  }

  insertJob(row: Omit<JobRow, 'seq'>): void {
    this.s.insertJob.run(row);
  }
  saveJob(row: JobRow): void {
    this.s.updateJob.run(row);
  }
  job(id: string): JobRow | undefined {
    return this.s.jobById.get(id);
  }
  jobsPage(afterSeq: number, highWater: number, limit: number): JobRow[] {
    return this.s.jobsPage.all(afterSeq, highWater, limit);
  }
  /** The earliest time at which some job changes by itself, or undefined. */
  nextJobEvent(): number | undefined {
    return this.s.nextEvent.get()?.t ?? undefined;
  }
  dueJobs(now: number): JobRow[] {
    return this.s.dueJobs.all(now);
  }
  liveJobCount(): number {
    return this.s.liveJobCount.get()?.n ?? 0;
  }

  insertRun(row: Omit<RunRow, 'seq'>): void {
    this.s.insertRun.run(row);
  }
  saveRun(row: RunRow): void {
    this.s.updateRun.run(row);
  }
  openRuns(jobId: string): RunRow[] {
    return this.s.openRuns.all(jobId);
  }
  runsPageDesc(jobId: string, beforeSeq: number, highWater: number, limit: number): RunRow[] {
    return this.s.runsPageDesc.all(jobId, beforeSeq, highWater, limit);
  }
  activeRun(jobId: string): RunRow | undefined {
    return this.s.activeRun.get(jobId);
  }
  lastFinishedRun(jobId: string): RunRow | undefined {
    return this.s.lastFinishedRun.get(jobId);
  }
  pendingRun(jobId: string): RunRow | undefined {
    return this.s.pendingRun.get(jobId);
  }
  completedRunCount(jobId: string): number {
    return this.s.completedRunCount.get(jobId)?.n ?? 0;
  }
  onDemandRunsSince(jobId: string, since: number): number {
    return this.s.onDemandSince.get(jobId, since)?.n ?? 0;
  }

  insertAmi(amiId: string, jobId: string, at: number): void {
    this.s.insertAmi.run(amiId, jobId, at);
  }
  liveAmis(jobId: string): string[] {
    return this.s.liveAmis.all(jobId).map((r) => r.amiId);
  }
  deregisterAmi(amiId: string, at: number): void {
    this.s.deregisterAmi.run(at, amiId);
  }
}
