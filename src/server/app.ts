import { randomBytes, randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { withoutUndefined } from '../model/objects.ts';
import type { Credential } from './auth.ts';
import { manualClock, realClock, type LifecycleClock } from './clock.ts';
import { ApiError } from './errors.ts';
import { ACTION_SPECS, type ActionName } from './handlers/index.ts';
import type { Output, RequestContext } from './handlers/context.ts';
import type { Input } from './handlers/input.ts';
import { IdSource } from './ids.ts';
import { DEFAULT_SETTINGS, type Inventory, type InventoryVm, type ServerSettings } from './inventory.ts';
import { advance, type WorldContext } from './lifecycle.ts';
import { PageTokens } from './paginate.ts';
import { openDatabase, SmsStore, type ServerRow } from './store/db.ts';

/** Cached Get answers kept at most (the cache is emptied when it is full). */
const READ_CACHE_MAX = 2048;

export interface AppOptions {
  readonly dataDir: string;
  readonly inventory: Inventory;
  readonly clock: 'real' | 'manual';
  /** Overrides of the inventory's settings. */
  readonly settings?: Partial<ServerSettings>;
  /** Wall clock, epoch ms (injectable for tests). */
  readonly wallMs?: () => number;
}

export interface ServerInfo {
  /** Fixed when the data directory is created: the identity reconciler state binds to. */
  readonly serverId: string;
  readonly clock: 'real' | 'manual';
  readonly now: number;
  readonly settings: ServerSettings;
}

/**
 * The SMS service minus HTTP: one SQLite database, the inventory, the lifecycle clock. `handle`
 * runs one action in one transaction (advance the world to now, then the handler), so a request
 * either commits whole or changes nothing.
 */
export class SmsApp {
  readonly db: Database.Database;
  readonly store: SmsStore;
  readonly settings: ServerSettings;
  readonly clock: LifecycleClock;
  private readonly inventory: Inventory;
  private readonly vms = new Map<string, InventoryVm>();
  private readonly ids: IdSource;
  private readonly tokens: PageTokens;
  private readonly world: WorldContext;
  private readonly readCache = new Map<string, { version: string; body: Buffer }>();
  private readonly dataVersion;
  private localVersion = 0;
  private seenLocalVersion = -1;
  private seenDataVersion = -1;
  private epoch = 0;
  private nextChangeAt = Number.NEGATIVE_INFINITY;

  constructor(opts: AppOptions) {
    this.db = openDatabase(opts.dataDir);
    this.store = new SmsStore(this.db);
    this.dataVersion = this.db.prepare('PRAGMA data_version').pluck();
    this.inventory = opts.inventory;
    this.settings = { ...DEFAULT_SETTINGS, ...withoutUndefined(opts.inventory.settings), ...withoutUndefined(opts.settings ?? {}) };
    for (const m of opts.inventory.vmManagers) for (const vm of m.vms) this.vms.set(`${m.vmManagerId}\u0000${vm.vmId}`, vm);
    const wallMs = opts.wallMs ?? Date.now;
    this.ids = new IdSource(this.store, this.settings.seed);
    this.db.transaction(() => this.initialize(wallMs() / 1000))();
    this.clock = opts.clock === 'manual' ? manualClock(() => Number(this.store.getMeta('manualNow'))) : realClock(wallMs);
    this.tokens = new PageTokens(Buffer.from(this.store.getMeta('tokenSecret') ?? '', 'base64'));
    const managers = opts.inventory.vmManagers;
    this.world = {
      store: this.store,
      settings: this.settings,
      ids: this.ids,
      vmOf: (s: ServerRow) => this.vms.get(`${s.vmManagerId}\u0000${s.vmId}`),
      inventoryVms: function* () {
        for (const m of managers) for (const vm of m.vms) yield { vmManagerId: m.vmManagerId, vmManagerName: m.vmManagerName, vmManagerType: m.vmManagerType, vm };
      },
    };
  }

  /** First start of a data directory: fixed identity, token secret, catalog, clock; connectors from the inventory. */
  private initialize(now: number): void {
    const s = this.store;
    if (s.getMeta('serverId') === undefined) {
      s.setMeta('serverId', randomUUID());
      s.setMeta('tokenSecret', randomBytes(32).toString('base64'));
      s.setMeta('manualNow', String(Math.floor(now * 1000) / 1000));
      s.setCatalog({ status: 'NOT_IMPORTED', lastModifiedOn: Math.floor(now), importStartedAt: null });
    }
    const managers = new Map(this.inventory.vmManagers.map((m) => [m.vmManagerId, m]));
    for (const c of this.inventory.connectors) {
      if (s.connector(c.connectorId)) continue;
      const m = managers.get(c.vmManagerId);
      if (!m) continue;
      this.ids.reserve(c.connectorId);
      s.insertConnector({
        connectorId: c.connectorId,
        vmManagerId: c.vmManagerId,
        vmManagerName: m.vmManagerName,
        vmManagerType: m.vmManagerType,
        status: c.status,
        capabilityList: JSON.stringify(c.capabilityList),
        version: c.version ?? '1.0.13.245',
        ipAddress: c.ipAddress ?? null,
        macAddress: c.macAddress ?? null,
        associatedOn: c.associatedOn ? Math.floor(Date.parse(c.associatedOn) / 1000) : Math.floor(now),
      });
    }
  }

  /** Runs one action. Throws ApiError for every expected failure; the transaction is rolled back then. */
  handle(action: ActionName, input: Input, credential: Credential | undefined): Output {
    return this.run(action, input, credential).output;
  }

  /**
   * Runs one action and returns its JSON answer. Answers of the Get actions are cached until the
   * data changes (a write here, or a commit by another process on the same database), until the
   * world changes by itself (the next lifecycle event), and never when they show an ACTIVE run's
   * progress, which moves with every second: a cached answer is always the one a fresh read gives.
   */
  handleJson(action: ActionName, input: Input, credential: Credential | undefined, requestText?: string): Buffer {
    const spec = ACTION_SPECS[action];
    if (spec.mutating) {
      this.invalidate();
      return Buffer.from(JSON.stringify(this.run(action, input, credential).output));
    }
    this.authorize(action, credential);
    const now = this.clock.now();
    const version = this.cacheVersion(now);
    // Keyed by the request's own text (the same text parses to the same input); long ones are not cached.
    const key = requestText !== undefined && requestText.length <= 4096 ? `${action}\u0000${requestText}` : undefined;
    const hit = key === undefined ? undefined : this.readCache.get(key);
    if (hit !== undefined && hit.version === version) return hit.body;
    const { output, volatile } = this.run(action, input, credential);
    // Kept encoded: an answer served from the cache is written as it is, with no work per request.
    const body = Buffer.from(JSON.stringify(output));
    if (key !== undefined && !volatile && this.cacheVersion(this.clock.now()) === version) {
      if (this.readCache.size >= READ_CACHE_MAX) this.readCache.clear();
      this.readCache.set(key, { version, body });
    }
    return body;
  }

  private authorize(action: ActionName, credential: Credential | undefined): void {
    if ((ACTION_SPECS[action].mutating && credential?.readOnly) || credential?.deniedActions?.includes(action)) {
      throw new ApiError('UnauthorizedOperationException', `This user does not have permissions to perform ${action}.`);
    }
  }

  private run(action: ActionName, input: Input, credential: Credential | undefined): { output: Output; volatile: boolean } {
    this.authorize(action, credential);
    const spec = ACTION_SPECS[action];
    const volatile = { value: false };
    const output = this.db.transaction(() => {
      const now = this.clock.now();
      advance(this.world, now);
      const ctx: RequestContext = { ...this.world, now, credential, tokens: this.tokens, volatile };
      return spec.handler(ctx, input);
    })();
    return { output, volatile: volatile.value };
  }

  /** Drops every cached answer (a write, a clock move, a reset). */
  private invalidate(): void {
    this.localVersion += 1;
    this.readCache.clear();
  }

  /**
   * Identifies the state of the world the cached answers belong to: local writes, commits by other
   * connections (SQLite's data_version), and lifecycle events that fell due (time).
   */
  private cacheVersion(now: number): string {
    const dataVersion = this.dataVersion.get() as number;
    if (dataVersion !== this.seenDataVersion || this.localVersion !== this.seenLocalVersion || now >= this.nextChangeAt) {
      if (dataVersion !== this.seenDataVersion) this.readCache.clear();
      this.seenDataVersion = dataVersion;
      this.seenLocalVersion = this.localVersion;
      this.epoch += 1;
      this.nextChangeAt = this.computeNextChange(now);
    }
    return `${this.epoch}`;
  }

  /** The next time the world changes by itself: a lifecycle event, or an import finishing. */
  private computeNextChange(now: number): number {
    const times = [this.store.nextJobEvent()];
    const cat = this.store.catalog();
    if (cat.status === 'IMPORTING' && cat.importStartedAt !== null) times.push(cat.importStartedAt + this.settings.catalogImportSeconds);
    const next = Math.min(...times.filter((t): t is number => t !== undefined));
    // Something due now or in the past is applied by the next run(); cache nothing until then.
    return Number.isFinite(next) ? (next <= now ? now : next) : Number.POSITIVE_INFINITY;
  }

  info(): ServerInfo {
    return { serverId: this.store.getMeta('serverId') ?? '', clock: this.clock.mode, now: this.clock.now(), settings: this.settings };
  }

  /** Manual clock only: moves lifecycle time forward, applying what falls due. */
  advanceClock(seconds: number): number {
    if (this.clock.mode !== 'manual') throw new ApiError('InvalidParameterException', 'The clock is real; start the server with --clock manual.');
    if (!Number.isFinite(seconds) || seconds < 0) throw new ApiError('InvalidParameterException', 'seconds must be a non-negative number.');
    this.invalidate();
    return this.db.transaction(() => {
      const now = Math.round((this.clock.now() + seconds) * 1000) / 1000;
      this.store.setMeta('manualNow', String(now));
      advance(this.world, now);
      return now;
    })();
  }

  setConnectorStatus(connectorId: string, status: 'HEALTHY' | 'UNHEALTHY'): void {
    this.invalidate();
    this.db.transaction(() => {
      advance(this.world, this.clock.now());
      if (!this.store.setConnectorStatus(connectorId, status)) throw new ApiError('InvalidParameterException', `No connector ${connectorId}.`);
    })();
  }

  /** Forgets every job, run, AMI, server and disassociation; the data directory's identity stays. */
  reset(): void {
    this.invalidate();
    this.db.transaction(() => {
      const keep = { serverId: this.store.getMeta('serverId'), tokenSecret: this.store.getMeta('tokenSecret'), rng: this.store.getMeta('rng') };
      for (const t of ['meta', 'connectors', 'servers', 'jobs', 'runs', 'amis']) this.db.exec(`DELETE FROM ${t}`);
      for (const [k, v] of Object.entries(keep)) if (v !== undefined) this.store.setMeta(k, v);
      this.store.setMeta('manualNow', String(Date.now() / 1000));
      const now = Date.now() / 1000;
      this.store.setCatalog({ status: 'NOT_IMPORTED', lastModifiedOn: Math.floor(now), importStartedAt: null });
      this.initialize(now);
    })();
  }

  close(): void {
    this.db.close();
  }
}
