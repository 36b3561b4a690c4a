/**
 * The PostgreSQL StateStore (`--state postgres://...`): shared state for teams and pipelines. The
 * tables are described in pg-migrations.ts; one database holds several schemas (--state-schema)
 * and each schema several workspaces (--workspace).
 *
 * Invariants:
 * - One change, one transaction. Each intent, result, resource write, initialize and replace runs
 *   in its own transaction, which first checks the lock (the lock row is read FOR SHARE, so a
 *   takeover or a force-unlock waits for it, and it sees one that committed first), then takes the
 *   workspace row FOR UPDATE and moves `serial` by exactly one. Two writers can never both commit
 *   the same serial, whatever they believe about their locks.
 * - O(size of the change). A write touches the workspace row, the rows of the addresses it writes
 *   and one or two journal rows; never the other resources.
 * - Locks. A lock is a session advisory lock, keyed by schema and workspace, held by a dedicated
 *   connection for its lifetime: if the process dies, the server ends the session and frees it.
 *   The `locks` row says who holds it (id, holder host/pid, operation, created, expires) and which
 *   backend; a row counts only while that backend holds the advisory lock. Taking, releasing and
 *   breaking a lock all run under the lock row's row lock, so they are serialized.
 * - Leases, as in the file store: the holder renews `expires` (heartbeat); a contender that finds
 *   the lease expired by its clock, or the holder a dead process on this host, terminates the
 *   holder's backend (pg_terminate_backend) and takes the lock. force-unlock does the same.
 * - The journal is bounded: releasing a lock deletes the rows of finished work older than the last
 *   `journalKeep` serials (a pending intent stays whatever its age; nothing else reads them).
 * - Durability. A write resolves after COMMIT returned. A connection lost during a write is
 *   `state-db-connection-lost`: the change may or may not have committed; the journal tells the
 *   next run which.
 * - Secrets. The password never appears in `location`, in errors or in the state: messages name
 *   the URL as postgres://user:***@host:port/db, and the password is scrubbed from any text that
 *   comes back from the driver.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Client, ClientBase, ClientConfig, Pool, PoolClient } from 'pg';
import { SmsReconcileError } from '../model/errors.ts';
import { isSecretParam, redactUrl } from '../model/redact.ts';
import {
  STATE_FORMAT_VERSION,
  checkIntent,
  checkWrites,
  emptyState,
  upgradeState,
  validateStateDocument,
  type IntentInput,
  type IntentOutcome,
  type PendingIntent,
  type ResourceRecord,
  type ResourceWrite,
  type StateDocument,
  type StateHead,
  type TargetIdentity,
} from './codec.ts';
import { stateError } from './errors.ts';
import { DEFAULT_LEASE_MS, LeasedLock, Mutex, acquireWithBackoff, localHolder, ownLock, staleBecause, systemTimers, type LockAttempt } from './lease.ts';
import { advisoryKeys, isValidSchemaName, migratePgSchema, quoteIdent } from './pg-migrations.ts';
import { checkReplace, lockIdMismatch, missingState, notLocked, stateExists } from './store-rules.ts';
import type { CommitInfo, LockHolder, LockInfo, LockRequest, ReplaceOptions, StateLock, StateStore, StateStoreOptions, StateTimers } from './store.ts';

export const DEFAULT_PG_SCHEMA = 'sms_reconcile';
export const DEFAULT_PG_WORKSPACE = 'default';
/** What this store uses of the pg module (its CommonJS exports, `import pg from 'pg'`). */
interface PgDriver {
  readonly Pool: typeof Pool;
  readonly Client: typeof Client;
}

let driver: Promise<PgDriver> | undefined;

/**
 * The pg driver, loaded on first use: loading it costs ~20 ms (it probes for Cloudflare's runtime,
 * which loads Node's fetch), which commands on a file state should not pay at every start.
 */
function loadPg(): Promise<PgDriver> {
  driver ??= import('pg').then((m) => m.default);
  return driver;
}

export const DEFAULT_PG_CONNECT_TIMEOUT_MS = 5_000;
/** Serials whose resolved journal rows are kept (see PgStateStoreOptions.journalKeep). */
export const DEFAULT_JOURNAL_KEEP = 1_000;
/** How long breaking a lock waits for the holder's backend to end. */
const TERMINATE_WAIT_MS = 5_000;
/** The id shown for a backend that holds the advisory lock without a lock record (never ours). */
const FOREIGN_LOCK_PREFIX = 'pg-backend-';

const WORKSPACE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface PgStateStoreOptions extends StateStoreOptions {
  /** The schema holding the tables (default `sms_reconcile`, or the URL's `schema` parameter). */
  readonly schema?: string;
  /** The workspace (default `default`, or the URL's `workspace` parameter). */
  readonly workspace?: string;
  /** How long to wait for a connection (default 5 s). */
  readonly connectTimeoutMs?: number;
  /** Connections for reads and writes; the lock has its own. Default 3. */
  readonly poolSize?: number;
  /**
   * How many of the latest serials keep their resolved journal rows (default 1,000). Older rows of
   * finished work are deleted when a lock is released; pending intents are always kept.
   */
  readonly journalKeep?: number;
}

// ---------------------------------------------------------------------------------------------
// Locations: parsing and redaction.

/** A parsed postgres:// location. */
export interface PgLocation {
  /** The URL for the driver: our own parameters (schema, workspace) removed. Holds the password. */
  readonly connectionString: string;
  /** Fit for messages: the password replaced by ***, schema and workspace shown. */
  readonly redacted: string;
  readonly schema: string;
  readonly workspace: string;
  /** Strings to scrub from any message (the password, in its raw and decoded forms). */
  readonly secrets: readonly string[];
}

