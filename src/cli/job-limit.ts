import { userError } from '../model/errors.ts';
import { DEFAULT_MAX_CONCURRENT_JOBS } from '../reconcile/quota.ts';
import type { GlobalOptions } from './context.ts';

/** The environment variable that gives --max-concurrent-jobs when the flag is not given. */
export const MAX_CONCURRENT_JOBS_ENV = 'SMS_RECONCILE_MAX_CONCURRENT_JOBS';

/**
 * The account's concurrent-job limit (global --max-concurrent-jobs, else SMS_RECONCILE_MAX_CONCURRENT_JOBS,
 * else 50): a whole number of at least 1. Anything else is refused, naming where it came from.
 */
export function maxConcurrentJobs(g: Pick<GlobalOptions, 'maxConcurrentJobs'>): number {
  const given = g.maxConcurrentJobs;
  if (given === undefined) return DEFAULT_MAX_CONCURRENT_JOBS;
  const n = /^\s*\d+\s*$/.test(given.value) ? Number(given.value) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw userError(
      'bad-max-concurrent-jobs',
      `${given.from} ${JSON.stringify(given.value)} is not a whole number of at least 1`,
      `give the account's concurrent-job limit (the service's default is ${DEFAULT_MAX_CONCURRENT_JOBS}; AWS Support raises it)`,
    );
  }
  return n;
}
