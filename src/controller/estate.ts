/**
 * The dashboard's view of the estate, made at the end of each cycle from the plan the cycle ends
 * with (every declared job, declared server without a job and recorded job is one of its changes,
 * no-ops included), the live jobs, what the cycle left pending and the errors it met. Pure: no I/O.
 */
import type { JobSpec } from '../model/job.ts';
import { ACTION_INFO, type Action } from '../reconcile/action.ts';
import { membersOf, type Change } from '../reconcile/change.ts';
import type { ObservedSet } from '../reconcile/observed.ts';
import type { Plan } from '../reconcile/plan.ts';
import type { WaveGate } from '../reconcile/waves.ts';
import type { ReplicationRunInfo } from '../sms/api.ts';

/** A change a cycle did not carry out, and why (cycle.ts re-exports it). */
export interface PendingChange {
  readonly address: string;
  readonly action: Action;
  readonly why: 'observe-mode' | 'destroy-not-allowed' | 'retire-blocked' | 'failed' | 'not-started' | 'held';
}

/** What the estate needs of a cycle's error (cycle.ts's AddressedError). */
interface AddressedError {
  readonly code: string;
  readonly message: string;
  readonly address?: string;
  readonly operation?: string;
}

/** The wave shown for a job in no wave (no `spec.wave`). */
export const NO_WAVE = 'none';

/** A change's wave as the dashboard names it. */
const waveName = (c: Change): string => (c.wave === undefined ? NO_WAVE : String(c.wave));
/** The state shown for a declared server that has no job yet. */
export const NO_JOB = 'NO_JOB';

export interface RunView {
  readonly replicationRunId: string;
  readonly state?: string;
  readonly type?: string;
  readonly stage?: string;
  readonly progress?: string;
  readonly amiId?: string;
  readonly statusMessage?: string;
  /** RFC 3339. */
  readonly scheduledStartTime?: string;
  readonly completedTime?: string;
  readonly description?: string;
}

export interface EstateRow {
  readonly address: string;
  readonly vmName?: string;
  readonly serverId?: string;
  readonly replicationJobId?: string;
  /** The live job state, NO_JOB, or MISSING (recorded, but the service no longer lists it). */
  readonly state: string;
  readonly statusMessage?: string;
  readonly latestRun?: RunView;
  readonly latestAmiId?: string;
  /** RFC 3339. */
  readonly nextRunAt?: string;
  readonly wave: string;
  /** Fields changed outside the tool. */
  readonly drift: readonly string[];
  readonly pending?: { readonly action: Action; readonly why: PendingChange['why']; readonly destructive: boolean };
  readonly error?: { readonly code: string; readonly message: string; readonly operation?: string };
  readonly description?: string;
  /** The manifest document, `file:line`. */
  readonly source?: string;
}

export interface FieldDiff {
  readonly field: string;
  readonly before: unknown;
  readonly after: unknown;
}

export interface JobDetail {
  readonly row: EstateRow;
  readonly action: Action;
  /** The plan's own words. */
  readonly reason: string;
  readonly declared?: JobSpec;
  readonly live?: JobSpec;
  readonly diff: readonly FieldDiff[];
  readonly replaceBecause?: readonly string[];
  readonly runs: readonly RunView[];
}

/** A change the plan shows, for the plan view (catalog imports and connectors included). */
export interface PlanItem {
  readonly address: string;
  readonly action: Action;
  readonly destructive: boolean;
  readonly why: PendingChange['why'];
  readonly reason: string;
  readonly vmName?: string;
  readonly wave: string;
}

export interface Estate {
  readonly rows: readonly EstateRow[];
  readonly details: ReadonlyMap<string, JobDetail>;
  readonly plan: readonly PlanItem[];
  /** The declared waves and their gates, from the plan (reconcile/waves.ts); empty without waves. */
  readonly waves: readonly WaveGate[];
}

const iso = (epochSeconds: number | undefined): string | undefined =>
  epochSeconds === undefined || !Number.isFinite(epochSeconds) ? undefined : new Date(epochSeconds * 1000).toISOString();

function runView(r: ReplicationRunInfo): RunView {
  return {
    replicationRunId: r.replicationRunId,
    state: r.state,
    type: r.type,
    stage: r.stageDetails?.stage,
    progress: r.stageDetails?.stageProgress,
    amiId: r.amiId,
    statusMessage: r.statusMessage,
    scheduledStartTime: iso(r.scheduledStartTime),
    completedTime: iso(r.completedTime),
    description: r.description,
  };
}

