/**
 * One controller cycle: read the manifests, plan, and (in apply mode) apply what the plan allows.
 * This is the one place where the controller meets the executor. It runs the same functions as
 * `plan` and `apply` (cli/workflow.ts, reconcile/apply.ts): a fix to one is a fix to both. It
 * never prints: it subscribes to the same message stream as the CLI (model/messages.ts). What the
 * CLI would show at a terminal is captured into the outcome's errors, and the executor's messages
 * go to the log.
 */
import type { CommandContext } from '../cli/context.ts';
import type { Target } from '../cli/target.ts';
import { buildPlan, loadDesired, observeAll, readAfterRecovery, readPrior, recordReplicationStarts } from '../cli/workflow.ts';
import type { DesiredSet } from '../model/desired.ts';
import { isOutputCode, type ErrorCode, type MessageCode } from '../model/codes.ts';
import { isSmsReconcileError } from '../model/errors.ts';
import { ioMessage, type IoHost, type IoMessage } from '../model/messages.ts';
import { ACTION_INFO } from '../reconcile/action.ts';
import { applyPlan, type ApplyResult } from '../reconcile/apply.ts';
import { isBlockedRetire, isStateOnlyDelete, membersOf, type Change, type Drift } from '../reconcile/change.ts';
import type { ObservedSet } from '../reconcile/observed.ts';
import { effectiveChanges, type Plan } from '../reconcile/plan.ts';
import { applyEventsTo, isApplyMessage } from '../reconcile/apply-messages.ts';
import type { ApplyPorts, Clock } from '../reconcile/ports.ts';
import { logHost, logMessage } from '../report/log-message.ts';
import { expiringCounts, expiringJobs, type ExpiryWindow } from '../reconcile/replication-age.ts';
import { isHeld, runnable, type WaveGate } from '../reconcile/waves.ts';
import type { Logger } from '../report/logger.ts';
import { serviceNowMs, type SmsApi } from '../sms/api.ts';
import { isSmsApiError } from '../sms/errors.ts';
import type { StateDocument } from '../state/codec.ts';
import type { StateStore } from '../state/store.ts';
import type { CycleResult } from './metrics.ts';

export type ControllerMode = 'apply' | 'observe';

/** One thing that went wrong in a cycle. */
export interface CycleError {
  /** A stable code: the SMS error code for a refused call, else ours (manifest-invalid, state-locked, ...). */
  readonly code: string;
  readonly message: string;
  readonly address?: string;
  readonly vmName?: string;
  readonly operation?: string;
  /** The diagnostics as the CLI would print them (manifest and plan errors). */
  readonly detail?: string;
}

export type { PendingChange } from './estate.ts';
import { buildEstate, type Estate, type PendingChange } from './estate.ts';

export interface JobSummary {
  readonly address: string;
  readonly replicationJobId: string;
  readonly serverId?: string;
  readonly vmName?: string;
  /** The live job state, or MISSING when the service no longer lists the job. */
  readonly state: string;
  readonly latestAmiId?: string;
  readonly statusMessage?: string;
}

export interface CycleOutcome {
  readonly result: CycleResult;
  /** RFC 3339. */
  readonly startedAt: string;
  readonly durationMs: number;
  /** The source revision the cycle read (git mode). */
  readonly revision: string | undefined;
  readonly changes: { readonly planned: number; readonly applied: number; readonly pending: number };
  readonly errors: readonly CycleError[];
  /** Live values found changed outside the tool (in apply mode, the cycle set them back). */
  readonly drift: readonly Drift[];
  /** Drifted addresses the cycle left drifted. */
  readonly driftOpen: number;
  readonly pending: readonly PendingChange[];
  readonly jobs: readonly JobSummary[];
  readonly jobStates: Readonly<Record<string, number>>;
  /** Managed jobs SMS terminates within 15 and within 7 days (the 90-day clock). */
  readonly jobsExpiring: Readonly<Record<`${ExpiryWindow}d`, number>>;
  /** The dashboard's view of the estate (absent when the cycle could not read the live world). */
  readonly estate?: Estate;
  /** The declared waves and their gates at the end of the cycle (empty without waves, or when it could not plan). */
  readonly waves: readonly WaveGate[];
}

