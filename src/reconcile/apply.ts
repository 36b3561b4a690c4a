import type { Address } from '../model/address.ts';
import { SmsReconcileError } from '../model/errors.ts';
import type { JobSpec } from '../model/job.ts';
import { withoutUndefined } from '../model/objects.ts';
import { serviceNowMs, type CreateJobInput, type UpdateJobInput } from '../sms/api.ts';
import { isDefiniteRefusal, isSmsApiError, SmsApiError } from '../sms/errors.ts';
import type { IntentInput, IntentOperation, ResourceRecord, ResourceWrite } from '../state/codec.ts';
import { APPLY_PHASES, type ApplyStage } from './action.ts';
import {
  isDeferred, membersOf, unhandledChange, type AdoptChange, type Change, type DeleteChange, type DisassociateConnectorChange, type ImportCatalogChange, type MoveChange,
  type RecordChange, type ReplaceChange, type ResolvedCreateChange, type RetireChange, type StartRunChange, type UpdateChange,
} from './change.ts';
import { migratedRecord, retireRefusal } from './cutover.ts';
import { liveSpec } from './live-spec.ts';
import { freeSlots } from './quota.ts';
import type { ObservedSet } from './observed.ts';
import { chainsOf, Dependencies, stepsByPhase, type Step } from './order.ts';
import type { Plan } from './plan.ts';
import type { ApplyPorts, OperationFailure, SkippedChange } from './ports.ts';
import { startOfCreated } from './replication-age.ts';
import { waitForCatalog, waitForDeleted, type WaitOptions } from './wait.ts';

/**
 * The executor. It runs a plan in the phases of APPLY_PHASES, each change as the steps its action
 * lists in ACTION_INFO (catalog import waited to AVAILABLE; disassociations; deletes and the delete
 * halves of replaces, waited to DELETED; then creates, updates, adoptions, moves and on-demand
 * runs), with at most `parallelism` operations at once and at most one per server (order.ts).
 *
 * Crash safety: before each API mutation an intent is journaled (durable), after it the result
 * with the resource writes. A run killed at any instant leaves at most the in-flight intents
 * pending; `recover` resolves them on the next run by observing the live jobs (serverId is the
 * natural key): a create that happened is adopted, one that did not is planned again. So there
 * are never orphaned or duplicate jobs.
 *
 * Errors: a failure stops only the steps that depend on it (order.ts: the later steps on its
 * server); every other operation still runs. With `failFast`, the first failure stops new work
 * instead. Running operations always finish and are recorded. A definite refusal (a terminal
 * error) is journaled as failed and not retried in this run; an unknown outcome (network error,
 * 5xx after the retries) leaves the intent pending for recovery.
 */

export interface ApplyOptions extends WaitOptions {
  readonly parallelism: number;
  /** Makes a fresh plan after a catalog import, for the jobs that waited for it. */
  readonly replan?: () => Promise<Plan>;
  /** Set to true (by a signal handler) to start no new operation. */
  readonly stop: { requested: boolean };
  /** Start no new operation after the first failure (default: keep going with what does not depend on it). */
  readonly failFast?: boolean;
}

export interface OperationRecord {
  readonly address: Address;
  readonly action: Change['action'];
  readonly operation: string;
  readonly replicationJobId?: string;
  readonly ms: number;
  readonly error?: string;
}

/** A failed operation: the record, and the failure as the report gives it. */
export interface FailedOperation extends OperationRecord, OperationFailure {
  readonly error: string;
}

