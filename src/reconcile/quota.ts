import type { ReplicationJobInfo } from '../sms/api.ts';
import { isDeferred, type Change } from './change.ts';
import type { ObservedSet } from './observed.ts';

/**
 * The account's concurrent-job limit, as the service applies it, and the plan's part in keeping
 * to it. Pure.
 *
 * SMS counts every job that is neither DELETED nor terminated (FAILED, COMPLETED): a DELETING job
 * still holds its slot until it is DELETED (src/server/BEHAVIOR.md, CreateReplicationJob).
 *
 * The quota is a planning constraint (issue 25): a plan creates at most the free slots (the limit
 * minus the jobs holding one), plus the slots this apply's retires free (a retire waits for
 * DELETED in the delete phase, before any create: action.ts), in wave order then manifest order.
 * Every other create is held (`{ kind: 'quota' }`, waves.ts): pending, never attempted. A replace
 * of a job that holds a slot needs none (its delete frees the slot its create takes); a plain
 * delete does not wait for DELETED, so the slot it frees counts only for the next plan.
 */

/** The service's default limit (raisable through AWS Support). */
export const DEFAULT_MAX_CONCURRENT_JOBS = 50;

/** The account's slots as a plan saw them. */
export interface QuotaView {
  /** `--max-concurrent-jobs`. */
  readonly limit: number;
  /** Jobs holding a slot (`liveJobCount`). */
  readonly inUse: number;
}

/** Whether a job holds one of the account's concurrent-job slots. */
export function holdsSlot(job: Pick<ReplicationJobInfo, 'state'>): boolean {
  return job.state !== 'DELETED' && job.state !== 'FAILED' && job.state !== 'COMPLETED';
}

/** How many jobs hold a slot, counted as the service counts them. */
export function liveJobCount(jobs: Iterable<Pick<ReplicationJobInfo, 'state'>>): number {
  let n = 0;
  for (const j of jobs) if (holdsSlot(j)) n += 1;
  return n;
}

/** The slots free now: the limit minus the jobs holding one (never below 0). */
export function freeSlots(q: QuotaView): number {
  return Math.max(0, q.limit - q.inUse);
}

/** Whether carrying out the change takes a new slot: a create, or a replace of a job that holds none. */
export function takesSlot(c: Change, observed: ObservedSet): boolean {
  if (c.action === 'create') return !isDeferred(c);
  if (c.action !== 'replace') return false;
  const old = observed.jobs.get(c.replicationJobId);
  return old === undefined || !holdsSlot(old);
}

/** Whether carrying out the change frees a slot before this apply's creates: a retire of a job that holds one. */
function freesSlot(c: Change, observed: ObservedSet): boolean {
  if (c.action !== 'retire' || c.gatedBy !== undefined || c.blocked !== undefined || c.replicationJobId === undefined) return false;
  const job = observed.jobs.get(c.replicationJobId);
  return job !== undefined && holdsSlot(job);
}

export interface QuotaPlan {
  /** The changes in the same order, the creates past the slots held (`{ kind: 'quota' }`). */
  readonly changes: Change[];
  readonly quota: QuotaView;
  /** The slots this apply's retires free (their creates run once the retires reach DELETED). */
  readonly freedByRetires: number;
}

/**
 * Holds the creates (and slot-taking replaces) past the slots this apply has: the free ones plus
 * those its retires free. Those that get a slot are taken in wave order (no wave first), then in
 * the order given (manifest order). Changes held already (waves) take none. O(changes log changes).
 */
export function holdForQuota(changes: readonly Change[], observed: ObservedSet, limit: number): QuotaPlan {
  const quota: QuotaView = { limit, inUse: liveJobCount(observed.allJobs) };
  const freedByRetires = changes.filter((c) => freesSlot(c, observed)).length;
  const candidates = changes
    .map((c, i) => ({ c, i }))
    .filter(({ c }) => c.gatedBy === undefined && takesSlot(c, observed))
    .sort((a, b) => (a.c.wave ?? 0) - (b.c.wave ?? 0) || a.i - b.i);
  const free = freeSlots(quota);
  const afterRetire = new Set(candidates.slice(free, free + freedByRetires).map(({ c }) => c));
  const held = new Set(candidates.slice(free + freedByRetires).map(({ c }) => c));
  if (held.size === 0 && afterRetire.size === 0) return { changes: [...changes], quota, freedByRetires };
  const gatedBy = { kind: 'quota', inUse: quota.inUse, limit } as const;
  const marked = changes.map((c): Change => (held.has(c) ? { ...c, gatedBy } : afterRetire.has(c) && c.action === 'create' ? { ...c, slotFromRetire: true } : c));
  return { changes: marked, quota, freedByRetires };
}