export interface CycleDeps {
  /** The CLI's context (cwd, global options); its output streams are not used. */
  readonly ctx: CommandContext;
  readonly files: readonly string[];
  readonly store: StateStore;
  readonly target: Target;
  /** The target's API as the cycle calls it (counted for the metrics). */
  readonly api: SmsApi;
  readonly mode: ControllerMode;
  readonly allowDestroy: boolean;
  readonly parallelism: number;
  readonly maxConcurrentJobs: number;
  /** `--max-wave`: changes of jobs of later waves are held. */
  readonly maxWave?: number;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Set by a signal (or a lost lease): start no new operation. */
  readonly stop: { requested: boolean };
  readonly revision?: string;
}

/** A CommandContext whose host keeps the text of what the CLI would show (diagnostics, plan problems) and logs the rest. */
function capturing(ctx: CommandContext, logger: Logger): { ctx: CommandContext; text: () => string } {
  let text = '';
  const host = {
    notify(m: IoMessage<MessageCode, unknown>): void {
      if (isOutputCode(m.code)) text += m.message;
      else logMessage(logger, m);
    },
    logger: () => logger,
    setProgressInterval: () => undefined,
    outputFlowing: () => Promise.resolve(),
  };
  return { ctx: { io: ctx.io, globals: () => ({ ...ctx.globals(), color: false }), setExit: () => undefined, host }, text: () => text };
}

function errorOf(err: unknown): CycleError {
  if (isSmsApiError(err)) return { code: err.apiCode, message: err.message, operation: err.action };
  if (isSmsReconcileError(err)) return { code: err.code, message: err.message };
  return { code: 'internal' satisfies ErrorCode, message: err instanceof Error ? err.message : String(err) };
}

/** Whether the controller may carry out a change: deletes and replaces only with --allow-destroy; a blocked retire waits. */
function allowed(c: Change, allowDestroy: boolean): boolean {
  return !isBlockedRetire(c) && (allowDestroy || !ACTION_INFO[c.action].destructive || isStateOnlyDelete(c));
}

/** Why the controller holds back a change it may not carry out. */
function withheldWhy(c: Change): PendingChange['why'] {
  if (isHeld(c)) return 'held';
  return isBlockedRetire(c) ? 'retire-blocked' : 'destroy-not-allowed';
}

/** The changes a plan holds (reconcile/waves.ts: a wave's gate, --max-wave), as pending. */
function heldPending(plan: Plan): PendingChange[] {
  return plan.changes.filter(isHeld).map((c): PendingChange => ({ address: c.address, action: c.action, why: 'held' }));
}

/**
 * The plan with the changes it may not carry out removed (and the creates that wait for them).
 * Held changes stay in it: the executor leaves them out (isHeld), and the outcome lists them as
 * pending ('held'), so the next cycle creates a wave as soon as its gate opens.
 */
function allowedPlan(plan: Plan, allowDestroy: boolean): { plan: Plan; withheld: Change[] } {
  const withheld = effectiveChanges(plan).filter((c) => !allowed(c, allowDestroy));
  const withheldJobs = new Set(withheld.map((c) => membersOf(c).replicationJobId).filter((id) => id !== undefined));
  const keep = plan.changes.filter((c) => {
    const waitsFor = membersOf(c).waitForDeletion;
    return allowed(c, allowDestroy) && !(waitsFor !== undefined && withheldJobs.has(waitsFor));
  });
  for (const c of effectiveChanges(plan)) if (!keep.includes(c) && !withheld.includes(c)) withheld.push(c);
  return { plan: { ...plan, changes: keep }, withheld };
}

type Summaries = Pick<CycleOutcome, 'jobs' | 'jobStates' | 'jobsExpiring'>;

