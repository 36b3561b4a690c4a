/**
 * Migration waves (reconcile/waves.ts) through the real diff: which changes a wave's gate holds,
 * what they wait for, the gates of each wave, --max-wave, the one isHeld predicate the executor's
 * order reads, a server in two waves at plan time, a saved plan made stale by a gate, and how the
 * renderers show it all (the JSON against schemas/plan.v1.schema.json).
 */
import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import schema from '../../schemas/plan.v1.schema.json' with { type: 'json' };
import type { JobSpec } from '../../src/model/job.ts';
import { membersOf, type Change } from '../../src/reconcile/change.ts';
import { diff, type DiffOptions } from '../../src/reconcile/diff.ts';
import type { ObservedSet } from '../../src/reconcile/observed.ts';
import { stepsByPhase } from '../../src/reconcile/order.ts';
import { staleReasons } from '../../src/reconcile/plan-file.ts';
import { detailedExitCode, PLAN_FORMAT_VERSION, type Plan } from '../../src/reconcile/plan.ts';
import { blockingWave, hasReplicated, isHeld, MEMBERS_SHOWN, runnable, waveJobs, type Hold } from '../../src/reconcile/waves.ts';
import type { ReplicationJobInfo, ReplicationRunInfo, ServerInfo } from '../../src/sms/api.ts';
import { renderPlanJson } from '../../src/report/render-json.ts';
import { renderPlanMarkdown } from '../../src/report/render-markdown.ts';
import { renderPlanText } from '../../src/report/render-text.ts';
import { renderHeld, renderWaveTable } from '../../src/report/render-waves.ts';
import { buildEstate } from '../../src/controller/estate.ts';
import { wavesOf } from '../../src/web/model.ts';
import { byId, byName, desired, diffOptions, job, jobSet, liveJob, record, server, state, T0, TEST_TARGET, world } from '../helpers/desired.ts';

const Ajv2020 = Ajv2020Module.default;

// Three waves of two servers, and one server in no wave.
const S = Array.from({ length: 7 }, (_, i) => server(i + 1, { vmName: `vm-${i + 1}` }));
const [A1, A2, B1, B2, C1, C2, FREE] = S as [ServerInfo, ServerInfo, ServerInfo, ServerInfo, ServerInfo, ServerInfo, ServerInfo];
const SPEC: JobSpec = { frequency: 12 };

/** The three waves; with `cutOverA1`, the manifest says a1 is migrated (`cutover: true`). */
const wavesDesired = (cutOverA1 = false) => desired({
  jobs: [
    { ...job('a1', byName('vm-1'), SPEC, { wave: 1 }), ...(cutOverA1 ? { cutover: true as const } : {}) },
    job('a2', byName('vm-2'), SPEC, { wave: 1 }),
    job('b1', byName('vm-3'), SPEC, { wave: 2 }),
    job('b2', byName('vm-4'), SPEC, { wave: 2 }),
    job('free', byName('vm-7'), SPEC),
  ],
  jobSets: [jobSet('apps', { template: SPEC, servers: [{ selector: byId(C1.serverId) }, { selector: byId(C2.serverId) }], wave: 3 })],
});
const WAVES = wavesDesired();

const run = (o: Partial<ReplicationRunInfo> & { state: ReplicationRunInfo['state'] }): ReplicationRunInfo => ({ replicationRunId: 'sms-run-00000001', ...o });
/** A job whose first run completed (an AMI). */
const replicated = (s: ServerInfo, n: number): ReplicationJobInfo => ({ ...liveJob(s, SPEC, { n, runs: [run({ state: 'COMPLETED', amiId: 'ami-0123456789abcdef0' })] }), latestAmiId: 'ami-0123456789abcdef0' });
/** A job whose first run is at `progress` in `stage`. */
const running = (s: ServerInfo, n: number, stage = 'Uploading', progress = '64%'): ReplicationJobInfo =>
  liveJob(s, SPEC, { n, runs: [run({ state: 'ACTIVE', stageDetails: { stage, stageProgress: progress } })] });
