/**
 * The versioned schema of the PostgreSQL state store, kept in the repository: one entry per
 * version, applied in order, each recorded in `<schema>.schema_migrations`.
 *
 * Invariants:
 * - Migrations are append-only. A released entry is never edited: a change of schema is a new
 *   entry with the next version. PG_SCHEMA_VERSION is the highest version this build knows.
 * - `migratePgSchema` is safe to run from many processes at once: it takes a transaction-scoped
 *   advisory lock derived from the schema name, re-reads the version under it, and applies the
 *   missing migrations and their schema_migrations rows in that one transaction (all or nothing).
 * - A database whose schema is at a version above PG_SCHEMA_VERSION is refused with
 *   `state-db-schema-newer`, before anything is written.
 * - Nothing is created when the schema is already at PG_SCHEMA_VERSION: a role that may only use
 *   the tables (no CREATE on the database) works against a migrated schema.
 *
 * Documents (targets, records, journal bodies) are stored as `json`, not `jsonb`: json keeps the
 * text as written, key order included, so a state pulled from PostgreSQL encodes to the same
 * bytes as the one pushed or migrated in.
 *
 * Tables (all in the schema named by --state-schema, default `sms_reconcile`):
 * - workspaces: one row per workspace (--workspace): format version, lineage, serial, target.
 * - resources:  one row per (workspace, address): the resource record, and the serial of the
 *               change that wrote it last.
 * - journal:    one row per committed change (workspace, serial): intents (with the serial of their
 *               result once resolved; pending while NULL), results and plain resource writes.
 * - locks:      one row per workspace that was ever locked: the current lock record (NULL columns
 *               when free) and the PostgreSQL backend that holds the session advisory lock.
 * - backups:    per workspace, the whole state document as it was before the last `replace`
 *               (state push, state migrate): the counterpart of the file store's state.json.backup.
 */
import { createHash } from 'node:crypto';
import type { ClientBase } from 'pg';
import { stateError } from './errors.ts';

export interface PgMigration {
  readonly version: number;
  readonly name: string;
  /** The SQL of the migration, for the schema given as a quoted identifier. May hold several statements. */
  readonly sql: (schema: string) => string;
}

export const PG_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    name: 'workspaces, resources, journal and locks',
    sql: (s) => `
CREATE TABLE ${s}.workspaces (
  name           text PRIMARY KEY,
  format_version integer NOT NULL,
  lineage        uuid NOT NULL,
  serial         bigint NOT NULL CHECK (serial >= 0),
  target         json NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE ${s}.workspaces IS 'sms-reconcile: one state per workspace; serial moves by one per committed change, under SELECT ... FOR UPDATE of this row';

CREATE TABLE ${s}.resources (
  workspace text NOT NULL REFERENCES ${s}.workspaces (name) ON DELETE CASCADE,
  address   text NOT NULL,
  record    json NOT NULL,
  serial    bigint NOT NULL,
  PRIMARY KEY (workspace, address)
);
COMMENT ON TABLE ${s}.resources IS 'sms-reconcile: one row per managed address; serial is that of the change that wrote it last';

CREATE TABLE ${s}.journal (
  workspace       text NOT NULL REFERENCES ${s}.workspaces (name) ON DELETE CASCADE,
  serial          bigint NOT NULL,
  kind            text NOT NULL CHECK (kind IN ('intent', 'result', 'write')),
  at              timestamptz NOT NULL,
  lock_id         uuid,
  intent_id       uuid,
  body            json NOT NULL,
  resolved_serial bigint,
  PRIMARY KEY (workspace, serial),
  CHECK ((kind = 'write') = (intent_id IS NULL)),
  CHECK (kind = 'intent' OR resolved_serial IS NULL)
);
COMMENT ON TABLE ${s}.journal IS 'sms-reconcile: one row per change; an intent is pending while resolved_serial is NULL';
CREATE UNIQUE INDEX journal_one_per_intent ON ${s}.journal (workspace, intent_id, kind) WHERE intent_id IS NOT NULL;
CREATE INDEX journal_pending ON ${s}.journal (workspace, serial) WHERE kind = 'intent' AND resolved_serial IS NULL;

CREATE TABLE ${s}.locks (
  workspace   text PRIMARY KEY,
  lock_id     uuid,
  holder_host text,
  holder_pid  integer,
  operation   text,
  created     timestamptz,
  expires     timestamptz,
  backend_pid integer,
  CHECK ((lock_id IS NULL) = (backend_pid IS NULL))
);
COMMENT ON TABLE ${s}.locks IS 'sms-reconcile: who holds the workspace lock; the lock itself is a session advisory lock held by backend_pid';

CREATE TABLE ${s}.backups (
  workspace text PRIMARY KEY,
  taken_at  timestamptz NOT NULL DEFAULT now(),
  lineage   uuid NOT NULL,
  serial    bigint NOT NULL,
  document  json NOT NULL
);
COMMENT ON TABLE ${s}.backups IS 'sms-reconcile: the state document as it was before the last replace (state push, state migrate) of each workspace';
`,
  },
];

