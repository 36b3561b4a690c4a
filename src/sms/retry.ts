import { isSmsApiError, SmsApiError } from './errors.ts';

/**
 * Retries with full-jitter exponential backoff (delay = random(0, min(cap, base * 2^attempt))) on
 * throttling, 429 and 5xx (never a terminal refusal such as ServerCannotBeReplicatedException, see
 * TERMINAL_CODES in errors.ts), within a per-operation budget of attempts and time, and an adaptive
 * rate limit shared by every caller: a throttle cuts the allowed rate, each success raises it a
 * little (AIMD), so throttling slows all workers down together rather than each one hammering.
 * Time and randomness are injected: tests never sleep for real.
 */
export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Total time one operation may spend waiting to retry. */
  readonly budgetMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 10, baseDelayMs: 100, maxDelayMs: 5_000, budgetMs: 60_000 };

export interface Timing {
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly random: () => number;
}

export const realTiming: Timing = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
};

export interface RetryStats {
  retries: number;
  throttles: number;
}

/** A shared AIMD rate limiter. Unlimited until the first throttle. */
export class AdaptiveRateLimiter {
  private rate = Number.POSITIVE_INFINITY;
  private nextFree = 0;
  private lastCut = Number.NEGATIVE_INFINITY;
  private readonly sent: number[] = [];

  constructor(
    private readonly timing: Timing,
    private readonly minRate = 1,
    private readonly increase = 0.25,
  ) {}

  /** The current allowed rate, requests per second (Infinity until throttled). */
  currentRate(): number {
    return this.rate;
  }

  async acquire(): Promise<void> {
    const now = this.timing.now();
    this.sent.push(now);
    while (this.sent.length > 0 && (this.sent[0] ?? 0) < now - 1000) this.sent.shift();
    if (!Number.isFinite(this.rate)) return;
    const slot = Math.max(now, this.nextFree);
    this.nextFree = slot + 1000 / this.rate;
    if (slot > now) await this.timing.sleep(slot - now);
  }

  /** At most one cut per second: the throttles of one burst are one congestion event, not many. */
  onThrottle(): void {
    const now = this.timing.now();
    if (now - this.lastCut < 1000) return;
    this.lastCut = now;
    const observed = Math.max(this.minRate, this.sent.length);
    const base = Number.isFinite(this.rate) ? Math.min(this.rate, observed) : observed;
    this.rate = Math.max(this.minRate, base * 0.85);
  }

  onSuccess(): void {
    if (Number.isFinite(this.rate)) this.rate += this.increase;
  }
}

export async function withRetries<T>(
  fn: () => Promise<T>,
  policy: RetryPolicy,
  timing: Timing,
  limiter: AdaptiveRateLimiter | undefined,
  stats: RetryStats,
): Promise<T> {
  const started = timing.now();
  for (let attempt = 0; ; attempt++) {
    await limiter?.acquire();
    try {
      const out = await fn();
      limiter?.onSuccess();
      return out;
    } catch (err) {
      if (!isSmsApiError(err) || !err.retryable) throw err;
      if (err.throttled) {
        stats.throttles += 1;
        limiter?.onThrottle();
      }
      const delay = timing.random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
      if (attempt + 1 >= policy.maxAttempts || timing.now() - started + delay > policy.budgetMs) {
        throw new SmsApiError(err.action, err.apiCode, `${err.detail} (gave up after ${attempt + 1} attempts)`, {
          httpStatus: err.httpStatus,
          cause: err,
          retryable: false,
          hint: err.throttled
            ? 'the service kept throttling past the retry budget: try again later, or lower --parallelism'
            : 'the service kept failing past the retry budget: try again later',
        });
      }
      stats.retries += 1;
      await timing.sleep(delay);
    }
  }
}