function jobSummaries(prior: StateDocument | undefined, observed: ObservedSet, nowSeconds: number): Summaries {
  const jobs: JobSummary[] = [];
  const jobStates: Record<string, number> = {};
  for (const r of Object.values(prior?.resources ?? {})) {
    if (r.replicationJobId === undefined) continue;
    const live = observed.jobs.get(r.replicationJobId);
    const state = live?.state ?? 'MISSING';
    jobStates[state] = (jobStates[state] ?? 0) + 1;
    jobs.push({
      address: r.address,
      replicationJobId: r.replicationJobId,
      serverId: r.serverId,
      vmName: live?.vmServer?.vmName ?? observed.servers.get(r.serverId ?? '')?.vmServer?.vmName,
      state,
      latestAmiId: live?.latestAmiId,
      statusMessage: live?.statusMessage,
    });
  }
  jobs.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  const jobsExpiring = expiringCounts(expiringJobs(Object.values(prior?.resources ?? {}), observed.jobs, nowSeconds), nowSeconds);
  return { jobs, jobStates, jobsExpiring };
}

/**
 * The cycle's subscriber to the executor's messages: keeps each failure, naming the VM and the SMS
 * code, and logs the operations as `controller.*` events (the rest of the apply's messages at debug,
 * with their own codes).
 */
class CycleEvents implements IoHost {
  readonly failures: CycleError[] = [];
  private readonly log: IoHost;
  constructor(private readonly logger: Logger) {
    this.log = logHost(logger);
  }

  notify(m: IoMessage<MessageCode, unknown>): void {
    if (!isApplyMessage(m)) return this.log.notify(m);
    switch (m.code) {
      case 'apply.failed': {
        const { address, vmName, serverId, operation, code, error } = m.data;
        this.failures.push({ code, message: error, address, vmName, operation });
        this.log.notify(ioMessage('controller.operation-failed', 'warn', `${operation} failed for VM ${vmName ?? serverId ?? '?'}: ${code}`, { address, vmName, serverId, operation, code }, m.time));
        return;
      }
      case 'apply.done': {
        const { address, operation, replicationJobId, ms } = m.data;
        this.log.notify(ioMessage('controller.operation-done', 'info', 'done', { address, operation, replicationJobId, ms }, m.time));
        return;
      }
      case 'apply.recovered':
        this.log.notify(ioMessage('controller.recovered', 'info', m.message, { address: m.data.address, operation: m.data.operation, happened: m.data.happened }, m.time));
        return;
      default:
        logMessage(this.logger, { ...m, level: 'debug' });
    }
  }
}

/** What a cycle read before deciding: the plan and the world it was made from. */
interface CycleWorld {
  readonly desired: DesiredSet;
  readonly prior: StateDocument | undefined;
  readonly observed: ObservedSet;
  readonly plan: Plan;
  readonly planned: readonly Change[];
}

type OutcomeBody = Omit<CycleOutcome, 'startedAt' | 'durationMs' | 'revision'>;

const EMPTY = { changes: { planned: 0, applied: 0, pending: 0 }, drift: [], driftOpen: 0, pending: [], jobs: [], jobStates: {}, jobsExpiring: { '15d': 0, '7d': 0 }, waves: [] } as const;

function driftOpen(drift: readonly Drift[], done: ReadonlySet<string> = new Set()): number {
  return new Set(drift.filter((d) => !done.has(d.address)).map((d) => d.address)).size;
}

/** One cycle in progress: its deps, its start, and its captured terminal output. */
class CycleRun {
  private readonly started: number;
  private readonly out: ReturnType<typeof capturing>;

  constructor(readonly deps: CycleDeps) {
    this.started = deps.clock.now();
    this.out = capturing(deps.ctx, deps.logger);
  }

  finish(rest: OutcomeBody): CycleOutcome {
    return { startedAt: new Date(this.started).toISOString(), durationMs: this.deps.clock.now() - this.started, revision: this.deps.revision, ...rest };
  }

