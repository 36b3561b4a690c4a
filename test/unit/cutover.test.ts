/**
 * The pure parts of cutover, the 90-day clock and the concurrent-job limit (issue 25): the live-job
 * count, when replication began and when SMS ends it, why a retire is refused, what diff plans for
 * a server marked cutover (retire, blocked, migrated) and for an expired job, the migrated record,
 * a saved plan's retire read back, and the --max-concurrent-jobs check.
 */
import { describe, expect, it } from 'vitest';
import { maxConcurrentJobs } from '../../src/cli/job-limit.ts';
import { decodeChange } from '../../src/reconcile/change-decode.ts';
import { migratedRecord, retireRefusal } from '../../src/reconcile/cutover.ts';
import { diff } from '../../src/reconcile/diff.ts';
import { detailedExitCode } from '../../src/reconcile/plan.ts';
import { liveJobCount } from '../../src/reconcile/quota.ts';
import {
  expiredMessage, expiringCounts, expiringJobs, expiringMessage, isExpired, replicationStartOf, replicationStartWrites, startOfCreated,
} from '../../src/reconcile/replication-age.ts';
import type { ReplicationJobInfo, ReplicationRunInfo } from '../../src/sms/api.ts';
import type { ResourceRecord } from '../../src/state/codec.ts';
import { byName, DAY, desired, diffOptions, job, jobSet, liveJob, record, server, state, T0, world } from '../helpers/desired.ts';

const DC7 = server(7, { vmName: 'dc-007' });
const DC8 = server(8, { vmName: 'dc-008' });
const ADDRESS = 'ReplicationJob/dc-007';
const completed: ReplicationRunInfo = { replicationRunId: 'sms-run-00000001', state: 'COMPLETED', amiId: 'ami-00000000000000007', completedTime: T0 - DAY };
const active: ReplicationRunInfo = { replicationRunId: 'sms-run-00000002', state: 'ACTIVE', stageDetails: { stage: 'Converting', stageProgress: '40%' } };
const failed: ReplicationRunInfo = { replicationRunId: 'sms-run-00000003', state: 'FAILED' };

/** dc-007's job: replicated once (an AMI), its listed run `run`. */
const dcJob = (o: { run?: ReplicationRunInfo; ami?: boolean; state?: ReplicationJobInfo['state']; seed?: number } = {}): ReplicationJobInfo => ({
  ...liveJob(DC7, { frequency: 12, seedReplicationTime: o.seed ?? T0 - DAY }, { n: 7, state: o.state ?? 'ACTIVE', runs: [o.run ?? completed] }),
  ...(o.ami === false ? {} : { latestAmiId: 'ami-00000000000000007' }),
});

const cutJob = (o: { preventDestroy?: boolean } = {}) => desired({ jobs: [{ ...job('dc-007', byName('dc-007'), { frequency: 12 }, o), cutover: true }] });
const rec = (j: ReplicationJobInfo, extra: Partial<ResourceRecord> = {}): ResourceRecord => ({ ...record(ADDRESS, j, { frequency: 12 }), ...extra });

describe('the concurrent-job limit', () => {
  it('counts the jobs the service counts: every job not DELETED or terminated, DELETING included', () => {
    const states: ReplicationJobInfo['state'][] = ['PENDING', 'ACTIVE', 'FAILING', 'PAUSED_ON_FAILURE', 'DELETING', 'DELETED', 'FAILED', 'COMPLETED'];
    expect(liveJobCount(states.map((state) => ({ state })))).toBe(5);
    expect(liveJobCount([])).toBe(0);
  });

  it('--max-concurrent-jobs: a whole number of at least 1, default 50; else refused naming where it came from', () => {
    expect(maxConcurrentJobs({ maxConcurrentJobs: undefined })).toBe(50);
    expect(maxConcurrentJobs({ maxConcurrentJobs: { value: '120', from: '--max-concurrent-jobs' } })).toBe(120);
    for (const bad of ['0', '-1', 'abc', '1.5', '', '1e3', ' ']) {
      expect(() => maxConcurrentJobs({ maxConcurrentJobs: { value: bad, from: '--max-concurrent-jobs' } }), bad).toThrow(/--max-concurrent-jobs ".*" is not a whole number of at least 1/);
    }
    expect(() => maxConcurrentJobs({ maxConcurrentJobs: { value: 'x', from: 'SMS_RECONCILE_MAX_CONCURRENT_JOBS' } })).toThrow(/^SMS_RECONCILE_MAX_CONCURRENT_JOBS "x"/);
  });
});

