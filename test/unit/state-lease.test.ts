import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { LOCK_BACKOFF_CAP_MS, backoffDelay, formatAge, lockedError, pidAlive, staleBecause } from '../../src/state/lease.ts';
import { decodeLockRecord, encodeLockRecord } from '../../src/state/lock.ts';
import type { LockInfo } from '../../src/state/store.ts';
import { T0 } from '../helpers/state-timers.ts';

const info: LockInfo = {
  id: '8d1f9c2a-3b4e-4f5a-9b6c-7d8e9f0a1b2c',
  holder: { host: 'h1', pid: 4242 },
  operation: 'apply',
  created: new Date(T0).toISOString(),
  expires: new Date(T0 + 30_000).toISOString(),
};

describe('lease policy', () => {
  it('backs off with jitter, doubling up to a cap', () => {
    expect(backoffDelay(0, () => 0)).toBe(50);
    expect(backoffDelay(0, () => 1)).toBe(100);
    expect(backoffDelay(3, () => 0)).toBe(400);
    expect(backoffDelay(50, () => 1)).toBe(LOCK_BACKOFF_CAP_MS);
    const samples = new Set(Array.from({ length: 20 }, () => backoffDelay(4)));
    expect(samples.size).toBeGreaterThan(1);
  });

  it('formats ages', () => {
    expect(formatAge(999)).toBe('0s');
    expect(formatAge(95_000)).toBe('1m35s');
    expect(formatAge(3_725_000)).toBe('1h02m');
  });

  it('judges a lease stale when it ran out, or when its holder is a dead pid of this host', async () => {
    expect(staleBecause(info, T0 + 29_999, 'other-host')).toBeUndefined();
    expect(staleBecause(info, T0 + 30_000, 'other-host')).toContain('expired');
    const child = spawn(process.execPath, ['-e', '']);
    await once(child, 'exit');
    const dead = { ...info, holder: { host: 'h1', pid: child.pid as number } };
    expect(pidAlive(child.pid as number)).toBe(false);
    expect(staleBecause(dead, T0, 'h1')).toContain('is gone');
    expect(staleBecause(dead, T0, 'h2')).toBeUndefined(); // another host's pid says nothing
    expect(staleBecause({ ...info, holder: { host: 'h1', pid: process.pid } }, T0, 'h1')).toBeUndefined();
  });

  it('names holder, operation, age and the way out in the lock error', () => {
    const err = lockedError(info, T0 + 125_000, '/x/state.json', 60_000);
    expect(err.code).toBe('state-locked');
    expect(err.message).toBe(
      `the state at /x/state.json is locked after waiting 1m00s: lock ${info.id}, held by pid 4242 on h1 for "apply" since ${info.created} (2m05s ago, lease until ${info.expires})`,
    );
    expect(err.hint).toContain('--lock-timeout');
    expect(err.hint).toContain(`sms-reconcile force-unlock ${info.id}`);
  });
});

describe('lock records', () => {
  it('round-trip, keep their length across renewals, and reject malformed records', () => {
    const text = encodeLockRecord(info);
    expect(decodeLockRecord(text)).toEqual(info);
    expect(encodeLockRecord({ ...info, expires: new Date(T0 + 86_400_000).toISOString() })).toHaveLength(text.length);
    expect(decodeLockRecord('{"formatVersion":1,"id":"x"}')).toBeUndefined();
    expect(decodeLockRecord('{"formatVersion":2,' + text.slice(17))).toBeUndefined();
    expect(decodeLockRecord('not json')).toBeUndefined();
  });
});
