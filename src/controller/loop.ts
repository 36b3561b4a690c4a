/**
 * The controller's schedule: a cycle every interval (with +-10% jitter), sooner after a failure
 * (--retry-interval, doubling up to the interval), at once on a webhook. Triggers that arrive
 * during a cycle coalesce into one more cycle. Only the leader runs cycles. Time comes from the
 * injected timers, so tests drive the schedule without sleeping.
 */
import type { Logger } from '../report/logger.ts';
import type { StateTimers } from '../state/store.ts';
import type { CycleOutcome } from './cycle.ts';
import { ioMessage } from '../model/messages.ts';
import { logMessage } from '../report/log-message.ts';

export const JITTER = 0.1;

export interface LoopOptions {
  readonly intervalMs: number;
  readonly retryIntervalMs: number;
  readonly timers: StateTimers;
  readonly logger: Logger;
  /** In [0, 1); default Math.random. */
  readonly random?: () => number;
  /** Runs one cycle; `stop` is set when the cycle should start nothing new. Never throws. */
  readonly runCycle: (stop: { requested: boolean }) => Promise<CycleOutcome>;
  readonly isLeader: () => boolean;
  /** Called after each cycle, before the next is scheduled. */
  readonly onOutcome?: (outcome: CycleOutcome) => void;
}

export interface LoopStatus {
  readonly running: boolean;
  /** Epoch ms when the running cycle started. */
  readonly runningSince: number | undefined;
  readonly lastCycle: CycleOutcome | undefined;
  /** Epoch ms of the next scheduled cycle. */
  readonly nextCycleAt: number | undefined;
  /** Failed or partial cycles in a row. */
  readonly consecutiveFailures: number;
  readonly cycles: number;
}

/** The delay before the next cycle after `outcome`. */
export function nextDelay(outcome: CycleOutcome | undefined, consecutiveFailures: number, opts: Pick<LoopOptions, 'intervalMs' | 'retryIntervalMs'>, random: () => number): number {
  const failing = outcome !== undefined && (outcome.result === 'failed' || outcome.result === 'partial');
  const base = failing ? Math.min(opts.intervalMs, opts.retryIntervalMs * 2 ** Math.min(Math.max(0, consecutiveFailures - 1), 30)) : opts.intervalMs;
  return Math.max(1, Math.round(base * (1 - JITTER + 2 * JITTER * random())));
}

export class ControllerLoop {
  #running: Promise<void> | undefined;
  #runningSince: number | undefined;
  #stop: { requested: boolean } = { requested: false };
  #again = false;
  #stopped = false;
  #cancelTimer: (() => void) | undefined;
  #nextAt: number | undefined;
  #last: CycleOutcome | undefined;
  #failures = 0;
  #cycles = 0;
  readonly #random: () => number;
  readonly #cycleListeners = new Set<(o: CycleOutcome) => void>();

  constructor(private readonly opts: LoopOptions) {
    this.#random = opts.random ?? Math.random;
  }

  get status(): LoopStatus {
    return {
      running: this.#running !== undefined,
      runningSince: this.#runningSince,
      lastCycle: this.#last,
      nextCycleAt: this.#nextAt,
      consecutiveFailures: this.#failures,
      cycles: this.#cycles,
    };
  }

  /** Resolves after the next cycle that finishes (for tests and the webhook bench). */
  nextOutcome(): Promise<CycleOutcome> {
    return new Promise((resolve) => {
      const once = (o: CycleOutcome) => {
        this.#cycleListeners.delete(once);
        resolve(o);
      };
      this.#cycleListeners.add(once);
    });
  }

  /** Runs a cycle now (or, during one, once more after it). */
  trigger(reason: string): void {
    if (this.#stopped) return;
    logMessage(this.opts.logger, ioMessage('controller.trigger', 'debug', 'cycle triggered', { reason }));
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    this.#nextAt = undefined;
    if (!this.opts.isLeader()) return;
    this.#running = this.#run();
  }

  /** Leadership changed: a new leader cycles at once; a former one stops its cycle and its schedule. */
  leadershipChanged(leader: boolean): void {
    if (leader) {
      this.trigger('leader');
      return;
    }
    this.#stop.requested = true;
    this.#again = false;
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    this.#nextAt = undefined;
  }

  async #run(): Promise<void> {
    this.#stop = { requested: false };
    this.#runningSince = this.opts.timers.now();
    logMessage(this.opts.logger, ioMessage('controller.cycle-start', 'debug', 'cycle started', {}));
    let outcome: CycleOutcome;
    try {
      outcome = await this.opts.runCycle(this.#stop);
    } finally {
      this.#runningSince = undefined;
    }
    this.#cycles += 1;
    this.#last = outcome;
    this.#failures = outcome.result === 'failed' || outcome.result === 'partial' ? this.#failures + 1 : 0;
    this.opts.onOutcome?.(outcome);
    for (const l of [...this.#cycleListeners]) l(outcome);
    this.#running = undefined;
    if (this.#stopped || !this.opts.isLeader()) return;
    if (this.#again) {
      this.#again = false;
      this.#running = this.#run();
      return;
    }
    this.#schedule(nextDelay(outcome, this.#failures, this.opts, this.#random));
  }

  #schedule(ms: number): void {
    this.#cancelTimer?.();
    this.#nextAt = this.opts.timers.now() + ms;
    this.#cancelTimer = this.opts.timers.schedule(ms, () => {
      this.#cancelTimer = undefined;
      this.#nextAt = undefined;
      if (!this.#stopped && !this.#running && this.opts.isLeader()) this.#running = this.#run();
    });
  }

  /**
   * Stops: no new cycle; the running one is asked to start no new operation and is awaited (the
   * apply's own graceful stop). Resolves once it has finished.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stop.requested = true;
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    this.#nextAt = undefined;
    while (this.#running) await this.#running;
  }
}
