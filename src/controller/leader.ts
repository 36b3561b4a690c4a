/**
 * Leader election, so that two controllers can share one state: only the leader reconciles.
 *
 * - File state: a lease file beside the state (`state.json.leader`), made and taken over with the
 *   lock files' own rules (state/lock.ts: O_EXCL creation, in-place renewal, takeover of a record
 *   whose lease ran out or whose holder is a dead process on this host).
 * - PostgreSQL state: a session advisory lock keyed by schema and workspace, held on a connection
 *   of its own; the server releases it when the process dies. The holder is found through
 *   pg_locks and the holder's application_name.
 *
 * The elector tries (or renews) every third of the TTL, so a standby takes over within the TTL
 * plus one renewal period of the leader's death, and logs each change with both holders.
 */
import { hostname } from 'node:os';
import type { Client } from 'pg';
import type { Logger } from '../report/logger.ts';
import { RENEWALS_PER_LEASE, localHolder } from '../state/lease.ts';
import { tryFileLock, type FileLockHandle } from '../state/lock.ts';
import { advisoryKeys } from '../state/pg-migrations.ts';
import { parsePgLocation } from '../state/pg-store.ts';
import type { LockInfo, StateTimers } from '../state/store.ts';
import { ioMessage } from '../model/messages.ts';
import { logMessage } from '../report/log-message.ts';

export interface LeaseView {
  readonly leader: boolean;
  /** Who holds the lease (this process or another), when known. */
  readonly holder: string | undefined;
}

/** One medium for the lease. */
export interface LeaseBackend {
  readonly kind: 'file' | 'postgres';
  /** Takes the lease, or keeps it when held; says who holds it otherwise. */
  acquireOrRenew(): Promise<LeaseView>;
  /** Gives the lease up (no-op when not held). */
  release(): Promise<void>;
}

const OPERATION_PREFIX = 'controller ';

/** The lease file `<state>.leader`. */
export class FileLease implements LeaseBackend {
  readonly kind = 'file' as const;
  #held: { handle: FileLockHandle; info: LockInfo } | undefined;

  constructor(
    private readonly path: string,
    private readonly identity: string,
    private readonly ttlMs: number,
    private readonly timers: StateTimers,
  ) {}

  async acquireOrRenew(): Promise<LeaseView> {
    if (this.#held) {
      const { handle, info } = this.#held;
      const expires = new Date(this.timers.now() + this.ttlMs).toISOString();
      if (await handle.renew(info, expires)) {
        this.#held = { handle, info: { ...info, expires } };
        return { leader: true, holder: this.identity };
      }
      this.#held = undefined;
      await handle.abandon();
    }
    const attempt = await tryFileLock(
      { path: this.path, location: this.path, timers: this.timers, holder: localHolder(), leaseMs: this.ttlMs, localHost: hostname() },
      { operation: `${OPERATION_PREFIX}${this.identity}` },
    );
    if ('acquired' in attempt) {
      this.#held = attempt.acquired;
      return { leader: true, holder: this.identity };
    }
    const op = attempt.busy.operation;
    return { leader: false, holder: op.startsWith(OPERATION_PREFIX) ? op.slice(OPERATION_PREFIX.length) : `${attempt.busy.holder.host}:${attempt.busy.holder.pid}` };
  }

  async release(): Promise<void> {
    const held = this.#held;
    this.#held = undefined;
    await held?.handle.release();
  }
}

/** A session advisory lock in the state's database. */
export class PgLease implements LeaseBackend {
  readonly kind = 'postgres' as const;
  #client: Client | undefined;
  #leader = false;
  readonly #keys: readonly [number, number];
  readonly #connectionString: string;

  constructor(
    location: string,
    private readonly identity: string,
  ) {
    const loc = parsePgLocation(location);
    this.#keys = advisoryKeys(`sms-reconcile controller leader ${loc.schema} ${loc.workspace}`);
    this.#connectionString = loc.connectionString;
  }

