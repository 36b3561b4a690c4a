/**
 * Lock sessions of the PostgreSQL state store: taking, renewing, verifying, releasing and
 * breaking a workspace's lock, and the fence every write passes.
 *
 * Invariants:
 * - A lock is a session advisory lock, keyed by schema and workspace, held by a dedicated
 *   connection for its lifetime: if the process dies, the server ends the session and frees it.
 *   The `locks` row says who holds it (id, holder host/pid, operation, created, expires) and which
 *   backend; a row counts only while that backend holds the advisory lock. Taking, releasing and
 *   breaking a lock all run under the lock row's row lock, so they are serialized.
 * - Leases, as in the file store: the holder renews `expires` (heartbeat); a contender that finds
 *   the lease expired by its clock, or the holder a dead process on this host, terminates the
 *   holder's backend (pg_terminate_backend) and takes the lock. force-unlock does the same.
 * - The fence: a write's transaction reads the lock row FOR SHARE and goes on only if it names the
 *   writer's lock and that lock's backend still holds the advisory lock.
 * - Releasing a lock prunes the journal (pg-write.ts) before it frees the lock.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Client, ClientBase, PoolClient } from 'pg';
import { stateError } from './errors.ts';
import { LeasedLock, acquireWithBackoff, ownLock, staleBecause, type LockAttempt } from './lease.ts';
import type { PgConnection } from './pg-connection.ts';
import { codeOf, isConnectionError } from './pg-errors.ts';
import { advisoryKeys } from './pg-migrations.ts';
import { pruneJournal } from './pg-write.ts';
import { lockIdMismatch, notLocked } from './store-rules.ts';
import type { LockHolder, LockInfo, LockRequest, StateLock, StateTimers } from './store.ts';

/** How long breaking a lock waits for the holder's backend to end. */
const TERMINATE_WAIT_MS = 5_000;
/** The id shown for a backend that holds the advisory lock without a lock record (never ours). */
const FOREIGN_LOCK_PREFIX = 'pg-backend-';

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

/** A lock this store holds: its LeasedLock and the connection that holds the advisory lock. */
export interface LockSession {
  /** Set once the lock is acquired. */
  lock: LeasedLock | undefined;
  readonly client: Client;
  /** The lock's connection ended or failed: the server has freed the advisory lock. */
  connectionLost: boolean;
  /** A write or a check found the lock row taken by another lock (takeover or force-unlock). */
  taken: boolean;
}

export interface PgLockOptions {
  readonly timers: StateTimers;
  readonly holder: LockHolder;
  readonly leaseMs: number;
  /** Serials whose resolved journal rows a release keeps (see PgStateStoreOptions.journalKeep). */
  readonly journalKeep: number;
}

/** The locks of one store's workspace, and the sessions (connections) that hold them. */
export class PgLocks {
  readonly #db: PgConnection;
  readonly #timers: StateTimers;
  readonly #holder: LockHolder;
  readonly #leaseMs: number;
  readonly #journalKeep: number;
  readonly #localHost = hostname();
  readonly #keys: readonly [number, number];
  readonly #issued = new WeakSet<StateLock>();
  readonly #sessions = new Map<LeasedLock, LockSession>();

  constructor(db: PgConnection, options: PgLockOptions) {
    this.#db = db;
    this.#timers = options.timers;
    this.#holder = options.holder;
    this.#leaseMs = options.leaseMs;
    this.#journalKeep = options.journalKeep;
    this.#keys = advisoryKeys(`sms-reconcile\0${db.schema}\0${db.workspace}`);
  }

