/**
 * The controller's status document (GET /status, and the head of /api/dashboard), read from the
 * parts the controller has made so far: before the loop and the elector exist it is a standby
 * that has run no cycle.
 */
import type { ControllerMode, CycleOutcome } from './cycle.ts';
import type { LeaderElector } from './leader.ts';
import type { ControllerLoop } from './loop.ts';
import type { GitSource } from './source.ts';

/** What the status does not learn from the loop: fixed once the HTTP port (the identity) is known. */
export interface StatusFacts {
  readonly identity: string;
  readonly mode: ControllerMode;
  readonly allowDestroy: boolean;
  readonly git: GitSource | undefined;
  /** The -f paths (relative to the checkout with --git-url). */
  readonly files: string[];
}

/**
 * The controller's pieces as the HTTP handlers see them. They are filled in as the controller
 * starts, after the HTTP port is taken: a request may come first.
 */
export interface ControllerParts {
  facts?: StatusFacts;
  elector?: LeaderElector;
  loop?: ControllerLoop;
  /** The last cycle that read the live world (see readTheWorld). */
  lastWorld?: CycleOutcome;
}

/** Whether a cycle read the live world: not an invalid one, nor a failure before any job was read. */
export function readTheWorld(o: CycleOutcome): boolean {
  return o.result !== 'invalid' && !(o.result === 'failed' && o.jobs.length === 0);
}

/** The /status body. Before the facts are known (the controller is still starting) it throws: a 500. */
export function statusOf(parts: ControllerParts) {
  const { loop, elector, facts, lastWorld } = parts;
  if (facts === undefined) throw new Error('the controller is starting: no status yet');
  const { git } = facts;
  const s = loop?.status;
  const last = s?.lastCycle;
  return {
    leader: elector?.view.leader === true,
    holder: elector?.view.holder ?? null,
    identity: facts.identity,
    mode: facts.mode,
    allowDestroy: facts.allowDestroy,
    revision: git?.revision ?? null,
    source: git ? git.describe() : { kind: 'files', paths: facts.files },
    running: s?.running === true,
    lastCycle: last ? { result: last.result, startedAt: last.startedAt, durationMs: last.durationMs, revision: last.revision ?? null, changes: last.changes, errors: last.errors } : null,
    nextCycleAt: s?.nextCycleAt !== undefined ? new Date(s.nextCycleAt).toISOString() : null,
    consecutiveFailures: s?.consecutiveFailures ?? 0,
    drift: lastWorld?.drift ?? [],
    driftOpen: lastWorld?.driftOpen ?? 0,
    pending: lastWorld?.pending ?? [],
    jobStates: lastWorld?.jobStates ?? {},
    jobs: lastWorld?.jobs ?? [],
    /** The declared waves and their gates at the last cycle that read the live world (reconcile/waves.ts). */
    waves: lastWorld?.waves ?? [],
  };
}

/** The /status document. */
export type ControllerStatus = ReturnType<typeof statusOf>;
