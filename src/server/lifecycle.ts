import type { IdSource } from './ids.ts';
import type { InventoryVm, ServerSettings } from './inventory.ts';
import type { JobRow, RunRow, ServerRow, SmsStore } from './store/db.ts';

/**
 * Time-driven behaviour of the simulated service. Nothing runs in the background: every request
 * first calls `advance(now)`, which applies, in time order, every transition that fell due since the
 * last request (catalog imports finishing, runs starting, completing or failing, deletes settling).
 * The outcome depends only on the stored rows and the clock, so a manual clock makes it exact.
 */

export const HOUR = 3600;
export const DAY = 24 * HOUR;
/** A paused job can be resumed for four days, then it is deleted (SMS User Guide, troubleshooting). */
export const PAUSED_JOB_TTL = 4 * DAY;
/** Replication is allowed for 90 days from the first run, then the job is terminated. */
export const MAX_REPLICATION_AGE = 90 * DAY;
/** Share of a run's duration at which an injected failure strikes (in the Uploading stage). */
export const FAILURE_POINT = 0.4;

/** Stages of an ACTIVE run, with the share of the run's duration at which each begins. */
export const RUN_STAGES = [
  { stage: 'Uploading', from: 0 },
  { stage: 'Converting', from: 0.6 },
  { stage: 'Preparing', from: 0.85 },
] as const;

export const TERMINAL_JOB_STATES: ReadonlySet<string> = new Set(['DELETED', 'FAILED', 'COMPLETED']);

export const MESSAGES = {
  uploadFailed:
    'ServerError: Failed to upload base disk(s) to S3. Please try again. If this problem persists, please contact AWS Support.',
  noConnector:
    'No connectors are available to handle this request. Please associate connector(s) and verify any existing connectors are healthy and can respond to requests.',
  missed: 'Skipped: another replication run was in progress when this run was due.',
  paused: 'Replication job paused after consecutive failed replication runs.',
  failed: 'Replication job failed after consecutive failed replication runs.',
  expired: 'Replication job terminated: the 90-day replication limit was reached.',
  pausedExpired: 'Replication job deleted: it stayed paused on failure for more than 4 days.',
  completed: 'Completed',
} as const;

export interface WorldContext {
  readonly store: SmsStore;
  readonly settings: ServerSettings;
  readonly ids: IdSource;
  /** The VM behind a catalog server, from the inventory (undefined once the VM left the inventory). */
  readonly vmOf: (server: ServerRow) => InventoryVm | undefined;
  /** The VMs of every VM manager, for catalog imports. */
  readonly inventoryVms: () => Iterable<{ vmManagerId: string; vmManagerName: string; vmManagerType: string; vm: InventoryVm }>;
}

/** Brings the whole world up to `now`. */
export function advance(ctx: WorldContext, now: number): void {
  advanceCatalog(ctx, now);
  for (const job of ctx.store.dueJobs(now)) advanceJob(ctx, job, now);
}

function advanceCatalog(ctx: WorldContext, now: number): void {
  const cat = ctx.store.catalog();
  if (cat.status !== 'IMPORTING' || cat.importStartedAt === null) return;
  const doneAt = cat.importStartedAt + ctx.settings.catalogImportSeconds;
  if (doneAt > now) return;
  const covered = coveredVmManagers(ctx);
  ctx.store.clearCatalog();
  for (const { vmManagerId, vmManagerName, vmManagerType, vm } of ctx.inventoryVms()) {
    if (!covered.has(vmManagerId)) continue;
    const existing = ctx.store.serverByVm(vmManagerId, vm.vmId);
    const attrs = { vmName: vm.vmName, vmPath: vm.vmPath, vmManagerName, vmManagerType };
    if (existing) ctx.store.refreshServer({ serverId: existing.serverId, ...attrs });
    else ctx.store.insertServer({ serverId: ctx.ids.next('server'), vmManagerId, vmId: vm.vmId, ...attrs });
  }
  ctx.store.setCatalog({ status: 'AVAILABLE', lastModifiedOn: doneAt, importStartedAt: null });
}

/** VM managers reached by at least one associated, HEALTHY connector with the matching capability. */
export function coveredVmManagers(ctx: WorldContext): Set<string> {
  const out = new Set<string>();
  for (const c of ctx.store.activeConnectors()) {
    if (c.status !== 'HEALTHY') continue;
    const caps = JSON.parse(c.capabilityList) as string[];
    if (caps.includes(c.vmManagerType)) out.add(c.vmManagerId);
  }
  return out;
}

type JobEvent = 'deleteDone' | 'runEnd' | 'runStart' | 'pauseExpired' | 'maxAge';

/** Applies every event of one job that is due at or before `now`, in time order. */
export function advanceJob(ctx: WorldContext, job: JobRow, now: number): void {
  for (let guard = 0; guard < 1_000_000; guard++) {
    const next = nextEvent(ctx, job);
    if (next === undefined || next.at > now) break;
    applyEvent(ctx, job, next.event, next.at, next.run);
  }
  job.nextEventAt = nextEvent(ctx, job)?.at ?? null;
  ctx.store.saveJob(job);
}