export interface ApplyResult {
  readonly completed: readonly OperationRecord[];
  readonly failed: readonly FailedOperation[];
  /** Changes not carried out because an operation they depend on failed, each once. */
  readonly skipped: readonly SkippedChange[];
  /** Changes not started because of a stop (or --fail-fast after a failure), each once. */
  readonly notStarted: readonly Change[];
  readonly stopped: boolean;
  /** Jobs this apply created (for --wait). */
  readonly created: readonly { address: Address; replicationJobId: string }[];
  /** Creates not made because no slot was left (a retire that did not free one, or the account refused a create: the later refusals wait here too): a later apply makes them. */
  readonly waitingForQuota: readonly Change[];
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
        if (happened && prior !== undefined && prior.replicationJobId === intent.replicationJobId) writes.push({ address: intent.address, record: retiredOrNone(ports, intent, prior) });
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

/** After a delete that happened: nothing, or for a retire (it names the final AMI) the migrated server's record. */
function retiredOrNone(ports: ApplyPorts, intent: IntentInput, prior: ResourceRecord): ResourceRecord | null {
  if (intent.finalAmiId === undefined || intent.replicationJobId === undefined || prior.serverId === undefined || prior.kind === 'ServerCatalog' || prior.kind === 'Connector') return null;
  const retired = { serverId: prior.serverId, replicationJobId: intent.replicationJobId, amiId: intent.finalAmiId, preventDestroy: prior.preventDestroy, at: nowIso(ports) };
  return migratedRecord(intent.address, prior.kind, prior, retired);
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

/** One apply in progress: the options, the state records as it left them, and what it has done. */
interface Run {
  readonly ports: ApplyPorts;
  readonly opts: ApplyOptions;
  readonly records: Map<Address, ResourceRecord>;
  readonly dependencies: Dependencies;
  readonly completed: OperationRecord[];
  readonly failed: FailedOperation[];
  /** The changes of `failed`: a later step of one of them is part of its failure, not a skip. */
  readonly failedChanges: Set<Change>;
  readonly skipped: SkippedChange[];
  readonly notStarted: Change[];
  readonly created: { address: Address; replicationJobId: string }[];
  /** The concurrent-job slots this apply may still take (undefined: the plan does not say, as an older saved plan). */
  slots: Slots | undefined;
  readonly waitingForQuota: Change[];
  /** The -f root of each change that has one (see withRoots). */
  readonly rootOf: ReadonlyMap<Address, string>;
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

/**
 * The account's slots as apply spends them (reconcile/quota.ts): the plan's free ones, plus one per
 * retire that reached DELETED; each create takes one before its call, so apply never makes a create
 * the quota would refuse. `refused`: the account refused one anyway (its real limit is lower).
 */
interface Slots {
  readonly limit: number;
  free: number;
  refused: boolean;
}

function slotsOf(plan: Plan): Slots | undefined {
  return plan.quota === undefined ? undefined : { limit: plan.quota.limit, free: freeSlots(plan.quota), refused: false };
}

/** An operation of a step failed; `outcome` says what the journal knows of it. */
class OperationFailed extends Error {
  constructor(
    readonly operation: string,
    readonly error: Error,
    readonly outcome: OperationFailure['outcome'],
  ) {
    super(error.message);
  }
}

export async function applyPlan(ports: ApplyPorts, plan: Plan, opts: ApplyOptions): Promise<ApplyResult> {
  const started = ports.clock.now();
  const doc = await ports.store.read();
  const run: Run = {
    ports,
    opts,
    records: new Map<Address, ResourceRecord>(Object.entries(doc?.resources ?? {})),
    dependencies: new Dependencies(),
    completed: [],
    failed: [],
    failedChanges: new Set(),
    skipped: [],
    notStarted: [],
    created: [],
    slots: slotsOf(plan),
    waitingForQuota: [],
    rootOf: new Map(plan.changes.flatMap((c) => (c.manifestRoot === undefined ? [] : [[c.address, c.manifestRoot] as const]))),
  };
  let steps = stepsByPhase(plan.changes);
  for (const phase of APPLY_PHASES) {
    await runPhase(run, phase, steps[phase]);
    if (phase === 'catalog') steps = await replanAfterCatalog(run, steps);
  }
  if (opts.stop.requested) ports.events.emit({ type: 'stopping', reason: 'interrupted: no new operation was started' });
  const { completed, failed, skipped, notStarted, created, waitingForQuota } = run;
  return { completed, failed, skipped, notStarted, stopped: opts.stop.requested, created, waitingForQuota, durationMs: ports.clock.now() - started };
}

/**
 * The jobs that waited for the catalog import get their servers from a fresh plan, made once the
 * import is done; the later phases run that plan. Without the import (failed, or stopped) they
 * stay as they were, and the dependency rule skips them.
 */
async function replanAfterCatalog(run: Run, steps: Record<ApplyStage, Step[]>): Promise<Record<ApplyStage, Step[]>> {
  const deferred = steps.create.filter((s) => isDeferred(s.change));
  if (deferred.length === 0 || run.opts.replan === undefined || run.opts.stop.requested || stopsForFailure(run)) return steps;
  if (deferred.some((s) => run.dependencies.blockerOf(s) !== undefined)) return steps;
  // The import is done: the fresh plan does not import again (and its slots are counted afresh).
  const next = await run.opts.replan();
  run.slots = slotsOf(next);
  return { ...stepsByPhase(next.changes), catalog: [] };
}

/** --fail-fast: after the first failure, nothing new starts. */
function stopsForFailure(run: Run): boolean {
  return run.opts.failFast === true && run.failed.length > 0;
}

/** Runs one phase's steps with at most `parallelism` at once, one chain of steps per key. */
async function runPhase(run: Run, phase: ApplyStage, steps: readonly Step[]): Promise<void> {
  if (steps.length === 0) return;
  run.ports.events.emit({ type: 'phase', phase, count: steps.length });
  const queue = chainsOf(steps);
  const worker = async (): Promise<void> => {
    for (let chain = queue.shift(); chain !== undefined; chain = queue.shift()) await runChain(run, chain);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(run.opts.parallelism, queue.length)) }, worker));
}

