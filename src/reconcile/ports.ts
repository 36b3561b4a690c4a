import type { SmsApi } from '../sms/api.ts';
import type { PendingIntent } from '../state/codec.ts';
import type { StateLock, StateStore } from '../state/store.ts';
import type { Change } from './change.ts';

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
  /** The job has completed its first replication run (or ended). */
  readonly settled: boolean;
}

export type ApplyPhase = 'recovery' | 'catalog' | 'disassociate' | 'delete' | 'create' | 'wait';

export type ApplyEvent =
  | { readonly type: 'phase'; readonly phase: ApplyPhase; readonly count: number }
  | { readonly type: 'recovered'; readonly intent: PendingIntent; readonly happened: boolean; readonly note: string }
  | { readonly type: 'start'; readonly change: Change; readonly operation: string }
  | { readonly type: 'done'; readonly change: Change; readonly operation: string; readonly replicationJobId?: string; readonly ms: number }
  | { readonly type: 'failed'; readonly change: Change; readonly operation: string; readonly error: Error }
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