  get #location(): string {
    return this.#db.location;
  }

  get #workspace(): string {
    return this.#db.workspace;
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
         LEFT JOIN ${this.#db.t.locks} l ON l.workspace = w.workspace`,
      [this.#workspace, this.#keys[0], this.#keys[1]],
    );
    return statusOf(r.rows[0]);
  }

  /**
   * In a transaction: creates the lock row on the first lock ever, and row-locks it until the
   * transaction ends. Lock attempts, releases and force-unlocks all queue here.
   */
  async #lockRow(client: ClientBase): Promise<void> {
    await client.query(`INSERT INTO ${this.#db.t.locks} (workspace) VALUES ($1) ON CONFLICT (workspace) DO UPDATE SET workspace = EXCLUDED.workspace`, [
      this.#workspace,
    ]);
  }

  /** The live lock, if any (a record whose backend no longer holds the advisory lock is none). */
  async lockInfo(): Promise<LockInfo | undefined> {
    const status = await this.#db.withClient('reading the lock', (client) => this.#lockStatus(client));
    const live = liveLock(status, this.#timers.now(), this.#leaseMs);
    return live && lockInfoOf(live);
  }

  async lock(request: LockRequest): Promise<StateLock> {
    await this.#db.ensureReady();
    const client = await this.#db.newClient();
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
      throw this.#db.dbError(err, 'connect', 'connecting for the lock');
    }
    let acquired: LockInfo;
    try {
      acquired = await acquireWithBackoff(() => this.#tryLock(client, request), {
        timers: this.#timers,
        timeoutMs: request.timeoutMs ?? 0,
        location: this.#location,
      });
    } catch (err) {
      await client.end().catch(() => undefined);
      throw this.#db.dbError(err, 'query', 'taking the lock');
    }
    const lock = new LeasedLock(
      acquired,
      {
        renew: (mine, expires) => this.#renew(session, mine, expires),
        verify: (mine) => this.#verify(session, mine),
        release: (mine) => this.#release(session, mine),
      },
      { timers: this.#timers, leaseMs: this.#leaseMs, location: this.#location },
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
    const t = this.#db.t;
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
            [this.#workspace, info.id, info.holder.host, info.holder.pid, info.operation, info.created, info.expires],
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
      if (this.#db.serverVersion >= 140000) {
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
      `the connection holding the lock ${info.id} on ${this.#location} was lost (server restart or network), so PostgreSQL released the lock`,
      { hint: 'nothing more was written; run the command again: it takes a new lock and resumes from the journal' },
    );
  }

  /** Whether the lock row still names `mine`, asked on a pooled connection. */
  async #rowIsMine(mine: LockInfo): Promise<boolean> {
    const r = await this.#db.withClient('checking the lock', (client) =>
      client.query(`SELECT 1 FROM ${this.#db.t.locks} WHERE workspace = $1 AND lock_id = $2`, [this.#workspace, mine.id]),
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
        const r = await session.client.query(`UPDATE ${this.#db.t.locks} SET expires = $3 WHERE workspace = $1 AND lock_id = $2`, [this.#workspace, mine.id, expires]);
        if (r.rowCount === 1) return true;
        session.taken = true;
        return false;
      } catch (err) {
        if (!isConnectionError(err)) throw this.#db.dbError(err, 'query', 'renewing the lock');
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
        await pruneJournal(session.client, this.#db, this.#journalKeep);
        await session.client.query(
          `WITH cleared AS (
             UPDATE ${this.#db.t.locks}
                SET lock_id = NULL, holder_host = NULL, holder_pid = NULL, operation = NULL, created = NULL, expires = NULL, backend_pid = NULL
              WHERE workspace = $1 AND lock_id = $4
              RETURNING 1)
           SELECT pg_catalog.pg_advisory_unlock($2, $3) AS freed, (SELECT count(*) FROM cleared) AS cleared`,
          [this.#workspace, this.#keys[0], this.#keys[1], mine.id],
        );
      }
    } catch {
      // The connection is gone: the server has freed the advisory lock with the session, and a
      // lock row whose backend holds nothing counts for nothing.
    } finally {
      await session.client.end().catch(() => undefined);
    }
  }

  async forceUnlock(lockId: string): Promise<LockInfo> {
    return this.#db.transaction('breaking the lock', async (client) => {
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
        throw notLocked(this.#location);
      }
      if (live.id !== lockId) throw lockIdMismatch(lockInfoOf(live), lockId, this.#location);
      await this.#terminate(client, live.backendPid);
      if (record) await this.#clearRow(client, record.id);
      return lockInfoOf(live);
    });
  }

  async #clearRow(client: ClientBase, lockId: string): Promise<void> {
    await client.query(
      `UPDATE ${this.#db.t.locks}
          SET lock_id = NULL, holder_host = NULL, holder_pid = NULL, operation = NULL, created = NULL, expires = NULL, backend_pid = NULL
        WHERE workspace = $1 AND lock_id = $2`,
      [this.#workspace, lockId],
    );
  }

  /** In a write's transaction: the lock row must name this lock, and its backend must hold the advisory lock. */
  async fence(client: PoolClient, session: LockSession): Promise<void> {
    const r = await client.query<{ lock_id: string | null; live: boolean }>(
      `SELECT l.lock_id,
              EXISTS (SELECT 1 FROM pg_catalog.pg_locks p
                       WHERE p.locktype = 'advisory' AND p.granted AND p.objsubid = 2 AND p.pid = l.backend_pid
                         AND p.classid = $2::integer::oid AND p.objid = $3::integer::oid
                         AND p.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())) AS live
         FROM ${this.#db.t.locks} l WHERE l.workspace = $1 FOR SHARE`,
      [this.#workspace, this.#keys[0], this.#keys[1]],
    );
    const row = r.rows[0];
    const info = session.lock?.info;
    if (!info) throw stateError('state-lock-required', 'internal: a write with a lock that was never acquired', { source: 'internal' });
    if (row?.lock_id !== info.id) {
      session.taken = true;
      throw stateError('state-lock-lost', `the lock ${info.id} on ${this.#location} is no longer held by this process (it was force-unlocked or taken over after its lease ran out)`, {
        hint: 'nothing more was written; run the command again to take a new lock and resume from the journal',
      });
    }
    if (!row.live) {
      session.connectionLost = true;
      throw this.#lockConnectionLost(info);
    }
  }

  /** Releases every lock this store holds (on close). */
  async releaseAll(): Promise<void> {
    for (const session of [...this.#sessions.values()]) await session.lock?.release().catch(() => undefined);
  }

  /** The LeasedLock behind `lock`, which must be one this store issued. */
  own(lock: StateLock): LeasedLock {
    return ownLock(lock, this.#issued, this.#location);
  }

  /** The session holding `lock`; undefined once it was released. */
  sessionOf(lock: LeasedLock): LockSession | undefined {
    return this.#sessions.get(lock);
  }
}
