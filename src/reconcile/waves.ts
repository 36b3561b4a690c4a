import type { Address } from '../model/address.ts';
import type { ReplicationJobInfo } from '../sms/api.ts';
import type { Change } from './change.ts';
import type { ObservedSet } from './observed.ts';
import type { WantedJob } from './resolve.ts';

/**
 * Migration waves (`spec.wave`), and the gate between them. Pure.
 *
 * A wave's creates run only when every job of every earlier wave has completed its first
 * replication run. Why this shape:
 * - The gate reads only what the plan's bulk listing already holds (GetReplicationJobs gives each
 *   job's state, its latest run and `latestAmiId`): no per-job call, so a plan of 10,000 jobs
 *   costs the same reads with waves as without.
 * - Only creates are held by the gate. Updates, deletes, replaces and on-demand runs act on jobs
 *   that exist already; holding them would keep a fix from reaching a job that needs it.
 * - A held change is a change like any other, with `gatedBy` saying why it waits (a union, so
 *   that other reasons to hold a create, such as the account's job quota, are new variants of it).
 *   It stays in the plan, is rendered and counted as pending (exit 2 with --detailed-exitcode),
 *   and is never carried out: the executor and the controller leave out every change for which
 *   `isHeld` is true, and nothing else decides it.
 * - `--max-wave N` holds every change of a job of a later wave: a person's approval step.
 * - A job without a wave is in no wave: never held, and no gate waits for it.
 */

/** How many of the members a wave waits for are named in a hold (the counts are always exact). */
export const MEMBERS_SHOWN = 10;

/** Where a member of a wave that has not replicated yet stands, as the bulk listing shows it. */
export type MemberState = 'no-job' | 'replacing' | 'deleting' | 'pending' | 'running' | 'failed';

/** One member of a wave that has not completed its first replication run. */
export interface WaveMember {
  readonly address: Address;
  readonly serverId?: string;
  readonly serverName?: string;
  readonly replicationJobId?: string;
  readonly state: MemberState;
  /** For `running`: the run's stage and progress (`Uploading 64%`). */
  readonly progress?: string;
  /** For `failed`: the service's message. */
  readonly message?: string;
}

/** The earlier wave a held create waits for: its counts and (at most MEMBERS_SHOWN of) the members not yet replicated. */
export interface WaveWait {
  readonly wave: number;
  readonly replicated: number;
  readonly total: number;
  readonly members: readonly WaveMember[];
}

/** Why a change is held: it is in the plan and pending, but apply does not carry it out now. */
export type Hold =
  /** A create of wave `wave` waits for the earliest earlier wave that has not fully replicated. */
  | { readonly kind: 'wave'; readonly wave: number; readonly waitingFor: WaveWait }
  /** `--max-wave`: a change of a job of a later wave than `maxWave`. */
  | { readonly kind: 'max-wave'; readonly maxWave: number }
  /**
   * The account's concurrent-job limit (`--max-concurrent-jobs`; reconcile/quota.ts): a create past
   * the free slots. `inUse`: the jobs holding a slot when the plan was made, as the service counts them.
   */
  | { readonly kind: 'quota'; readonly inUse: number; readonly limit: number };

/** One wave as the plan sees it: its members' progress and whether its gate is open. */
export interface WaveGate {
  readonly wave: number;
  /** Jobs the manifests declare in this wave (a job set waiting for the catalog import counts as one). */
  readonly declared: number;
  /** Members with a live job (not DELETING). */
  readonly created: number;
  /** Members whose job has completed its first replication run (`hasReplicated`). */
  readonly replicated: number;
  /** Members whose job failed (FAILED, FAILING, PAUSED_ON_FAILURE, or a FAILED latest run). */
  readonly failed: number;
  /** Its creates may run: every earlier wave has replicated. */
  readonly open: boolean;
  /** When closed: the earliest earlier wave that has not replicated. */
  readonly waitingFor?: number;
  /** `--max-wave` holds this wave. */
  readonly heldByMaxWave: boolean;
}

/** Whether the change is held (see the module doc): the one predicate apply and the controller use. */
export function isHeld(c: Change): boolean {
  return c.gatedBy !== undefined;
}

/**
 * Whether a member of an earlier wave no longer keeps a gate closed: its job has completed its
 * first replication run (it has an AMI, or it is a one-time job that COMPLETED), or the server was
 * retired (`migrated`: cut over, its job deleted, its AMIs kept; issue 25). The one place this is
 * decided.
 */