const failed = (s: ServerInfo, n: number): ReplicationJobInfo =>
  ({ ...liveJob(s, SPEC, { n, state: 'FAILED', runs: [run({ state: 'FAILED', statusMessage: 'Failed to upload the disk' })] }), statusMessage: 'Replication job failed' });

const observed = (...jobs: ReplicationJobInfo[]): ObservedSet => world({ servers: S, jobs });

/** State managing the live jobs given (each at the address of its server's job). */
const ADDRESS: Record<string, string> = {
  [A1.serverId]: 'ReplicationJob/a1', [A2.serverId]: 'ReplicationJob/a2', [B1.serverId]: 'ReplicationJob/b1', [B2.serverId]: 'ReplicationJob/b2',
  [C1.serverId]: `ReplicationJobSet/apps[${C1.serverId}]`, [C2.serverId]: `ReplicationJobSet/apps[${C2.serverId}]`, [FREE.serverId]: 'ReplicationJob/free',
};
const managing = (...jobs: ReplicationJobInfo[]) => state(jobs.map((j) => record(ADDRESS[j.serverId] ?? '?', j, SPEC)));

function plan(jobs: readonly ReplicationJobInfo[], options: Partial<DiffOptions> = {}): Plan {
  const r = diff(WAVES, observed(...jobs), managing(...jobs), diffOptions({ now: T0, ...options }));
  expect(r.problems).toEqual([]);
  return {
    formatVersion: PLAN_FORMAT_VERSION, createdAt: '2026-11-26T20:00:00.000Z', target: TEST_TARGET, targetDescription: 'test endpoint', state: undefined,
    manifestDigest: WAVES.digest, options: { targets: [], replace: [], refreshOnly: false, ...(options.maxWave === undefined ? {} : { maxWave: options.maxWave }) },
    changes: r.changes, drift: r.drift, warnings: r.warnings, apiCalls: {}, ...(r.waves.length === 0 ? {} : { waves: r.waves }),
  };
}

const held = (p: Plan) => p.changes.filter(isHeld).map((c) => `${c.action} ${c.address}`);
const open = (p: Plan) => runnable(p.changes).map((c) => `${c.action} ${c.address}`);
const holdOf = (p: Plan, address: string): Hold | undefined => p.changes.find((c) => c.address === address && c.action !== 'no-op')?.gatedBy;