/** Runs a chain's steps in order: each unless the run stops, or a failure it depends on happened. */
async function runChain(run: Run, chain: readonly Step[]): Promise<void> {
  for (const step of chain) {
    if (run.opts.stop.requested || stopsForFailure(run)) {
      listOnce(run.notStarted, step.change);
      continue;
    }
    const blocker = run.dependencies.blockerOf(step);
    if (blocker !== undefined) {
      if (!run.failedChanges.has(step.change) && !run.skipped.some((s) => s.change === step.change)) {
        run.skipped.push({ change: step.change, because: blocker });
        run.ports.events.emit({ type: 'skipped', change: step.change, because: blocker });
      }
      continue;
    }
    try {
      await runStep(run, step);
    } catch (e) {
      noteFailure(run, step, e);
    }
  }
}

function listOnce(list: Change[], change: Change): void {
  if (!list.includes(change)) list.push(change);
}

/** Records a failed step: in the result, as an event, and as a failure later steps depend on. */
function noteFailure(run: Run, step: Step, e: unknown): void {
  const f = e instanceof OperationFailed ? e : new OperationFailed(step.change.action, e instanceof Error ? e : new Error(String(e)), 'incomplete');
  const err = f.error;
  const { change } = step;
  const failure: FailedOperation = withoutUndefined({
    address: change.address,
    action: change.action,
    operation: f.operation,
    vmName: membersOf(change).serverName,
    serverId: membersOf(change).serverId,
    code: isSmsApiError(err) ? err.apiCode : err instanceof SmsReconcileError ? err.code : 'internal',
    message: isSmsApiError(err) ? err.detail : err.message,
    outcome: f.outcome,
    onRerun: f.outcome === 'unknown' ? 'recover-then-retry' : 'retry',
    ms: 0,
    error: err.message,
  });
  run.failed.push(failure);
  run.failedChanges.add(change);
  run.dependencies.failed(step, f.operation);
  run.ports.events.emit({ type: 'failed', change, operation: f.operation, error: err, failure });
}

/** One step: its operation, then what its action waits for. */
async function runStep(run: Run, step: Step): Promise<void> {
  await performStep(run, step);
  try {
    if (step.waitsFor === 'catalog-available') await waitForCatalog(run.ports, run.opts);
    const deleted = step.change.action === 'replace' || step.change.action === 'retire' ? step.change.replicationJobId : undefined;
    if (step.waitsFor === 'job-deleted' && deleted !== undefined) {
      await waitForDeleted(run.ports, run.opts, deleted);
      // A retired job's slot is free once it is DELETED: a create waiting for quota may take it.
      if (step.change.action === 'retire' && run.slots !== undefined) run.slots.free += 1;
    }
  } catch (e) {
    throw new OperationFailed(step.waitsFor === 'catalog-available' ? 'wait for the catalog' : 'wait for DELETED', e instanceof Error ? e : new Error(String(e)), 'incomplete');
  }
}

