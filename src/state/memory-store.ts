/**
 * The in-memory StateStore: the same semantics as the file store (contract suite), for tests and
 * for runs that need no persistence. A `MemoryStateLocation` plays the part of a file or a
 * database: several store instances opened on one location behave like several processes (their
 * locks exclude each other, each sees the others' commits).
 *
 * Invariants: every change is applied whole or not at all (checked before it is applied); objects
 * passed in or handed out are copies, so callers can never change the state behind the store.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  applyChange,
  intentChange,
  resultChange,
  writeChange,
  checkChange,
  emptyState,
  toStateDocument,
  toWorkingState,
  validateStateDocument,
  type IntentInput,
  type IntentOutcome,
  type PendingIntent,
  type ResourceWrite,
  type StateChange,
  type StateDocument,
  type StateHead,
  type TargetIdentity,
  type WorkingState,
} from './codec.ts';
import {
  DEFAULT_LEASE_MS,
  LeasedLock,
  Mutex,
  acquireWithBackoff,
  localHolder,
  ownLock,
  staleBecause,
  systemTimers,
} from './lease.ts';
import { checkReplace, lockIdMismatch, missingState, notLocked, stateExists } from './store-rules.ts';
import type { CommitInfo, LockHolder, LockInfo, LockRequest, ReplaceOptions, StateLock, StateStore, StateStoreOptions, StateTimers } from './store.ts';

/** Where a memory state lives. Share one between store instances to model several processes. */
export class MemoryStateLocation {
  state: WorkingState | undefined = undefined;
  lock: LockInfo | undefined = undefined;
  constructor(readonly name = 'memory') {}
}

export class MemoryStateStore implements StateStore {
  readonly location: string;
  readonly #place: MemoryStateLocation;
  readonly #timers: StateTimers;
  readonly #holder: LockHolder;
  readonly #leaseMs: number;
  readonly #localHost = hostname();
  readonly #issued = new WeakSet<StateLock>();
  readonly #mutex = new Mutex();
  #held: LeasedLock | undefined;

  constructor(place: MemoryStateLocation = new MemoryStateLocation(), options: StateStoreOptions = {}) {
    this.#place = place;
    this.location = `memory:${place.name}`;
    this.#timers = options.timers ?? systemTimers;
    this.#holder = options.holder ?? localHolder();
    this.#leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  }

  async read(): Promise<StateDocument | undefined> {
    const state = this.#place.state;
    return state ? toStateDocument(state) : undefined;
  }

  async head(): Promise<StateHead | undefined> {
    const state = this.#place.state;
    return state ? { lineage: state.lineage, serial: state.serial } : undefined;
  }

  async pendingIntents(): Promise<readonly PendingIntent[]> {
    const state = this.#place.state;
    return state ? structuredClone([...state.pending.values()]) : [];
  }

  async lockInfo(): Promise<LockInfo | undefined> {
    return this.#place.lock && structuredClone(this.#place.lock);
  }

  async lock(request: LockRequest): Promise<StateLock> {
    const place = this.#place;
    const info = await acquireWithBackoff<LockInfo>(
      async () => {
        const now = this.#timers.now();
        const current = place.lock;
        if (current && staleBecause(current, now, this.#localHost) === undefined) return { busy: structuredClone(current) };
        const fresh: LockInfo = {
          id: randomUUID(),
          holder: { ...this.#holder },
          operation: request.operation,
          created: new Date(now).toISOString(),
          expires: new Date(now + this.#leaseMs).toISOString(),
        };
        place.lock = fresh;
        return { acquired: fresh };
      },
      { timers: this.#timers, timeoutMs: request.timeoutMs ?? 0, location: this.location },
    );
    const lock = new LeasedLock(
      info,
      {
        renew: async (mine, expires) => {
          if (place.lock?.id !== mine.id) return false;
          place.lock = { ...place.lock, expires };
          return true;
        },
        verify: async (mine) => place.lock?.id === mine.id,
        release: async (mine) => {
          if (place.lock?.id === mine.id) place.lock = undefined;
        },
      },
      { timers: this.#timers, leaseMs: this.#leaseMs, location: this.location },
    );
    this.#issued.add(lock);
    this.#held = lock;
    return lock;
  }

  /** Runs one change: lock checked, change built from the current state, checked, applied. */
  #commit<T>(lock: StateLock, build: (state: WorkingState, serial: number, at: string) => { change: StateChange; value: T }): Promise<T> {
    return this.#mutex.run(async () => {
      await ownLock(lock, this.#issued, this.location).assertWritable();
      const state = this.#place.state;
      if (!state) throw missingState(this.location);
      const { change, value } = build(state, state.serial + 1, new Date(this.#timers.now()).toISOString());
      const copy = structuredClone(change);
      checkChange(state, copy);
      applyChange(state, copy);
      return value;
    });
  }

  initialize(lock: StateLock, target: TargetIdentity): Promise<StateDocument> {
    return this.#mutex.run(async () => {
      await ownLock(lock, this.#issued, this.location).assertWritable();
      if (this.#place.state) throw stateExists(this.location);
      const doc = emptyState(randomUUID(), target);
      this.#place.state = toWorkingState(doc);
      return structuredClone(doc);
    });
  }

  appendIntent(lock: StateLock, input: IntentInput): Promise<PendingIntent> {
    return this.#commit(lock, (_state, serial, at) => {
      const change = intentChange(input, serial, at, lock.info.id, randomUUID());
      return { change, value: change.intent };
    });
  }

  appendResult(lock: StateLock, intentId: string, outcome: IntentOutcome, writes: readonly ResourceWrite[]): Promise<CommitInfo> {
    return this.#commit(lock, (_state, serial, at) => ({ change: resultChange(intentId, outcome, writes, serial, at), value: { serial } }));
  }

  writeResources(lock: StateLock, writes: readonly ResourceWrite[], reason?: string): Promise<CommitInfo> {
    return this.#commit(lock, (_state, serial, at) => ({ change: writeChange(writes, reason, serial, at), value: { serial } }));
  }

  replace(lock: StateLock, document: StateDocument, options: ReplaceOptions = {}): Promise<CommitInfo> {
    return this.#mutex.run(async () => {
      await ownLock(lock, this.#issued, this.location).assertWritable();
      const incoming = validateStateDocument(structuredClone(document), 'the pushed state');
      const current = this.#place.state;
      const serial = checkReplace(current && { lineage: current.lineage, serial: current.serial }, incoming, options, this.location);
      this.#place.state = toWorkingState({ ...incoming, serial });
      return { serial };
    });
  }

  async forceUnlock(lockId: string): Promise<LockInfo> {
    const current = this.#place.lock;
    if (!current) throw notLocked(this.location);
    if (current.id !== lockId) throw lockIdMismatch(current, lockId, this.location);
    this.#place.lock = undefined;
    return structuredClone(current);
  }

  async close(): Promise<void> {
    await this.#held?.release();
    this.#held = undefined;
  }
}
