/**
 * The lifecycle clock. Everything that changes with time (imports finishing, runs starting and
 * completing, deletes settling) is computed from this clock when a request arrives; nothing runs
 * in the background. `real` follows the wall clock; `manual` stands still until advanced through
 * the control endpoint, so tests are deterministic. Request signing always uses the wall clock.
 */
export interface LifecycleClock {
  readonly mode: 'real' | 'manual';
  /** Epoch seconds, millisecond precision. */
  now(): number;
}

export function realClock(wallMs: () => number = Date.now): LifecycleClock {
  return { mode: 'real', now: () => Math.floor(wallMs()) / 1000 };
}

/** A manual clock whose time is kept by its owner (the server persists it, so restarts keep it). */
export function manualClock(read: () => number): LifecycleClock {
  return { mode: 'manual', now: read };
}