export function hasReplicated(job: ReplicationJobInfo | undefined, migrated = false): boolean {
  if (migrated) return true;
  return job !== undefined && job.state !== 'DELETING' && job.state !== 'DELETED' && (job.latestAmiId !== undefined || job.state === 'COMPLETED');
}

function hasFailed(job: ReplicationJobInfo): boolean {
  return job.state === 'FAILED' || job.state === 'FAILING' || job.state === 'PAUSED_ON_FAILURE' || job.replicationRunList[0]?.state === 'FAILED';
}

/** Where a member stands (when it has not replicated), from its change in this plan and its live job. */
function memberOf(w: WantedJob, change: Change | undefined, job: ReplicationJobInfo | undefined): WaveMember {
  const who = { address: w.address, ...(w.serverId === undefined ? {} : { serverId: w.serverId }), ...(w.server?.vmServer.vmName === undefined ? {} : { serverName: w.server.vmServer.vmName }) };
  if (change?.action === 'replace') return { ...who, replicationJobId: change.replicationJobId, state: 'replacing' };
  if (job === undefined || change?.action === 'create') return { ...who, state: 'no-job' };
  const id = { ...who, replicationJobId: job.replicationJobId };
  if (job.state === 'DELETING') return { ...id, state: 'deleting' };
  const run = job.replicationRunList[0];
  if (hasFailed(job)) return { ...id, state: 'failed', message: (run?.state === 'FAILED' ? run.statusMessage : undefined) ?? job.statusMessage ?? job.state ?? 'failed' };
  if (run?.state === 'ACTIVE') {
    const stage = [run.stageDetails?.stage, run.stageDetails?.stageProgress].filter((s) => s !== undefined).join(' ');
    return { ...id, state: 'running', ...(stage === '' ? {} : { progress: stage }) };
  }
  return { ...id, state: 'pending' };
}

interface WaveTally {
  declared: number;
  created: number;
  replicated: number;
  failed: number;
  /** The first MEMBERS_SHOWN members not replicated, in address order (only these are described: O(1) per wave). */
  readonly waiting: WaveMember[];
}

function newTally(): WaveTally {
  return { declared: 0, created: 0, replicated: 0, failed: 0, waiting: [] };
}

export interface WavePlan {
  /** The changes, the held ones with `gatedBy` (every change of a job in a wave has its `wave` from diff-jobs.ts). */
  readonly changes: Change[];
  /** The declared waves in ascending order; empty when no manifest declares a wave. */
  readonly waves: WaveGate[];
}

/** The job a wanted address keeps: its live job, unless this plan makes it a new one. */
function liveJobOf(w: WantedJob, observed: ObservedSet): ReplicationJobInfo | undefined {
  return w.serverId === undefined || w.deferred ? undefined : observed.jobByServer.get(w.serverId);
}

/** Counts each wave's members (see WaveGate) from the wanted jobs, this plan's changes and the live jobs. */
function tallyWaves(wanted: readonly WantedJob[], changeOf: ReadonlyMap<Address, Change>, observed: ObservedSet, migrated: ReadonlySet<Address>): Map<number, WaveTally> {
  const tallies = new Map<number, WaveTally>();
  for (const w of wanted) {
    if (w.wave === undefined) continue;
    let t = tallies.get(w.wave);
    if (t === undefined) tallies.set(w.wave, (t = newTally()));
    t.declared += 1;
    const change = changeOf.get(w.address);
    const renewed = change?.action === 'create' || change?.action === 'replace';
    const job = renewed ? undefined : liveJobOf(w, observed);
    if (job !== undefined && job.state !== 'DELETING') t.created += 1;
    if (job !== undefined && hasFailed(job)) t.failed += 1;
    if (hasReplicated(job, migrated.has(w.address))) t.replicated += 1;
    else if (t.waiting.length < MEMBERS_SHOWN) t.waiting.push(memberOf(w, change, job));
  }
  return tallies;
}

/**
 * Each wave's gate, and the plan's changes with their waves and holds (see the module doc).
 * `maxWave`: `--max-wave`; `migrated`: the addresses of retired servers (cutover.ts). O(wanted + changes).
 */