  /** The service's time, epoch seconds (the 90-day clock runs on it). */
  nowSeconds(): number {
    return serviceNowMs(this.deps.api, this.deps.clock.now()) / 1000;
  }

  makePlan(desired: DesiredSet, prior: StateDocument | undefined, observed: ObservedSet): Plan {
    const { deps } = this;
    return buildPlan(this.out.ctx, {
      desired,
      observed,
      prior,
      target: deps.target,
      options: { targets: [], replace: [], refreshOnly: false, ...(deps.maxWave === undefined ? {} : { maxWave: deps.maxWave }) },
      maxConcurrentJobs: deps.maxConcurrentJobs,
      now: new Date(serviceNowMs(deps.api, deps.clock.now())),
      apiCalls: deps.api.calls(),
    });
  }

  /** The manifests, the state and the live jobs, and the plan; or the outcome of a cycle that could not plan. */
  async read(): Promise<CycleWorld | CycleOutcome> {
    const { deps, out } = this;
    // The listings are read while the manifests and the state are, as `plan` does against a remote
    // target: their round trips hide the CPU work. Reading changes nothing.
    const observing = observeAll(deps.api);
    observing.catch(() => undefined); // awaited below; not an unhandled rejection if we fail first
    let desired: DesiredSet;
    try {
      desired = (await loadDesired(out.ctx, deps.files)).desired;
    } catch (err) {
      return this.finish({ ...EMPTY, result: isSmsReconcileError(err) && err.source === 'user' ? 'invalid' : 'failed', errors: [{ ...errorOf(err), detail: out.text() }] });
    }
    try {
      const prior = await readPrior(deps.store, deps.target);
      const observed = await observing;
      const plan = this.makePlan(desired, prior, observed);
      return { desired, prior, observed, plan, planned: effectiveChanges(plan) };
    } catch (err) {
      const e = errorOf(err);
      const invalid = e.code === 'plan-failed';
      return this.finish({ ...EMPTY, result: invalid ? 'invalid' : 'failed', errors: [{ ...e, detail: invalid ? out.text() : undefined }] });
    }
  }

  /** A cycle that changed nothing: what it found, and what it left pending and why. */
  changedNothing(w: CycleWorld, left: readonly Change[], why: PendingChange['why'] | typeof withheldWhy): CycleOutcome {
    const pending = left.map((c): PendingChange => ({ address: c.address, action: c.action, why: typeof why === 'function' ? why(c) : why }));
    return this.finish({
      estate: buildEstate({ plan: w.plan, observed: w.observed, pending, errors: [] }),
      result: 'success',
      errors: [],
      changes: { planned: w.planned.length, applied: 0, pending: pending.length },
      drift: w.plan.drift,
      driftOpen: driftOpen(w.plan.drift),
      pending,
      ...jobSummaries(w.prior, w.observed, this.nowSeconds()),
      waves: w.plan.waves ?? [],
    });
  }