/** The operation of one step of a change's action. */
async function performStep(run: Run, step: Step): Promise<void> {
  const { change } = step;
  switch (change.action) {
    case 'no-op':
      return;
    case 'record':
      return recordInState(run, change);
    case 'import-catalog':
      return importCatalog(run, change);
    case 'disassociate-connector':
      return disassociateConnector(run, change);
    case 'delete':
      return deleteOrForget(run, change);
    case 'retire':
      return retireJob(run, change);
    case 'replace':
      return step.index > 0 ? createJob(run, change) : deleteJob(run, change, change.replicationJobId, true);
    case 'create':
      // A create that waited for the catalog import is carried out by the plan made after it.
      return change.deferredUntilCatalog === true ? undefined : createJob(run, change);
    case 'update':
      return updateJob(run, change, change.replicationJobId);
    case 'adopt':
      return adoptJob(run, change);
    case 'move':
      return moveJob(run, change);
    case 'start-run':
      return startRun(run, change);
    default:
      return unhandledChange(change);
  }
}

function noteWrites(run: Run, writes: readonly ResourceWrite[]): void {
  for (const w of writes) {
    if (w.record) run.records.set(w.address, w.record);
    else run.records.delete(w.address);
  }
}

async function writeState(run: Run, writes: ResourceWrite[], reason: string): Promise<void> {
  const stamped = withRoots(writes, run.rootOf);
  await run.ports.store.writeResources(run.ports.lock, stamped, reason);
  noteWrites(run, stamped);
}

/**
 * One API mutation, journaled: intent, call, result. A definite refusal is journaled as failed; an
 * unknown outcome leaves the intent pending for the next run's recovery.
 */
async function mutate<T>(
  run: Run,
  change: Change,
  operation: IntentOperation,
  intent: Omit<IntentInput, 'operation' | 'address'>,
  call: () => Promise<T>,
  writes: (out: T) => ResourceWrite[],
  jobIdOf?: (out: T) => string | undefined,
): Promise<T> {
  const { ports } = run;
  const t0 = ports.clock.now();
  ports.events.emit({ type: 'start', change, operation });
  const pending = await ports.store.appendIntent(ports.lock, { address: change.address, operation, ...intent });
  let out: T;
  try {
    out = await call();
  } catch (err) {
    const definite = isDefiniteRefusal(err);
    if (definite) await ports.store.appendResult(ports.lock, pending.id, { status: 'failed', error: { code: err.apiCode, message: err.detail } }, []);
    throw new OperationFailed(operation, err instanceof Error ? err : new Error(String(err)), definite ? 'refused' : 'unknown');
  }
  const w = withRoots(writes(out), run.rootOf);
  const jobId = jobIdOf?.(out);
  await ports.store.appendResult(ports.lock, pending.id, { status: 'succeeded', ...(jobId ? { replicationJobId: jobId } : {}) }, w);
  noteWrites(run, w);
  const ms = ports.clock.now() - t0;
  ports.events.emit({ type: 'done', change, operation, replicationJobId: jobId, ms });
  run.completed.push({ address: change.address, action: change.action, operation, replicationJobId: jobId, ms });
  return out;
}

/** Removes the record a renamed job had, if it still holds that job (another address may have reused it). */
function retire(run: Run, change: ResolvedCreateChange | ReplaceChange | MoveChange): ResourceWrite[] {
  if (change.action === 'create' || change.previousAddress === undefined) return [];
  const prev = run.records.get(change.previousAddress);
  return prev !== undefined && prev.replicationJobId === change.replicationJobId ? [{ address: change.previousAddress, record: null }] : [];
}

/** A change that touched only the state, reported like an operation. */
function stateOnly(run: Run, change: Change, operation: string, replicationJobId?: string): void {
  run.completed.push({ address: change.address, action: change.action, operation, replicationJobId, ms: 0 });
  run.ports.events.emit({ type: 'done', change, operation, replicationJobId, ms: 0 });
}

