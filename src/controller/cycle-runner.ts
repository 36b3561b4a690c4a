/**
 * What the loop runs each cycle: with --git-url, fetch the checkout first and read the manifests
 * there (a failed fetch keeps the last good revision; with none yet the cycle fails); then runCycle.
 */
import type { ErrorCode } from '../model/codes.ts';
import type { CommandContext } from '../cli/context.ts';
import { systemClock } from '../reconcile/ports.ts';
import { runCycle, type CycleDeps, type CycleOutcome } from './cycle.ts';
import type { GitSource } from './source.ts';
import { ioMessage } from '../model/messages.ts';
import { logMessage } from '../report/log-message.ts';

/** runCycle's dependencies but the per-cycle ones (the stop flag, the revision), plus the git source. */
export interface CycleRunnerDeps extends Omit<CycleDeps, 'stop' | 'revision'> {
  readonly git: GitSource | undefined;
}

/** A cycle that failed before it began: git has no revision to read. */
export function fetchFailedOutcome(error: string | undefined): CycleOutcome {
  const now = systemClock.now();
  return {
    result: 'failed', startedAt: new Date(now).toISOString(), durationMs: 0, revision: undefined,
    changes: { planned: 0, applied: 0, pending: 0 }, errors: [{ code: 'git-fetch-failed' satisfies ErrorCode, message: error ?? 'git fetch failed' }],
    drift: [], driftOpen: 0, pending: [], jobs: [], jobStates: {}, jobsExpiring: { '15d': 0, '7d': 0 }, waves: [],
  };
}

/** The loop's runCycle: (git fetch, then) one cycle over the manifests. */
export function cycleRunner(deps: CycleRunnerDeps): (stop: { requested: boolean }) => Promise<CycleOutcome> {
  const { git, ctx, logger, ...rest } = deps;
  return async (stop) => {
    let revision: string | undefined;
    let cwd = ctx.io.cwd;
    if (git) {
      const fetched = await git.fetch();
      if (fetched.error !== undefined) logMessage(logger, ioMessage('controller.fetch-failed', 'warn', 'git fetch failed; keeping the last good revision', { error: fetched.error, revision: fetched.revision ?? null }));
      if (fetched.revision === undefined) return fetchFailedOutcome(fetched.error);
      revision = fetched.revision;
      cwd = git.opts.dir;
    }
    const cycleCtx: CommandContext = cwd === ctx.io.cwd ? ctx : { ...ctx, io: { ...ctx.io, cwd } };
    return runCycle({ ...rest, ctx: cycleCtx, logger, stop, revision });
  };
}
