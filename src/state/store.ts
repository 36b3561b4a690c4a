/**
 * The StateStore port: where the executor, recovery, plan and the state commands read and write
 * the state. Implemented by the memory store (tests), the file store (default) and, later, the
 * PostgreSQL store; all of them pass test/contract/state-store.contract.ts.
 *
 * Invariants every implementation keeps:
 * 1. Durability before return. A write resolves only once its change is durable (fsynced or
 *    committed). A caller that saw `appendIntent` resolve may call the API; one that saw
 *    `appendResult` resolve may forget the call.
 * 2. Atomic changes. Each write is one change: all of it is visible, or none of it (a crash before
 *    it is durable loses the whole change, never part of it). A result resolves its intent and
 *    applies its resource writes together.
 * 3. Serial. Every committed change bumps `serial` by exactly one. No two changes ever commit with
 *    the same serial, even from two processes: writes require the lock, and a store refuses to
 *    write once its lock was lost (released, force-unlocked, or taken over after its lease ran out).
 * 4. Lineage. Fixed by `initialize`; only `replace(..., {force: true})` may change it.
 * 5. Locks are exclusive leases. At most one holder at a time per location. A held lock is renewed
 *    by a heartbeat (every third of the lease); a lease that ran out, or whose holder is a dead
 *    process on this host, may be taken over. Locks are not re-entrant.
 * 6. Cost. A write costs O(size of the change), not O(size of the state) (amortized: the file and
 *    memory stores compact once their journal outgrows its snapshot). Reads and lock acquisition may
 *    cost O(state).
 * 7. Reads need no lock and see the last committed change visible at the location. A lock holder
 *    reads its own writes.
 */
import type {
  IntentInput,
  IntentOutcome,
  PendingIntent,
  ResourceWrite,
  StateDocument,
  StateHead,
  TargetIdentity,
} from './codec.ts';

/** Time and timers, injectable so tests never sleep for real. */
export interface StateTimers {
  /** Epoch milliseconds. */
  now(): number;
  /**
   * Calls `fn` once after `ms` milliseconds; returns a function that cancels the call. Timers
   * never keep the process alive.
   */
  schedule(ms: number, fn: () => void): () => void;
}

/** Who holds a lock. */
export interface LockHolder {
  readonly host: string;
  readonly pid: number;
}

/** The lock record, as stored and as shown to users. */
export interface LockInfo {
  /** Unique per acquisition (uuid); what `force-unlock` takes. */
  readonly id: string;
  readonly holder: LockHolder;
  /** What the holder is doing: 'apply', 'state rm', ... */
  readonly operation: string;
  /** RFC 3339. */
  readonly created: string;
  /** RFC 3339: the lease runs out then unless renewed. */
  readonly expires: string;
}

export interface LockRequest {
  /** What the lock is for, shown to anyone who finds it busy. */
  readonly operation: string;
  /** How long to wait for a busy lock, with jittered backoff. 0 (default): fail at once. */
  readonly timeoutMs?: number;
}

/** A held lock. Pass it to every write; the store checks it is still held. */
export interface StateLock {
  /** The current record (its `expires` moves on each renewal). */
  readonly info: LockInfo;
  /** False once released or known lost. */
  readonly held: boolean;
  /** Extends the lease now (the heartbeat does this by itself). Fails with `state-lock-lost` if it was taken. */
  renew(): Promise<void>;
  /**
   * Releases the lock (the file and memory stores first compact their journal). Idempotent.
   * Resolves even if the lock was already lost.
   */
  release(): Promise<void>;
}

/**
 * Runs `body` under the state lock, released afterwards whatever happens (the file and memory
 * stores compact their journal then).
 */
export async function underLock<T>(store: StateStore, request: LockRequest, body: (lock: StateLock) => Promise<T>): Promise<T> {
  const lock = await store.lock(request);
  try {
    return await body(lock);
  } finally {
    await lock.release();
  }
}

/** What a write committed. */
export interface CommitInfo {
  /** The serial after the change. */
  readonly serial: number;
}

export interface ReplaceOptions {
  /** Accept another lineage and a serial that is not newer (`state push --force`). */
  readonly force?: boolean;
}

export interface StateStore {
  /** Where the state lives, fit for messages (a path; a URL without password). */
  readonly location: string;

  /** The whole state, or undefined when none was initialized. A copy: changing it changes nothing. */
  read(): Promise<StateDocument | undefined>;
  /** Lineage and serial only (plan staleness checks), or undefined when there is no state. */
  head(): Promise<StateHead | undefined>;
  /** Intents recorded without a result yet, in serial order (recovery runs these first). */
  pendingIntents(): Promise<readonly PendingIntent[]>;
  /** The current lock record, if any (expired or not). */
  lockInfo(): Promise<LockInfo | undefined>;

  /**
   * Takes the lock. A busy lock is waited for up to `timeoutMs`, then refused with `state-locked`
   * naming the holder, the operation and its age. An expired lease, or a lock of a dead process on
   * this host, is taken over at once.
   */
  lock(request: LockRequest): Promise<StateLock>;

  /** Creates an empty state with a new lineage and serial 0. Refuses (`state-exists`) if there is one. */
  initialize(lock: StateLock, target: TargetIdentity): Promise<StateDocument>;
  /**
   * Records an intent (the store assigns its id) before the API mutation it announces. Durable on
   * return. Bumps the serial.
   */
  appendIntent(lock: StateLock, intent: IntentInput): Promise<PendingIntent>;
  /**
   * Records the outcome of a pending intent and applies `writes` (record null = remove), as one
   * change. Refuses (`state-unknown-intent`) an id that is not pending. Bumps the serial.
   */
  appendResult(lock: StateLock, intentId: string, outcome: IntentOutcome, writes: readonly ResourceWrite[]): Promise<CommitInfo>;
  /** Applies resource writes without an API call (state rm, moves, import), as one change. */
  writeResources(lock: StateLock, writes: readonly ResourceWrite[], reason?: string): Promise<CommitInfo>;
  /**
   * Replaces the whole state (`state push`, `state migrate`). Refuses another lineage
   * (`state-lineage-mismatch`) and a serial not above the current one (`state-serial-not-newer`)
   * unless forced. Keeps the pushed serial, except that within one lineage the serial never goes
   * down: a forced push of an older serial commits as current + 1. Where no state exists, the
   * document is stored as it is.
   */
  replace(lock: StateLock, document: StateDocument, options?: ReplaceOptions): Promise<CommitInfo>;
  /**
   * Removes the lock whose id is `lockId`, whoever holds it. Refuses another id
   * (`state-lock-id-mismatch`) and a missing lock (`state-not-locked`). Returns the removed record.
   */
  forceUnlock(lockId: string): Promise<LockInfo>;

  /** Releases a lock this instance holds, stops its timers and frees its resources. */
  close(): Promise<void>;
}

/** Options every store takes. */
export interface StateStoreOptions {
  /** Default: the system clock. */
  readonly timers?: StateTimers;
  /** Who this process is. Default: this host name and process id. */
  readonly holder?: LockHolder;
  /** Lock lease. Default 30 s; renewed every third of it. */
  readonly leaseMs?: number;
}

export type { IntentInput, IntentOutcome, PendingIntent, ResourceWrite, StateDocument, StateHead, TargetIdentity };
