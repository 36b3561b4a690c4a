import type { ReplicationJobInfo } from '../sms/api.ts';

/**
 * The account's concurrent-job limit, as the service applies it. Pure.
 *
 * SMS counts every job that is neither DELETED nor terminated (FAILED, COMPLETED): a DELETING job
 * still holds its slot until it is DELETED (src/server/BEHAVIOR.md, CreateReplicationJob).
 */

/** The service's default limit (raisable through AWS Support). */
export const DEFAULT_MAX_CONCURRENT_JOBS = 50;

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
