/**
 * A full garbage collection after each cycle. A cycle allocates in proportion to the estate (the
 * listings, the plan) and keeps little: the live heap after a cycle stays flat (16 to 17 MB after
 * 10 and after 200 cycles at 1,000 jobs, bench/heap-diff.ts). Left to its heuristics, V8 keeps the
 * capacity those allocations grew the heap to, and more of it the faster cycles come, so RSS
 * climbed by a third over 200 back-to-back cycles with nothing leaking. One full collection once a
 * cycle is done hands the capacity back: it costs milliseconds once a cycle, when the process has
 * nothing else to do. bench/controller.ts measures both (see bench/RESULTS.md).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** V8's `gc()` without `--expose-gc` on the command line; undefined if this V8 does not give it. */
export function fullCollector(): (() => void) | undefined {
  setFlagsFromString('--expose-gc');
  const gc: unknown = runInNewContext('gc');
  if (typeof gc !== 'function') return undefined;
  return () => void (gc as () => void)();
}