describe('the gate', () => {
  it('nothing live: wave 1 and the job in no wave are created; waves 2 and 3 wait for wave 1, whose members have no job', () => {
    const p = plan([]);
    expect(open(p)).toEqual(['create ReplicationJob/a1', 'create ReplicationJob/a2', 'create ReplicationJob/free']);
    expect(held(p)).toEqual(['create ReplicationJob/b1', 'create ReplicationJob/b2', `create ReplicationJobSet/apps[${C1.serverId}]`, `create ReplicationJobSet/apps[${C2.serverId}]`]);
    expect(holdOf(p, 'ReplicationJob/b1')).toEqual({
      kind: 'wave', wave: 2,
      waitingFor: { wave: 1, replicated: 0, total: 2, members: [
        { address: 'ReplicationJob/a1', serverId: A1.serverId, serverName: 'vm-1', state: 'no-job' },
        { address: 'ReplicationJob/a2', serverId: A2.serverId, serverName: 'vm-2', state: 'no-job' },
      ] },
    });
    expect(holdOf(p, `ReplicationJobSet/apps[${C1.serverId}]`)).toMatchObject({ kind: 'wave', wave: 3, waitingFor: { wave: 1 } });
    expect(p.waves).toEqual([
      { wave: 1, declared: 2, created: 0, replicated: 0, failed: 0, open: true, heldByMaxWave: false },
      { wave: 2, declared: 2, created: 0, replicated: 0, failed: 0, open: false, waitingFor: 1, heldByMaxWave: false },
      { wave: 3, declared: 2, created: 0, replicated: 0, failed: 0, open: false, waitingFor: 1, heldByMaxWave: false },
    ]);
    // Every change of a job in a wave carries it; the job in no wave carries none.
    expect(p.changes.map((c) => [c.address, c.wave])).toContainEqual(['ReplicationJob/free', undefined]);
    expect(p.changes.find((c) => c.address === 'ReplicationJob/b2')?.wave).toBe(2);
    // Held changes are pending: --detailed-exitcode says 2.
    expect(detailedExitCode(p)).toBe(2);
  });

  it('wave 1 live but not all replicated: the members not replicated are named with their progress or failure', () => {
    const p = plan([replicated(A1, 1), running(A2, 2)]);
    expect(held(p)).toHaveLength(4);
    expect(holdOf(p, 'ReplicationJob/b1')).toEqual({
      kind: 'wave', wave: 2,
      waitingFor: { wave: 1, replicated: 1, total: 2, members: [{ address: 'ReplicationJob/a2', serverId: A2.serverId, serverName: 'vm-2', replicationJobId: 'sms-job-00000002', state: 'running', progress: 'Uploading 64%' }] },
    });
    const f = plan([replicated(A1, 1), failed(A2, 2)]);
    expect(holdOf(f, 'ReplicationJob/b1')).toMatchObject({ waitingFor: { replicated: 1, members: [{ address: 'ReplicationJob/a2', state: 'failed', message: 'Failed to upload the disk' }] } });
    expect(f.waves?.[0]).toMatchObject({ wave: 1, created: 2, replicated: 1, failed: 1, open: true });
  });

  it('a wave-1 server with no job (the service refused it) keeps wave 2 closed, and the plan names it', () => {
    const p = plan([replicated(A1, 1)]);
    expect(open(p)).toEqual(['create ReplicationJob/a2', 'create ReplicationJob/free']);
    expect(holdOf(p, 'ReplicationJob/b2')).toMatchObject({ waitingFor: { wave: 1, replicated: 1, total: 2, members: [{ address: 'ReplicationJob/a2', serverName: 'vm-2', state: 'no-job' }] } });
    expect(renderPlanText(p, { color: false })).toContain('Wave 2 (2 creates): waiting for wave 1: 1 of 2 replicated (vm-2 has no job yet):');
  });

  it('wave 1 replicated: wave 2 is created; wave 3 waits for wave 2', () => {
    const p = plan([replicated(A1, 1), replicated(A2, 2), replicated(FREE, 7)]);
    expect(open(p)).toEqual(['create ReplicationJob/b1', 'create ReplicationJob/b2']);
    expect(held(p)).toEqual([`create ReplicationJobSet/apps[${C1.serverId}]`, `create ReplicationJobSet/apps[${C2.serverId}]`]);
    expect(holdOf(p, `ReplicationJobSet/apps[${C2.serverId}]`)).toMatchObject({ kind: 'wave', wave: 3, waitingFor: { wave: 2, replicated: 0, total: 2 } });
    expect(p.waves?.map((w) => [w.wave, w.open, w.waitingFor])).toEqual([[1, true, undefined], [2, true, undefined], [3, false, 2]]);
    expect(blockingWave(p.changes)).toBe(2);
  });

  it('a one-time job that COMPLETED counts as replicated; a DELETING one does not', () => {
    expect(hasReplicated({ ...liveJob(A1, { runOnce: true }, { n: 1, state: 'COMPLETED' }) })).toBe(true);
    expect(hasReplicated({ ...replicated(A1, 1), state: 'DELETING' })).toBe(false);
    expect(hasReplicated(running(A1, 1))).toBe(false);
    expect(hasReplicated(undefined)).toBe(false);
  });

  it('a retired (migrated) wave-1 server counts as replicated: with the other replicated, wave 2 opens (issue 25)', () => {
    // a1 is cut over: its job was retired, the state records the server as migrated, and no job is live.
    const cutOver = wavesDesired(true);
    const { replicationJobId: _gone, ...kept } = record('ReplicationJob/a1', replicated(A1, 1), SPEC);
    const migrated = { ...kept, migrated: { amiId: 'ami-0123456789abcdef0', at: '2026-11-20T00:00:00.000Z', replicationJobId: 'sms-job-00000001' } };
    const live = [replicated(A2, 2), replicated(FREE, 7)];
    const r = diff(cutOver, observed(...live), state([migrated, ...Object.values(managing(...live).resources)]), diffOptions({ now: T0 }));
    expect(r.problems).toEqual([]);
    expect(r.migrated.map((m) => m.address)).toEqual(['ReplicationJob/a1']);
    expect(r.changes.find((c) => c.address === 'ReplicationJob/a1')?.action).toBe('no-op');
    expect(r.changes.filter((c) => c.action === 'create' && c.gatedBy === undefined).map((c) => c.address)).toEqual(['ReplicationJob/b1', 'ReplicationJob/b2']);
    expect(r.waves[0]).toMatchObject({ wave: 1, declared: 2, replicated: 2, open: true });
    expect(r.waves[1]).toMatchObject({ wave: 2, open: true });
    // Without the migrated record, the same world keeps wave 2 closed, naming vm-1.
    const without = diff(cutOver, observed(...live), managing(...live), diffOptions({ now: T0 }));
    expect(without.changes.find((c) => c.address === 'ReplicationJob/b1')?.gatedBy).toMatchObject({ kind: 'wave', waitingFor: { replicated: 1, total: 2 } });
    expect(hasReplicated(undefined, true)).toBe(true);
  });

  it('updates and on-demand runs of existing jobs of a closed wave are not held', () => {
    const b1 = liveJob(B1, { frequency: 24 }, { n: 3 });
    const r = diff(WAVES, observed(running(A1, 1), b1), managing(running(A1, 1), b1), diffOptions({ now: T0 }));
    const update = r.changes.find((c) => c.address === 'ReplicationJob/b1');
    expect(update?.action).toBe('update');
    expect(update?.gatedBy).toBeUndefined();
    expect(r.changes.find((c) => c.address === 'ReplicationJob/b2')?.gatedBy?.kind).toBe('wave');
  });

  it('names at most MEMBERS_SHOWN members, with the exact counts', () => {
    const many = Array.from({ length: 15 }, (_, i) => server(100 + i, { vmName: `big-${i}` }));
    const d = desired({ jobs: [...many.map((s, i) => job(`big-${i}`, byId(s.serverId), SPEC, { wave: 1 })), job('late', byName('vm-1'), SPEC, { wave: 2 })] });
    const r = diff(d, world({ servers: [...many, A1] }), undefined, diffOptions({ now: T0 }));
    const hold = r.changes.find((c) => c.address === 'ReplicationJob/late')?.gatedBy;
    expect(hold?.kind === 'wave' && hold.waitingFor.members.length).toBe(MEMBERS_SHOWN);
    expect(hold).toMatchObject({ waitingFor: { replicated: 0, total: 15 } });
    expect(renderPlanText({ ...plan([]), changes: r.changes, waves: r.waves }, { color: false })).toContain('; 5 more)');
  });
});

