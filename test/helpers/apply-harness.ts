/**
 * The executor's test bench (test/unit/apply-*.test.ts): the real SdkSmsApi over HTTP against an
 * in-memory embedded server with a manual clock, a MemoryStateStore, a Clock whose sleep moves the
 * server's clock (so waits for DELETED or for the catalog finish without real sleeping), and an
 * event collector that measures how many operations ran at once, overall and per server.
 */
import { stringify } from 'yaml';
import { checkManifests } from '../../src/manifest/check.ts';
import type { DesiredSet } from '../../src/model/desired.ts';
import { applyPlan, recover, type ApplyOptions, type ApplyResult } from '../../src/reconcile/apply.ts';
import { membersOf } from '../../src/reconcile/change.ts';
import { diff, type DiffOptions } from '../../src/reconcile/diff.ts';
import { observe, type ObservedSet } from '../../src/reconcile/observed.ts';
import { PLAN_FORMAT_VERSION, type Plan } from '../../src/reconcile/plan.ts';
import type { ApplyEvent, ApplyPorts, Clock } from '../../src/reconcile/ports.ts';
import type { Inventory } from '../../src/server/inventory.ts';
import type { FaultSpec } from '../../src/server/faults.ts';
import type { ReplicationJobInfo } from '../../src/sms/api.ts';
import { SdkSmsApi } from '../../src/sms/client.ts';
import type { RetryPolicy } from '../../src/sms/retry.ts';
import type { TargetIdentity } from '../../src/state/codec.ts';
import { MemoryStateLocation, MemoryStateStore } from '../../src/state/memory-store.ts';
import type { StateLock } from '../../src/state/store.ts';
import { startTestServer, type TestServer } from './server.ts';
import type { ServerSettings } from '../../src/server/inventory.ts';
import { generatedInventory } from './sms-world.ts';

/** One manifest document, as an object (stringified to YAML by `manifests`). */
export type ManifestDoc = Record<string, unknown>;

/** A `kind: ReplicationJob` document selecting its server by VM name. */
export function jobDoc(name: string, vmName: string, spec: Record<string, unknown> = {}): ManifestDoc {
  return { apiVersion: 'sms-reconcile/v1', kind: 'ReplicationJob', metadata: { name }, spec: { server: { vmName }, ...spec } };
}

export function catalogDoc(extra: Record<string, unknown> = {}): ManifestDoc {
  return { apiVersion: 'sms-reconcile/v1', kind: 'ServerCatalog', metadata: { name: 'catalog' }, spec: { imported: true, ...extra } };
}

export function connectorDoc(name: string, connectorId: string): ManifestDoc {
  return { apiVersion: 'sms-reconcile/v1', kind: 'Connector', metadata: { name }, spec: { connectorId, associated: false } };
}

/** Documents as one multi-document YAML text. */
export function manifests(docs: readonly ManifestDoc[]): string {
  return docs.map((d) => stringify(d)).join('---\n');
}

/** The VM name of generated VM number n (1-based), as in sms-world.ts generatedInventory. */
export const genVm = (n: number): string => `gen-${String(n).padStart(4, '0')}`;

/** Manifests for one job per VM 1..n, named job-0001.. */
export function jobsFor(from: number, to: number, spec: Record<string, unknown> = {}): ManifestDoc[] {
  const out: ManifestDoc[] = [];
  for (let i = from; i <= to; i++) out.push(jobDoc(`job-${String(i).padStart(4, '0')}`, genVm(i), spec));
  return out;
}

export function desiredOf(docs: readonly ManifestDoc[]): DesiredSet {
  const check = checkManifests([{ file: 'test.yaml', content: manifests(docs) }]);
  if (!check.desired) throw new Error(`test manifests do not check: ${check.diagnostics.map((d) => d.summary).join('; ')}`);
  return check.desired;
}

/** Start/finish pairs of events, in order: the most operations in flight at once, overall and per server. */
export interface Concurrency {
  readonly max: number;
  readonly maxPerServer: number;
  /** Every started operation finished (done or failed). */
  readonly allFinished: boolean;
}

export function concurrencyOf(events: readonly ApplyEvent[]): Concurrency {
  const inFlight = new Map<string, string>();
  const perServer = new Map<string, number>();
  let max = 0;
  let maxPerServer = 0;
  for (const e of events) {
    if (e.type === 'start') {
      const key = `${e.change.address} ${e.operation}`;
      const server = membersOf(e.change).serverId ?? e.change.address;
      inFlight.set(key, server);
      const n = (perServer.get(server) ?? 0) + 1;
      perServer.set(server, n);
      max = Math.max(max, inFlight.size);
      maxPerServer = Math.max(maxPerServer, n);
    } else if (e.type === 'done' || e.type === 'failed') {
      const key = `${e.change.address} ${e.operation}`;
      const server = inFlight.get(key);
      if (server === undefined) continue;
      inFlight.delete(key);
      perServer.set(server, (perServer.get(server) ?? 1) - 1);
    }
  }
  return { max, maxPerServer, allFinished: inFlight.size === 0 };
}

export interface HarnessOptions {
  /** Generated VMs (gen-0001..), one vSphere manager. */
  readonly vms?: number;
  /** Overrides the generated inventory. */
  readonly inventory?: Inventory;
  readonly settings?: Partial<ServerSettings>;
  readonly faults?: FaultSpec;
  readonly retry?: RetryPolicy;
}