/** Newest first: by scheduled start, then by completion. */
function runsNewestFirst(runs: readonly ReplicationRunInfo[]): RunView[] {
  const key = (r: ReplicationRunInfo) => r.scheduledStartTime ?? r.completedTime ?? 0;
  return [...runs].sort((a, b) => key(b) - key(a)).map(runView);
}

const SPEC_KEYS: readonly (keyof JobSpec)[] = [
  'frequency', 'runOnce', 'seedReplicationTime', 'nextReplicationRunStartTime', 'licenseType', 'roleName',
  'description', 'numberOfRecentAmisToKeep', 'encrypted', 'kmsKeyId',
];

function specOf(v: Readonly<JobSpec> | undefined): JobSpec | undefined {
  if (v === undefined) return undefined;
  const out: Record<string, unknown> = {};
  for (const k of SPEC_KEYS) if (v[k] !== undefined) out[k] = v[k];
  return out as JobSpec;
}

export interface EstateInput {
  readonly plan: Plan;
  readonly observed: ObservedSet;
  readonly pending: readonly PendingChange[];
  readonly errors: readonly AddressedError[];
}

function rowOf(change: Change, input: EstateInput, pending: ReadonlyMap<string, PendingChange>, errors: ReadonlyMap<string, AddressedError>, drift: ReadonlyMap<string, string[]>): EstateRow {
  const c = membersOf(change);
  const live = c.replicationJobId !== undefined ? input.observed.jobs.get(c.replicationJobId) : undefined;
  const server = c.serverId !== undefined ? input.observed.servers.get(c.serverId) : undefined;
  const runs = live ? runsNewestFirst(live.replicationRunList) : [];
  const p = pending.get(c.address);
  const e = errors.get(c.address);
  return {
    address: c.address,
    vmName: live?.vmServer?.vmName ?? server?.vmServer?.vmName ?? c.serverName,
    serverId: c.serverId ?? live?.serverId,
    replicationJobId: c.replicationJobId,
    state: live?.state ?? (c.replicationJobId !== undefined && c.action !== 'create' ? 'MISSING' : NO_JOB),
    statusMessage: live?.statusMessage,
    latestRun: runs[0],
    latestAmiId: live?.latestAmiId,
    nextRunAt: iso(live?.nextReplicationRunStartTime),
    wave: waveName(change),
    drift: drift.get(c.address) ?? [],
    pending: p ? { action: p.action, why: p.why, destructive: ACTION_INFO[p.action].destructive } : undefined,
    error: e ? { code: e.code, message: e.message, operation: e.operation } : undefined,
    description: c.after?.description ?? live?.description,
    source: c.source ? `${c.source.file}:${c.source.line}` : undefined,
  };
}

/** The estate at the end of a cycle (see the module comment). */
export function buildEstate(input: EstateInput): Estate {
  const pending = new Map(input.pending.map((p) => [p.address, p]));
  const errors = new Map<string, AddressedError>();
  for (const e of input.errors) if (e.address !== undefined) errors.set(e.address, e);
  const drift = new Map<string, string[]>();
  for (const d of input.plan.drift) drift.set(d.address, [...(drift.get(d.address) ?? []), d.field]);
  const rows: EstateRow[] = [];
  const details = new Map<string, JobDetail>();
  const plan: PlanItem[] = [];
  for (const c of input.plan.changes) {
    const p = pending.get(c.address);
    if (c.kind !== 'ReplicationJob' && c.kind !== 'ReplicationJobSet') {
      if (p) plan.push({ address: c.address, action: c.action, destructive: ACTION_INFO[c.action].destructive, why: p.why, reason: c.reason, wave: waveName(c) });
      continue;
    }
    const row = rowOf(c, input, pending, errors, drift);
    rows.push(row);
    const m = membersOf(c);
    const live = m.replicationJobId !== undefined ? input.observed.jobs.get(m.replicationJobId) : undefined;
    details.set(c.address, {
      row,
      action: c.action,
      reason: c.reason,
      declared: specOf(m.after),
      live: specOf(m.before ?? live),
      diff: c.fields.map((f) => ({ field: f.field, before: f.before, after: f.after })),
      replaceBecause: m.replaceBecause,
      runs: live ? runsNewestFirst(live.replicationRunList) : [],
    });
    if (p) plan.push({ address: c.address, action: p.action, destructive: ACTION_INFO[p.action].destructive, why: p.why, reason: c.reason, vmName: row.vmName, wave: waveName(c) });
  }
  rows.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  return { rows, details, plan, waves: input.plan.waves ?? [] };
}