describe('the 90-day clock', () => {
  it('reads when replication began from the listing: the seed time once the job left PENDING', () => {
    expect(replicationStartOf({ state: 'PENDING', seedReplicationTime: T0 })).toBeUndefined();
    expect(replicationStartOf({ state: 'ACTIVE', seedReplicationTime: T0 + 0.7 })).toBe(T0);
    expect(replicationStartOf({ state: 'DELETED', seedReplicationTime: T0 })).toBeUndefined();
    expect(startOfCreated(T0 - DAY, T0)).toBe('2026-11-26T20:00:00Z'); // a seed in the past starts at once
    expect(startOfCreated(T0 + DAY, T0)).toBe('2026-11-27T20:00:00Z');
  });

  it('warns from 75 days (15 left) and counts the 15- and 7-day windows; the state record wins over the listing', () => {
    const j = dcJob({ seed: T0 });
    const jobs = new Map([[j.replicationJobId, j]]);
    expect(expiringJobs([rec(j)], jobs, T0 + 74 * DAY)).toEqual([]);
    const at80 = expiringJobs([rec(j)], jobs, T0 + 80 * DAY);
    expect(at80).toEqual([expect.objectContaining({ address: ADDRESS, name: 'dc-007', daysLeft: 10 })]);
    expect(expiringMessage(at80[0]!)).toBe('dc-007: SMS terminates this job in 10 days: cut over, or ask AWS Support for an extension');
    expect(expiringCounts(at80, T0 + 80 * DAY)).toEqual({ '15d': 1, '7d': 0 });
    const at83 = expiringJobs([rec(j)], jobs, T0 + 83 * DAY);
    expect(expiringMessage(at83[0]!)).toBe('dc-007: SMS terminates this job in 7 days: cut over, or ask AWS Support for an extension');
    expect(expiringCounts(at83, T0 + 83 * DAY)).toEqual({ '15d': 1, '7d': 1 });
    // Recorded 10 days later than the seed: the job has 20 days left at day 80.
    expect(expiringJobs([rec(j, { replicationStartedAt: '2026-12-06T20:00:00Z' })], jobs, T0 + 80 * DAY)).toEqual([]);
    // A terminated or deleting job is not warned about.
    const gone = { ...j, state: 'DELETING' as const };
    expect(expiringJobs([rec(j)], new Map([[j.replicationJobId, gone]]), T0 + 80 * DAY)).toEqual([]);
  });

  it('a job gone after 90 days is expired; one gone earlier, or still live, is not', () => {
    const j = dcJob({ seed: T0 });
    const r = rec(j, { replicationStartedAt: '2026-11-26T20:00:00Z' });
    expect(isExpired(r, undefined, T0 + 90 * DAY)).toBe(true);
    expect(isExpired(r, { ...j, state: 'DELETED' }, T0 + 91 * DAY)).toBe(true);
    expect(isExpired(r, undefined, T0 + 89 * DAY)).toBe(false);
    expect(isExpired(r, j, T0 + 95 * DAY)).toBe(false);
    expect(expiredMessage('dc-007', ADDRESS, r, undefined)).toBe(
      'dc-007: SMS terminated job sms-job-00000007 on 2027-02-24T20:00:00Z, 90 days after its replication began (expired); plan with --replace ReplicationJob/dc-007 to create a new job',
    );
  });

  it('records the starts the listing shows and the state does not have yet', () => {
    const started = dcJob();
    const pending = { ...liveJob(DC8, {}, { n: 8, state: 'PENDING' }) };
    const records = [rec(started), record('ReplicationJob/dc-008', pending, {}), rec(started, { address: 'ReplicationJob/known', replicationStartedAt: '2026-11-01T00:00:00Z' })];
    const writes = replicationStartWrites(records, new Map([[started.replicationJobId, started], [pending.replicationJobId, pending]]), '2026-11-27T00:00:00Z');
    // Seeded a day before the record was written: it began at some time before the record, which is taken.
    expect(writes).toEqual([{ address: ADDRESS, record: expect.objectContaining({ replicationStartedAt: '2026-11-26T19:00:00Z', updatedAt: '2026-11-27T00:00:00Z' }) }]);
    // Seeded after the record was written: it began at its seed.
    const later = dcJob({ seed: T0 + DAY });
    const [w] = replicationStartWrites([rec(later)], new Map([[later.replicationJobId, later]]), '2026-11-28T00:00:00Z');
    expect(w?.record?.replicationStartedAt).toBe('2026-11-27T20:00:00Z');
  });
});