/** Takes a slot for a create (a replace frees its own), or says it waits for quota (false): no call is made then. */
function takeSlot(run: Run, change: ResolvedCreateChange | ReplaceChange): boolean {
  const slots = run.slots;
  if (change.action !== 'create' || slots === undefined) return true;
  if (slots.refused || slots.free <= 0) {
    listOnce(run.waitingForQuota, change);
    return false;
  }
  slots.free -= 1;
  return true;
}

/**
 * A create the account refused for its concurrent-job limit: the other creates wait (those not
 * started are not attempted), and the first such refusal is said once, with what to do. Returns
 * 'first' for that one, 'again' for a refusal of a create that was already in flight (with
 * --parallelism above 1): that create waits with the others instead of being reported again.
 */
function noteQuotaRefusal(run: Run, err: unknown): 'first' | 'again' | undefined {
  const slots = run.slots;
  if (!isSmsApiError(err) || err.apiCode !== 'OperationNotPermittedException' || !/concurrent/i.test(err.detail) || slots === undefined) return undefined;
  if (slots.refused) return 'again';
  slots.refused = true;
  run.ports.events.emit({
    type: 'stopping',
    reason: `The account refused a create for its concurrent-job limit (OperationNotPermittedException: ${err.detail}): its real limit is lower than --max-concurrent-jobs ${slots.limit}. The other creates wait; lower --max-concurrent-jobs to the account's limit (or ask AWS Support to raise it), then apply again.`,
  });
  return 'first';
}

async function createJob(run: Run, change: ResolvedCreateChange | ReplaceChange): Promise<void> {
  const { ports } = run;
  if (!takeSlot(run, change)) return;
  if (change.waitForDeletion !== undefined) await waitForDeleted(ports, run.opts, change.waitForDeletion);
  const spec = change.after;
  const seed = spec.seedReplicationTime ?? Math.floor(ports.clock.now() / 1000);
  const serverId = change.serverId;
  const input: CreateJobInput = { ...stripNext(spec), serverId, seedReplicationTime: seed };
  const applied: JobSpec = { ...spec, seedReplicationTime: seed };
  const replicationStartedAt = startOfCreated(seed, serviceNowMs(ports.api, ports.clock.now()) / 1000);
  let refusal: 'first' | 'again' | undefined;
  const created = mutate(
    run,
    change,
    'CreateReplicationJob',
    { serverId, spec: applied, onDemandRunToken: change.onDemandRun?.token },
    () =>
      ports.api.createReplicationJob(input).catch((err: unknown) => {
        refusal = noteQuotaRefusal(run, err);
        throw err;
      }),
    (jobId) => [
      // A replace of a renamed job also retires the old address (unless it holds another job by now).
      ...retire(run, change),
      {
        address: change.address,
        record: record(ports, change.address, run.records.get(change.address), {
          replicationJobId: jobId, serverId, appliedSpec: applied, preventDestroy: change.preventDestroy, onDemandRunToken: change.onDemandRun?.token, replicationStartedAt, migrated: undefined,
        }),
      },
    ],
    (jobId) => jobId,
  ).catch((err: unknown) => {
    if (refusal !== 'again') throw err;
    // Refused too while the first refusal was in flight: it waits with the others, reported once.
    listOnce(run.waitingForQuota, change);
    ports.events.emit({ type: 'waiting', what: `a slot: ${change.address} was refused for the account's limit too, and waits for quota with the others` });
    return undefined;
  });
  const id = await created;
  if (id === undefined) return;
  run.created.push({ address: change.address, replicationJobId: id });
}

