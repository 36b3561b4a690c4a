import type { Address } from '../model/address.ts';
import { SmsReconcileError } from '../model/errors.ts';
import type { JobSpec } from '../model/job.ts';
import { withoutUndefined } from '../model/objects.ts';
import type { CreateJobInput, UpdateJobInput } from '../sms/api.ts';
import { isSmsApiError, SmsApiError } from '../sms/errors.ts';
import type { IntentInput, IntentOperation, ResourceRecord, ResourceWrite } from '../state/codec.ts';
import type { Change } from './change.ts';
import { liveSpec } from './diff.ts';
import type { ObservedSet } from './observed.ts';
import type { Plan } from './plan.ts';
import type { ApplyPorts } from './ports.ts';
import { waitForCatalog, waitForDeleted, type WaitOptions } from './wait.ts';

/**
 * The executor. It runs a plan in phases - catalog import, disassociations, deletes (and the
 * delete halves of replaces, waited to DELETED), then creates, updates, adoptions, moves and
 * on-demand runs - with at most `parallelism` operations at once and at most one per server.
 *
 * Crash safety: before each API mutation an intent is journaled (durable), after it the result
 * with the resource writes. A run killed at any instant leaves at most the in-flight intents
 * pending; `recover` resolves them on the next run by observing the live jobs (serverId is the
 * natural key): a create that happened is adopted, one that did not is planned again. So there
 * are never orphaned or duplicate jobs.
 *
 * Errors: the first failure stops new work; running operations finish and are recorded. A
 * definite refusal (HTTP 4xx) is recorded as failed; an outcome that is unknown (network error,
 * 5xx after retries) leaves the intent pending for recovery.
 */

export interface ApplyOptions extends WaitOptions {
  readonly parallelism: number;
  /** Makes a fresh plan after a catalog import, for the jobs that waited for it. */
  readonly replan?: () => Promise<Plan>;
  /** Set to true (by a signal handler) to start no new operation. */
  readonly stop: { requested: boolean };
}

export interface OperationRecord {
  readonly address: Address;
  readonly action: Change['action'];
  readonly operation: string;
  readonly replicationJobId?: string;
  readonly ms: number;
  readonly error?: string;
}

export interface ApplyResult {
  readonly completed: readonly OperationRecord[];
  readonly failed: readonly OperationRecord[];
  /** Changes not started because of a failure or a stop. */
  readonly notStarted: readonly Change[];
  readonly stopped: boolean;
  /** Jobs this apply created (for --wait). */
  readonly created: readonly { address: Address; replicationJobId: string }[];
  readonly durationMs: number;
}

const nowIso = (ports: ApplyPorts): string => new Date(ports.clock.now()).toISOString();

