/**
 * The PostgreSQL StateStore (`--state postgres://...`): shared state for teams and pipelines. The
 * tables are described in pg-migrations.ts; one database holds several schemas (--state-schema)
 * and each schema several workspaces (--workspace).
 *
 * The store is composed of rooms, each with its own invariants:
 * - pg-location.ts: the postgres:// URL, the schema and workspace, and the redacted form;
 * - pg-connection.ts: the driver (loaded on first use), the pool, transactions, migrations;
 * - pg-errors.ts: driver errors mapped to typed state errors, secrets scrubbed;
 * - pg-lock.ts: lock sessions (advisory locks, leases, takeover, force-unlock) and the write fence;
 * - pg-read.ts: reads; pg-write.ts: writes, one change per transaction, and journal pruning.
 *
 * Invariants:
 * - One change, one transaction, fenced by the lock, moving `serial` by exactly one (pg-write.ts).
 * - Durability. A write resolves after COMMIT returned. A connection lost during a write is
 *   `state-db-connection-lost`: the change may or may not have committed; the journal tells the
 *   next run which.
 * - Secrets. The password never appears in `location`, in errors or in the state: messages name
 *   the URL as postgres://user:***@host:port/db, and the password is scrubbed from any text that
 *   comes back from the driver.
 */
import type { IntentInput, IntentOutcome, PendingIntent, ResourceWrite, StateDocument, StateHead, TargetIdentity } from './codec.ts';
import { DEFAULT_LEASE_MS, localHolder, systemTimers } from './lease.ts';
import { PgConnection } from './pg-connection.ts';
import { PgLocks } from './pg-lock.ts';
import { parsePgLocation } from './pg-location.ts';
import { readPgHead, readPgPendingIntents, readPgState } from './pg-read.ts';
import { PgWrites } from './pg-write.ts';
import type { CommitInfo, LockInfo, LockRequest, ReplaceOptions, StateLock, StateStore, StateStoreOptions } from './store.ts';

export { DEFAULT_PG_CONNECT_TIMEOUT_MS } from './pg-connection.ts';
export { isConnectionError } from './pg-errors.ts';
export { DEFAULT_PG_SCHEMA, DEFAULT_PG_WORKSPACE, parsePgLocation, type PgLocation } from './pg-location.ts';

/** Serials whose resolved journal rows are kept (see PgStateStoreOptions.journalKeep). */
export const DEFAULT_JOURNAL_KEEP = 1_000;

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

export class PgStateStore implements StateStore {
  readonly location: string;
  readonly schema: string;
  readonly workspace: string;
  readonly #db: PgConnection;
  readonly #locks: PgLocks;
  readonly #writes: PgWrites;

  constructor(url: string, options: PgStateStoreOptions = {}) {
    const loc = parsePgLocation(url, options);
    this.location = loc.redacted;
    this.schema = loc.schema;
    this.workspace = loc.workspace;
    const timers = options.timers ?? systemTimers;
    this.#db = new PgConnection(loc, { connectTimeoutMs: options.connectTimeoutMs, poolSize: options.poolSize });
    this.#locks = new PgLocks(this.#db, {
      timers,
      holder: options.holder ?? localHolder(),
      leaseMs: options.leaseMs ?? DEFAULT_LEASE_MS,
      journalKeep: options.journalKeep ?? DEFAULT_JOURNAL_KEEP,
    });
    this.#writes = new PgWrites(this.#db, this.#locks, timers);
  }

  read(): Promise<StateDocument | undefined> {
    return readPgState(this.#db);
  }

  head(): Promise<StateHead | undefined> {
    return readPgHead(this.#db);
  }

  pendingIntents(): Promise<readonly PendingIntent[]> {
    return readPgPendingIntents(this.#db);
  }

  lockInfo(): Promise<LockInfo | undefined> {
    return this.#locks.lockInfo();
  }

  lock(request: LockRequest): Promise<StateLock> {
    return this.#locks.lock(request);
  }

  forceUnlock(lockId: string): Promise<LockInfo> {
    return this.#locks.forceUnlock(lockId);
  }

  async close(): Promise<void> {
    await this.#locks.releaseAll();
    await this.#db.close();
  }

  initialize(lock: StateLock, target: TargetIdentity): Promise<StateDocument> {
    return this.#writes.initialize(lock, target);
  }

  appendIntent(lock: StateLock, input: IntentInput): Promise<PendingIntent> {
    return this.#writes.appendIntent(lock, input);
  }

  appendResult(lock: StateLock, intentId: string, outcome: IntentOutcome, writes: readonly ResourceWrite[]): Promise<CommitInfo> {
    return this.#writes.appendResult(lock, intentId, outcome, writes);
  }

  writeResources(lock: StateLock, writes: readonly ResourceWrite[], reason?: string): Promise<CommitInfo> {
    return this.#writes.writeResources(lock, writes, reason);
  }

  /**
   * Replaces the workspace's state (`state push`, `state migrate`): O(size of the state), one
   * transaction. The state it replaces is kept in the backups table (one per workspace).
   */
  replace(lock: StateLock, document: StateDocument, options: ReplaceOptions = {}): Promise<CommitInfo> {
    return this.#writes.replace(lock, document, options);
  }
}
