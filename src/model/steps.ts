/**
 * Work done in steps: a generator that yields between two steps, so that a caller with other work
 * on its thread (a plan paging through the SMS listings) can let that work run. Pure.
 */
export type Steps<T> = Generator<void, T>;

/** Runs every step at once (where nothing else waits: a worker thread, a test, a small input). */
export function drain<T>(steps: Steps<T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done === true) return step.value;
  }
}