/** Resolves intents a previous run left pending, by observing the live world. Returns how many. */
export async function recover(ports: ApplyPorts, observed: ObservedSet): Promise<number> {
  const pending = await ports.store.pendingIntents();
  if (pending.length === 0) return 0;
  ports.events.emit({ type: 'phase', phase: 'recovery', count: pending.length });
  const doc = await ports.store.read();
  const resources = doc?.resources ?? {};
  const trackedJobIds = new Set(Object.values(resources).map((r) => r.replicationJobId));
  for (const intent of pending) {
    let happened = false;
    let note = '';
    const writes: ResourceWrite[] = [];
    const prior = resources[intent.address];
    switch (intent.operation) {
      case 'CreateReplicationJob': {
        const live = intent.serverId === undefined ? undefined : observed.jobByServer.get(intent.serverId);
        if (live && live.state !== 'DELETING' && live.state !== 'DELETED' && !trackedJobIds.has(live.replicationJobId)) {
          happened = true;
          note = `job ${live.replicationJobId} exists for server ${intent.serverId ?? ''}: recorded`;
          writes.push({ address: intent.address, record: record(ports, intent.address, prior, { replicationJobId: live.replicationJobId, serverId: live.serverId, appliedSpec: intent.spec ?? liveSpec(live), onDemandRunToken: intent.onDemandRunToken }) });
        } else {
          note = `no job was created for server ${intent.serverId ?? ''}: the next plan creates it`;
        }
        break;
      }
      case 'DeleteReplicationJob': {
        const live = intent.replicationJobId === undefined ? undefined : observed.jobs.get(intent.replicationJobId);
        happened = live === undefined || live.state === 'DELETING';
        note = happened ? `job ${intent.replicationJobId ?? ''} is deleted` : `job ${intent.replicationJobId ?? ''} still exists: the next plan deletes it`;
        if (happened && prior?.replicationJobId === intent.replicationJobId) writes.push({ address: intent.address, record: null });
        break;
      }
      case 'UpdateReplicationJob': {
        const live = intent.replicationJobId === undefined ? undefined : observed.jobs.get(intent.replicationJobId);
        const spec = intent.spec ?? {};
        happened = live !== undefined && Object.entries(spec).every(([k, v]) => k === 'nextReplicationRunStartTime' || liveSpec(live)[k as keyof JobSpec] === v);
        note = happened ? `job ${intent.replicationJobId ?? ''} has the new values` : `job ${intent.replicationJobId ?? ''} does not have the new values: the next plan updates it`;
        if (happened && prior) writes.push({ address: intent.address, record: { ...prior, appliedSpec: { ...prior.appliedSpec, ...spec }, updatedAt: nowIso(ports) } });
        break;
      }
      case 'StartOnDemandReplicationRun': {
        const token = intent.onDemandRunToken;
        if (intent.replicationJobId !== undefined && token !== undefined) {
          const { runs } = await ports.api.getReplicationRuns(intent.replicationJobId).catch(() => ({ runs: [] }));
          happened = runs.some((r) => r.type === 'ON_DEMAND' && (r.description ?? '').includes(runMarker(token)));
        }
        note = happened ? `the on-demand run for token ${token ?? ''} started` : `no on-demand run for token ${token ?? ''}: the next plan starts it`;
        if (happened && prior) writes.push({ address: intent.address, record: { ...prior, onDemandRunToken: token, updatedAt: nowIso(ports) } });
        break;
      }
      case 'ImportServerCatalog':
        happened = observed.catalog.status === 'IMPORTING' || observed.catalog.status === 'AVAILABLE';
        note = `the catalog is ${observed.catalog.status}`;
        break;
      case 'DisassociateConnector':
        happened = !observed.connectors.some((c) => c.connectorId === intent.connectorId);
        note = happened ? `connector ${intent.connectorId ?? ''} is disassociated` : `connector ${intent.connectorId ?? ''} is still associated`;
        break;
    }
    await ports.store.appendResult(ports.lock, intent.id, { status: 'recovered', happened, note }, writes);
    ports.events.emit({ type: 'recovered', intent, happened, note });
  }
  return pending.length;
}

/** Text put in an on-demand run's description so a later run can find it after a crash. */
export function runMarker(token: string): string {
  return `[sms-reconcile token ${token}]`;
}

function record(ports: ApplyPorts, address: Address, prior: ResourceRecord | undefined, fields: Partial<ResourceRecord> & { appliedSpec: JobSpec }): ResourceRecord {
  const kind = address.startsWith('ReplicationJobSet/') ? 'ReplicationJobSet' : address.startsWith('ServerCatalog/') ? 'ServerCatalog' : address.startsWith('Connector/') ? 'Connector' : 'ReplicationJob';
  const merged: ResourceRecord = { address, kind, preventDestroy: prior?.preventDestroy ?? false, ...prior, ...fields, updatedAt: nowIso(ports) };
  return withoutUndefined(merged);
}

/**
 * The records written, each with the -f root its change came from (when the plan knows it). A job
 * of a set that waited for the catalog import has the root of its set's deferred change (`[*]`).
 */