  async #connection(): Promise<Client> {
    if (this.#client) return this.#client;
    const pg = (await import('pg')).default;
    const client = new pg.Client({ connectionString: this.#connectionString, application_name: `sms-reconcile ${this.identity}`.slice(0, 63), connectionTimeoutMillis: 5_000 });
    client.on('error', () => {
      // The session is gone, and with it the advisory lock: the next attempt reconnects.
      this.#client = undefined;
      this.#leader = false;
    });
    await client.connect();
    this.#client = client;
    return client;
  }

  async acquireOrRenew(): Promise<LeaseView> {
    let client: Client;
    try {
      client = await this.#connection();
      if (this.#leader) {
        await client.query('SELECT 1');
        return { leader: true, holder: this.identity };
      }
      const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [this.#keys[0], this.#keys[1]]);
      if (r.rows[0]?.ok === true) {
        this.#leader = true;
        return { leader: true, holder: this.identity };
      }
      const h = await client.query<{ name: string | null }>(
        `SELECT a.application_name AS name FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'advisory' AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 2 AND l.granted LIMIT 1`,
        [this.#keys[0], this.#keys[1]],
      );
      const name = h.rows[0]?.name ?? undefined;
      return { leader: false, holder: name?.replace(/^sms-reconcile /, '') };
    } catch (err) {
      this.#leader = false;
      const c = this.#client;
      this.#client = undefined;
      await c?.end().catch(() => undefined);
      throw err;
    }
  }

  async release(): Promise<void> {
    const c = this.#client;
    this.#client = undefined;
    this.#leader = false;
    await c?.end().catch(() => undefined);
  }
}

export interface ElectorOptions {
  readonly ttlMs: number;
  readonly timers: StateTimers;
  readonly logger: Logger;
  /** This process, as logged and shown. */
  readonly identity: string;
  /** Called on every change of role. */
  readonly onChange: (view: LeaseView) => void;
}

/** Keeps trying for (or renewing) the lease every third of the TTL. */
export class LeaderElector {
  #view: LeaseView = { leader: false, holder: undefined };
  #cancel: (() => void) | undefined;
  #stopped = false;
  #ticking: Promise<void> | undefined;
  /** When our lease last renewed (epoch ms), to step down when renewals keep failing. */
  #renewedAt = 0;

  constructor(
    private readonly backend: LeaseBackend,
    private readonly opts: ElectorOptions,
  ) {}

  get view(): LeaseView {
    return this.#view;
  }

  /** The first attempt now; then every ttl/3. */
  async start(): Promise<void> {
    await this.#tick();
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    const run = (async () => {
      const before = this.#view;
      let next: LeaseView;
      try {
        next = await this.backend.acquireOrRenew();
        if (next.leader) this.#renewedAt = this.opts.timers.now();
      } catch (err) {
        logMessage(this.opts.logger, ioMessage('controller.lease-error', 'warn', 'could not reach the lease', { backend: this.backend.kind, err: (err as Error).message }));
        // Still the leader until our lease would have run out.
        next = before.leader && this.opts.timers.now() - this.#renewedAt < this.opts.ttlMs ? before : { leader: false, holder: before.leader ? undefined : before.holder };
      }
      if (this.#stopped) return;
      this.#view = next;
      if (next.leader !== before.leader || next.holder !== before.holder) {
        const text = next.leader ? `this controller leads now (previous holder: ${before.holder ?? 'none'})` : `${next.holder ?? 'nobody known'} leads (previous holder: ${before.holder ?? 'none'})`;
        logMessage(this.opts.logger, ioMessage('controller.leadership', 'info', text, { leader: next.leader, previousHolder: before.holder ?? null, holder: next.holder ?? null, self: this.opts.identity }));
      }
      if (next.leader !== before.leader) this.opts.onChange(next);
    })();
    this.#ticking = run;
    await run;
    this.#ticking = undefined;
    if (!this.#stopped) this.#cancel = this.opts.timers.schedule(Math.max(1, Math.floor(this.opts.ttlMs / RENEWALS_PER_LEASE)), () => void this.#tick());
  }

  /** Stops trying and releases the lease. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#cancel?.();
    await this.#ticking;
    await this.backend.release();
    this.#view = { leader: false, holder: undefined };
  }
}