interface DueEvent {
  readonly event: JobEvent;
  readonly at: number;
  readonly run?: RunRow;
}

function nextEvent(ctx: WorldContext, job: JobRow): DueEvent | undefined {
  const candidates: DueEvent[] = [];
  if (job.state === 'DELETING' && job.deleteRequestedAt !== null) {
    candidates.push({ event: 'deleteDone', at: job.deleteRequestedAt + ctx.settings.deleteSeconds });
  } else if (job.state === 'PAUSED_ON_FAILURE' && job.pausedAt !== null) {
    candidates.push({ event: 'pauseExpired', at: job.pausedAt + PAUSED_JOB_TTL });
  } else if (!TERMINAL_JOB_STATES.has(job.state)) {
    const active = ctx.store.activeRun(job.replicationJobId);
    if (active?.endsAt != null) candidates.push({ event: 'runEnd', at: active.endsAt, run: active });
    const pending = ctx.store.pendingRun(job.replicationJobId);
    if (pending) candidates.push({ event: 'runStart', at: pending.scheduledStartTime, run: pending });
    if (job.firstRunAt !== null) candidates.push({ event: 'maxAge', at: job.firstRunAt + MAX_REPLICATION_AGE });
  }
  // Earliest first; at equal times a run ends before the next one starts.
  const order: Record<JobEvent, number> = { deleteDone: 0, pauseExpired: 1, runEnd: 2, runStart: 3, maxAge: 4 };
  candidates.sort((a, b) => a.at - b.at || order[a.event] - order[b.event]);
  return candidates[0];
}

function applyEvent(ctx: WorldContext, job: JobRow, event: JobEvent, at: number, run: RunRow | undefined): void {
  switch (event) {
    case 'deleteDone':
      job.state = 'DELETED';
      for (const r of ctx.store.openRuns(job.replicationJobId)) ctx.store.saveRun({ ...r, state: 'DELETED', endsAt: null });
      return;
    case 'pauseExpired':
      beginDelete(ctx, job, at, MESSAGES.pausedExpired);
      return;
    case 'maxAge':
      beginDelete(ctx, job, at, MESSAGES.expired);
      return;
    case 'runStart':
      if (run) startRun(ctx, job, run, at);
      return;
    case 'runEnd':
      if (run) endRun(ctx, job, run, at);
      return;
  }
}

/** DeleteReplicationJob and the automatic terminations: DELETING now, DELETED after deleteSeconds. */
export function beginDelete(ctx: WorldContext, job: JobRow, at: number, statusMessage: string | null): void {
  job.state = 'DELETING';
  job.deleteRequestedAt = at;
  if (statusMessage !== null) job.statusMessage = statusMessage;
  // An ACTIVE run keeps the stage it had reached as its last statusMessage.
  for (const r of ctx.store.openRuns(job.replicationJobId)) {
    ctx.store.saveRun({ ...r, state: 'DELETING', endsAt: null, statusMessage: stageDetails(r, ctx.settings.runSeconds, at)?.stage ?? r.statusMessage });
  }
  job.nextEventAt = at + ctx.settings.deleteSeconds;
}

/** Decides, when a run starts, whether it will fail and why (no connector, or an injected failure). */
function failureFor(ctx: WorldContext, job: JobRow): string | null {
  const server = ctx.store.server(job.serverId);
  if (!server || !coveredVmManagers(ctx).has(server.vmManagerId)) return MESSAGES.noConnector;
  const f = ctx.vmOf(server)?.failure;
  if (!f) return null;
  const after = f.afterRuns ?? 0;
  const index = job.runCount;
  return index >= after && (f.count === undefined || index < after + f.count) ? MESSAGES.uploadFailed : null;
}

/** Starts `run` at `at`, or marks it MISSED when another run is still active. */
export function startRun(ctx: WorldContext, job: JobRow, run: RunRow, at: number): void {
  const active = ctx.store.activeRun(job.replicationJobId);
  if (active && active.replicationRunId !== run.replicationRunId) {
    ctx.store.saveRun({ ...run, state: 'MISSED', statusMessage: MESSAGES.missed });
    schedulePending(ctx, job, at);
    return;
  }
  const failMessage = failureFor(ctx, job);
  const duration = ctx.settings.runSeconds * (failMessage === null ? 1 : FAILURE_POINT);
  ctx.store.saveRun({
    ...run,
    state: 'ACTIVE',
    startedAt: at,
    endsAt: at + duration,
    fails: failMessage === null ? 0 : 1,
    failMessage,
    statusMessage: RUN_STAGES[0].stage,
  });
  job.runCount += 1;
  job.firstRunAt ??= at;
  if (job.state === 'PENDING') job.state = 'ACTIVE';
}