function withRoots(writes: ResourceWrite[], rootOf: ReadonlyMap<Address, string>): ResourceWrite[] {
  if (rootOf.size === 0) return writes;
  const rootFor = (address: Address) => rootOf.get(address) ?? rootOf.get(address.replace(/^(ReplicationJobSet\/[^[]+)\[.*\]$/, '$1[*]'));
  return writes.map((w) => {
    const root = w.record === null ? undefined : rootFor(w.address);
    return root === undefined || w.record === null ? w : { address: w.address, record: { ...w.record, manifestRoot: root } };
  });
}

class Halt extends Error {}

export async function applyPlan(ports: ApplyPorts, plan: Plan, opts: ApplyOptions): Promise<ApplyResult> {
  const started = ports.clock.now();
  const completed: OperationRecord[] = [];
  const failed: OperationRecord[] = [];
  const created: { address: Address; replicationJobId: string }[] = [];
  const notStarted: Change[] = [];
  /** A replace sits in both the delete and the create phase: list it once. */
  const skipped = (changes: readonly Change[]) => {
    for (const c of changes) if (!notStarted.includes(c)) notStarted.push(c);
  };
  const doc = await ports.store.read();
  const records = new Map<Address, ResourceRecord>(Object.entries(doc?.resources ?? {}));
  let halted = false;
  const noteWrites = (writes: readonly ResourceWrite[]) => {
    for (const w of writes) {
      if (w.record) records.set(w.address, w.record);
      else records.delete(w.address);
    }
  };

  const rootOf = new Map(plan.changes.flatMap((c) => (c.manifestRoot === undefined ? [] : [[c.address, c.manifestRoot] as const])));
  const writeState = async (writes: ResourceWrite[], reason: string) => {
    const stamped = withRoots(writes, rootOf);
    await ports.store.writeResources(ports.lock, stamped, reason);
    noteWrites(stamped);
  };

  /** One API mutation, journaled: intent, call, result. */
  const mutate = async <T>(change: Change, operation: IntentOperation, intent: Omit<IntentInput, 'operation' | 'address'>, call: () => Promise<T>, writes: (out: T) => ResourceWrite[], jobIdOf?: (out: T) => string | undefined): Promise<T> => {
    const t0 = ports.clock.now();
    ports.events.emit({ type: 'start', change, operation });
    const pending = await ports.store.appendIntent(ports.lock, { address: change.address, operation, ...intent });
    let out: T;
    try {
      out = await call();
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      const definite = isSmsApiError(err) && err.httpStatus !== undefined && err.httpStatus < 500 && !err.retryable;
      if (definite) {
        await ports.store.appendResult(ports.lock, pending.id, { status: 'failed', error: { code: err.apiCode, message: err.detail } }, []);
      }
      ports.events.emit({ type: 'failed', change, operation, error: e });
      failed.push({ address: change.address, action: change.action, operation, ms: ports.clock.now() - t0, error: e.message });
      throw new Halt(e.message);
    }
    const w = withRoots(writes(out), rootOf);
    const jobId = jobIdOf?.(out);
    await ports.store.appendResult(ports.lock, pending.id, { status: 'succeeded', ...(jobId ? { replicationJobId: jobId } : {}) }, w);
    noteWrites(w);
    const ms = ports.clock.now() - t0;
    ports.events.emit({ type: 'done', change, operation, replicationJobId: jobId, ms });
    completed.push({ address: change.address, action: change.action, operation, replicationJobId: jobId, ms });
    return out;
  };

  /** Removes the record a renamed job had, if it still holds that job (another address may have reused it). */
  const retire = (change: Change): ResourceWrite[] => {
    const prev = change.previousAddress === undefined ? undefined : records.get(change.previousAddress);
    return prev !== undefined && change.previousAddress !== undefined && prev.replicationJobId === change.replicationJobId
      ? [{ address: change.previousAddress, record: null }]
      : [];
  };

  const stateOnly = (change: Change, operation: string, replicationJobId?: string) => {
    completed.push({ address: change.address, action: change.action, operation, replicationJobId, ms: 0 });
    ports.events.emit({ type: 'done', change, operation, replicationJobId, ms: 0 });
  };

  const create = async (change: Change) => {
    if (change.waitForDeletion !== undefined) await waitForDeleted(ports, opts, change.waitForDeletion);
    const spec = change.after ?? {};
    const seed = spec.seedReplicationTime ?? Math.floor(ports.clock.now() / 1000);
    const serverId = change.serverId;
    if (serverId === undefined) throw new SmsReconcileError('internal-no-server', `${change.address}: no server to create a job for`, { source: 'internal' });
    const input: CreateJobInput = { ...stripNext(spec), serverId, seedReplicationTime: seed };
    const applied: JobSpec = { ...spec, seedReplicationTime: seed };
    const id = await mutate(
      change,
      'CreateReplicationJob',
      { serverId, spec: applied, onDemandRunToken: change.onDemandRun?.token },
      () => ports.api.createReplicationJob(input),
      (jobId) => [
        // A replace of a renamed job also retires the old address (unless it holds another job by now).
        ...retire(change),
        { address: change.address, record: record(ports, change.address, records.get(change.address), { replicationJobId: jobId, serverId, appliedSpec: applied, preventDestroy: change.preventDestroy, onDemandRunToken: change.onDemandRun?.token }) },
      ],
      (jobId) => jobId,
    );
    created.push({ address: change.address, replicationJobId: id });
  };

  const update = async (change: Change, replicationJobId: string) => {
    const after = change.after ?? {};
    const input: UpdateJobInput = { replicationJobId };
    const sent: JobSpec = {};
    for (const f of change.fields) {
      if (f.field === 'serverId' || f.field === 'runOnce' || f.field === 'seedReplicationTime') continue;
      Object.assign(input, { [f.field]: f.after });
      Object.assign(sent, { [f.field]: f.after });
    }
    const appliedSpec = withSeed(after, change.before?.seedReplicationTime);
    await mutate(
      change,
      'UpdateReplicationJob',
      { serverId: change.serverId, replicationJobId, spec: sent },
      () => ports.api.updateReplicationJob(input),
      () => [{ address: change.address, record: record(ports, change.address, records.get(change.address), { replicationJobId, serverId: change.serverId, appliedSpec, preventDestroy: change.preventDestroy }) }],
    );
  };

  const remove = async (change: Change, replicationJobId: string, keepRecordUntilCreate: boolean) => {
    await mutate(
      change,
      'DeleteReplicationJob',
      { serverId: change.serverId, replicationJobId },
      async () => {
        try {
          await ports.api.deleteReplicationJob(replicationJobId);
        } catch (e) {
          // Already gone or going: the delete's goal holds.
          if (e instanceof SmsApiError && (e.apiCode === 'ReplicationJobNotFoundException' || e.apiCode === 'OperationNotPermittedException')) {
            const j = await ports.api.getReplicationJob(replicationJobId);
            if (j === undefined || j.state === 'DELETING' || j.state === 'DELETED') return;
          }
          throw e;
        }
      },
      () => (keepRecordUntilCreate ? [] : [{ address: change.address, record: null }]),
    );
  };

  const runChange = async (change: Change): Promise<void> => {
    switch (change.action) {
      case 'no-op':
        return;
      case 'record': {
        const cur = records.get(change.address);
        if (!cur) return;
        const appliedSpec = withSeed(change.after, cur.appliedSpec.seedReplicationTime);
        await writeState([{ address: change.address, record: { ...cur, appliedSpec, preventDestroy: change.preventDestroy, updatedAt: nowIso(ports) } }], `record ${change.address}`);
        stateOnly(change, 'record', cur.replicationJobId);
        return;
      }
      case 'import-catalog': {
        const status = await ports.api.getServerCatalogStatus();
        if (status.status !== 'IMPORTING') {
          await mutate(change, 'ImportServerCatalog', {}, () => ports.api.importServerCatalog(), () => []);
        }
        await waitForCatalog(ports, opts);
        return;
      }
      case 'disassociate-connector': {
        const connectorId = change.connectorId ?? '';
        await mutate(change, 'DisassociateConnector', { connectorId }, () => ports.api.disassociateConnector(connectorId), () => [
          { address: change.address, record: record(ports, change.address, records.get(change.address), { appliedSpec: {} }) },
        ]);
        return;
      }
      case 'delete':
        if (change.stateOnly || change.replicationJobId === undefined) {
          await writeState([{ address: change.address, record: null }], `${change.address}: the job is already gone`);
          stateOnly(change, 'forget');
          return;
        }
        await remove(change, change.replicationJobId, false);
        return;
      case 'replace':
        if (change.replicationJobId !== undefined) {
          await remove(change, change.replicationJobId, true);
          await waitForDeleted(ports, opts, change.replicationJobId);
        }
        return; // the create half runs in the create phase
      case 'create':
        if (change.deferredUntilCatalog) return;
        return create(change);
      case 'update':
        if (change.replicationJobId !== undefined) await update(change, change.replicationJobId);
        return;
      case 'adopt': {
        const id = change.replicationJobId ?? '';
        await writeState(
          [{ address: change.address, record: record(ports, change.address, undefined, { replicationJobId: id, serverId: change.serverId, appliedSpec: withSeed(change.after, change.before?.seedReplicationTime), preventDestroy: change.preventDestroy, onDemandRunToken: change.onDemandRun?.token }) }],
          `adopt ${id}`,
        );
        stateOnly(change, 'adopt', id);
        if (change.fields.length > 0) await update(change, id);
        return;
      }
      case 'move': {
        const id = change.replicationJobId ?? '';
        // The old record, if it still holds this job (another change may have reused its address).
        const found = change.previousAddress ? records.get(change.previousAddress) : undefined;
        const prev = found?.replicationJobId === id ? found : undefined;
        await writeState(
          [
            ...retire(change),
            {
              address: change.address,
              record: record(ports, change.address, prev ? { ...prev, address: change.address } : undefined, {
                replicationJobId: id,
                serverId: change.serverId,
                appliedSpec: withSeed(change.after, prev?.appliedSpec.seedReplicationTime ?? change.before?.seedReplicationTime),
                preventDestroy: change.preventDestroy,
                onDemandRunToken: change.onDemandRun?.token ?? prev?.onDemandRunToken,
              }),
            },
          ],
          `move ${change.previousAddress ?? ''} -> ${change.address}`,
        );
        stateOnly(change, 'move', id);
        if (change.fields.length > 0) await update(change, id);
        return;
      }
      case 'start-run': {
        const id = change.replicationJobId ?? records.get(change.address)?.replicationJobId;
        const token = change.onDemandRun?.token;
        if (id === undefined || token === undefined) return;
        const description = `${change.onDemandRun?.description ?? 'on-demand run'} ${runMarker(token)}`;
        await mutate(
          change,
          'StartOnDemandReplicationRun',
          { serverId: change.serverId, replicationJobId: id, onDemandRunToken: token },
          () => ports.api.startOnDemandReplicationRun(id, description),
          () => {
            const cur = records.get(change.address);
            const started = [...(cur?.onDemandRunsStarted ?? []), nowIso(ports)].slice(-10);
            return cur ? [{ address: change.address, record: { ...cur, onDemandRunToken: token, onDemandRunsStarted: started, updatedAt: nowIso(ports) } }] : [];
          },
        );
        return;
      }
    }
  };

  /** Runs changes with bounded concurrency, one chain per server (its changes in order). */
  const runPhase = async (phase: 'catalog' | 'disassociate' | 'delete' | 'create', changes: readonly Change[], step: (c: Change) => Promise<void>) => {
    if (changes.length === 0) return;
    ports.events.emit({ type: 'phase', phase, count: changes.length });
    const chains = new Map<string, Change[]>();
    for (const c of changes) {
      const key = c.serverId ?? c.address;
      const chain = chains.get(key) ?? [];
      chain.push(c);
      chains.set(key, chain);
    }
    const queue = [...chains.values()];
    const worker = async () => {
      for (;;) {
        const chain = queue.shift();
        if (!chain) return;
        for (let i = 0; i < chain.length; i++) {
          const c = chain[i] as Change;
          if (halted || opts.stop.requested) {
            skipped(chain.slice(i));
            break;
          }
          try {
            await step(c);
          } catch (e) {
            halted = true;
            skipped(chain.slice(i + 1));
            if (!(e instanceof Halt)) {
              const err = e instanceof Error ? e : new Error(String(e));
              failed.push({ address: c.address, action: c.action, operation: c.action, ms: 0, error: err.message });
              ports.events.emit({ type: 'failed', change: c, operation: c.action, error: err });
            }
            break;
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.parallelism, queue.length)) }, worker));
  };

  const phases = (p: Plan) => ({
    catalog: p.changes.filter((c) => c.action === 'import-catalog'),
    disassociate: p.changes.filter((c) => c.action === 'disassociate-connector'),
    delete: p.changes.filter((c) => c.action === 'delete' || c.action === 'replace'),
    create: p.changes.filter((c) => ['create', 'update', 'adopt', 'move', 'start-run', 'record', 'replace'].includes(c.action)),
  });

  let current = plan;
  let ph = phases(current);
  await runPhase('catalog', ph.catalog, runChange);
  if (!halted && !opts.stop.requested && current.changes.some((c) => c.deferredUntilCatalog) && opts.replan) {
    current = await opts.replan();
    ph = phases(current);
    ph.catalog = [];
  }
  await runPhase('disassociate', ph.disassociate, runChange);
  await runPhase('delete', ph.delete, runChange);
  await runPhase('create', ph.create, (c) => (c.action === 'replace' ? create(c) : runChange(c)));
  if (opts.stop.requested) ports.events.emit({ type: 'stopping', reason: 'interrupted: no new operation was started' });
  return { completed, failed, notStarted, stopped: opts.stop.requested, created, durationMs: ports.clock.now() - started };
}

/** The applied spec a state record keeps: the managed fields, and the seed time the job really has. */
function withSeed(spec: JobSpec | undefined, seed: number | undefined): JobSpec {
  return { ...(spec ?? {}), ...(seed !== undefined ? { seedReplicationTime: seed } : {}) };
}

function stripNext(spec: JobSpec): Omit<JobSpec, 'nextReplicationRunStartTime' | 'seedReplicationTime'> {
  const { nextReplicationRunStartTime: _n, seedReplicationTime: _s, ...rest } = spec;
  return rest;
}
