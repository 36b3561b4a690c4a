import { SmsReconcileError } from '../model/errors.ts';
import type { ReplicationJobInfo } from '../sms/api.ts';
import type { ApplyPorts, JobProgress } from './ports.ts';

/**
 * Waiting on the service: for a catalog import to finish, a deleted job to reach DELETED, created
 * jobs to complete their first replication run. Every wait polls with one bulk or one small call
 * per interval, through the injected clock, and gives up with a clear error at its timeout.
 */

export interface WaitOptions {
  readonly pollMs: number;
  readonly timeoutMs: number;
  /** Set (by a signal handler) to give up waiting at the next poll. */
  readonly stop?: { readonly requested: boolean };
}

async function poll<T>(ports: ApplyPorts, opts: WaitOptions, what: string, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = ports.clock.now() + opts.timeoutMs;
  ports.events.emit({ type: 'waiting', what });
  for (;;) {
    const done = await check();
    if (done !== undefined) return done;
    if (opts.stop?.requested) {
      throw new SmsReconcileError('wait-interrupted', `stopped waiting for ${what}`, {
        source: 'user',
        hint: 'what was applied is recorded; the jobs go on replicating (`sms-reconcile status --watch` follows them), and apply picks up anything unfinished',
      });
    }
    if (ports.clock.now() >= deadline) {
      throw new SmsReconcileError('wait-timeout', `gave up waiting ${Math.round(opts.timeoutMs / 1000)} s for ${what}`, {
        source: 'remote',
        hint: 'the service is slower than expected: run apply again later; it picks up where this one stopped',
      });
    }
    await ports.clock.sleep(opts.pollMs);
  }
}

export function waitForCatalog(ports: ApplyPorts, opts: WaitOptions): Promise<true> {
  return poll(ports, opts, 'the server catalog import to finish', async () => {
    const c = await ports.api.getServerCatalogStatus();
    if (c.status === 'AVAILABLE') return true;
    if (c.status !== 'IMPORTING') {
      throw new SmsReconcileError('catalog-import-failed', `the server catalog import ended ${c.status}`, { source: 'remote', hint: 'check the connectors (`aws sms get-connectors`) and import again' });
    }
    return undefined;
  });
}

export function waitForDeleted(ports: ApplyPorts, opts: WaitOptions, replicationJobId: string): Promise<true> {
  return poll(ports, opts, `job ${replicationJobId} to reach DELETED`, async () => {
    const j = await ports.api.getReplicationJob(replicationJobId);
    return j === undefined || j.state === 'DELETED' ? true : undefined;
  });
}

export function progressOf(address: string, j: ReplicationJobInfo | undefined, replicationJobId: string): JobProgress {
  if (!j) return { address, replicationJobId, jobState: 'GONE', settled: true };
  const run = j.replicationRunList[0];
  const ended = j.state === 'COMPLETED' || j.state === 'FAILED' || j.state === 'PAUSED_ON_FAILURE' || j.state === 'DELETED' || j.state === 'DELETING';
  const failed = run?.state === 'FAILED' || j.state === 'FAILED' || j.state === 'PAUSED_ON_FAILURE';
  return {
    address,
    replicationJobId,
    jobState: j.state ?? '?',
    runState: run?.state,
    stage: run?.stageDetails?.stage,
    stageProgress: run?.stageDetails?.stageProgress,
    latestAmiId: j.latestAmiId,
    nextRunAt: j.nextReplicationRunStartTime,
    ...(failed ? { failureReason: (run?.state === 'FAILED' ? run.statusMessage : undefined) ?? j.statusMessage ?? run?.state ?? j.state } : {}),
    settled: j.latestAmiId !== undefined || ended,
  };
}

/** Waits until every job has completed its first replication run (or ended), emitting progress. */
export function waitForFirstRuns(
  ports: ApplyPorts,
  opts: WaitOptions,
  jobs: readonly { address: string; replicationJobId: string }[],
): Promise<JobProgress[]> {
  return poll(ports, opts, `${jobs.length} job(s) to complete their first replication run`, async () => {
    const live = new Map((await ports.api.getReplicationJobs()).map((j) => [j.replicationJobId, j]));
    const progress = jobs.map((j) => progressOf(j.address, live.get(j.replicationJobId), j.replicationJobId));
    ports.events.emit({ type: 'progress', jobs: progress });
    return progress.every((p) => p.settled) ? progress : undefined;
  });
}