async function updateJob(run: Run, change: UpdateChange | AdoptChange | MoveChange, replicationJobId: string): Promise<void> {
  const after = change.after;
  const input: UpdateJobInput = { replicationJobId };
  const sent: JobSpec = {};
  for (const f of change.fields) {
    if (f.field === 'serverId' || f.field === 'runOnce' || f.field === 'seedReplicationTime') continue;
    Object.assign(input, { [f.field]: f.after });
    Object.assign(sent, { [f.field]: f.after });
  }
  const appliedSpec = withSeed(after, change.before?.seedReplicationTime);
  await mutate(
    run,
    change,
    'UpdateReplicationJob',
    { serverId: change.serverId, replicationJobId, spec: sent },
    () => run.ports.api.updateReplicationJob(input),
    () => [{ address: change.address, record: record(run.ports, change.address, run.records.get(change.address), { replicationJobId, serverId: change.serverId, appliedSpec, preventDestroy: change.preventDestroy }) }],
  );
}

/** DeleteReplicationJob; a replace keeps the record until its create half writes the new job. */
async function deleteJob(run: Run, change: DeleteChange | ReplaceChange, replicationJobId: string, keepRecordUntilCreate: boolean): Promise<void> {
  const { api } = run.ports;
  await mutate(
    run,
    change,
    'DeleteReplicationJob',
    { serverId: change.serverId, replicationJobId },
    async () => {
      try {
        await api.deleteReplicationJob(replicationJobId);
      } catch (e) {
        // Already gone or going: the delete's goal holds.
        if (e instanceof SmsApiError && (e.apiCode === 'ReplicationJobNotFoundException' || e.apiCode === 'OperationNotPermittedException')) {
          const j = await api.getReplicationJob(replicationJobId);
          if (j === undefined || j.state === 'DELETING' || j.state === 'DELETED') return;
        }
        throw e;
      }
    },
    () => (keepRecordUntilCreate ? [] : [{ address: change.address, record: null }]),
  );
}

/**
 * Retires a migrated server's job: checks it again as it is now (its latest run COMPLETED with an
 * AMI, none in progress), deletes it, and records the server as migrated with that AMI. The step
 * then waits for DELETED (ACTION_INFO), when its slot is free. A blocked retire is refused:
 * nothing is deleted.
 */
async function retireJob(run: Run, change: RetireChange): Promise<void> {
  const { api } = run.ports;
  const name = change.serverName ?? change.serverId;
  const id = change.replicationJobId;
  const job = change.blocked !== undefined || id === undefined ? undefined : await api.getReplicationJob(id);
  const refusal = change.blocked ?? retireRefusal(job, name);
  if (refusal !== undefined || id === undefined) {
    const err = new SmsReconcileError('retire-blocked', `${change.address}: ${refusal ?? 'no job'}; nothing was deleted`, {
      source: 'user',
      hint: 'apply again once a replication run has completed, or remove cutover: true',
    });
    throw new OperationFailed('retire', err, 'refused');
  }
  const amiId = job?.latestAmiId ?? change.amiId ?? '?';
  const at = nowIso(run.ports);
  await mutate(
    run,
    change,
    'DeleteReplicationJob',
    { serverId: change.serverId, replicationJobId: id, finalAmiId: amiId },
    () => api.deleteReplicationJob(id),
    () => [
      ...retireRecordOf(run, change, id),
      { address: change.address, record: migratedRecord(change.address, change.kind, run.records.get(change.address), { serverId: change.serverId, replicationJobId: id, amiId, preventDestroy: change.preventDestroy, at }) },
    ],
  );
}

/** A retire of a job another address recorded (renamed in the same change): that record goes. */
function retireRecordOf(run: Run, change: RetireChange, id: string): ResourceWrite[] {
  const other = [...run.records.values()].find((r) => r.replicationJobId === id && r.address !== change.address);
  return other === undefined ? [] : [{ address: other.address, record: null }];
}

async function deleteOrForget(run: Run, change: DeleteChange): Promise<void> {
  if (change.stateOnly === true) {
    await writeState(run, [{ address: change.address, record: null }], `${change.address}: the job is already gone`);
    stateOnly(run, change, 'forget');
    return;
  }
  await deleteJob(run, change, change.replicationJobId, false);
}

async function recordInState(run: Run, change: RecordChange): Promise<void> {
  const cur = run.records.get(change.address);
  if (!cur) return;
  const appliedSpec = withSeed(change.after, cur.appliedSpec.seedReplicationTime);
  await writeState(run, [{ address: change.address, record: { ...cur, appliedSpec, preventDestroy: change.preventDestroy, updatedAt: nowIso(run.ports) } }], `record ${change.address}`);
  stateOnly(run, change, 'record', cur.replicationJobId);
}

