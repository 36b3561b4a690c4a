/**
 * What every store's locks share: the lease policy, the heartbeat, waiting with jittered backoff,
 * the dead-holder check and the `state-locked` error. The stores supply how to create, renew,
 * verify and release a lock record in their medium.
 */
import { hostname } from 'node:os';
import type { SmsReconcileError } from '../model/errors.ts';
import { stateError } from './errors.ts';
import type { LockHolder, LockInfo, StateLock, StateTimers } from './store.ts';

export const DEFAULT_LEASE_MS = 30_000;
/** The heartbeat renews a lease this many times per lease period. */
export const RENEWALS_PER_LEASE = 3;
/** Backoff between attempts on a busy lock: equal jitter, doubling from BASE up to CAP. */
export const LOCK_BACKOFF_BASE_MS = 100;
export const LOCK_BACKOFF_CAP_MS = 2_000;

/** The real clock. Its timers are unref'd: a held lock never keeps the process alive. */
export const systemTimers: StateTimers = {
  now: () => Date.now(),
  schedule(ms, fn) {
    const handle = setTimeout(fn, ms);
    handle.unref();
    return () => clearTimeout(handle);
  },
};

/** This process, as a lock holder. */
export function localHolder(): LockHolder {
  return { host: hostname(), pid: process.pid };
}

/**
 * Sleeps on the given timers. On the real clock the sleep keeps the process alive (the timers
 * themselves never do): a CLI waiting for a busy lock (`--lock-timeout`) has nothing else pending,
 * and would otherwise exit mid-wait (Node's exit code 13, an unsettled top-level await).
 */
export function sleep(timers: StateTimers, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const keepAlive = timers === systemTimers ? setInterval(() => undefined, 60_000) : undefined;
    timers.schedule(ms, () => {
      clearInterval(keepAlive);
      resolve();
    });
  });
}

/** Whether a process with this pid exists on this host (EPERM: it exists, as another user). */
export function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Why a lock record may be taken over without waiting, or undefined when it is live: its lease
 * ran out (by our clock), or its holder is a process of this host that no longer exists.
 */
export function staleBecause(info: LockInfo, now: number, localHost: string): string | undefined {
  const expires = Date.parse(info.expires);
  if (!Number.isFinite(expires) || expires <= now) return `its lease expired at ${info.expires}`;
  if (info.holder.host === localHost && !pidAlive(info.holder.pid)) return `its holder, process ${info.holder.pid} on this host, is gone`;
  return undefined;
}

/** "3m12s"-style age. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  return `${h}h${String(m % 60).padStart(2, '0')}m`;
}

/** Names a holder, its operation and the lock's age. */
export function describeLock(info: LockInfo, now: number): string {
  const age = formatAge(now - Date.parse(info.created));
  return `lock ${info.id}, held by pid ${info.holder.pid} on ${info.holder.host} for "${info.operation}" since ${info.created} (${age} ago, lease until ${info.expires})`;
}

/** The error for a busy lock: who holds it, for what, since when, and what to do. */
export function lockedError(info: LockInfo, now: number, location: string, waitedMs: number): SmsReconcileError {
  const waited = waitedMs > 0 ? ` after waiting ${formatAge(waitedMs)}` : '';
  return stateError('state-locked', `the state at ${location} is locked${waited}: ${describeLock(info, now)}`, {
    hint:
      `wait for that run to finish, or retry with --lock-timeout 5m to wait for it; if no such run is alive, ` +
      `break the lock with \`sms-reconcile force-unlock ${info.id}\``,
  });
}

/** The delay before attempt `attempt` (0-based) on a busy lock. */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(LOCK_BACKOFF_CAP_MS, LOCK_BACKOFF_BASE_MS * 2 ** Math.min(attempt, 20));
  return ceiling / 2 + random() * (ceiling / 2);
}

/** One attempt at a lock: got it, or it is busy (held by `info`). */
export type LockAttempt<T> = { readonly acquired: T } | { readonly busy: LockInfo };

/**
 * Tries `attempt` until it acquires, or until `timeoutMs` has passed, sleeping a jittered,
 * growing delay between tries; then fails with `state-locked`.
 */
export async function acquireWithBackoff<T>(
  attempt: () => Promise<LockAttempt<T>>,
  options: { readonly timers: StateTimers; readonly timeoutMs: number; readonly location: string },
): Promise<T> {
  const { timers, timeoutMs, location } = options;
  const start = timers.now();
  for (let n = 0; ; n++) {
    const result = await attempt();
    if ('acquired' in result) return result.acquired;
    const elapsed = timers.now() - start;
    const remaining = timeoutMs - elapsed;
    if (remaining <= 0) throw lockedError(result.busy, timers.now(), location, timeoutMs > 0 ? elapsed : 0);
    await sleep(timers, Math.max(1, Math.min(remaining, backoffDelay(n))));
  }
}

