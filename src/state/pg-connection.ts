/**
 * The connection side of the PostgreSQL state store: the pg driver (loaded on first use), the pool
 * of connections for reads and writes, transactions, and the schema migrated once per store.
 *
 * Invariants:
 * - The pg module is loaded lazily (see loadPg); nothing here imports it at start.
 * - A pooled connection that failed is discarded, never handed out again; an idle one that fails
 *   (server restart) is dropped by the pool, and the next use reconnects.
 * - Every driver failure leaves as a typed state error (pg-errors.ts), its text scrubbed of secrets.
 * - Nobody waits for ever: connecting times out (connectTimeoutMs, default 5 s), a row lock wait
 *   after 30 s, and a session idle in a transaction is ended after 60 s.
 */
import type { Client, ClientConfig, Pool, PoolClient } from 'pg';
import { isConnectionError, pgDbError, type PgErrorScope, type Phase } from './pg-errors.ts';
import type { PgLocation } from './pg-location.ts';
import { migratePgSchema, quoteIdent } from './pg-migrations.ts';

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

/** The store's tables, as qualified and quoted SQL names. */
export interface PgTables {
  readonly workspaces: string;
  readonly resources: string;
  readonly journal: string;
  readonly locks: string;
  readonly backups: string;
}

export interface PgConnectionOptions {
  /** How long to wait for a connection (default 5 s). */
  readonly connectTimeoutMs?: number;
  /** Connections for reads and writes; the lock has its own. Default 3. */
  readonly poolSize?: number;
}

/** The connections of one store, to one schema and workspace. */
export class PgConnection {
  /** The redacted location, for messages. */
  readonly location: string;
  readonly schema: string;
  readonly workspace: string;
  readonly t: PgTables;
  readonly #connectionString: string;
  readonly #errorScope: PgErrorScope;
  readonly #connectTimeoutMs: number;
  readonly #poolSize: number;
  #pool: Pool | undefined;
  #ready: Promise<void> | undefined;
  #serverVersion = 0;

  constructor(loc: PgLocation, options: PgConnectionOptions = {}) {
    this.location = loc.redacted;
    this.schema = loc.schema;
    this.workspace = loc.workspace;
    this.#connectionString = loc.connectionString;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_PG_CONNECT_TIMEOUT_MS;
    this.#poolSize = options.poolSize ?? 3;
    this.#errorScope = { location: loc.redacted, schema: loc.schema, connectTimeoutMs: this.#connectTimeoutMs, secrets: loc.secrets };
    const s = quoteIdent(loc.schema);
    this.t = { workspaces: `${s}.workspaces`, resources: `${s}.resources`, journal: `${s}.journal`, locks: `${s}.locks`, backups: `${s}.backups` };
  }

  /** The server's version (server_version_num, e.g. 160002), known once the schema is migrated; else 0. */
  get serverVersion(): number {
    return this.#serverVersion;
  }

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

  /** A typed error for a driver failure (typed errors pass through); see pg-errors.ts. */
  dbError(err: unknown, phase: Phase, doing: string): Error {
    return pgDbError(err, phase, doing, this.#errorScope);
  }

  /** Runs the migrations once per store instance (again after a failure). */
  ensureReady(): Promise<void> {
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
    if (migrated) await this.ensureReady();
    let client: PoolClient;
    try {
      client = await (await this.#getPool()).connect();
    } catch (err) {
      throw this.dbError(err, 'connect', 'connecting');
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
      throw this.dbError(err, 'query', doing);
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  /** Runs `body` with a pooled connection on a migrated schema. */
  withClient<T>(doing: string, body: (client: PoolClient) => Promise<T>): Promise<T> {
    return this.#withPooled(doing, true, body);
  }

  /** Runs `body` in a transaction (BEGIN ... COMMIT, ROLLBACK on error). */
  transaction<T>(doing: string, body: (client: PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
    return this.withClient(doing, async (client) => {
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

  /** A new connection outside the pool, configured as the pool's (the lock's own; the caller connects and ends it). */
  async newClient(): Promise<Client> {
    return new (await loadPg()).Client(this.#clientConfig());
  }

  /** Ends the pool's connections. */
  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    if (pool) await pool.end().catch(() => undefined);
  }
}