/**
 * Parses a postgres:// URL. `schema` and `workspace` come from the options, else from the URL's
 * own `schema`/`workspace` parameters, else the defaults; the other parameters (sslmode, ...) go to
 * the driver as they are.
 */
export function parsePgLocation(location: string, options: { readonly schema?: string; readonly workspace?: string } = {}): PgLocation {
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    throw stateError('state-location-invalid', `the state location ${redactUrl(location)} is not a valid URL`, {
      hint: 'write it like postgres://user:password@host:5432/database?sslmode=require (percent-encode special characters in the password)',
    });
  }
  if (!/^postgres(ql)?:$/i.test(url.protocol)) {
    throw stateError('state-location-invalid', `the state location ${redactUrl(location)} is not a postgres:// URL`);
  }
  const schema = options.schema ?? url.searchParams.get('schema') ?? DEFAULT_PG_SCHEMA;
  const workspace = options.workspace ?? url.searchParams.get('workspace') ?? DEFAULT_PG_WORKSPACE;
  if (!isValidSchemaName(schema)) {
    throw stateError('state-location-invalid', `"${schema}" is not a valid state schema name`, {
      hint: 'use lower-case letters, digits and _ (at most 63, not starting with a digit or pg_), e.g. --state-schema team_a',
    });
  }
  if (!WORKSPACE_NAME.test(workspace)) {
    throw stateError('state-location-invalid', `"${workspace}" is not a valid workspace name`, {
      hint: 'use letters, digits, ".", "_" and "-" (at most 63, starting with a letter or digit), e.g. --workspace prod',
    });
  }
  // Only when present: deleting re-encodes the whole query.
  if (url.searchParams.has('schema')) url.searchParams.delete('schema');
  if (url.searchParams.has('workspace')) url.searchParams.delete('workspace');
  const connectionString = url.toString();

  const secrets: string[] = [];
  if (url.password !== '') {
    secrets.push(url.password);
    try {
      secrets.push(decodeURIComponent(url.password));
    } catch {
      // A malformed escape: the raw form is scrubbed already.
    }
  }
  const shown = new URL(connectionString);
  for (const [key, value] of shown.searchParams) if (isSecretParam(key) && value) secrets.push(value);
  shown.searchParams.set('schema', schema);
  shown.searchParams.set('workspace', workspace);
  // Redacted as text (model/redact.ts): a password with an unencoded '/' can parse as a port and a
  // path, which the URL object would show.
  let redacted = redactUrl(shown.toString());
  try {
    redacted = decodeURI(redacted);
  } catch {
    // A malformed escape elsewhere in the URL: show it encoded.
  }
  const envPassword = process.env['PGPASSWORD'];
  if (envPassword) secrets.push(envPassword);
  return { connectionString, redacted, schema, workspace, secrets: secrets.filter((s) => s.length >= 3) };
}

// ---------------------------------------------------------------------------------------------
// Errors from the driver.

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EHOSTDOWN', 'ECONNRESET', 'EPIPE']);
/** SQLSTATEs that mean the session is gone: admin/crash shutdown, cannot connect now, connection exceptions. */
const LOST_SQLSTATES = /^(57P0[1-3]|08...)$/;

function codeOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  const code = (err as { code: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Whether an error from the driver means the connection is gone (or never came). */
export function isConnectionError(err: unknown): boolean {
  if (err instanceof SmsReconcileError) return err.code === 'state-db-connection-lost' || err.code === 'state-db-unreachable';
  const code = codeOf(err);
  if (code !== undefined && (NETWORK_CODES.has(code) || LOST_SQLSTATES.test(code))) return true;
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable|Client was closed/i.test(messageOf(err));
}

type Phase = 'connect' | 'query';

// ---------------------------------------------------------------------------------------------
// Rows.

interface LockRow {
  lock_id: string | null;
  holder_host: string | null;
  holder_pid: number | null;
  operation: string | null;
  created: Date | null;
  expires: Date | null;
  backend_pid: number | null;
  /** The backend that holds the advisory lock now, if any. */
  advisory_pid: number | null;
}

/** What the locks row and pg_locks say about a workspace's lock. */
interface LockStatus {
  /** The recorded lock, whether or not its backend still holds the advisory lock. */
  readonly record: (LockInfo & { readonly backendPid: number }) | undefined;
  /** The backend holding the advisory lock now. */
  readonly advisoryPid: number | undefined;
}

function statusOf(row: LockRow | undefined): LockStatus {
  const advisoryPid = row?.advisory_pid ?? undefined;
  if (!row || row.lock_id === null || row.backend_pid === null) return { record: undefined, advisoryPid };
  const created = row.created ?? new Date(0);
  const expires = row.expires ?? new Date(0);
  return {
    advisoryPid,
    record: {
      id: row.lock_id,
      holder: { host: row.holder_host ?? 'unknown', pid: row.holder_pid ?? 0 },
      operation: row.operation ?? 'unknown',
      created: created.toISOString(),
      expires: expires.toISOString(),
      backendPid: row.backend_pid,
    },
  };
}

/** The record as a LockInfo (without the backend pid). */
function lockInfoOf(record: LockInfo): LockInfo {
  return { id: record.id, holder: { host: record.holder.host, pid: record.holder.pid }, operation: record.operation, created: record.created, expires: record.expires };
}

/** The live lock: the record if its backend holds the advisory lock; a stand-in for a backend without one; else none. */
function liveLock(status: LockStatus, now: number, leaseMs: number): (LockInfo & { readonly backendPid: number }) | undefined {
  const { record, advisoryPid } = status;
  if (advisoryPid === undefined) return undefined;
  if (record && record.backendPid === advisoryPid) return record;
  return {
    id: `${FOREIGN_LOCK_PREFIX}${advisoryPid}`,
    holder: { host: 'unknown', pid: 0 },
    operation: `unknown (PostgreSQL backend ${advisoryPid} holds the advisory lock without a lock record)`,
    created: new Date(now).toISOString(),
    expires: new Date(now + leaseMs).toISOString(),
    backendPid: advisoryPid,
  };
}

interface HeadRow {
  lineage: string;
  serial: string;
}

/** A lock this store holds: its LeasedLock and the connection that holds the advisory lock. */
interface LockSession {
  /** Set once the lock is acquired. */
  lock: LeasedLock | undefined;
  readonly client: Client;
  /** The lock's connection ended or failed: the server has freed the advisory lock. */
  connectionLost: boolean;
  /** A write or a check found the lock row taken by another lock (takeover or force-unlock). */
  taken: boolean;
}

export class PgStateStore implements StateStore {
  readonly location: string;
  readonly schema: string;
  readonly workspace: string;
  readonly #connectionString: string;
  readonly #secrets: readonly string[];
  readonly #timers: StateTimers;
  readonly #holder: LockHolder;
  readonly #leaseMs: number;
  readonly #connectTimeoutMs: number;
  readonly #poolSize: number;
  readonly #journalKeep: number;
  readonly #localHost = hostname();
  readonly #keys: readonly [number, number];
  readonly #t: { readonly workspaces: string; readonly resources: string; readonly journal: string; readonly locks: string; readonly backups: string };
  readonly #issued = new WeakSet<StateLock>();
  readonly #sessions = new Map<LeasedLock, LockSession>();
  readonly #writes = new Mutex();
  #pool: Pool | undefined;
  #ready: Promise<void> | undefined;
  #serverVersion = 0;

  constructor(url: string, options: PgStateStoreOptions = {}) {
    const loc = parsePgLocation(url, options);
    this.location = loc.redacted;
    this.schema = loc.schema;
    this.workspace = loc.workspace;
    this.#connectionString = loc.connectionString;
    this.#secrets = loc.secrets;
    this.#timers = options.timers ?? systemTimers;
    this.#holder = options.holder ?? localHolder();
    this.#leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_PG_CONNECT_TIMEOUT_MS;
    this.#poolSize = options.poolSize ?? 3;
    this.#journalKeep = options.journalKeep ?? DEFAULT_JOURNAL_KEEP;
    this.#keys = advisoryKeys(`sms-reconcile\0${loc.schema}\0${loc.workspace}`);
    const s = quoteIdent(loc.schema);
    this.#t = { workspaces: `${s}.workspaces`, resources: `${s}.resources`, journal: `${s}.journal`, locks: `${s}.locks`, backups: `${s}.backups` };
  }

  // -------------------------------------------------------------------------------------------
  // Connections and errors.

  #clientConfig(): ClientConfig {
    return {
      connectionString: this.#connectionString,
      connectionTimeoutMillis: this.#connectTimeoutMs,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      application_name: 'sms-reconcile',
      // A frozen process cannot hold a row lock for ever; nobody waits for one for ever.
      idle_in_transaction_session_timeout: 60_000,
      lock_timeout: 30_000,
    };
  }

  async #getPool(): Promise<Pool> {
    if (!this.#pool) {
      const pg = await loadPg();
      if (this.#pool) return this.#pool;
      const pool = new pg.Pool({ ...this.#clientConfig(), max: this.#poolSize, idleTimeoutMillis: 10_000, allowExitOnIdle: true });
      // An idle connection that fails (server restart) is dropped by the pool; the next use reconnects.
      pool.on('error', () => undefined);
      this.#pool = pool;
    }
    return this.#pool;
  }

  #scrub(text: string): string {
    let out = text;
    for (const secret of this.#secrets) out = out.split(secret).join('***');
    return out;
  }

  /** A typed error for a driver failure (typed errors pass through). */
  #dbError(err: unknown, phase: Phase, doing: string): Error {
    if (err instanceof SmsReconcileError) return err;
    const code = codeOf(err);
    const message = this.#scrub(messageOf(err));
    const where = this.location;
    if (code === '28P01' || code === '28000') {
      return stateError('state-db-auth', `PostgreSQL at ${where} refused the login: ${message}`, {
        hint: 'check the user and password in the URL (or PGPASSWORD), and that pg_hba.conf admits this client',
      });
    }
    if (code === '3D000') {
      return stateError('state-db-error', `${doing} failed at ${where}: ${message} (SQLSTATE ${code})`, {
        hint: 'create the database (the store creates its schema and tables, not the database), or fix the URL',
      });
    }
    if (phase === 'connect' && /\bSSL\b|TLS|certificate|self[- ]signed/i.test(message)) {
      return stateError('state-db-unreachable', `could not open a TLS connection to PostgreSQL at ${where}: ${message}`, {
        hint:
          'check sslmode in the URL: the driver treats sslmode=require as verify-full (give the server\'s CA with sslrootcert=PATH), ' +
          'sslmode=no-verify encrypts without checking the certificate, sslmode=disable turns TLS off; nothing was changed',
      });
    }
    if (phase === 'connect') {
      const timedOut = /timeout/i.test(message);
      return stateError(
        'state-db-unreachable',
        `could not connect to PostgreSQL at ${where}${timedOut ? ` within ${this.#connectTimeoutMs} ms` : ''}: ${message}`,
        { hint: 'check the host and port in the URL, that the server runs and that the network lets this machine reach it; nothing was changed' },
      );
    }
    if (isConnectionError(err)) {
      return stateError('state-db-connection-lost', `the connection to PostgreSQL at ${where} was lost while ${doing}: ${message}`, {
        hint: 'the change in flight may or may not have been recorded, and nothing is lost: run the command again; it resumes from the journal',
      });
    }
    if (code === '42501') {
      return stateError('state-db-error', `${doing} was refused at ${where}: ${message} (SQLSTATE ${code})`, {
        hint: `grant this role USAGE (and CREATE, for the first run) on schema "${this.schema}" and read/write on its tables`,
      });
    }
    if (code !== undefined && /^[0-9A-Z]{5}$/.test(code)) {
      return stateError('state-db-error', `${doing} failed at ${where}: ${message} (SQLSTATE ${code})`, {
        hint: 'nothing was changed by this operation; see the PostgreSQL message',
      });
    }
    return err instanceof Error ? err : new Error(message);
  }

  /** Runs the migrations once per store instance (again after a failure). */
  #ensureReady(): Promise<void> {
    this.#ready ??= this.#migrate().catch((err: unknown) => {
      this.#ready = undefined;
      throw err;
    });
    return this.#ready;
  }

  async #migrate(): Promise<void> {
    await this.#withPooled('preparing the state schema', false, async (client) => {
      const v = await client.query<{ v: number }>("SELECT pg_catalog.current_setting('server_version_num')::integer AS v");
      this.#serverVersion = v.rows[0]?.v ?? 0;
      await migratePgSchema(client, this.schema, this.location);
    });
  }

  /**
   * Runs `body` with a pooled connection, discarded afterwards if it failed. While checked out,
   * the connection has an 'error' listener: the server ending the session between two queries
   * (a restart) must fail the next query, not crash the process with an unhandled 'error' event.
   */
  async #withPooled<T>(doing: string, migrated: boolean, body: (client: PoolClient) => Promise<T>): Promise<T> {
    if (migrated) await this.#ensureReady();
    let client: PoolClient;
    try {
      client = await (await this.#getPool()).connect();
    } catch (err) {
      throw this.#dbError(err, 'connect', 'connecting');
    }
    let broken: Error | undefined;
    const onError = (err: Error): void => {
      broken = err;
    };
    client.on('error', onError);
    try {
      return await body(client);
    } catch (err) {
      if (isConnectionError(err)) broken ??= err instanceof Error ? err : new Error(String(err));
      throw this.#dbError(err, 'query', doing);
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  /** Runs `body` with a pooled connection on a migrated schema. */
  #withClient<T>(doing: string, body: (client: PoolClient) => Promise<T>): Promise<T> {
    return this.#withPooled(doing, true, body);
  }

  /** Runs `body` in a transaction (BEGIN ... COMMIT, ROLLBACK on error). */
  #transaction<T>(doing: string, body: (client: PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
    return this.#withClient(doing, async (client) => {
      await client.query(begin);
      let value: T;
      try {
        value = await body(client);
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
      await client.query('COMMIT');
      return value;
    });
  }

  /** SQL: the backend holding this workspace's advisory lock ($2, $3 are the keys). */
  #advisoryHolderSql(): string {
    return `SELECT p.pid FROM pg_catalog.pg_locks p
             WHERE p.locktype = 'advisory' AND p.granted AND p.objsubid = 2
               AND p.classid = $2::integer::oid AND p.objid = $3::integer::oid
               AND p.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())
             LIMIT 1`;
  }

  /** The lock row (if any) and the advisory lock's holder. */
  async #lockStatus(client: ClientBase): Promise<LockStatus> {
    const r = await client.query<LockRow>(
      `SELECT l.lock_id, l.holder_host, l.holder_pid, l.operation, l.created, l.expires, l.backend_pid,
              (${this.#advisoryHolderSql()}) AS advisory_pid
         FROM (SELECT $1::text AS workspace) w
         LEFT JOIN ${this.#t.locks} l ON l.workspace = w.workspace`,
      [this.workspace, this.#keys[0], this.#keys[1]],
    );
    return statusOf(r.rows[0]);
  }

  /**
   * In a transaction: creates the lock row on the first lock ever, and row-locks it until the
   * transaction ends. Lock attempts, releases and force-unlocks all queue here.
   */
  async #lockRow(client: ClientBase): Promise<void> {
    await client.query(`INSERT INTO ${this.#t.locks} (workspace) VALUES ($1) ON CONFLICT (workspace) DO UPDATE SET workspace = EXCLUDED.workspace`, [
      this.workspace,
    ]);
  }

  // -------------------------------------------------------------------------------------------
  // Reads.

  async read(): Promise<StateDocument | undefined> {
    const loaded = await this.#transaction(
      'reading the state',
      async (client) => {
        const ws = await client.query<{ format_version: number; lineage: string; serial: string; target: TargetIdentity }>(
          `SELECT format_version, lineage, serial, target FROM ${this.#t.workspaces} WHERE name = $1`,
          [this.workspace],
        );
        const head = ws.rows[0];
        if (!head) return undefined;
        const resources = await client.query<{ address: string; record: ResourceRecord }>(
          `SELECT address, record FROM ${this.#t.resources} WHERE workspace = $1`,
          [this.workspace],
        );
        const pending = await client.query<{ body: PendingIntent }>(
          `SELECT body FROM ${this.#t.journal} WHERE workspace = $1 AND kind = 'intent' AND resolved_serial IS NULL ORDER BY serial`,
          [this.workspace],
        );
        return { head, resources: resources.rows, pending: pending.rows.map((r) => r.body) };
      },
      'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
    );
    if (!loaded) return undefined;
    const resources: Record<string, ResourceRecord> = {};
    for (const row of [...loaded.resources].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0))) {
      resources[row.address] = row.record;
    }
    const doc = {
      formatVersion: loaded.head.format_version,
      lineage: loaded.head.lineage,
      serial: Number(loaded.head.serial),
      target: loaded.head.target,
      resources,
      pending: loaded.pending,
    };
    const source = `the state at ${this.location}`;
    return validateStateDocument(upgradeState(doc, source), source);
  }

  async head(): Promise<StateHead | undefined> {
    return this.#withClient('reading the state', async (client) => {
      const r = await client.query<HeadRow>(`SELECT lineage, serial FROM ${this.#t.workspaces} WHERE name = $1`, [this.workspace]);
      const row = r.rows[0];
      return row && { lineage: row.lineage, serial: Number(row.serial) };
    });
  }

  async pendingIntents(): Promise<readonly PendingIntent[]> {
    return this.#withClient('reading the journal', async (client) => {
      const r = await client.query<{ body: PendingIntent }>(
        `SELECT body FROM ${this.#t.journal} WHERE workspace = $1 AND kind = 'intent' AND resolved_serial IS NULL ORDER BY serial`,
        [this.workspace],
      );
      return r.rows.map((row) => row.body);
    });
  }

  async lockInfo(): Promise<LockInfo | undefined> {
    const status = await this.#withClient('reading the lock', (client) => this.#lockStatus(client));
    const live = liveLock(status, this.#timers.now(), this.#leaseMs);
    return live && lockInfoOf(live);
  }

  // -------------------------------------------------------------------------------------------
  // Locks.

  async lock(request: LockRequest): Promise<StateLock> {
    await this.#ensureReady();
    const client = new (await loadPg()).Client(this.#clientConfig());
    const session: LockSession = { lock: undefined, client, connectionLost: false, taken: false };
    // The server ends the session (and frees the advisory lock) when this connection fails.
    client.on('error', () => {
      session.connectionLost = true;
    });
    client.on('end', () => {
      session.connectionLost = true;
    });
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => undefined);
      throw this.#dbError(err, 'connect', 'connecting for the lock');
    }
    let acquired: LockInfo;
    try {
      acquired = await acquireWithBackoff(() => this.#tryLock(client, request), {
        timers: this.#timers,
        timeoutMs: request.timeoutMs ?? 0,
        location: this.location,
      });
    } catch (err) {
      await client.end().catch(() => undefined);
      throw this.#dbError(err, 'query', 'taking the lock');
    }
    const lock = new LeasedLock(
      acquired,
      {
        renew: (mine, expires) => this.#renew(session, mine, expires),
        verify: (mine) => this.#verify(session, mine),
        release: (mine) => this.#release(session, mine),
      },
      { timers: this.#timers, leaseMs: this.#leaseMs, location: this.location },
    );
    session.lock = lock;
    this.#sessions.set(lock, session);
    this.#issued.add(lock);
    return lock;
  }

  /**
   * One attempt, on the lock's own connection, under the lock row's row lock: take the advisory
   * lock and record it; or take over a stale holder (terminating its backend); or report the holder.
   */
  async #tryLock(client: Client, request: LockRequest): Promise<LockAttempt<LockInfo>> {
    const t = this.#t;
    await client.query('BEGIN');
    try {
      await this.#lockRow(client);
      for (let round = 0; ; round++) {
        const got = await client.query<{ got: boolean }>('SELECT pg_catalog.pg_try_advisory_lock($1, $2) AS got', [this.#keys[0], this.#keys[1]]);
        if (got.rows[0]?.got) {
          const now = this.#timers.now();
          const info: LockInfo = {
            id: randomUUID(),
            holder: { host: this.#holder.host, pid: this.#holder.pid },
            operation: request.operation,
            created: new Date(now).toISOString(),
            expires: new Date(now + this.#leaseMs).toISOString(),
          };
          await client.query(
            `UPDATE ${t.locks} SET lock_id = $2, holder_host = $3, holder_pid = $4, operation = $5, created = $6, expires = $7, backend_pid = pg_catalog.pg_backend_pid()
              WHERE workspace = $1`,
            [this.workspace, info.id, info.holder.host, info.holder.pid, info.operation, info.created, info.expires],
          );
          await client.query('COMMIT');
          return { acquired: info };
        }
        const status = await this.#lockStatus(client);
        const now = this.#timers.now();
        const live = liveLock(status, now, this.#leaseMs) ?? (round < 3 ? undefined : liveLock({ record: undefined, advisoryPid: 0 }, now, this.#leaseMs));
        if (!live) continue; // released between the two queries: try again
        const stale = live.id.startsWith(FOREIGN_LOCK_PREFIX) ? undefined : staleBecause(live, now, this.#localHost);
        if (stale === undefined || round >= 3) {
          await client.query('COMMIT');
          return { busy: lockInfoOf(live) };
        }
        await this.#terminate(client, live.backendPid);
      }
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  /**
   * Ends the backend `pid` (the holder of a stale or force-unlocked lock), waiting for it where the
   * server can (PostgreSQL 14+). A refusal (another role, without pg_signal_backend) is not an
   * error here: the lock row is still cleared, so the holder can no longer write.
   */
  async #terminate(client: ClientBase, pid: number): Promise<void> {
    await client.query('SAVEPOINT sms_terminate');
    try {
      if (this.#serverVersion >= 140000) {
        await client.query('SELECT pg_catalog.pg_terminate_backend($1, $2)', [pid, TERMINATE_WAIT_MS]);
      } else {
        // Before PostgreSQL 14 the call does not wait: poll (sleeping on the server) until the backend is gone.
        await client.query('SELECT pg_catalog.pg_terminate_backend($1)', [pid]);
        for (let waited = 0; waited < TERMINATE_WAIT_MS; waited += 50) {
          const r = await client.query('SELECT 1 FROM pg_catalog.pg_stat_activity WHERE pid = $1', [pid]);
          if (r.rowCount === 0) break;
          await client.query('SELECT pg_catalog.pg_sleep(0.05)');
        }
      }
      await client.query('RELEASE SAVEPOINT sms_terminate');
    } catch (err) {
      await client.query('ROLLBACK TO SAVEPOINT sms_terminate');
      if (codeOf(err) !== '42501') throw err;
    }
  }

  /** The error for a lock whose connection is gone while its row still names it. */
  #lockConnectionLost(info: LockInfo): Error {
    return stateError(
      'state-db-connection-lost',
      `the connection holding the lock ${info.id} on ${this.location} was lost (server restart or network), so PostgreSQL released the lock`,
      { hint: 'nothing more was written; run the command again: it takes a new lock and resumes from the journal' },
    );
  }

  /** Whether the lock row still names `mine`, asked on a pooled connection. */
  async #rowIsMine(mine: LockInfo): Promise<boolean> {
    const r = await this.#withClient('checking the lock', (client) =>
      client.query(`SELECT 1 FROM ${this.#t.locks} WHERE workspace = $1 AND lock_id = $2`, [this.workspace, mine.id]),
    );
    return r.rowCount === 1;
  }

  async #verify(session: LockSession | undefined, mine: LockInfo): Promise<boolean> {
    if (!session || session.taken) return false;
    if (!session.connectionLost) return true; // the write's own transaction checks the row and the advisory lock
    if (!(await this.#rowIsMine(mine))) return false;
    throw this.#lockConnectionLost(mine);
  }

  async #renew(session: LockSession | undefined, mine: LockInfo, expires: string): Promise<boolean> {
    if (!session || session.taken) return false;
    if (!session.connectionLost) {
      try {
        const r = await session.client.query(`UPDATE ${this.#t.locks} SET expires = $3 WHERE workspace = $1 AND lock_id = $2`, [this.workspace, mine.id, expires]);
        if (r.rowCount === 1) return true;
        session.taken = true;
        return false;
      } catch (err) {
        if (!isConnectionError(err)) throw this.#dbError(err, 'query', 'renewing the lock');
        session.connectionLost = true;
      }
    }
    if (!(await this.#rowIsMine(mine))) return false;
    throw this.#lockConnectionLost(mine);
  }

  /** Clears the row (if still ours) and frees the advisory lock in one statement, then ends the connection. */
  async #release(session: LockSession | undefined, mine: LockInfo): Promise<void> {
    if (!session) return;
    if (session.lock) this.#sessions.delete(session.lock);
    try {
      if (!session.connectionLost && !session.taken) {
        await this.#pruneJournal(session.client);
        await session.client.query(
          `WITH cleared AS (
             UPDATE ${this.#t.locks}
                SET lock_id = NULL, holder_host = NULL, holder_pid = NULL, operation = NULL, created = NULL, expires = NULL, backend_pid = NULL
              WHERE workspace = $1 AND lock_id = $4
              RETURNING 1)
           SELECT pg_catalog.pg_advisory_unlock($2, $3) AS freed, (SELECT count(*) FROM cleared) AS cleared`,
          [this.workspace, this.#keys[0], this.#keys[1], mine.id],
        );
      }
    } catch {
      // The connection is gone: the server has freed the advisory lock with the session, and a
      // lock row whose backend holds nothing counts for nothing.
    } finally {
      await session.client.end().catch(() => undefined);
    }
  }

  /**
   * Deletes the journal rows of finished work older than the latest `journalKeep` serials, under
   * the lock being released: the journal stays bounded as the file store's is by compaction.
   * Nothing reads those rows (a state is its resources and its pending intents); a pending intent
   * is never deleted, whatever its age. Best effort: a failure leaves rows for the next release.
   */
  async #pruneJournal(client: Client): Promise<void> {
    try {
      await client.query(
        `DELETE FROM ${this.#t.journal}
          WHERE workspace = $1
            AND serial <= (SELECT w.serial FROM ${this.#t.workspaces} w WHERE w.name = $1) - $2
            AND (kind <> 'intent' OR resolved_serial IS NOT NULL)`,
        [this.workspace, this.#journalKeep],
      );
    } catch {
      // kept for the next release
    }
  }

  async forceUnlock(lockId: string): Promise<LockInfo> {
    return this.#transaction('breaking the lock', async (client) => {
      await this.#lockRow(client);
      const status = await this.#lockStatus(client);
      const now = this.#timers.now();
      const live = liveLock(status, now, this.#leaseMs);
      const record = status.record;
      if (!live) {
        // A record whose backend is gone (its process died): nothing holds the lock; tidy the row.
        if (record && record.id === lockId) {
          await this.#clearRow(client, record.id);
          return lockInfoOf(record);
        }
        throw notLocked(this.location);
      }
      if (live.id !== lockId) throw lockIdMismatch(lockInfoOf(live), lockId, this.location);
      await this.#terminate(client, live.backendPid);
      if (record) await this.#clearRow(client, record.id);
      return lockInfoOf(live);
    });
  }

  async #clearRow(client: ClientBase, lockId: string): Promise<void> {
    await client.query(
      `UPDATE ${this.#t.locks}
          SET lock_id = NULL, holder_host = NULL, holder_pid = NULL, operation = NULL, created = NULL, expires = NULL, backend_pid = NULL
        WHERE workspace = $1 AND lock_id = $2`,
      [this.workspace, lockId],
    );
  }

  async close(): Promise<void> {
    for (const session of [...this.#sessions.values()]) await session.lock?.release().catch(() => undefined);
    const pool = this.#pool;
    this.#pool = undefined;
    if (pool) await pool.end().catch(() => undefined);
  }

  // -------------------------------------------------------------------------------------------
  // Writes.

  /**
   * Runs one change: the lock checked (in this process, then in the transaction, FOR SHARE on the
   * lock row), then `body` in the same transaction. Changes of one store run one at a time.
   */
  async #write<T>(lock: StateLock, doing: string, body: (client: PoolClient) => Promise<T>): Promise<T> {
    const leased = ownLock(lock, this.#issued, this.location);
    return this.#writes.run(async () => {
      await this.#ensureReady();
      await leased.assertWritable();
      const session = this.#sessions.get(leased);
      if (!session) throw stateError('state-lock-required', `the lock ${lock.info.id} was released; writes need a held lock`, { source: 'internal' });
      return this.#transaction(doing, async (client) => {
        await this.#fence(client, session);
        return body(client);
      });
    });
  }

  /** In a write's transaction: the lock row must name this lock, and its backend must hold the advisory lock. */
  async #fence(client: PoolClient, session: LockSession): Promise<void> {
    const r = await client.query<{ lock_id: string | null; live: boolean }>(
      `SELECT l.lock_id,
              EXISTS (SELECT 1 FROM pg_catalog.pg_locks p
                       WHERE p.locktype = 'advisory' AND p.granted AND p.objsubid = 2 AND p.pid = l.backend_pid
                         AND p.classid = $2::integer::oid AND p.objid = $3::integer::oid
                         AND p.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())) AS live
         FROM ${this.#t.locks} l WHERE l.workspace = $1 FOR SHARE`,
      [this.workspace, this.#keys[0], this.#keys[1]],
    );
    const row = r.rows[0];
    const info = session.lock?.info;
    if (!info) throw stateError('state-lock-required', 'internal: a write with a lock that was never acquired', { source: 'internal' });
    if (row?.lock_id !== info.id) {
      session.taken = true;
      throw stateError('state-lock-lost', `the lock ${info.id} on ${this.location} is no longer held by this process (it was force-unlocked or taken over after its lease ran out)`, {
        hint: 'nothing more was written; run the command again to take a new lock and resume from the journal',
      });
    }
    if (!row.live) {
      session.connectionLost = true;
      throw this.#lockConnectionLost(info);
    }
  }

  /** The workspace row, locked FOR UPDATE; undefined when there is no state. */
  async #lockHead(client: PoolClient): Promise<StateHead | undefined> {
    const r = await client.query<HeadRow>(`SELECT lineage, serial FROM ${this.#t.workspaces} WHERE name = $1 FOR UPDATE`, [this.workspace]);
    const row = r.rows[0];
    return row && { lineage: row.lineage, serial: Number(row.serial) };
  }

  async #requireHead(client: PoolClient): Promise<StateHead> {
    const head = await this.#lockHead(client);
    if (!head) throw missingState(this.location);
    return head;
  }

  /**
   * Journals change `serial` and applies `writes`, then moves the workspace's serial: one
   * statement. `resolves` is the serial of the intent a result resolves.
   */
  async #applyChange(
    client: PoolClient,
    change: {
      readonly serial: number;
      readonly kind: 'intent' | 'result' | 'write';
      readonly at: string;
      readonly lockId: string;
      readonly intentId: string | null;
      readonly body: unknown;
      readonly writes: readonly ResourceWrite[];
      readonly resolves?: number;
    },
  ): Promise<void> {
    const t = this.#t;
    const deletes = change.writes.filter((w) => w.record === null).map((w) => w.address);
    const upserts = change.writes.filter((w) => w.record !== null).map((w) => ({ address: w.address, record: w.record }));
    await client.query(
      `WITH journaled AS (
         INSERT INTO ${t.journal} (workspace, serial, kind, at, lock_id, intent_id, body)
         VALUES ($1, $2, $3, $4, $5, $6, $7::json)),
       resolved AS (
         UPDATE ${t.journal} SET resolved_serial = $2
          WHERE workspace = $1 AND serial = $8 AND kind = 'intent' AND resolved_serial IS NULL),
       deleted AS (
         DELETE FROM ${t.resources} WHERE workspace = $1 AND address = ANY ($9::text[])),
       upserted AS (
         INSERT INTO ${t.resources} (workspace, address, record, serial)
         SELECT $1, x.address, x.record, $2 FROM json_to_recordset($10::json) AS x (address text, record json)
         ON CONFLICT (workspace, address) DO UPDATE SET record = EXCLUDED.record, serial = EXCLUDED.serial)
       UPDATE ${t.workspaces} SET serial = $2, updated_at = now() WHERE name = $1`,
      [
        this.workspace,
        change.serial,
        change.kind,
        change.at,
        change.lockId,
        change.intentId,
        JSON.stringify(change.body),
        change.resolves ?? null,
        deletes,
        JSON.stringify(upserts),
      ],
    );
  }

  #nowIso(): string {
    return new Date(this.#timers.now()).toISOString();
  }

  initialize(lock: StateLock, target: TargetIdentity): Promise<StateDocument> {
    return this.#write(lock, 'creating the state', async (client) => {
      const doc = emptyState(randomUUID(), target);
      const r = await client.query(
        `INSERT INTO ${this.#t.workspaces} (name, format_version, lineage, serial, target) VALUES ($1, $2, $3, 0, $4::json)
         ON CONFLICT (name) DO NOTHING`,
        [this.workspace, doc.formatVersion, doc.lineage, JSON.stringify(doc.target)],
      );
      if (r.rowCount !== 1) throw stateExists(this.location);
      return structuredClone(doc);
    });
  }

  appendIntent(lock: StateLock, input: IntentInput): Promise<PendingIntent> {
    return this.#write(lock, 'recording an intent', async (client) => {
      const head = await this.#requireHead(client);
      const serial = head.serial + 1;
      const at = this.#nowIso();
      const intent: PendingIntent = { ...structuredClone(input), id: randomUUID(), serial, lockId: lock.info.id, recordedAt: at };
      checkIntent(intent);
      await this.#applyChange(client, { serial, kind: 'intent', at, lockId: lock.info.id, intentId: intent.id, body: intent, writes: [] });
      return intent;
    });
  }

  appendResult(lock: StateLock, intentId: string, outcome: IntentOutcome, writes: readonly ResourceWrite[]): Promise<CommitInfo> {
    return this.#write(lock, 'recording a result', async (client) => {
      const head = await this.#requireHead(client);
      const pending = UUID.test(intentId)
        ? await client.query<{ serial: string }>(
            `SELECT serial FROM ${this.#t.journal} WHERE workspace = $1 AND intent_id = $2 AND kind = 'intent' AND resolved_serial IS NULL FOR UPDATE`,
            [this.workspace, intentId],
          )
        : undefined;
      const intentSerial = pending?.rows[0]?.serial;
      if (intentSerial === undefined) {
        throw stateError('state-unknown-intent', `no pending intent ${intentId}: a result must follow its intent, once`, { source: 'internal' });
      }
      const copy = structuredClone(writes);
      checkWrites(copy);
      const serial = head.serial + 1;
      await this.#applyChange(client, {
        serial,
        kind: 'result',
        at: this.#nowIso(),
        lockId: lock.info.id,
        intentId,
        body: { outcome, writes: copy },
        writes: copy,
        resolves: Number(intentSerial),
      });
      return { serial };
    });
  }

  writeResources(lock: StateLock, writes: readonly ResourceWrite[], reason?: string): Promise<CommitInfo> {
    return this.#write(lock, 'writing resources', async (client) => {
      const head = await this.#requireHead(client);
      const copy = structuredClone(writes);
      checkWrites(copy);
      const serial = head.serial + 1;
      await this.#applyChange(client, {
        serial,
        kind: 'write',
        at: this.#nowIso(),
        lockId: lock.info.id,
        intentId: null,
        body: reason === undefined ? { writes: copy } : { reason, writes: copy },
        writes: copy,
      });
      return { serial };
    });
  }

  /**
   * Replaces the workspace's state (`state push`, `state migrate`): O(size of the state), one
   * transaction. The state it replaces is kept in the backups table (one per workspace).
   */
  replace(lock: StateLock, document: StateDocument, options: ReplaceOptions = {}): Promise<CommitInfo> {
    return this.#write(lock, 'replacing the state', async (client) => {
      const incoming = validateStateDocument(structuredClone(document), 'the pushed state');
      const current = await this.#lockHead(client);
      const serial = checkReplace(current, incoming, options, this.location);
      const t = this.#t;
      if (current) {
        // The state as it was, kept (like the file store's .backup): one row per workspace, the last replace's.
        await client.query(
          `INSERT INTO ${t.backups} (workspace, lineage, serial, document)
           SELECT w.name, w.lineage, w.serial,
                  json_build_object(
                    'formatVersion', w.format_version, 'lineage', w.lineage, 'serial', w.serial, 'target', w.target,
                    'resources', COALESCE((SELECT json_object_agg(r.address, r.record ORDER BY r.address) FROM ${t.resources} r WHERE r.workspace = w.name), '{}'::json),
                    'pending', COALESCE((SELECT json_agg(j.body ORDER BY j.serial) FROM ${t.journal} j
                                          WHERE j.workspace = w.name AND j.kind = 'intent' AND j.resolved_serial IS NULL), '[]'::json))
             FROM ${t.workspaces} w WHERE w.name = $1
           ON CONFLICT (workspace) DO UPDATE
             SET taken_at = now(), lineage = EXCLUDED.lineage, serial = EXCLUDED.serial, document = EXCLUDED.document`,
          [this.workspace],
        );
        await client.query(`DELETE FROM ${t.journal} WHERE workspace = $1`, [this.workspace]);
        await client.query(`DELETE FROM ${t.resources} WHERE workspace = $1`, [this.workspace]);
        await client.query(`UPDATE ${t.workspaces} SET format_version = $2, lineage = $3, serial = $4, target = $5::json, updated_at = now() WHERE name = $1`, [
          this.workspace,
          STATE_FORMAT_VERSION,
          incoming.lineage,
          serial,
          JSON.stringify(incoming.target),
        ]);
      } else {
        await client.query(`INSERT INTO ${t.workspaces} (name, format_version, lineage, serial, target) VALUES ($1, $2, $3, $4, $5::json)`, [
          this.workspace,
          STATE_FORMAT_VERSION,
          incoming.lineage,
          serial,
          JSON.stringify(incoming.target),
        ]);
      }
      await client.query(
        `INSERT INTO ${t.resources} (workspace, address, record, serial)
         SELECT $1, x.key, x.value, $2 FROM json_each($3::json) AS x`,
        [this.workspace, serial, JSON.stringify(incoming.resources)],
      );
      await client.query(
        `INSERT INTO ${t.journal} (workspace, serial, kind, at, lock_id, intent_id, body)
         SELECT $1, (x->>'serial')::bigint, 'intent', (x->>'recordedAt')::timestamptz, (x->>'lockId')::uuid, (x->>'id')::uuid, x
           FROM json_array_elements($2::json) AS x`,
        [this.workspace, JSON.stringify(incoming.pending)],
      );
      return { serial };
    });
  }
}