describe('cutover in the plan', () => {
  it('refuses a retire without a job, during a run, before any completed run, after a failed run', () => {
    expect(retireRefusal(undefined, 'dc-007')).toBe('cutover requested, but dc-007 has no replication job');
    expect(retireRefusal(dcJob({ run: active }), 'dc-007')).toBe('cutover requested, but a replication run of dc-007 is in progress (Converting 40%): cut over once it has completed');
    expect(retireRefusal(dcJob({ ami: false, state: 'PENDING', run: { replicationRunId: 'r', state: 'PENDING' } }), 'dc-007')).toBe('cutover requested, but dc-007 has no completed replication');
    expect(retireRefusal(dcJob({ run: failed }), 'dc-007')).toMatch(/latest replication run of dc-007 FAILED/);
    expect(retireRefusal(dcJob(), 'dc-007')).toBeUndefined();
  });

  it('plans a retire once the latest run completed: not destructive, exit 2, the final AMI on the change', () => {
    const j = dcJob();
    const r = diff(cutJob(), world({ servers: [DC7], jobs: [j] }), state([rec(j)]), diffOptions());
    expect(r.problems).toEqual([]);
    expect(r.changes).toEqual([expect.objectContaining({ action: 'retire', address: ADDRESS, replicationJobId: j.replicationJobId, amiId: 'ami-00000000000000007', serverName: 'dc-007' })]);
    expect(r.changes[0]).not.toHaveProperty('blocked');
    expect(detailedExitCode(r)).toBe(2);
    // A saved plan's retire reads back as one.
    expect(decodeChange(JSON.parse(JSON.stringify(r.changes[0])))).toEqual(r.changes[0]);
  });

  it('blocks a retire it cannot carry out, with the reason; a server with no job too', () => {
    const running = dcJob({ run: active });
    const r = diff(cutJob(), world({ servers: [DC7], jobs: [running] }), state([rec(running)]), diffOptions());
    expect(r.changes).toEqual([expect.objectContaining({ action: 'retire', blocked: expect.stringMatching(/in progress/) })]);
    const none = diff(cutJob(), world({ servers: [DC7], jobs: [] }), undefined, diffOptions());
    expect(none.changes).toEqual([expect.objectContaining({ action: 'retire', blocked: 'cutover requested, but dc-007 has no replication job', serverId: DC7.serverId })]);
    expect(none.changes[0]).not.toHaveProperty('replicationJobId');
    expect(decodeChange(JSON.parse(JSON.stringify(none.changes[0])))).toBeDefined();
  });

  it('preventDestroy blocks a retire (a plan problem); a blocked retire deletes nothing, so it is not one', () => {
    const j = dcJob();
    const r = diff(cutJob({ preventDestroy: true }), world({ servers: [DC7], jobs: [j] }), state([rec(j)]), diffOptions());
    expect(r.problems).toEqual([expect.objectContaining({ code: 'prevent-destroy', address: ADDRESS })]);
    expect(r.problems[0]?.message).toContain('would retire its job sms-job-00000007');
    const blocked = diff(cutJob({ preventDestroy: true }), world({ servers: [DC7], jobs: [dcJob({ run: active })] }), state([rec(j)]), diffOptions());
    expect(blocked.problems).toEqual([]);
  });

  it('a migrated server is never given a new job while it says cutover; without cutover, a create; the plan lists it as migrated', () => {
    const j = dcJob();
    const m = migratedRecord(ADDRESS, 'ReplicationJob', rec(j), { serverId: DC7.serverId, replicationJobId: j.replicationJobId, amiId: 'ami-00000000000000007', preventDestroy: false, at: '2026-11-27T00:00:00Z' });
    expect(m).not.toHaveProperty('replicationJobId');
    expect(m.migrated).toEqual({ amiId: 'ami-00000000000000007', at: '2026-11-27T00:00:00Z', replicationJobId: j.replicationJobId });
    const observed = world({ servers: [DC7], jobs: [{ ...j, state: 'DELETED' }] });
    const kept = diff(cutJob(), observed, state([m]), diffOptions());
    expect(kept.changes.map((c) => c.action)).toEqual(['no-op']);
    expect(detailedExitCode(kept)).toBe(0);
    expect(kept.migrated).toEqual([{ address: ADDRESS, serverId: DC7.serverId, serverName: 'dc-007', amiId: 'ami-00000000000000007', at: '2026-11-27T00:00:00Z', replicationJobId: j.replicationJobId }]);
    const back = diff(desired({ jobs: [job('dc-007', byName('dc-007'), { frequency: 12 })] }), observed, state([m]), diffOptions());
    expect(back.changes).toEqual([expect.objectContaining({ action: 'create', reason: expect.stringMatching(/was migrated .* cutover is no longer set/) })]);
    expect(back.migrated).toEqual([]);
  });

  it('a set: cutover on the set, overridden by an entry', () => {
    const j7 = dcJob();
    const j8 = { ...liveJob(DC8, { frequency: 12 }, { n: 8, runs: [completed] }), latestAmiId: 'ami-00000000000000008' };
    const set = { ...jobSet('dc', { template: { frequency: 12 }, servers: [{ selector: byName('dc-007') }, { selector: byName('dc-008') }] }), cutover: true as const };
    const entries = set.servers.map((e, i) => (i === 1 ? { ...e, cutover: false } : e));
    const r = diff(desired({ jobSets: [{ ...set, servers: entries }] }), world({ servers: [DC7, DC8], jobs: [j7, j8] }), undefined, diffOptions());
    expect(r.changes.map((c) => `${c.action} ${c.address}`)).toEqual([`retire ReplicationJobSet/dc[${DC7.serverId}]`, `adopt ReplicationJobSet/dc[${DC8.serverId}]`]);
  });
});