  /** Something to do: the same steps as `apply`, under the state lock (never waited for, never broken). */
  async applyLocked(w: CycleWorld): Promise<CycleOutcome> {
    const { deps } = this;
    const drift = w.plan.drift;
    const events = new CycleEvents(deps.logger);
    let lock;
    try {
      lock = await deps.store.lock({ operation: 'controller apply', timeoutMs: 0 });
    } catch (err) {
      const errors = [errorOf(err)];
      const pending = w.planned.map((c): PendingChange => ({ address: c.address, action: c.action, why: 'not-started' }));
      return this.finish({ ...EMPTY, result: 'failed', errors, drift, driftOpen: driftOpen(drift), ...jobSummaries(w.prior, w.observed, this.nowSeconds()), estate: buildEstate({ plan: w.plan, observed: w.observed, pending, errors }) });
    }
    try {
      const ports: ApplyPorts = { api: deps.api, store: deps.store, lock, clock: deps.clock, events: applyEventsTo(events, deps.clock) };
      const now = await readAfterRecovery(ports, deps.target);
      const cut = allowedPlan(this.makePlan(w.desired, now.prior, now.observed), deps.allowDestroy);
      if (!now.prior) await deps.store.initialize(lock, deps.target.identity);
      const result = await applyPlan(ports, cut.plan, {
        parallelism: deps.parallelism,
        pollMs: 1000,
        timeoutMs: 30 * 60_000,
        stop: deps.stop,
        replan: async () => allowedPlan(this.makePlan(w.desired, await readPrior(deps.store, deps.target), await observeAll(deps.api)), deps.allowDestroy).plan,
      });
      await recordReplicationStarts(ports, now.observed);
      return await this.applied(w, cut, result, events, now);
    } catch (err) {
      return this.finish({ ...EMPTY, result: 'failed', errors: [...events.failures, errorOf(err)], drift, driftOpen: driftOpen(drift) });
    } finally {
      await lock.release().catch(() => undefined);
    }
  }

  /** The outcome of an apply: what failed, what is left pending and why, and the world after it. */
  private async applied(w: CycleWorld, cut: { plan: Plan; withheld: Change[] }, result: ApplyResult, events: CycleEvents, before: { prior: StateDocument | undefined; observed: ObservedSet }): Promise<CycleOutcome> {
    const { deps } = this;
    const failedAddresses = new Set(result.failed.map((f) => f.address));
    const pending: PendingChange[] = [
      ...cut.withheld.map((c): PendingChange => ({ address: c.address, action: c.action, why: withheldWhy(c) })),
      ...effectiveChanges(cut.plan)
        .filter((c) => failedAddresses.has(c.address))
        .map((c): PendingChange => ({ address: c.address, action: c.action, why: 'failed' })),
      ...result.notStarted.filter((c) => !failedAddresses.has(c.address)).map((c): PendingChange => ({ address: c.address, action: c.action, why: 'not-started' })),
      ...heldPending(cut.plan),
    ];
    const done = new Set(result.completed.map((c) => c.address));
    const after = result.completed.length > 0 ? { prior: await readPrior(deps.store, deps.target), observed: await observeAll(deps.api) } : before;
    const errors: CycleError[] = [...events.failures];
    for (const f of result.failed) if (!errors.some((e) => e.address === f.address)) errors.push({ code: 'operation-failed' satisfies ErrorCode, message: f.error ?? 'failed', address: f.address, operation: f.operation });
    const failedSome = result.failed.length > 0 || result.stopped;
    const end = this.makePlan(w.desired, after.prior, after.observed);
    return this.finish({
      result: !failedSome ? 'success' : result.completed.length > 0 || result.stopped ? 'partial' : 'failed',
      errors,
      changes: { planned: w.planned.length, applied: result.completed.length, pending: pending.length },
      drift: w.plan.drift,
      driftOpen: driftOpen(w.plan.drift, done),
      pending,
      ...jobSummaries(after.prior, after.observed, this.nowSeconds()),
      estate: buildEstate({ plan: end, observed: after.observed, pending, errors }),
      waves: end.waves ?? [],
    });
  }
}

/** Runs one cycle. Never throws: every failure becomes the outcome's result and errors. */
export async function runCycle(deps: CycleDeps): Promise<CycleOutcome> {
  const run = new CycleRun(deps);
  const w = await run.read();
  if ('startedAt' in w) return w;
  if (deps.mode === 'observe') return run.changedNothing(w, w.planned, 'observe-mode');
  const firstCut = allowedPlan(w.plan, deps.allowDestroy);
  // Nothing runnable (held changes wait for a gate: the cycle that finds it open creates them).
  if (runnable(firstCut.plan.changes).length === 0 && (w.prior?.pending.length ?? 0) === 0) return run.changedNothing(w, [...firstCut.withheld, ...firstCut.plan.changes.filter(isHeld)], withheldWhy);
  return run.applyLocked(w);
}
