/** withRetries (full-jitter backoff within a budget) and the shared AIMD rate limiter, on fake time. */
import { describe, expect, it } from 'vitest';
import { isDefiniteRefusal, isSmsApiError, SmsApiError } from '../../src/sms/errors.ts';
import { AdaptiveRateLimiter, withRetries, type RetryPolicy, type RetryStats } from '../../src/sms/retry.ts';
import { fakeTiming } from '../helpers/fake-timing.ts';

const POLICY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1_000, budgetMs: 60_000 };
const throttle = () => new SmsApiError('GetServers', 'ThrottlingException', 'Rate exceeded', { httpStatus: 400 });
const internal = () => new SmsApiError('GetServers', 'InternalError', 'boom', { httpStatus: 500 });

/** A call that fails with the given errors, then succeeds. */
function failing(errors: readonly (() => Error)[]) {
  let calls = 0;
  return {
    fn: async () => {
      const e = errors[calls++];
      if (e) throw e();
      return 'ok';
    },
    calls: () => calls,
  };
}

const newStats = (): RetryStats => ({ retries: 0, throttles: 0 });

describe('withRetries', () => {
  it('returns at once on success, without sleeping', async () => {
    const f = fakeTiming({ start: 1_000 });
    const c = failing([]);
    expect(await withRetries(c.fn, POLICY, f.timing, undefined, newStats())).toBe('ok');
    expect(f.sleeps).toEqual([]);
  });

  it('retries throttling and 5xx with full-jitter exponential backoff: random(0, min(cap, base * 2^attempt))', async () => {
    const f = fakeTiming({ start: 1_000, randoms: [0.5, 1, 0.25, 0.9] });
    const c = failing([throttle, internal, throttle, throttle]);
    const stats = newStats();
    expect(await withRetries(c.fn, POLICY, f.timing, undefined, stats)).toBe('ok');
    expect(c.calls()).toBe(5);
    expect(f.sleeps).toEqual([0.5 * 100, 1 * 200, 0.25 * 400, 0.9 * 800]);
    expect(stats).toEqual({ retries: 4, throttles: 3 });
  });

  it('never retries a terminal refusal, even one answered with a 5xx; it is a definite refusal, unlike a 5xx past the retries', async () => {
    const f = fakeTiming({ start: 1_000 });
    const refused = () => new SmsApiError('CreateReplicationJob', 'ServerCannotBeReplicatedException', 'too many disks', { httpStatus: 503 });
    const c = failing([refused, refused]);
    const err = await withRetries(c.fn, POLICY, f.timing, undefined, newStats()).catch((e: unknown) => e);
    expect(c.calls()).toBe(1);
    expect(f.sleeps).toEqual([]);
    expect(isDefiniteRefusal(err)).toBe(true);
    expect(isDefiniteRefusal(new SmsApiError('CreateReplicationJob', 'InternalError', 'boom', { httpStatus: 500, retryable: false }))).toBe(false);
    expect(isDefiniteRefusal(new SmsApiError('CreateReplicationJob', 'ThrottlingException', 'Rate exceeded (gave up)', { httpStatus: 400, retryable: false }))).toBe(true);
  });

  it('caps each delay at maxDelayMs', async () => {
    const f = fakeTiming({ start: 1_000, randoms: [1] });
    const c = failing(Array.from({ length: 6 }, () => internal));
    await withRetries(c.fn, { ...POLICY, maxAttempts: 10, maxDelayMs: 300 }, f.timing, undefined, newStats());
    expect(f.sleeps).toEqual([100, 200, 300, 300, 300, 300]);
  });

  it('gives up after maxAttempts with a typed, non-retryable error that keeps the code, status and cause', async () => {
    const f = fakeTiming({ start: 1_000, randoms: [1] });
    const c = failing(Array.from({ length: 10 }, () => throttle));
    const err = await withRetries(c.fn, POLICY, f.timing, undefined, newStats()).catch((e: unknown) => e);
    expect(c.calls()).toBe(5);
    expect(f.sleeps).toHaveLength(4);
    expect(isSmsApiError(err, 'ThrottlingException')).toBe(true);
    const e = err as SmsApiError;
    expect({ code: e.code, retryable: e.retryable, httpStatus: e.httpStatus, throttled: e.throttled, source: e.source }).toEqual({
      code: 'sms-ThrottlingException', retryable: false, httpStatus: 400, throttled: true, source: 'remote',
    });
    expect(e.message).toBe('GetServers failed: ThrottlingException: Rate exceeded (gave up after 5 attempts)');
    expect(e.hint).toMatch(/kept throttling past the retry budget/);
    expect(e.cause).toBeInstanceOf(SmsApiError);
  });

  it('gives up when the next delay would pass the time budget', async () => {
    const f = fakeTiming({ start: 1_000, randoms: [1] });
    const c = failing(Array.from({ length: 10 }, () => internal));
    const err = (await withRetries(c.fn, { ...POLICY, maxAttempts: 100, budgetMs: 350 }, f.timing, undefined, newStats()).catch((e: unknown) => e)) as SmsApiError;
    // 100 + 200 = 300 <= 350; 300 + 400 > 350.
    expect(f.sleeps).toEqual([100, 200]);
    expect(c.calls()).toBe(3);
    expect(err.message).toMatch(/InternalError: boom \(gave up after 3 attempts\)$/);
    expect(err.hint).toMatch(/kept failing past the retry budget/);
  });

  it('does not retry errors that are not retryable, nor errors that are not SmsApiErrors', async () => {
    for (const make of [
      () => new SmsApiError('GetServers', 'InvalidClientTokenId', 'bad key', { httpStatus: 403 }),
      () => new SmsApiError('GetServers', 'endpoint-unreachable', 'nobody there', { retryable: false }),
      () => new Error('a bug'),
    ]) {
      const f = fakeTiming({ start: 1_000 });
      const c = failing([make]);
      const err = await withRetries(c.fn, POLICY, f.timing, undefined, newStats()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).not.toMatch(/gave up/);
      expect(c.calls()).toBe(1);
      expect(f.sleeps).toEqual([]);
    }
  });
});