describe('--max-wave', () => {
  it('holds every change of the jobs of later waves, creates and updates alike, ahead of the gate', () => {
    const b1 = liveJob(B1, { frequency: 24 }, { n: 3 });
    const jobs = [replicated(A1, 1), replicated(A2, 2), b1];
    const p = plan(jobs, { maxWave: 1 });
    expect(held(p)).toEqual([
      'create ReplicationJob/b2', `create ReplicationJobSet/apps[${C1.serverId}]`, `create ReplicationJobSet/apps[${C2.serverId}]`, 'update ReplicationJob/b1',
    ]);
    expect(holdOf(p, 'ReplicationJob/b1')).toEqual({ kind: 'max-wave', maxWave: 1 });
    expect(holdOf(p, `ReplicationJobSet/apps[${C1.serverId}]`)).toEqual({ kind: 'max-wave', maxWave: 1 });
    expect(p.waves?.map((w) => w.heldByMaxWave)).toEqual([false, true, true]);
    expect(renderPlanText(p, { color: false })).toMatch(/Destructive: none\. 4 held by --max-wave 1\.\n$/);
    expect(renderHeld(p)).toContain('Raise --max-wave');
  });
});

describe('the executor and the saved plan', () => {
  it('held changes have no step: the one predicate the order reads', () => {
    const p = plan([]);
    const steps = stepsByPhase(p.changes);
    expect(steps.create.map((s) => s.change.address)).toEqual(['ReplicationJob/a1', 'ReplicationJob/a2', 'ReplicationJob/free']);
    expect(Object.values(steps).flat().some((s) => isHeld(s.change))).toBe(false);
  });

  it("waveJobs: a wave's members with a job, and those the plan still creates", () => {
    const p = plan([replicated(A1, 1)]);
    expect(waveJobs(p.changes, 1)).toEqual({ jobs: [{ address: 'ReplicationJob/a1', replicationJobId: 'sms-job-00000001' }], withoutJob: ['ReplicationJob/a2'] });
  });

  it('a saved plan is stale once a gate opened or closed since, naming the wave', () => {
    const before = plan([replicated(A1, 1), running(A2, 2)]);
    const world = (jobs: ReplicationJobInfo[], waves: Plan['waves']) => ({ target: TEST_TARGET, state: undefined, manifestDigest: WAVES.digest, observed: observed(...jobs), waves });
    const now = [replicated(A1, 1), replicated(A2, 2)];
    expect(staleReasons(before, world([replicated(A1, 1), running(A2, 2)], before.waves))).toEqual([]);
    expect(staleReasons(before, world(now, plan(now).waves))).toEqual(["wave 2's gate opened since the plan (wave 1 has replicated): its creates were planned as held"]);
    const after = plan(now);
    expect(staleReasons(after, world([replicated(A1, 1), failed(A2, 2)], plan([replicated(A1, 1), failed(A2, 2)]).waves))).toEqual([
      "wave 2's gate closed since the plan (it now waits for wave 1): its creates were planned to run",
    ]);
  });
});