export function gateWaves(wanted: readonly WantedJob[], changes: readonly Change[], observed: ObservedSet, maxWave: number | undefined, migrated: ReadonlySet<Address> = new Set()): WavePlan {
  if (!wanted.some((w) => w.wave !== undefined)) return { changes: [...changes], waves: [] };
  const changeOf = new Map<Address, Change>();
  for (const c of changes) if ((c.action === 'create' || c.action === 'replace') && !changeOf.has(c.address)) changeOf.set(c.address, c);
  const tallies = tallyWaves(wanted, changeOf, observed, migrated);
  const order = [...tallies.keys()].sort((a, b) => a - b);
  const waves: WaveGate[] = [];
  const waits = new Map<number, WaveWait>();
  let blocking: number | undefined;
  for (const wave of order) {
    const t = tallies.get(wave) ?? newTally();
    const heldByMaxWave = maxWave !== undefined && wave > maxWave;
    waves.push({ wave, declared: t.declared, created: t.created, replicated: t.replicated, failed: t.failed, open: blocking === undefined, ...(blocking === undefined ? {} : { waitingFor: blocking }), heldByMaxWave });
    if (blocking !== undefined) {
      const b = tallies.get(blocking) ?? newTally();
      waits.set(wave, { wave: blocking, replicated: b.replicated, total: b.declared, members: b.waiting });
    }
    if (blocking === undefined && t.replicated < t.declared) blocking = wave;
  }
  // Each change of a wanted job already carries its wave (diff-jobs.ts): only held ones are copied.
  const out = changes.map((c): Change => {
    if (c.wave === undefined) return c;
    const gatedBy = holdOf(c, c.wave, maxWave, waits.get(c.wave));
    return gatedBy === undefined ? c : { ...c, gatedBy };
  });
  return { changes: out, waves };
}

/** Why a change of a job of `wave` is held, or undefined when it may run now. */
function holdOf(c: Change, wave: number, maxWave: number | undefined, wait: WaveWait | undefined): Hold | undefined {
  if (c.action === 'no-op') return undefined;
  if (maxWave !== undefined && wave > maxWave) return { kind: 'max-wave', maxWave };
  if (c.action === 'create' && wait !== undefined) return { kind: 'wave', wave, waitingFor: wait };
  return undefined;
}

/** The changes that may run now: effective and not held. */
export function runnable(changes: readonly Change[]): Change[] {
  return changes.filter((c) => c.action !== 'no-op' && !isHeld(c));
}

/** The server name of a member, or its address. */
export function memberName(m: WaveMember): string {
  return m.serverName ?? m.address;
}

/** `k-app-02 running, Uploading 64%`, `k-app-03 failed: <message>`, `k-db-03 has no job`. */
export function describeMember(m: WaveMember): string {
  const name = memberName(m);
  switch (m.state) {
    case 'no-job':
      return `${name} has no job yet`;
    case 'replacing':
      return `${name} is being replaced`;
    case 'deleting':
      return `${name} is being deleted`;
    case 'pending':
      return `${name} pending`;
    case 'running':
      return m.progress === undefined ? `${name} running` : `${name} running, ${m.progress}`;
    case 'failed':
      return `${name} failed: ${m.message ?? 'failed'}`;
  }
}

/** The wave the held creates wait for first (the earliest), or undefined when no create waits for a wave. */
export function blockingWave(changes: readonly Change[]): number | undefined {
  let out: number | undefined;
  for (const c of changes) {
    if (c.gatedBy?.kind === 'wave' && (out === undefined || c.gatedBy.waitingFor.wave < out)) out = c.gatedBy.waitingFor.wave;
  }
  return out;
}

/**
 * The members of a wave as a plan knows them: those with a live job (every change of a job the
 * address keeps names it, no-op included), and those the plan still has to create.
 */
export function waveJobs(changes: readonly Change[], wave: number): { readonly jobs: { address: Address; replicationJobId: string }[]; readonly withoutJob: Address[] } {
  const jobs: { address: Address; replicationJobId: string }[] = [];
  const withoutJob: Address[] = [];
  const seen = new Set<Address>();
  for (const c of changes) {
    if (c.wave !== wave || seen.has(c.address)) continue;
    if (c.action === 'create' || c.action === 'replace') {
      seen.add(c.address);
      withoutJob.push(c.address);
    } else if (c.action !== 'delete' && 'replicationJobId' in c && c.replicationJobId !== undefined) {
      seen.add(c.address);
      jobs.push({ address: c.address, replicationJobId: c.replicationJobId });
    }
  }
  return { jobs, withoutJob };
}
