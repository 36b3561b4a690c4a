import type { SmsApi } from '../sms/api.ts';
import type { PendingIntent } from '../state/codec.ts';
import type { StateLock, StateStore } from '../state/store.ts';
import type { Address } from '../model/address.ts';
import type { Action, ApplyStage } from './action.ts';
import type { Change } from './change.ts';
import type { FailedStep } from './order.ts';

/**
 * The ports through which the executor reaches the world. The pure core never does I/O; apply.ts
 * and wait.ts do it only through these.
 */

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** One replication job's progress, for `apply --wait` and `status`. */
export interface JobProgress {
  readonly address: string;
  readonly replicationJobId: string;
  readonly jobState: string;
  readonly runState?: string;
  readonly stage?: string;
  readonly stageProgress?: string;
  readonly latestAmiId?: string;
  readonly nextRunAt?: number;
  /** Why the latest run or the job failed, when one did. */
  readonly failureReason?: string;
  /** The job has completed its first replication run (or ended). */
  readonly settled: boolean;
}

export type ApplyPhase = 'recovery' | ApplyStage | 'wait';

/**
 * A failed operation, as the report and the events give it. `outcome`: `refused` when the service
 * refused it for good (a terminal error: not retried in this run, nothing changed), `unknown` when
 * it may or may not have happened (5xx or network past the retries: its intent stays in the
 * journal), `incomplete` when no call was refused but the step did not finish (a wait or a read
 * failed).
 */
export interface OperationFailure {
  readonly address: Address;
  readonly action: Action;
  readonly operation: string;
  readonly vmName?: string;
  readonly serverId?: string;
  /** The SMS error code (ServerCannotBeReplicatedException, ...), or a registered one of ours (wait-timeout, internal, ...: model/codes.ts). */
  readonly code: string;
  readonly message: string;
  readonly outcome: 'refused' | 'unknown' | 'incomplete';
  /** What the next apply does about it: plans it again, or first checks whether it happened. */
  readonly onRerun: 'retry' | 'recover-then-retry';
}

/** A change not carried out because an operation it depends on failed. */
export interface SkippedChange {
  readonly change: Change;
  readonly because: FailedStep;
}

export type ApplyEvent =
  | { readonly type: 'phase'; readonly phase: ApplyPhase; readonly count: number }
  | { readonly type: 'recovered'; readonly intent: PendingIntent; readonly happened: boolean; readonly note: string }
  | { readonly type: 'start'; readonly change: Change; readonly operation: string }
  | { readonly type: 'done'; readonly change: Change; readonly operation: string; readonly replicationJobId?: string; readonly ms: number }
  | { readonly type: 'failed'; readonly change: Change; readonly operation: string; readonly error: Error; readonly failure: OperationFailure }
  | { readonly type: 'skipped'; readonly change: Change; readonly because: FailedStep }
  | { readonly type: 'waiting'; readonly what: string }
  | { readonly type: 'progress'; readonly jobs: readonly JobProgress[] }
  | { readonly type: 'stopping'; readonly reason: string };

export interface EventSink {
  emit(event: ApplyEvent): void;
}

export interface ApplyPorts {
  readonly api: SmsApi;
  readonly store: StateStore;
  readonly lock: StateLock;
  readonly clock: Clock;
  readonly events: EventSink;
}