describe('a server in two waves, found at plan time', () => {
  it('is a problem at both positions, each naming the other file', () => {
    const d = desired({ jobs: [job('db', byName('vm-1'), SPEC, { wave: 1, line: 3 })], jobSets: [jobSet('all', { match: { vmNameGlob: 'vm-1' }, wave: 2 })] });
    const r = diff(d, world({ servers: S }), undefined, diffOptions({ now: T0 }));
    expect(r.problems.map((p) => [p.code, p.address, p.source?.file])).toEqual([
      ['server-in-two-waves', `ReplicationJobSet/all[${A1.serverId}]`, 'manifests/sets.yaml'],
      ['server-in-two-waves', 'ReplicationJob/db', 'manifests/jobs.yaml'],
    ]);
    expect(r.problems[0]?.message).toContain('ReplicationJob/db (manifests/jobs.yaml:3:1) puts it in wave 1');
    expect(r.problems[1]?.message).toContain('(manifests/sets.yaml:9:3) puts it in wave 2');
  });
});

describe('rendering', () => {
  const p = plan([replicated(A1, 1), running(A2, 2)]);

  it('text: grouped by wave, each wave headed by its gate, held changes marked, counted apart in the summary', () => {
    const text = renderPlanText(p, { color: false });
    const headings = text.split('\n').filter((l) => /^(Changes|Wave \d)/.test(l));
    expect(headings).toEqual([
      'Changes (1):',
      'Wave 2 (2 creates): waiting for wave 1: 1 of 2 replicated (vm-2 running, Uploading 64%):',
      'Wave 3 (2 creates): waiting for wave 1: 1 of 2 replicated (vm-2 running, Uploading 64%):',
    ]);
    expect(text.match(/^ {6}held: waiting for wave 1 \(1 of 2 replicated\); apply does not carry it out yet$/gm)).toHaveLength(4);
    expect(text.trimEnd().split('\n').at(-1)).toBe('Plan: 5 to create (2 unchanged). Destructive: none. 4 waiting for wave 1.');
  });

  it('a plan without waves renders as before: one Changes section, no held count', () => {
    const r = diff(desired({ jobs: [job('free', byName('vm-7'), SPEC)] }), observed(), undefined, diffOptions({ now: T0 }));
    expect(r.waves).toEqual([]);
    const text = renderPlanText({ ...p, changes: r.changes, waves: undefined }, { color: false });
    expect(text).toContain('Changes (1):');
    expect(text).not.toContain('Wave');
    expect(renderPlanJson({ ...p, changes: r.changes, waves: undefined }).waves).toEqual([]);
  });

  it('Markdown: a Waves section, and the held rows say what they wait for', () => {
    const md = renderPlanMarkdown(p, { color: false });
    expect(md).toContain('#### Waves');
    expect(md).toContain('- **Wave 1**: 1 of 2 replicated; gate open; nothing to do');
    expect(md).toContain('- **Wave 2**: 0 of 2 replicated; waiting for wave 1: 1 of 2 replicated (vm-2 running, Uploading 64%); 2 creates');
    expect(md).toMatch(/Destructive: none\. 4 waiting for wave 1\./);
    expect(md).toContain('(held: waiting for wave 1 (1 of 2 replicated))');
  });

  it('JSON: each change with its wave and gatedBy, the waves with their gates, valid against the plan schema', () => {
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    addFormatsModule.default(ajv, ['uuid', 'date-time']);
    const validate = ajv.compile(schema);
    for (const each of [p, plan([], { maxWave: 1 })]) {
      const json = renderPlanJson(each, {});
      expect(validate(JSON.parse(JSON.stringify(json))), JSON.stringify(validate.errors)).toBe(true);
    }
    const json = renderPlanJson(p);
    expect(json.waves.map((w) => [w.wave, w.open, w.waitingFor])).toEqual([[1, true, null], [2, false, 1], [3, false, 1]]);
    const b1 = json.changes.find((c) => c.address === 'ReplicationJob/b1');
    expect(b1?.wave).toBe(2);
    expect(b1?.gatedBy).toEqual({ kind: 'wave', wave: 2, waitingFor: { wave: 1, replicated: 1, total: 2, members: [
      { address: 'ReplicationJob/a2', serverId: A2.serverId, serverName: 'vm-2', replicationJobId: 'sms-job-00000002', state: 'running', progress: 'Uploading 64%', message: null },
    ] } });
    // Grouped by wave in display order: the job in no wave, then waves 2 and 3.
    expect(json.changes.filter((c) => c.action !== 'no-op').map((c) => c.wave)).toEqual([null, 2, 2, 3, 3]);
    expect(json.options.maxWave).toBeNull();
  });

  it('status: one row per wave with its counts and gate', () => {
    expect(renderWaveTable(p.waves ?? [])).toBe(
      'WAVE  DECLARED  CREATED  REPLICATED  FAILED  GATE\n' +
        '1     2         2        1           0       open\n' +
        '2     2         0        0           0       closed (waits for wave 1)\n' +
        '3     2         0        0           0       closed (waits for wave 1)\n',
    );
  });

  it('held changes keep the members every renderer reads', () => {
    const c: Change | undefined = p.changes.find(isHeld);
    expect(membersOf(c!).gatedBy?.kind).toBe('wave');
  });
});

