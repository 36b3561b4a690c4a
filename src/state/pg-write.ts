/**
 * Writes of the PostgreSQL state store: initialize, intents, results, resource writes and replace,
 * and the pruning of the journal.
 *
 * Invariants:
 * - One change, one transaction. Each intent, result, resource write, initialize and replace runs
 *   in its own transaction, which first checks the lock (the lock row is read FOR SHARE, so a
 *   takeover or a force-unlock waits for it, and it sees one that committed first), then takes the
 *   workspace row FOR UPDATE and moves `serial` by exactly one. Two writers can never both commit
 *   the same serial, whatever they believe about their locks.
 * - O(size of the change). A write touches the workspace row, the rows of the addresses it writes
 *   and one or two journal rows; never the other resources.
 * - Changes of one store run one at a time.
 * - Durability. A write resolves after COMMIT returned. A connection lost during a write is
 *   `state-db-connection-lost`: the change may or may not have committed; the journal tells the
 *   next run which.
 * - The journal is bounded: releasing a lock deletes the rows of finished work older than the last
 *   `journalKeep` serials (a pending intent stays whatever its age; nothing else reads them).
 */
import { randomUUID } from 'node:crypto';
import type { ClientBase, PoolClient } from 'pg';
import {
  STATE_FORMAT_VERSION,
  checkIntent,
  checkWrites,
  emptyState,
  validateStateDocument,
  type IntentInput,
  type IntentOutcome,
  type PendingIntent,
  type ResourceWrite,
  type StateDocument,
  type StateHead,
  type TargetIdentity,
} from './codec.ts';
import { stateError } from './errors.ts';
import { Mutex } from './lease.ts';
import type { PgConnection } from './pg-connection.ts';
import type { PgLocks } from './pg-lock.ts';
import type { HeadRow } from './pg-read.ts';
import { checkReplace, missingState, stateExists } from './store-rules.ts';
import type { CommitInfo, ReplaceOptions, StateLock, StateTimers } from './store.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Deletes the journal rows of finished work older than the latest `journalKeep` serials, under
 * the lock being released: the journal stays bounded as the file store's is by compaction.
 * Nothing reads those rows (a state is its resources and its pending intents); a pending intent
 * is never deleted, whatever its age. Best effort: a failure leaves rows for the next release.
 */
export async function pruneJournal(client: ClientBase, db: PgConnection, journalKeep: number): Promise<void> {
  try {
    await client.query(
      `DELETE FROM ${db.t.journal}
        WHERE workspace = $1
          AND serial <= (SELECT w.serial FROM ${db.t.workspaces} w WHERE w.name = $1) - $2
          AND (kind <> 'intent' OR resolved_serial IS NOT NULL)`,
      [db.workspace, journalKeep],
    );
  } catch {
    // kept for the next release
  }
}

/** The writes of one store's workspace; each one fenced by the store's lock (PgLocks). */
export class PgWrites {
  readonly #db: PgConnection;
  readonly #locks: PgLocks;
  readonly #timers: StateTimers;
  readonly #writes = new Mutex();

  constructor(db: PgConnection, locks: PgLocks, timers: StateTimers) {
    this.#db = db;
    this.#locks = locks;
    this.#timers = timers;
  }

  get #location(): string {
    return this.#db.location;
  }

  get #workspace(): string {
    return this.#db.workspace;
  }

  /**
   * Runs one change: the lock checked (in this process, then in the transaction, FOR SHARE on the
   * lock row), then `body` in the same transaction. Changes of one store run one at a time.
   */
  async #write<T>(lock: StateLock, doing: string, body: (client: PoolClient) => Promise<T>): Promise<T> {
    const leased = this.#locks.own(lock);
    return this.#writes.run(async () => {
      await this.#db.ensureReady();
      await leased.assertWritable();
      const session = this.#locks.sessionOf(leased);
      if (!session) throw stateError('state-lock-required', `the lock ${lock.info.id} was released; writes need a held lock`, { source: 'internal' });
      return this.#db.transaction(doing, async (client) => {
        await this.#locks.fence(client, session);
        return body(client);
      });
    });
  }

  /** The workspace row, locked FOR UPDATE; undefined when there is no state. */
  async #lockHead(client: PoolClient): Promise<StateHead | undefined> {
    const r = await client.query<HeadRow>(`SELECT lineage, serial FROM ${this.#db.t.workspaces} WHERE name = $1 FOR UPDATE`, [this.#workspace]);
    const row = r.rows[0];
    return row && { lineage: row.lineage, serial: Number(row.serial) };
  }

  async #requireHead(client: PoolClient): Promise<StateHead> {
    const head = await this.#lockHead(client);
    if (!head) throw missingState(this.#location);
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
    const t = this.#db.t;
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
        this.#workspace,
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
        `INSERT INTO ${this.#db.t.workspaces} (name, format_version, lineage, serial, target) VALUES ($1, $2, $3, 0, $4::json)
         ON CONFLICT (name) DO NOTHING`,
        [this.#workspace, doc.formatVersion, doc.lineage, JSON.stringify(doc.target)],
      );
      if (r.rowCount !== 1) throw stateExists(this.#location);
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
            `SELECT serial FROM ${this.#db.t.journal} WHERE workspace = $1 AND intent_id = $2 AND kind = 'intent' AND resolved_serial IS NULL FOR UPDATE`,
            [this.#workspace, intentId],
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
      const serial = checkReplace(current, incoming, options, this.#location);
      const t = this.#db.t;
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
          [this.#workspace],
        );
        await client.query(`DELETE FROM ${t.journal} WHERE workspace = $1`, [this.#workspace]);
        await client.query(`DELETE FROM ${t.resources} WHERE workspace = $1`, [this.#workspace]);
        await client.query(`UPDATE ${t.workspaces} SET format_version = $2, lineage = $3, serial = $4, target = $5::json, updated_at = now() WHERE name = $1`, [
          this.#workspace,
          STATE_FORMAT_VERSION,
          incoming.lineage,
          serial,
          JSON.stringify(incoming.target),
        ]);
      } else {
        await client.query(`INSERT INTO ${t.workspaces} (name, format_version, lineage, serial, target) VALUES ($1, $2, $3, $4, $5::json)`, [
          this.#workspace,
          STATE_FORMAT_VERSION,
          incoming.lineage,
          serial,
          JSON.stringify(incoming.target),
        ]);
      }
      await client.query(
        `INSERT INTO ${t.resources} (workspace, address, record, serial)
         SELECT $1, x.key, x.value, $2 FROM json_each($3::json) AS x`,
        [this.#workspace, serial, JSON.stringify(incoming.resources)],
      );
      await client.query(
        `INSERT INTO ${t.journal} (workspace, serial, kind, at, lock_id, intent_id, body)
         SELECT $1, (x->>'serial')::bigint, 'intent', (x->>'recordedAt')::timestamptz, (x->>'lockId')::uuid, (x->>'id')::uuid, x
           FROM json_array_elements($2::json) AS x`,
        [this.#workspace, JSON.stringify(incoming.pending)],
      );
      return { serial };
    });
  }
}
