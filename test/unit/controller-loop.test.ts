/**
 * The controller's schedule on a manual clock: the interval with its jitter, the retry backoff up
 * to the interval, triggers that coalesce, leadership; and the file lease's takeover rules. No test
 * sleeps: time moves only when the test moves it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CycleOutcome } from '../../src/controller/cycle.ts';
import { FileLease, LeaderElector, type LeaseView } from '../../src/controller/leader.ts';
import { ControllerLoop, nextDelay } from '../../src/controller/loop.ts';
import { silentLogger } from '../../src/report/logger.ts';
import { ManualTimers } from '../helpers/state-timers.ts';

const outcome = (result: CycleOutcome['result']): CycleOutcome => ({
  result, startedAt: new Date(0).toISOString(), durationMs: 0, revision: undefined,
  changes: { planned: 0, applied: 0, pending: 0 }, errors: [], drift: [], driftOpen: 0, pending: [], jobs: [], jobStates: {}, jobsExpiring: { "15d": 0, "7d": 0 }, waves: [],
});

const MIN = 60_000;

describe('nextDelay', () => {
  const opts = { intervalMs: 5 * MIN, retryIntervalMs: MIN };
  it('is the interval +-10% after a success or an invalid cycle', () => {
    expect(nextDelay(outcome('success'), 0, opts, () => 0)).toBe(4.5 * MIN);
    expect(nextDelay(outcome('success'), 0, opts, () => 0.999999)).toBeCloseTo(5.5 * MIN, -1);
    expect(nextDelay(outcome('invalid'), 0, opts, () => 0.5)).toBe(5 * MIN);
  });
  it('after failures: the retry interval, doubling, capped at the interval', () => {
    const delays = [1, 2, 3, 4, 10].map((n) => nextDelay(outcome('failed'), n, opts, () => 0.5));
    expect(delays).toEqual([MIN, 2 * MIN, 4 * MIN, 5 * MIN, 5 * MIN]);
    expect(nextDelay(outcome('partial'), 1, opts, () => 0.5)).toBe(MIN);
  });
});

/** A loop whose cycles end when the test says so. */
function harness(leader = true) {
  const timers = new ManualTimers();
  const started: { resolve: (o: CycleOutcome) => void; stop: { requested: boolean } }[] = [];
  let isLeader = leader;
  const loop = new ControllerLoop({
    intervalMs: 10_000,
    retryIntervalMs: 1_000,
    timers,
    logger: silentLogger,
    random: () => 0.5,
    isLeader: () => isLeader,
    runCycle: (stop) => new Promise<CycleOutcome>((resolve) => started.push({ resolve, stop })),
  });
  return { timers, started, loop, setLeader: (v: boolean) => (isLeader = v) };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('ControllerLoop', () => {
  it('runs on trigger, then every interval; triggers during a cycle coalesce into one more', async () => {
    const h = harness();
    h.loop.trigger('start');
    expect(h.started.length).toBe(1);
    h.loop.trigger('webhook');
    h.loop.trigger('webhook');
    h.loop.trigger('webhook');
    expect(h.started.length).toBe(1);
    h.started[0]?.resolve(outcome('success'));
    await flush();
    expect(h.started.length).toBe(2); // exactly one more
    h.started[1]?.resolve(outcome('success'));
    await flush();
    expect(h.started.length).toBe(2);
    expect(h.loop.status.nextCycleAt).toBe(h.timers.now() + 10_000);
    h.timers.advance(9_999);
    expect(h.started.length).toBe(2);
    h.timers.advance(1);
    expect(h.started.length).toBe(3);
  });

  it('retries a failed cycle after the retry interval', async () => {
    const h = harness();
    h.loop.trigger('start');
    h.started[0]?.resolve(outcome('failed'));
    await flush();
    expect(h.loop.status.nextCycleAt).toBe(h.timers.now() + 1_000);
    expect(h.loop.status.consecutiveFailures).toBe(1);
  });

  it('a standby runs nothing; losing the lead stops the running cycle and the schedule; stop() waits for the cycle', async () => {
    const h = harness(false);
    h.loop.trigger('webhook');
    expect(h.started.length).toBe(0);
    h.setLeader(true);
    h.loop.leadershipChanged(true);
    expect(h.started.length).toBe(1);
    h.setLeader(false);
    h.loop.leadershipChanged(false);
    expect(h.started[0]?.stop.requested).toBe(true);
    h.started[0]?.resolve(outcome('partial'));
    await flush();
    expect(h.loop.status.nextCycleAt).toBeUndefined();
    h.setLeader(true);
    h.loop.leadershipChanged(true);
    let stopped = false;
    const stopping = h.loop.stop().then(() => (stopped = true));
    await flush();
    expect(h.started[1]?.stop.requested).toBe(true);
    expect(stopped).toBe(false);
    h.started[1]?.resolve(outcome('success'));
    await stopping;
    expect(h.started.length).toBe(2);
  });
});

describe('FileLease and LeaderElector', () => {
  const dirs: string[] = [];
  afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it('one holder at a time; the other sees who holds it; after the lease runs out unrenewed, the other takes over', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'smsr-lease-'));
    dirs.push(dir);
    const timers = new ManualTimers();
    const path = join(dir, 'state.json.leader');
    const a = new FileLease(path, 'a', 3_000, timers);
    const b = new FileLease(path, 'b', 3_000, timers);
    expect(await a.acquireOrRenew()).toEqual({ leader: true, holder: 'a' });
    expect(await b.acquireOrRenew()).toEqual({ leader: false, holder: 'a' });
    expect(await a.acquireOrRenew()).toEqual({ leader: true, holder: 'a' });
    timers.advance(3_001); // a stopped renewing (a real leader renews every second)
    expect(await b.acquireOrRenew()).toEqual({ leader: true, holder: 'b' });
    expect(await a.acquireOrRenew()).toEqual({ leader: false, holder: 'b' });
    await b.release();
    expect(await a.acquireOrRenew()).toEqual({ leader: true, holder: 'a' });
    await a.release();
  });

  it('the elector renews every third of the TTL and reports each change of role', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'smsr-lease-'));
    dirs.push(dir);
    const timers = new ManualTimers();
    const path = join(dir, 'state.json.leader');
    const changes: LeaseView[] = [];
    const elector = new LeaderElector(new FileLease(path, 'me', 3_000, timers), { ttlMs: 3_000, timers, logger: silentLogger, identity: 'me', onChange: (v) => changes.push(v) });
    await elector.start();
    expect(elector.view).toEqual({ leader: true, holder: 'me' });
    expect(changes).toEqual([{ leader: true, holder: 'me' }]);
    await timers.whenScheduled();
    expect(timers.pendingCount).toBe(1);
    await elector.stop();
    expect(elector.view.leader).toBe(false);
    const other = new FileLease(path, 'other', 3_000, timers);
    expect((await other.acquireOrRenew()).leader).toBe(true); // released on stop
    await other.release();
  });
});