/** The schema version this build creates and understands. */
export const PG_SCHEMA_VERSION = PG_MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** Whether `name` may be used as --state-schema (lower-case letters, digits, _; at most 63). */
export function isValidSchemaName(name: string): boolean {
  return IDENTIFIER.test(name) && !name.startsWith('pg_');
}

/** A quoted SQL identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Two non-negative int4 keys for pg_advisory_*(int4, int4), derived from `text`. */
export function advisoryKeys(text: string): readonly [number, number] {
  const digest = createHash('sha256').update(text).digest();
  return [digest.readUInt32BE(0) & 0x7fffffff, digest.readUInt32BE(4) & 0x7fffffff];
}

/** The schema's current version: 0 when it has no schema_migrations table. */
export async function pgSchemaVersion(client: ClientBase, schema: string): Promise<number> {
  const table = `${quoteIdent(schema)}.schema_migrations`;
  const exists = await client.query<{ t: string | null }>('SELECT pg_catalog.to_regclass($1)::text AS t', [table]);
  if (exists.rows[0]?.t == null) return 0;
  const r = await client.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${table}`);
  return r.rows[0]?.v ?? 0;
}

function newerError(schema: string, found: number, location: string): Error {
  return stateError(
    'state-db-schema-newer',
    `the state schema "${schema}" at ${location} is at version ${found}, migrated by a newer sms-reconcile; this one knows version ${PG_SCHEMA_VERSION} at most`,
    { hint: 'upgrade sms-reconcile to the release that migrated it (or use another --state-schema); nothing was changed' },
  );
}

/**
 * Brings `schema` to PG_SCHEMA_VERSION (see the invariants above). Returns the version found
 * before. `client` must not be in a transaction.
 */
export async function migratePgSchema(client: ClientBase, schema: string, location: string): Promise<number> {
  const before = await pgSchemaVersion(client, schema);
  if (before === PG_SCHEMA_VERSION) return before;
  if (before > PG_SCHEMA_VERSION) throw newerError(schema, before, location);
  const s = quoteIdent(schema);
  const [k1, k2] = advisoryKeys(`sms-reconcile migrate\0${schema}`);
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_catalog.pg_advisory_xact_lock($1, $2)', [k1, k2]);
    const ns = await client.query('SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1', [schema]);
    if (ns.rowCount === 0) await client.query(`CREATE SCHEMA ${s}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (
         version    integer PRIMARY KEY,
         name       text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now(),
         applied_by text NOT NULL
       )`,
    );
    const current = await pgSchemaVersion(client, schema);
    if (current > PG_SCHEMA_VERSION) throw newerError(schema, current, location);
    for (const m of PG_MIGRATIONS) {
      if (m.version <= current) continue;
      await client.query(m.sql(s));
      await client.query(`INSERT INTO ${s}.schema_migrations (version, name, applied_by) VALUES ($1, $2, $3)`, [
        m.version,
        m.name,
        'sms-reconcile',
      ]);
    }
    await client.query('COMMIT');
    return before;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
