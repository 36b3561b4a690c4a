/**
 * Reads of the PostgreSQL state store: the whole state, its head, and the pending intents.
 *
 * Invariants:
 * - Reads take no lock and see the last committed change: a whole-state read runs in one
 *   REPEATABLE READ READ ONLY transaction, so its head, resources and journal agree.
 * - A state read from the database is upgraded and validated like one read from a file.
 */
import { upgradeState, validateStateDocument, type PendingIntent, type ResourceRecord, type StateDocument, type StateHead, type TargetIdentity } from './codec.ts';
import type { PgConnection } from './pg-connection.ts';

/** A workspace row's head, as the driver returns it (bigint as text). */
export interface HeadRow {
  lineage: string;
  serial: string;
}

/** The whole state, read in one snapshot (REPEATABLE READ): its head, resources (by address) and pending intents. */
export async function readPgState(db: PgConnection): Promise<StateDocument | undefined> {
  const loaded = await db.transaction(
    'reading the state',
    async (client) => {
      const ws = await client.query<{ format_version: number; lineage: string; serial: string; target: TargetIdentity }>(
        `SELECT format_version, lineage, serial, target FROM ${db.t.workspaces} WHERE name = $1`,
        [db.workspace],
      );
      const head = ws.rows[0];
      if (!head) return undefined;
      const resources = await client.query<{ address: string; record: ResourceRecord }>(
        `SELECT address, record FROM ${db.t.resources} WHERE workspace = $1`,
        [db.workspace],
      );
      const pending = await client.query<{ body: PendingIntent }>(
        `SELECT body FROM ${db.t.journal} WHERE workspace = $1 AND kind = 'intent' AND resolved_serial IS NULL ORDER BY serial`,
        [db.workspace],
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
  const source = `the state at ${db.location}`;
  return validateStateDocument(upgradeState(doc, source), source);
}

/** The state's lineage and serial; undefined when there is no state. */
export async function readPgHead(db: PgConnection): Promise<StateHead | undefined> {
  return db.withClient('reading the state', async (client) => {
    const r = await client.query<HeadRow>(`SELECT lineage, serial FROM ${db.t.workspaces} WHERE name = $1`, [db.workspace]);
    const row = r.rows[0];
    return row && { lineage: row.lineage, serial: Number(row.serial) };
  });
}

/** The intents without a result, in serial order. */
export async function readPgPendingIntents(db: PgConnection): Promise<readonly PendingIntent[]> {
  return db.withClient('reading the journal', async (client) => {
    const r = await client.query<{ body: PendingIntent }>(
      `SELECT body FROM ${db.t.journal} WHERE workspace = $1 AND kind = 'intent' AND resolved_serial IS NULL ORDER BY serial`,
      [db.workspace],
    );
    return r.rows.map((row) => row.body);
  });
}