describe('an expired job', () => {
  it('is reported, not re-created; --replace creates a new job', () => {
    const j = dcJob({ seed: T0 - 91 * DAY });
    const r0 = rec(j, { replicationStartedAt: '2026-08-27T20:00:00Z' });
    const plain = desired({ jobs: [job('dc-007', byName('dc-007'), { frequency: 12 })] });
    const gone = world({ servers: [DC7], jobs: [{ ...j, state: 'DELETED' }] });
    const r = diff(plain, gone, state([r0]), diffOptions());
    expect(r.changes.map((c) => c.action)).toEqual(['no-op']);
    expect(r.warnings).toEqual([expect.objectContaining({ code: 'job-expired', address: ADDRESS, message: expect.stringMatching(/^dc-007: SMS terminated job sms-job-00000007 on .*plan with --replace ReplicationJob\/dc-007/) })]);
    expect(detailedExitCode(r)).toBe(0);
    const replaced = diff(plain, gone, state([r0]), diffOptions({ replace: [ADDRESS] }));
    expect(replaced.changes.map((c) => c.action)).toEqual(['create']);
    // Deleted before its 90 days: re-created as before.
    const early = diff(plain, gone, state([rec(j, { replicationStartedAt: '2026-11-20T20:00:00Z' })]), diffOptions());
    expect(early.changes.map((c) => c.action)).toEqual(['create']);
  });
});
