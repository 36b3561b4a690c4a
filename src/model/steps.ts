/**
 * Work done in steps: a generator that yields between two steps, so that a caller with other work
 * on its thread (a plan paging through the SMS listings) can let that work run. `drain` is pure;
 * `nextTurn` and `runSteps` only schedule (setImmediate), they do no I/O.
 */
export type Steps<T> = Generator<void, T>;

/** Runs every step at once (where nothing else waits: a worker thread, a test, a small input). */
export function drain<T>(steps: Steps<T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done === true) return step.value;
  }
}

/** Resolves on the next turn of the event loop, after the I/O callbacks that are due (setImmediate). */
export function nextTurn(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

/** Runs the steps, letting the event loop turn between two of them. */
export async function runSteps<T>(steps: Steps<T>): Promise<T> {
  for (;;) {
    const step = steps.next();
    if (step.done === true) return step.value;
    await nextTurn();
  }
}