/** Starts the import unless one is running; the step then waits for AVAILABLE. */
async function importCatalog(run: Run, change: ImportCatalogChange): Promise<void> {
  const { api } = run.ports;
  const status = await api.getServerCatalogStatus();
  if (status.status !== 'IMPORTING') await mutate(run, change, 'ImportServerCatalog', {}, () => api.importServerCatalog(), () => []);
}

async function disassociateConnector(run: Run, change: DisassociateConnectorChange): Promise<void> {
  const connectorId = change.connectorId;
  await mutate(run, change, 'DisassociateConnector', { connectorId }, () => run.ports.api.disassociateConnector(connectorId), () => [
    { address: change.address, record: record(run.ports, change.address, run.records.get(change.address), { appliedSpec: {} }) },
  ]);
}

/** Records an unmanaged job into state, then updates it if it differs. */
async function adoptJob(run: Run, change: AdoptChange): Promise<void> {
  const id = change.replicationJobId;
  await writeState(
    run,
    [{ address: change.address, record: record(run.ports, change.address, undefined, { replicationJobId: id, serverId: change.serverId, appliedSpec: withSeed(change.after, change.before?.seedReplicationTime), preventDestroy: change.preventDestroy, onDemandRunToken: change.onDemandRun?.token }) }],
    `adopt ${id}`,
  );
  stateOnly(run, change, 'adopt', id);
  if (change.fields.length > 0) await updateJob(run, change, id);
}

/** Moves a record to its new address (no API call), then updates the job if it differs. */
async function moveJob(run: Run, change: MoveChange): Promise<void> {
  const id = change.replicationJobId;
  // The old record, if it still holds this job (another change may have reused its address).
  const found = change.previousAddress ? run.records.get(change.previousAddress) : undefined;
  const prev = found?.replicationJobId === id ? found : undefined;
  const moved = record(run.ports, change.address, prev ? { ...prev, address: change.address } : undefined, {
    replicationJobId: id,
    serverId: change.serverId,
    appliedSpec: withSeed(change.after, prev?.appliedSpec.seedReplicationTime ?? change.before?.seedReplicationTime),
    preventDestroy: change.preventDestroy,
    onDemandRunToken: change.onDemandRun?.token ?? prev?.onDemandRunToken,
  });
  await writeState(run, [...retire(run, change), { address: change.address, record: moved }], `move ${change.previousAddress} -> ${change.address}`);
  stateOnly(run, change, 'move', id);
  if (change.fields.length > 0) await updateJob(run, change, id);
}

async function startRun(run: Run, change: StartRunChange): Promise<void> {
  const id = change.replicationJobId;
  const token = change.onDemandRun.token;
  const description = `${change.onDemandRun.description ?? 'on-demand run'} ${runMarker(token)}`;
  await mutate(
    run,
    change,
    'StartOnDemandReplicationRun',
    { serverId: change.serverId, replicationJobId: id, onDemandRunToken: token },
    () => run.ports.api.startOnDemandReplicationRun(id, description),
    () => {
      const cur = run.records.get(change.address);
      const started = [...(cur?.onDemandRunsStarted ?? []), nowIso(run.ports)].slice(-10);
      return cur ? [{ address: change.address, record: { ...cur, onDemandRunToken: token, onDemandRunsStarted: started, updatedAt: nowIso(run.ports) } }] : [];
    },
  );
}

/** The applied spec a state record keeps: the managed fields, and the seed time the job really has. */
function withSeed(spec: JobSpec | undefined, seed: number | undefined): JobSpec {
  return { ...(spec ?? {}), ...(seed !== undefined ? { seedReplicationTime: seed } : {}) };
}

function stripNext(spec: JobSpec): Omit<JobSpec, 'nextReplicationRunStartTime' | 'seedReplicationTime'> {
  const { nextReplicationRunStartTime: _n, seedReplicationTime: _s, ...rest } = spec;
  return rest;
}
