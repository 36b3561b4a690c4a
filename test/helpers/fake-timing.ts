import type { Timing } from '../../src/sms/retry.ts';

export interface FakeTimingOptions {
  /** The clock's first reading, ms (default 0). */
  readonly start?: number;
  /** What `random()` returns, in turn and over again (default [0.5]). */
  readonly randoms?: readonly number[];
  /** Awaited after each sleep has been recorded and has moved the clock, with the number of sleeps so far. */
  readonly onSleep?: (n: number) => Promise<void>;
}

export interface FakeTiming {
  readonly timing: Timing;
  /** Every delay slept, in order. */
  readonly sleeps: number[];
  /** Moves the clock without a sleep; returns the new time. */
  advance(ms: number): number;
  now(): number;
}

/** Time that moves only when someone sleeps (or the test says so): the sleeps are recorded. */
export function fakeTiming(opts: FakeTimingOptions = {}): FakeTiming {
  const randoms = opts.randoms ?? [0.5];
  let t = opts.start ?? 0;
  let i = 0;
  const sleeps: number[] = [];
  const timing: Timing = {
    now: () => t,
    sleep: async (ms) => {
      sleeps.push(ms);
      t += ms;
      if (opts.onSleep) await opts.onSleep(sleeps.length);
    },
    random: () => randoms[i++ % randoms.length] ?? 0.5,
  };
  return { timing, sleeps, advance: (ms: number) => (t += ms), now: () => t };
}
