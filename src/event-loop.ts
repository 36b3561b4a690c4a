import type { Steps } from './model/steps.ts';

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