function endRun(ctx: WorldContext, job: JobRow, run: RunRow, at: number): void {
  if (run.fails) {
    ctx.store.saveRun({ ...run, state: 'FAILED', endsAt: null, statusMessage: run.failMessage });
    job.consecutiveFailures += 1;
    const remaining = ctx.settings.failuresBeforePause - job.consecutiveFailures;
    if (remaining <= 0) {
      const pending = ctx.store.pendingRun(job.replicationJobId);
      if (pending) ctx.store.saveRun({ ...pending, state: 'DELETED' });
      if (job.runOnce) {
        job.state = 'FAILED';
        job.statusMessage = `${MESSAGES.failed} ${run.failMessage ?? ''}`.trim();
      } else {
        job.state = 'PAUSED_ON_FAILURE';
        job.pausedAt = at;
        job.statusMessage = `${MESSAGES.paused} ${run.failMessage ?? ''}`.trim();
      }
      return;
    }
    job.state = 'FAILING';
    job.statusMessage = `${run.failMessage ?? ''} ${remaining} re-try run(s) remaining before the job will be failed.`.trim();
    const retryAt = at + ctx.settings.retryDelaySeconds;
    const pending = ctx.store.pendingRun(job.replicationJobId);
    if (pending) {
      if (pending.scheduledStartTime > retryAt) ctx.store.saveRun({ ...pending, scheduledStartTime: retryAt });
    } else {
      insertPendingRun(ctx, job, retryAt);
    }
    return;
  }
  const amiId = ctx.ids.next('ami');
  ctx.store.saveRun({ ...run, state: 'COMPLETED', endsAt: null, completedTime: at, amiId, statusMessage: MESSAGES.completed });
  ctx.store.insertAmi(amiId, job.replicationJobId, at);
  job.latestAmiId = amiId;
  job.consecutiveFailures = 0;
  pruneAmis(ctx, job, at);
  if (job.runOnce) {
    job.state = 'COMPLETED';
    job.statusMessage = MESSAGES.completed;
    return;
  }
  job.state = 'ACTIVE';
  job.statusMessage = null;
  if (!ctx.store.pendingRun(job.replicationJobId)) schedulePending(ctx, job, at);
}

/** Keeps the newest numberOfRecentAmisToKeep AMIs of the job (0 keeps all); AMIs are never deleted with the job. */
export function pruneAmis(ctx: WorldContext, job: JobRow, at: number): void {
  const keep = job.numberOfRecentAmisToKeep;
  if (keep <= 0) return;
  const live = ctx.store.liveAmis(job.replicationJobId);
  for (const amiId of live.slice(0, Math.max(0, live.length - keep))) ctx.store.deregisterAmi(amiId, at);
}

/** The first schedule slot strictly after `after`: anchorTime + n * frequency hours. */
export function nextSlot(job: JobRow, after: number): number {
  const period = (job.frequency ?? 24) * HOUR;
  if (after < job.anchorTime) return job.anchorTime;
  const n = Math.floor((after - job.anchorTime) / period) + 1;
  return job.anchorTime + n * period;
}

/** Schedules the next automatic run of a recurring job. */
export function schedulePending(ctx: WorldContext, job: JobRow, after: number): void {
  if (job.runOnce) return;
  insertPendingRun(ctx, job, nextSlot(job, after));
}

export function insertPendingRun(ctx: WorldContext, job: JobRow, at: number): void {
  insertRun(ctx, job, 'AUTOMATIC', at, null);
}

/** Records a new PENDING run of the job (it takes the job's encryption settings) and returns it. */
export function insertRun(ctx: WorldContext, job: JobRow, type: RunRow['type'], at: number, description: string | null): RunRow {
  const run: RunRow = {
    seq: 0,
    replicationRunId: ctx.ids.next('run'),
    replicationJobId: job.replicationJobId,
    state: 'PENDING',
    type,
    scheduledStartTime: at,
    startedAt: null,
    endsAt: null,
    fails: 0,
    failMessage: null,
    completedTime: null,
    amiId: null,
    statusMessage: null,
    description,
    encrypted: job.encrypted,
    kmsKeyId: job.kmsKeyId,
  };
  const { seq: _seq, ...row } = run;
  ctx.store.insertRun(row);
  return run;
}

/** stageDetails of an ACTIVE run at `now`: the stage and the progress within it. */
export function stageDetails(run: RunRow, runSeconds: number, now: number): { stage: string; stageProgress: string } | undefined {
  if (run.state !== 'ACTIVE' || run.startedAt === null) return undefined;
  const share = Math.min(0.999, Math.max(0, (now - run.startedAt) / runSeconds));
  let i = RUN_STAGES.length - 1;
  while (i > 0 && share < (RUN_STAGES[i]?.from ?? 0)) i--;
  const from = RUN_STAGES[i]?.from ?? 0;
  const to = RUN_STAGES[i + 1]?.from ?? 1;
  const pct = Math.floor(((share - from) / (to - from)) * 100);
  return { stage: RUN_STAGES[i]?.stage ?? 'Uploading', stageProgress: `${pct}%` };
}
