/**
 * A manual clock for the StateTimers port: time moves only when a test says so, and timers fire
 * in due order as it moves. Tests never sleep for real.
 */
import type { StateTimers } from '../../src/state/store.ts';

interface Pending {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
}

export const T0 = Date.parse('2026-03-01T12:00:00.000Z');

export class ManualTimers implements StateTimers {
  #now: number;
  #seq = 0;
  #pending: Pending[] = [];
  #onSchedule: (() => void)[] = [];
  /** How many timers have fired so far. */
  fired = 0;

  constructor(start: number = T0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  schedule(ms: number, fn: () => void): () => void {
    const entry: Pending = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn };
    this.#pending.push(entry);
    const waiters = this.#onSchedule;
    this.#onSchedule = [];
    for (const w of waiters) w();
    return () => {
      this.#pending = this.#pending.filter((p) => p !== entry);
    };
  }

  get pendingCount(): number {
    return this.#pending.length;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      const next = this.#earliest();
      if (!next || next.at > target) break;
      this.#fire(next);
    }
    this.#now = target;
  }

  /** Moves time to the earliest pending timer and fires it; false when none is pending. */
  fireNext(): boolean {
    const next = this.#earliest();
    if (!next) return false;
    this.#fire(next);
    return true;
  }

  /** Resolves as soon as at least one timer is pending. */
  whenScheduled(): Promise<void> {
    if (this.#pending.length > 0) return Promise.resolve();
    return new Promise((resolve) => this.#onSchedule.push(resolve));
  }

  #earliest(): Pending | undefined {
    let best: Pending | undefined;
    for (const p of this.#pending) if (!best || p.at < best.at || (p.at === best.at && p.seq < best.seq)) best = p;
    return best;
  }

  #fire(entry: Pending): void {
    this.#pending = this.#pending.filter((p) => p !== entry);
    this.#now = Math.max(this.#now, entry.at);
    this.fired++;
    entry.fn();
  }
}

/**
 * Waits for `promise` while firing `timers`' timers one by one whenever the code under test is
 * blocked on one: a lock wait of minutes completes in milliseconds of real time.
 */
export async function driveUntilSettled<T>(timers: ManualTimers, promise: Promise<T>): Promise<T> {
  let settled = false;
  const done = promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  for (let i = 0; i < 10_000 && !settled; i++) {
    await Promise.race([timers.whenScheduled(), done]);
    if (settled) break;
    timers.fireNext();
  }
  return promise;
}

/** Polls `check` (on real time, briefly) until it holds; for effects of fire-and-forget work. */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