describe('SmsApiError retryability', () => {
  it('throttling codes, InternalError and any 5xx are retryable; 4xx others are not', () => {
    expect(new SmsApiError('A', 'ThrottlingException', 'x', { httpStatus: 400 }).retryable).toBe(true);
    expect(new SmsApiError('A', 'TemporarilyUnavailableException', 'x', { httpStatus: 500 }).retryable).toBe(true);
    expect(new SmsApiError('A', 'SomethingNew', 'x', { httpStatus: 503 }).retryable).toBe(true);
    expect(new SmsApiError('A', 'SomethingNew', 'x', { httpStatus: 429 }).throttled).toBe(true);
    expect(new SmsApiError('A', 'InvalidParameterException', 'x', { httpStatus: 400 }).retryable).toBe(false);
  });
});

describe('AdaptiveRateLimiter', () => {
  it('is unlimited until the first throttle', async () => {
    const f = fakeTiming({ start: 1_000 });
    const l = new AdaptiveRateLimiter(f.timing);
    for (let i = 0; i < 50; i++) await l.acquire();
    expect(l.currentRate()).toBe(Number.POSITIVE_INFINITY);
    expect(f.sleeps).toEqual([]);
  });

  it('a throttle drops the rate below what was observed; requests are then spaced; successes raise it again', async () => {
    const f = fakeTiming({ start: 1_000 });
    const l = new AdaptiveRateLimiter(f.timing);
    for (let i = 0; i < 20; i++) await l.acquire(); // 20 requests within the last second
    l.onThrottle();
    expect(l.currentRate()).toBeCloseTo(20 * 0.85);
    // Spaced at 1000/rate ms: the first goes at once, the next ones wait.
    await l.acquire();
    await l.acquire();
    await l.acquire();
    expect(f.sleeps).toHaveLength(2);
    for (const ms of f.sleeps) expect(ms).toBeCloseTo(1000 / 17);
    // More throttles within the same second are the same congestion event: no second cut.
    const before = l.currentRate();
    l.onThrottle();
    expect(l.currentRate()).toBe(before);
    // A throttle a second later cuts again, from the lower of the rate and what was sent in the last second.
    f.advance(1000);
    l.onThrottle();
    expect(l.currentRate()).toBeLessThan(before);
    const low = l.currentRate();
    // Recovers additively with each success (AIMD).
    for (let i = 0; i < 40; i++) l.onSuccess();
    expect(l.currentRate()).toBeCloseTo(low + 40 * 0.25);
  });

  it('never goes below the minimum rate', async () => {
    const f = fakeTiming({ start: 1_000 });
    const l = new AdaptiveRateLimiter(f.timing, 2);
    await l.acquire();
    for (let i = 0; i < 30; i++) {
      f.advance(5_000);
      l.onThrottle();
    }
    expect(l.currentRate()).toBe(2);
    await l.acquire();
    await l.acquire();
    expect(f.sleeps.at(-1)).toBeCloseTo(500);
  });

  it('is shared: a throttle seen by one caller slows every caller (through withRetries)', async () => {
    const f = fakeTiming({ start: 1_000, randoms: [0] });
    const l = new AdaptiveRateLimiter(f.timing);
    for (let i = 0; i < 10; i++) await l.acquire();
    const a = failing([throttle]);
    await withRetries(a.fn, POLICY, f.timing, l, newStats());
    expect(Number.isFinite(l.currentRate())).toBe(true);
    const sleepsBefore = f.sleeps.length;
    const b = failing([]);
    await withRetries(b.fn, POLICY, f.timing, l, newStats());
    await withRetries(b.fn, POLICY, f.timing, l, newStats());
    expect(f.sleeps.length).toBeGreaterThan(sleepsBefore);
  });
});