/** How a store maintains its lock record. */
export interface LeaseOps {
  /**
   * Extends the lease to `expires` (RFC 3339) if the record is still this lock's; returns false
   * when it is not (it was force-unlocked or taken over).
   */
  renew(info: LockInfo, expires: string): Promise<boolean>;
  /** Whether the stored record is still this lock's. Cheap: called before every write. */
  verify(info: LockInfo): Promise<boolean>;
  /** Removes the record if it is still this lock's (the store may compact first). */
  release(info: LockInfo): Promise<void>;
}

/**
 * A held lease: the StateLock every store hands out. Keeps the heartbeat running while held.
 * States: held -> released (release()) or held -> lost (a renewal or a check found the record
 * gone); both are final.
 */
export class LeasedLock implements StateLock {
  #info: LockInfo;
  #state: 'held' | 'released' | 'lost' = 'held';
  #cancelHeartbeat: (() => void) | undefined;
  readonly #ops: LeaseOps;
  readonly #timers: StateTimers;
  readonly #leaseMs: number;
  readonly #location: string;

  constructor(info: LockInfo, ops: LeaseOps, options: { timers: StateTimers; leaseMs: number; location: string }) {
    this.#info = info;
    this.#ops = ops;
    this.#timers = options.timers;
    this.#leaseMs = options.leaseMs;
    this.#location = options.location;
    this.#scheduleHeartbeat();
  }

  get info(): LockInfo {
    return this.#info;
  }

  get held(): boolean {
    return this.#state === 'held';
  }

  #scheduleHeartbeat(): void {
    this.#cancelHeartbeat = this.#timers.schedule(Math.max(1, Math.floor(this.#leaseMs / RENEWALS_PER_LEASE)), () => {
      this.#cancelHeartbeat = undefined;
      if (this.#state !== 'held') return;
      // A failed heartbeat is not fatal by itself: the next write checks (and renews) the lease.
      this.renew().then(
        () => undefined,
        () => undefined,
      );
    });
  }

  #stopHeartbeat(): void {
    this.#cancelHeartbeat?.();
    this.#cancelHeartbeat = undefined;
  }

  #lostError(): SmsReconcileError {
    return stateError('state-lock-lost', `the lock ${this.#info.id} on ${this.#location} is no longer held by this process (it was force-unlocked or taken over after its lease ran out)`, {
      hint: 'nothing more was written; run the command again to take a new lock and resume from the journal',
    });
  }

  async renew(): Promise<void> {
    if (this.#state === 'lost') throw this.#lostError();
    if (this.#state === 'released') throw stateError('state-lock-required', `the lock ${this.#info.id} was released`, { source: 'internal' });
    this.#stopHeartbeat();
    const expires = new Date(this.#timers.now() + this.#leaseMs).toISOString();
    let ours: boolean;
    try {
      ours = await this.#ops.renew(this.#info, expires);
    } catch (err) {
      if (this.#state === 'held') this.#scheduleHeartbeat();
      throw err;
    }
    if (this.#state !== 'held') return; // released meanwhile
    if (!ours) {
      this.#state = 'lost';
      throw this.#lostError();
    }
    this.#info = { ...this.#info, expires };
    this.#scheduleHeartbeat();
  }

  /**
   * Throws unless this lock may write now: held, its record still ours, its lease not run out
   * (an expired lease that nobody took is renewed first).
   */
  async assertWritable(): Promise<void> {
    if (this.#state === 'lost') throw this.#lostError();
    if (this.#state === 'released') {
      throw stateError('state-lock-required', `the lock ${this.#info.id} was released; writes need a held lock`, { source: 'internal' });
    }
    if (Date.parse(this.#info.expires) - this.#timers.now() <= this.#leaseMs / (2 * RENEWALS_PER_LEASE)) {
      await this.renew();
      return;
    }
    if (!(await this.#ops.verify(this.#info))) {
      this.#state = 'lost';
      this.#stopHeartbeat();
      throw this.#lostError();
    }
  }

  async release(): Promise<void> {
    if (this.#state !== 'held') return;
    this.#stopHeartbeat();
    this.#state = 'released';
    await this.#ops.release(this.#info);
  }

  /** Marks the lock released without touching the record (the store already removed it). */
  markReleased(): void {
    this.#stopHeartbeat();
    if (this.#state === 'held') this.#state = 'released';
  }
}

/** Refuses a lock that `issued` does not hold (another store's, or not a lock at all). */
export function ownLock(lock: StateLock, issued: WeakSet<StateLock>, location: string): LeasedLock {
  if (!(lock instanceof LeasedLock) || !issued.has(lock)) {
    throw stateError('state-lock-required', `the lock passed to the store at ${location} was not taken from it`, { source: 'internal' });
  }
  return lock;
}

/** Runs async sections one at a time, in call order. */
export class Mutex {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(section: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(section, section);
    this.#tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