export interface Harness {
  readonly t: TestServer;
  readonly api: SdkSmsApi;
  readonly store: MemoryStateStore;
  readonly lock: StateLock;
  readonly clock: Clock & { advanced: number };
  readonly events: ApplyEvent[];
  readonly ports: ApplyPorts;
  readonly target: TargetIdentity;
  /** Reads the live world (one bulk read). */
  observe(): Promise<ObservedSet>;
  /** A plan of `docs` against the live world and the current state; fails on plan problems. */
  plan(docs: readonly ManifestDoc[], options?: Partial<Omit<DiffOptions, 'now'>>): Promise<Plan>;
  /** Plans `docs` and applies the plan (with a replan after a catalog import). */
  apply(docs: readonly ManifestDoc[], opts?: Partial<ApplyOptions> & { diff?: Partial<Omit<DiffOptions, 'now'>> }): Promise<{ plan: Plan; result: ApplyResult }>;
  /** Moves the server's clock (and the executor's) forward. */
  advance(seconds: number): Promise<void>;
  /** `recover` against a fresh observation. */
  recover(): Promise<number>;
  /** Live jobs that are not DELETED. */
  liveJobs(): Promise<ReplicationJobInfo[]>;
  /**
   * A fresh start on the same server: its world reset (no jobs, the catalog not imported, the
   * clock at the wall clock's time) and a new, empty state store (`store`, `lock` and `ports` are the new ones).
   */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/** Imports the catalog through the API and moves the clock past the import. */
export async function importCatalog(h: Pick<Harness, 'api' | 'advance'>): Promise<void> {
  await h.api.importServerCatalog();
  await h.advance(5);
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const inventory = opts.inventory ?? generatedInventory({ vms: opts.vms ?? 10, connectors: 2 });
  const t = await startTestServer({
    inventory,
    settings: { catalogImportSeconds: 3, deleteSeconds: 2, runSeconds: 20, maxConcurrentJobs: 1000, ...opts.settings },
    faults: opts.faults,
  });
  const api = new SdkSmsApi({ endpoint: t.server.url, region: t.server.region, credentials: t.server.credentials, retry: opts.retry });
  let store = new MemoryStateStore(new MemoryStateLocation('apply-test'));
  let lock = await store.lock({ operation: 'apply' });
  // The executor's clock is the server's manual clock: sleeping moves it.
  let nowMs = (await t.control.info()).now * 1000;
  const clock = {
    advanced: 0,
    now: () => nowMs,
    sleep: async (ms: number) => {
      clock.advanced += ms;
      nowMs = (await t.control.advanceClock(ms / 1000)) * 1000;
    },
  };
  const events: ApplyEvent[] = [];
  let ports: ApplyPorts = { api, store, lock, clock, events: { emit: (e) => events.push(e) } };
  const target: TargetIdentity = { kind: 'remote', endpoint: t.server.url, region: t.server.region };
  const observeNow = async () => {
    const [catalog, jobs, connectors] = await Promise.all([api.getServers(), api.getReplicationJobs(), api.getConnectors()]);
    return observe(catalog, jobs, connectors);
  };
  const plan = async (docs: readonly ManifestDoc[], options: Partial<Omit<DiffOptions, 'now'>> = {}): Promise<Plan> => {
    const desired = desiredOf(docs);
    const observed = await observeNow();
    const prior = await store.read();
    const result = diff(desired, observed, prior, { targets: [], replace: [], refreshOnly: false, maxConcurrentJobs: 1000, ...options, now: clock.now() / 1000 });
    if (result.problems.length > 0) throw new Error(`plan problems: ${result.problems.map((p) => `${p.code}: ${p.message}`).join('; ')}`);
    return {
      formatVersion: PLAN_FORMAT_VERSION,
      createdAt: new Date(clock.now()).toISOString(),
      target,
      targetDescription: `test server ${t.server.url}`,
      state: prior ? { lineage: prior.lineage, serial: prior.serial } : undefined,
      manifestDigest: desired.digest,
      options: { targets: options.targets ?? [], replace: options.replace ?? [], refreshOnly: false },
      changes: result.changes,
      drift: result.drift,
      warnings: result.warnings,
      apiCalls: {},
      quota: result.quota,
    };
  };
  const h: Harness = {
    t,
    api,
    get store() {
      return store;
    },
    get lock() {
      return lock;
    },
    clock,
    events,
    get ports() {
      return ports;
    },
    target,
    observe: observeNow,
    plan,
    advance: async (seconds) => {
      nowMs = (await t.control.advanceClock(seconds)) * 1000;
    },
    apply: async (docs, o = {}) => {
      if ((await store.read()) === undefined) await store.initialize(lock, target);
      const p = await plan(docs, o.diff);
      const result = await applyPlan(ports, p, {
        parallelism: 4,
        pollMs: 1000,
        timeoutMs: 600_000,
        stop: { requested: false },
        replan: () => plan(docs, o.diff),
        ...o,
      });
      return { plan: p, result };
    },
    recover: async () => recover(ports, await observeNow()),
    liveJobs: async () => (await api.getReplicationJobs()).filter((j) => j.state !== 'DELETED'),
    reset: async () => {
      await lock.release();
      await store.close();
      await t.control.reset();
      nowMs = (await t.control.info()).now * 1000;
      store = new MemoryStateStore(new MemoryStateLocation('apply-test'));
      lock = await store.lock({ operation: 'apply' });
      ports = { ...ports, store, lock };
    },
    close: async () => {
      await lock.release();
      await store.close();
      api.destroy();
      await t.close();
    },
  };
  return h;
}