describe("the dashboard's waves view model", () => {
  it('shows the declared waves with the gates the plan decided, then the jobs in no wave', () => {
    const p = plan([replicated(A1, 1), running(A2, 2), replicated(FREE, 7)]);
    const estate = buildEstate({ plan: p, observed: observed(replicated(A1, 1), running(A2, 2), replicated(FREE, 7)), pending: [], errors: [] });
    expect(estate.waves).toEqual(p.waves);
    // Rows of job sets are listed too, each with its wave's name.
    expect(estate.rows.map((r) => [r.address, r.wave])).toContainEqual([`ReplicationJobSet/apps[${C1.serverId}]`, '3']);
    const waves = wavesOf(estate.rows, estate.waves);
    expect(waves.map((w) => [w.name, w.declared, w.created, w.replicated, w.gateOpen, w.waitingFor])).toEqual([
      ['1', 2, 2, 1, true, undefined],
      ['2', 2, 0, 0, false, 1],
      ['3', 2, 0, 0, false, 1],
      ['none', 1, 1, 1, true, undefined],
    ]);
    // Without waves: one row, "none", every gate open.
    expect(wavesOf(estate.rows.filter((r) => r.wave === 'none'), []).map((w) => [w.name, w.gateOpen])).toEqual([['none', true]]);
  });
});
