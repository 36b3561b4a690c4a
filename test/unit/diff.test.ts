/**
 * The pure diff over a table of cases: one per action and per field policy, plus selectors, sets,
 * --target/--replace/--refresh-only, drift and the preflight warnings. Every case states the exact
 * changes (action, address, fields with before/after and policy, replaceBecause, reason where it
 * says something), the exact warning and problem codes, and the drift.
 */
import { describe, expect, it } from 'vitest';
import type { Action } from '../../src/reconcile/action.ts';
import { membersOf, type Change, type Drift, type PlanWarning, type WarningCode } from '../../src/reconcile/change.ts';
import { diff, fingerprint, liveSpec, type DiffOptions, type DiffResult, type PlanProblem } from '../../src/reconcile/diff.ts';
import type { ObservedSet } from '../../src/reconcile/observed.ts';
import { detailedExitCode, hasDestructive } from '../../src/reconcile/plan.ts';
import type { DesiredSet } from '../../src/model/desired.ts';
import { FIELD_POLICY } from '../../src/model/field-policy.ts';
import type { JobSpec, JobSpecField } from '../../src/model/job.ts';
import type { StateDocument } from '../../src/state/codec.ts';
import {
  byId, byName, byVm, catalogDoc, connector, connectorDoc, connectorIdOf, DAY, desired, diffOptions, HOUR, job, jobSet, liveJob, MANAGER_A, MANAGER_B,
  pos, record, server, state, T0, world,
} from '../helpers/desired.ts';

// The catalog: four VMs on vCenter A, two on SCVMM B; "web-01" exists on both managers.
const WEB01 = server(1, { vmName: 'web-01' });
const WEB02 = server(2, { vmName: 'web-02' });
const APP01 = server(3, { vmName: 'app-01' });
const DB01 = server(4, { vmName: 'db-01' });
const WEB01B = server(5, { vmName: 'web-01', manager: MANAGER_B });
const HR01 = server(6, { vmName: 'hr-01', manager: MANAGER_B });
const SERVERS = [WEB01, WEB02, APP01, DB01, WEB01B, HR01];

const S1 = WEB01.serverId;
const S2 = WEB02.serverId;
const S3 = APP01.serverId;
const S5 = WEB01B.serverId;
const S6 = HR01.serverId;

/** The world with these live jobs (healthy connectors for both managers). */
const live = (...jobs: Parameters<typeof world>[0]['jobs'] & object[]): ObservedSet => world({ servers: SERVERS, jobs });

const WEB = 'ReplicationJob/web';
const WEB_SPEC: JobSpec = { frequency: 12, licenseType: 'AWS', roleName: 'sms', description: 'web' };
/** The job replicating web-02, as the service reports it after a create with WEB_SPEC. */
const webJob = (spec: JobSpec = {}, state?: Parameters<typeof liveJob>[2]['state']) => liveJob(WEB02, { ...WEB_SPEC, ...spec }, { n: 2, state });
/** State managing `ReplicationJob/web` -> webJob(), applied with WEB_SPEC. */
const tracked = (applied: JobSpec = WEB_SPEC, o: Parameters<typeof record>[3] = {}) => state([record(WEB, webJob(), applied, o)]);

type ExpectedChange = Partial<Change> & { readonly address: string; readonly action: Action };
type ExpectedWarning = Partial<PlanWarning> & { readonly code: WarningCode };
type ExpectedProblem = Partial<PlanProblem> & { readonly code: string };

interface Case {
  readonly name: string;
  readonly desired: DesiredSet;
  readonly observed?: ObservedSet;
  readonly prior?: StateDocument;
  readonly options?: Partial<DiffOptions>;
  readonly changes: readonly ExpectedChange[];
  readonly warnings?: readonly ExpectedWarning[];
  readonly problems?: readonly ExpectedProblem[];
  readonly drift?: readonly Drift[];
  /** `plan --detailed-exitcode` for these changes (checked when given). */
  readonly exit?: 0 | 2 | 3;
  readonly also?: (r: DiffResult) => void;
}

function run(c: Case): DiffResult {
  return diff(c.desired, c.observed ?? live(), c.prior, diffOptions(c.options));
}

function check(c: Case): void {
  const r = run(c);
  expect(r.changes.map((x) => `${x.action} ${x.address}`), 'changes').toEqual(c.changes.map((x) => `${x.action} ${x.address}`));
  c.changes.forEach((want, i) => expect(r.changes[i], `${want.action} ${want.address}`).toMatchObject(want));
  expect(r.warnings.map((w) => w.code), 'warning codes').toEqual((c.warnings ?? []).map((w) => w.code));
  (c.warnings ?? []).forEach((want, i) => expect(r.warnings[i]).toMatchObject(want));
  expect(r.problems.map((p) => p.code), 'problem codes').toEqual((c.problems ?? []).map((p) => p.code));
  (c.problems ?? []).forEach((want, i) => expect(r.problems[i]).toMatchObject(want));
  expect(r.drift, 'drift').toEqual(c.drift ?? []);
  // Invariants of every change (reconcile/change.ts).
  for (const ch of r.changes) {
    expect(membersOf(ch).replaceBecause !== undefined && (membersOf(ch).replaceBecause?.length ?? 0) > 0, `${ch.address}: replaceBecause iff replace`).toBe(ch.action === 'replace');
    expect(ch.reason.length, `${ch.address}: a reason`).toBeGreaterThan(0);
  }
  if (c.exit !== undefined) expect(detailedExitCode(r)).toBe(c.exit);
  c.also?.(r);
  // Pure and deterministic: the same inputs give the same result.
  expect(run(c)).toEqual(r);
}

const field = (name: JobSpecField | 'serverId', before: unknown, after: unknown) => ({ field: name, before, after, policy: FIELD_POLICY[name].policy });

// ------------------------------------------------------------------------------------------------

const UPDATABLE: readonly { field: JobSpecField; live: unknown; want: unknown }[] = [
  { field: 'frequency', live: 24, want: 6 },
  { field: 'nextReplicationRunStartTime', live: T0 + HOUR, want: T0 + 5 * HOUR },
  { field: 'licenseType', live: 'AWS', want: 'BYOL' },
  { field: 'roleName', live: 'sms', want: 'sms-migration' },
  { field: 'description', live: 'web', want: 'front end' },
  { field: 'numberOfRecentAmisToKeep', live: 0, want: 3 },
  { field: 'encrypted', live: false, want: true },
  { field: 'kmsKeyId', live: undefined, want: 'alias/sms' },
];

describe('field policy table drives the update cases', () => {
  it('covers every updatable job field', () => {
    const updatable = Object.entries(FIELD_POLICY).filter(([, e]) => e.policy === 'updatable').map(([f]) => f).sort();
    expect(UPDATABLE.map((u) => u.field).sort()).toEqual(updatable);
  });
});

const updateCases: Case[] = UPDATABLE.map((u) => {
  const j = webJob({ [u.field]: u.live });
  const want: JobSpec = { ...WEB_SPEC, [u.field]: u.want };
  return {
    name: `update: ${u.field} ${JSON.stringify(u.live)} -> ${JSON.stringify(u.want)}`,
    desired: desired({ jobs: [job('web', byName('web-02'), want)] }),
    observed: live(j),
    prior: state([record(WEB, j, { ...WEB_SPEC, [u.field]: u.live })]),
    changes: [
      {
        address: WEB,
        action: 'update',
        kind: 'ReplicationJob',
        serverId: S2,
        serverName: 'web-02',
        replicationJobId: j.replicationJobId,
        before: liveSpec(j),
        after: want,
        fields: [field(u.field, u.live, u.want)],
        reason: 'the live job differs from the manifest',
        observedFingerprint: fingerprint(j),
        preventDestroy: false,
      },
    ],
    exit: 2,
  };
});

const J2 = webJob();
const J1 = liveJob(WEB01, WEB_SPEC, { n: 1 });
const J3 = liveJob(APP01, { description: 'app' }, { n: 3 });

const cases: Case[] = [
  {
    name: 'create: a declared job whose server has none',
    desired: desired({ jobs: [job('web', byName('web-02'), WEB_SPEC, { line: 4 })] }),
    changes: [
      {
        address: WEB,
        action: 'create',
        kind: 'ReplicationJob',
        serverId: S2,
        serverName: 'web-02',
        after: WEB_SPEC,
        fields: [],
        reason: 'declared in the manifests; no job replicates this server',
        observedFingerprint: 'absent',
        source: pos(4),
      },
    ],
    exit: 2,
    also: (r) => {
      expect(membersOf(r.changes[0]!).replicationJobId).toBeUndefined();
      expect(membersOf(r.changes[0]!).before).toBeUndefined();
    },
  },
  ...updateCases,
  {
    name: 'replace: runOnce cannot change on a live job',
    desired: desired({ jobs: [job('web', byName('web-02'), { ...WEB_SPEC, frequency: undefined, runOnce: true })] }),
    observed: live(J2),
    prior: tracked(),
    changes: [
      {
        address: WEB,
        action: 'replace',
        replicationJobId: J2.replicationJobId,
        serverId: S2,
        before: liveSpec(J2),
        fields: [field('runOnce', false, true)],
        replaceBecause: ['runOnce'],
        reason: 'runOnce cannot change on a live job',
        observedFingerprint: fingerprint(J2),
      },
    ],
    exit: 3,
  },
  {
    name: 'replace: the selector now resolves to another server',
    desired: desired({ jobs: [job('web', byName('web-02'), WEB_SPEC)] }),
    observed: live(J1),
    prior: state([record(WEB, J1, WEB_SPEC)]),
    changes: [
      {
        address: WEB,
        action: 'replace',
        serverId: S2,
        serverName: 'web-02',
        replicationJobId: J1.replicationJobId,
        before: liveSpec(J1),
        after: WEB_SPEC,
        fields: [field('serverId', S1, S2)],
        replaceBecause: ['serverId'],
        reason: expect.stringMatching(/^the selector now picks s-00000002 \(web-02 at \/dc\/a\/web-02 on vcenter-a\.example\.com\) instead of s-00000001$/),
        observedFingerprint: fingerprint(J1),
      },
    ],
    exit: 3,
  },
  {
    name: 'replace: --replace ADDRESS on a job that matches',
    desired: desired({ jobs: [job('web', byName('web-02'), WEB_SPEC)] }),
    observed: live(J2),
    prior: tracked(),
    options: { replace: [WEB] },
    changes: [{ address: WEB, action: 'replace', fields: [], replaceBecause: ['--replace'], reason: `--replace ${WEB}`, replicationJobId: J2.replicationJobId, after: WEB_SPEC }],
    exit: 3,
  },
  {
    name: 'delete: a managed address no manifest declares',
    desired: desired(),
    observed: live(J1),
    prior: state([record('ReplicationJob/old', J1, WEB_SPEC)]),
    changes: [
      {
        address: 'ReplicationJob/old',
        action: 'delete',
        kind: 'ReplicationJob',
        replicationJobId: J1.replicationJobId,
        serverId: S1,
        serverName: 'web-01',
        before: liveSpec(J1),
        stateOnly: false,
        reason: 'removed from the manifests',
        observedFingerprint: fingerprint(J1),
      },
    ],
    exit: 3,
  },
  {
    name: 'delete (state only): the job is already gone',
    desired: desired(),
    observed: live(),
    prior: state([record('ReplicationJob/old', J1, WEB_SPEC)]),
    changes: [
      {
        address: 'ReplicationJob/old',
        action: 'delete',
        replicationJobId: J1.replicationJobId,
        before: WEB_SPEC,
        stateOnly: true,
        reason: 'removed from the manifests; the job is already gone',
        observedFingerprint: 'absent',
      },
    ],
    exit: 2,
    also: (r) => expect(hasDestructive(r)).toBe(false),
  },
  {
    name: 'delete (state only): the job is DELETED in the listing',
    desired: desired(),
    observed: live(liveJob(WEB01, WEB_SPEC, { n: 1, state: 'DELETED' })),
    prior: state([record('ReplicationJob/old', J1, WEB_SPEC)]),
    changes: [{ address: 'ReplicationJob/old', action: 'delete', stateOnly: true, observedFingerprint: 'absent' }],
    exit: 2,
  },
  {
    name: 'adopt: a live job for a declared server that state does not manage',
    desired: desired({ jobs: [job('web', byName('web-02'), WEB_SPEC)] }),
    observed: live(J2),
    changes: [
      {
        address: WEB,
        action: 'adopt',
        serverId: S2,
        replicationJobId: J2.replicationJobId,
        before: liveSpec(J2),
        after: WEB_SPEC,
        fields: [],
        reason: `job ${J2.replicationJobId} already replicates this server`,
        observedFingerprint: fingerprint(J2),
      },
    ],
    warnings: [{ code: 'server-busy', address: WEB, message: expect.stringContaining('it will be adopted') }],
    exit: 2,
  },
  {
    name: 'adopt + update: the adopted job differs from the manifest',
    desired: desired({ jobs: [job('web', byName('web-02'), { ...WEB_SPEC, description: 'front end' })] }),
    observed: live(J2),
    changes: [{ address: WEB, action: 'adopt', replicationJobId: J2.replicationJobId, fields: [field('description', 'web', 'front end')] }],
    warnings: [{ code: 'server-busy' }],
  },
  {
    name: 'adopt: a COMPLETED runOnce job is adopted, not recreated',
    desired: desired({ jobs: [job('once', byName('db-01'), { runOnce: true })] }),
    observed: live(liveJob(DB01, { runOnce: true }, { n: 4, state: 'COMPLETED' })),
    changes: [{ address: 'ReplicationJob/once', action: 'adopt', replicationJobId: 'sms-job-00000004', fields: [] }],
    warnings: [{ code: 'server-busy' }],
  },
  {
    name: 'create: the server only has a FAILED job',
    desired: desired({ jobs: [job('web', byName('web-02'), WEB_SPEC)] }),
    observed: live(webJob({}, 'FAILED')),
    changes: [{ address: WEB, action: 'create', serverId: S2, observedFingerprint: 'absent', reason: 'declared in the manifests; no job replicates this server' }],
    warnings: [{ code: 'job-terminated', message: expect.stringContaining(`previous job ${J2.replicationJobId} FAILED`) }],
  },
  {
    name: 'move: a renamed address, same server - state only, no delete and no create',
    desired: desired({ jobs: [job('app', byName('app-01'), { description: 'app' })] }),
    observed: live(J3),
    prior: state([record('ReplicationJob/old-name', J3, { description: 'app' })]),
    changes: [
      {
        address: 'ReplicationJob/app',
        action: 'move',
        previousAddress: 'ReplicationJob/old-name',
        replicationJobId: J3.replicationJobId,
        serverId: S3,
        fields: [],
        reason: 'renamed from ReplicationJob/old-name; the job keeps its replication history',
        observedFingerprint: fingerprint(J3),
      },
    ],
    exit: 2,
    also: (r) => expect(hasDestructive(r)).toBe(false),
  },
  {
    name: 'move + update: renamed and a field changed',
    desired: desired({ jobs: [job('app', byName('app-01'), { description: 'app v2' })] }),
    observed: live(J3),
    prior: state([record('ReplicationJob/old-name', J3, { description: 'app' })]),
    changes: [{ address: 'ReplicationJob/app', action: 'move', previousAddress: 'ReplicationJob/old-name', fields: [field('description', 'app', 'app v2')] }],
  },
  {
    name: 'move: from a ReplicationJob document into a ReplicationJobSet',
    desired: desired({ jobSets: [jobSet('wave', { template: { description: 'app' }, servers: [{ selector: byName('app-01') }] })] }),
    observed: live(J3),
    prior: state([record('ReplicationJob/app', J3, { description: 'app' })]),
    changes: [{ address: `ReplicationJobSet/wave[${S3}]`, action: 'move', kind: 'ReplicationJobSet', previousAddress: 'ReplicationJob/app', fields: [] }],
  },
  {
    name: 'no-op: the live job matches',
    desired: desired({ jobs: [job('web', byName('web-02'), WEB_SPEC)] }),
    observed: live(J2),
    prior: tracked(),
    changes: [{ address: WEB, action: 'no-op', fields: [], reason: 'matches the manifest', replicationJobId: J2.replicationJobId, observedFingerprint: fingerprint(J2) }],
    exit: 0,
  },
  {
    name: 'no-op: a live job nobody declares or manages is never touched',
    desired: desired(),
    observed: live(J1, J2, J3),
    changes: [],
    exit: 0,
  },
  {
    name: 'import-catalog: NOT_IMPORTED -> import, and the jobs that need it are deferred creates',
    desired: desired({
      catalogs: [catalogDoc()],
      jobs: [job('web', byName('web-02'), WEB_SPEC)],
      jobSets: [jobSet('wave', { template: { frequency: 6 }, match: { vmNameGlob: 'app-*' } })],
    }),
    observed: world({ servers: SERVERS, status: 'NOT_IMPORTED' }),
    changes: [
      { address: 'ServerCatalog/catalog', action: 'import-catalog', kind: 'ServerCatalog', reason: 'the catalog is NOT_IMPORTED' },
      { address: WEB, action: 'create', deferredUntilCatalog: true, after: WEB_SPEC, reason: 'the server is resolved after the catalog import' },
      { address: 'ReplicationJobSet/wave[*]', action: 'create', deferredUntilCatalog: true, after: { frequency: 6 } },
    ],
    exit: 2,
    also: (r) => {
      expect(membersOf(r.changes[1]!).serverId).toBeUndefined();
      expect(membersOf(r.changes[1]!).observedFingerprint).toBeUndefined();
    },
  },
  {
    name: 'import-catalog: AVAILABLE but older than maxAgeHours -> re-import; jobs resolve now',
    desired: desired({ catalogs: [catalogDoc(24)], jobs: [job('web', byName('web-02'), WEB_SPEC)] }),
    observed: world({ servers: SERVERS, lastModifiedOn: T0 - 48 * HOUR }),
    changes: [
      { address: 'ServerCatalog/catalog', action: 'import-catalog', reason: 'the catalog is older than maxAgeHours (24)' },
      { address: WEB, action: 'create', serverId: S2, reason: 'declared in the manifests; no job replicates this server' },
    ],
    also: (r) => expect(membersOf(r.changes[1]!).deferredUntilCatalog).toBeUndefined(),
  },
  {
    name: 'no-op catalog: AVAILABLE and younger than maxAgeHours',
    desired: desired({ catalogs: [catalogDoc(24)] }),
    observed: world({ servers: SERVERS, lastModifiedOn: T0 - 23 * HOUR }),
    changes: [{ address: 'ServerCatalog/catalog', action: 'no-op', reason: 'the catalog is AVAILABLE' }],
    exit: 0,
  },
  {
    name: 'start-run: the onDemandRun token changed',
    desired: desired({ jobs: [job('web', byName('web-02'), WEB_SPEC, { onDemandRun: { token: 't2', description: 'cutover' } })] }),
    observed: live(J2),
    prior: tracked(WEB_SPEC, { onDemandRunToken: 't1' }),
    changes: [
      { address: WEB, action: 'start-run', replicationJobId: J2.replicationJobId, onDemandRun: { token: 't2', description: 'cutover' }, reason: 'onDemandRun.token is t2 (state has t1)', fields: [] },
      { address: WEB, action: 'no-op' },
    ],
    exit: 2,
  },
  {
    name: 'start-run: not again for the token state already has',
    desired: desired({ jobs: [job('web', byName('web-02'), WEB_SPEC, { onDemandRun: { token: 't1' } })] }),
    observed: live(J2),
    prior: tracked(WEB_SPEC, { onDemandRunToken: 't1' }),
    changes: [{ address: WEB, action: 'no-op' }],
    exit: 0,
  },
  {
    name: 'create with a token does not start a run (the seed run replicates at once)',
    desired: desired({ jobs: [job('web', byName('web-02'), WEB_SPEC, { onDemandRun: { token: 't1' } })] }),
    changes: [{ address: WEB, action: 'create', onDemandRun: { token: 't1' } }],
  },
  {
    name: 'adopt with a token does not start a run',
    desired: desired({ jobs: [job('web', byName('web-02'), WEB_SPEC, { onDemandRun: { token: 't1' } })] }),
    observed: live(J2),
    changes: [{ address: WEB, action: 'adopt', onDemandRun: { token: 't1' } }],
    warnings: [{ code: 'server-busy' }],
  },
  {
    name: 'disassociate-connector: an associated connector the manifest wants gone',
    desired: desired({ connectors: [connectorDoc('old', connectorIdOf(2)), connectorDoc('gone', connectorIdOf(9))] }),
    changes: [
      { address: 'Connector/old', action: 'disassociate-connector', kind: 'Connector', connectorId: connectorIdOf(2), reason: 'the manifest wants it disassociated' },
      { address: 'Connector/gone', action: 'no-op', connectorId: connectorIdOf(9), reason: 'not associated' },
    ],
    exit: 2,
  },
  {
    name: 'service defaults never diff: frequency 24, numberOfRecentAmisToKeep 0, encrypted false, runOnce false vs absent',
    desired: desired({ jobs: [job('web', byName('web-02'), { frequency: 24, numberOfRecentAmisToKeep: 0, encrypted: false, runOnce: false })] }),
    observed: live(liveJob(WEB02, { frequency: undefined, numberOfRecentAmisToKeep: undefined, encrypted: undefined, runOnce: undefined }, { n: 2 })),
    prior: state([record(WEB, J2, {})]),
    changes: [{ address: WEB, action: 'no-op', fields: [] }],
    exit: 0,
  },
  {
    name: 'service defaults never diff: the defaults reported live vs fields absent from the manifest',
    desired: desired({ jobs: [job('web', byName('web-02'), { description: 'web' })] }),
    observed: live(liveJob(WEB02, { description: 'web', frequency: 24, numberOfRecentAmisToKeep: 0, encrypted: false, runOnce: false }, { n: 2 })),
    prior: state([record(WEB, J2, { description: 'web' })]),
    changes: [{ address: WEB, action: 'no-op', fields: [] }],
  },
  {
    name: 'service defaults never diff: a runOnce job has no frequency, and none is expected',
    desired: desired({ jobs: [job('once', byName('db-01'), { runOnce: true, encrypted: false })] }),
    observed: live(liveJob(DB01, { runOnce: true }, { n: 4 })),
    prior: state([record('ReplicationJob/once', { replicationJobId: 'sms-job-00000004', serverId: DB01.serverId }, { runOnce: true })]),
    changes: [{ address: 'ReplicationJob/once', action: 'no-op', fields: [] }],
  },
  {
    name: 'a field absent from the manifest is not managed, whatever its live value',
    desired: desired({ jobs: [job('web', byName('web-02'), { description: 'web' })] }),
    observed: live(liveJob(WEB02, { description: 'web', frequency: 3, licenseType: 'BYOL', kmsKeyId: 'alias/x', encrypted: true }, { n: 2 })),
    prior: state([record(WEB, J2, { description: 'web' })]),
    changes: [{ address: WEB, action: 'no-op', fields: [] }],
  },
  {
    name: 'sub-second timestamps never diff (the service truncates to seconds)',
    desired: desired({ jobs: [job('web', byName('web-02'), { seedReplicationTime: T0 - DAY, nextReplicationRunStartTime: T0 + HOUR })] }),
    observed: live(liveJob(WEB02, { seedReplicationTime: T0 - DAY + 0.734, nextReplicationRunStartTime: T0 + HOUR + 0.5 }, { n: 2 })),
    prior: state([record(WEB, J2, { seedReplicationTime: T0 - DAY, nextReplicationRunStartTime: T0 + HOUR })]),
    changes: [{ address: WEB, action: 'no-op', fields: [] }],
  },
  {
    name: 'create-only: a changed seedReplicationTime is a warning, not a diff',
    desired: desired({ jobs: [job('web', byName('web-02'), { ...WEB_SPEC, seedReplicationTime: T0 - 2 * DAY })] }),
    observed: live(J2),
    prior: tracked({ ...WEB_SPEC, seedReplicationTime: T0 - DAY }),
    changes: [{ address: WEB, action: 'no-op', fields: [] }],
    warnings: [{ code: 'create-only-change', address: WEB, message: expect.stringContaining(`plan with --replace ${WEB}`) }],
    exit: 0,
  },
  {
    name: 'create-only: with --replace ADDRESS the changed seedReplicationTime replaces the job',
    desired: desired({ jobs: [job('web', byName('web-02'), { ...WEB_SPEC, seedReplicationTime: T0 - 2 * DAY })] }),
    observed: live(J2),
    prior: tracked({ ...WEB_SPEC, seedReplicationTime: T0 - DAY }),
    options: { replace: [WEB] },
    changes: [{ address: WEB, action: 'replace', fields: [field('seedReplicationTime', T0 - DAY, T0 - 2 * DAY)], replaceBecause: ['--replace'] }],
    exit: 3,
  },
  {
    name: 'nextReplicationRunStartTime in the past is not applied (a warning)',
    desired: desired({ jobs: [job('web', byName('web-02'), { ...WEB_SPEC, nextReplicationRunStartTime: T0 - HOUR })] }),
    observed: live(J2),
    prior: tracked(),
    changes: [{ address: WEB, action: 'no-op', fields: [] }],
    warnings: [{ code: 'next-run-in-past', address: WEB }],
  },
  {
    name: 'preventDestroy blocks a replace (a problem)',
    desired: desired({ jobs: [job('web', byName('web-02'), { runOnce: true }, { preventDestroy: true, line: 7 })] }),
    observed: live(J2),
    prior: tracked(WEB_SPEC, { preventDestroy: true }),
    changes: [{ address: WEB, action: 'replace', preventDestroy: true, replaceBecause: ['runOnce'] }],
    problems: [
      {
        code: 'prevent-destroy',
        address: WEB,
        source: pos(7),
        message: `${WEB} has lifecycle.preventDestroy, but this plan would replace its job ${J2.replicationJobId} (runOnce cannot change on a live job)`,
        hint: expect.stringContaining('preventDestroy: false'),
      },
    ],
  },
  {
    name: 'preventDestroy blocks a delete even when the document is gone (state keeps the protection)',
    desired: desired(),
    observed: live(J2),
    prior: tracked(WEB_SPEC, { preventDestroy: true }),
    changes: [{ address: WEB, action: 'delete', preventDestroy: true, stateOnly: false }],
    problems: [{ code: 'prevent-destroy', address: WEB, message: expect.stringMatching(/would delete its job sms-job-00000002 \(removed from the manifests\)$/), hint: expect.stringContaining('restore its document') }],
  },
  {
    name: 'preventDestroy does not block forgetting a job that is already gone',
    desired: desired(),
    observed: live(),
    prior: tracked(WEB_SPEC, { preventDestroy: true }),
    changes: [{ address: WEB, action: 'delete', stateOnly: true, preventDestroy: true }],
  },
  {
    name: 'selector error: no match, naming the close candidates and the selector position',
    desired: desired({ jobs: [job('web', byName('web-1'), WEB_SPEC, { line: 20 })] }),
    changes: [],
    problems: [
      {
        code: 'selector-no-match',
        address: WEB,
        source: pos(25, undefined, '/spec/server', 3),
        message:
          `${WEB}: vmName web-1 matches no server in the catalog; close: ` +
          's-00000001 (web-01 at /dc/a/web-01 on vcenter-a.example.com); s-00000005 (web-01 at /dc/b/web-01 on scvmm-b.example.com)',
      },
    ],
  },
  {
    name: 'selector error: ambiguous, listing each candidate',
    desired: desired({ jobs: [job('web', byName('web-01'), WEB_SPEC, { line: 30 })] }),
    changes: [],
    problems: [
      {
        code: 'selector-ambiguous',
        address: WEB,
        source: pos(35, undefined, '/spec/server', 3),
        message: `${WEB}: vmName web-01 matches 2 servers: s-00000001 (web-01 at /dc/a/web-01 on vcenter-a.example.com); s-00000005 (web-01 at /dc/b/web-01 on scvmm-b.example.com)`,
        hint: expect.stringContaining('vmManagerName'),
      },
    ],
  },
  {
    name: 'selectors: vmManagerName, vmPath and vmId+vmManagerId narrow to one server',
    desired: desired({
      jobs: [
        job('a', byName('web-01', { vmManagerName: 'scvmm-b.example.com' })),
        job('b', byName('web-01', { vmPath: '/dc/a/web-01' })),
        job('c', byVm('vm-6', MANAGER_B.vmManagerId)),
      ],
    }),
    changes: [
      { address: 'ReplicationJob/a', action: 'create', serverId: S5 },
      { address: 'ReplicationJob/b', action: 'create', serverId: S1 },
      { address: 'ReplicationJob/c', action: 'create', serverId: S6 },
    ],
  },
  {
    name: 'two documents resolving to one server: a problem',
    desired: desired({ jobs: [job('a', byName('web-02'), {}, { line: 1 }), job('b', byId(S2), {}, { line: 10 })] }),
    // The problem refuses the plan; its changes (both claimants) are never shown or applied.
    changes: [
      { address: 'ReplicationJob/a', action: 'create', serverId: S2 },
      { address: 'ReplicationJob/b', action: 'create', serverId: S2 },
    ],
    problems: [
      {
        code: 'server-claimed-twice',
        address: 'ReplicationJob/b',
        source: pos(10),
        message: `ReplicationJob/b and ReplicationJob/a both select server s-00000002 (web-02 at /dc/a/web-02 on vcenter-a.example.com); a server can have one job`,
      },
    ],
  },
  {
    name: 'a job document and a set member on one server: a problem',
    desired: desired({ jobs: [job('a', byName('hr-01'))], jobSets: [jobSet('wave', { match: { vmManagerName: MANAGER_B.vmManagerName } })] }),
    changes: [
      { address: 'ReplicationJob/a', action: 'create', serverId: S6 },
      { address: `ReplicationJobSet/wave[${S5}]`, action: 'create', serverId: S5 },
      { address: `ReplicationJobSet/wave[${S6}]`, action: 'create', serverId: S6 },
    ],
    problems: [{ code: 'server-claimed-twice', address: `ReplicationJobSet/wave[${S6}]` }],
  },
  {
    name: 'ReplicationJobSet: match by vmManagerName',
    desired: desired({ jobSets: [jobSet('wave', { template: { frequency: 6 }, match: { vmManagerName: MANAGER_B.vmManagerName } })] }),
    changes: [
      { address: `ReplicationJobSet/wave[${S5}]`, action: 'create', kind: 'ReplicationJobSet', serverId: S5, after: { frequency: 6 }, source: pos(9, 'manifests/sets.yaml', '/spec/match', 3) },
      { address: `ReplicationJobSet/wave[${S6}]`, action: 'create', serverId: S6, after: { frequency: 6 } },
    ],
  },
  {
    name: 'ReplicationJobSet: match by vmPathPrefix',
    desired: desired({ jobSets: [jobSet('wave', { match: { vmPathPrefix: '/dc/a/web' } })] }),
    changes: [
      { address: `ReplicationJobSet/wave[${S1}]`, action: 'create' },
      { address: `ReplicationJobSet/wave[${S2}]`, action: 'create' },
    ],
  },
  {
    name: 'ReplicationJobSet: match by vmNameGlob (? one character, * any run)',
    desired: desired({ jobSets: [jobSet('wave', { match: { vmNameGlob: 'web-0?' } }), jobSet('other', { match: { vmNameGlob: '*-01', vmManagerName: MANAGER_B.vmManagerName } })] }),
    changes: [
      { address: `ReplicationJobSet/other[${S5}]`, action: 'create' },
      { address: `ReplicationJobSet/other[${S6}]`, action: 'create' },
      { address: `ReplicationJobSet/wave[${S1}]`, action: 'create' },
      { address: `ReplicationJobSet/wave[${S2}]`, action: 'create' },
      { address: `ReplicationJobSet/wave[${S5}]`, action: 'create' },
    ],
    problems: [{ code: 'server-claimed-twice', address: `ReplicationJobSet/wave[${S5}]` }],
  },
  {
    name: 'ReplicationJobSet: an explicit server with overrides wins over the match and the template',
    desired: desired({
      jobSets: [jobSet('wave', { template: { frequency: 12, description: 'wave' }, servers: [{ selector: byId(S1), overrides: { frequency: 6 } }], match: { vmNameGlob: 'web-*' } })],
    }),
    changes: [
      { address: `ReplicationJobSet/wave[${S1}]`, action: 'create', after: { frequency: 6, description: 'wave' }, source: pos(11, 'manifests/sets.yaml', '/spec/servers/0', 7) },
      { address: `ReplicationJobSet/wave[${S2}]`, action: 'create', after: { frequency: 12, description: 'wave' } },
      { address: `ReplicationJobSet/wave[${S5}]`, action: 'create', after: { frequency: 12, description: 'wave' } },
    ],
  },
  {
    name: 'ReplicationJobSet: a match that selects nothing is a warning',
    desired: desired({ jobSets: [jobSet('wave', { match: { vmNameGlob: 'nothing-*' } })] }),
    changes: [],
    warnings: [{ code: 'match-empty', source: pos(9, 'manifests/sets.yaml', '/spec/match', 3) }],
  },
  {
    name: 'ReplicationJobSet: a servers entry that matches nothing is a problem at the entry',
    desired: desired({ jobSets: [jobSet('wave', { servers: [{ selector: byName('nope') }] })] }),
    changes: [],
    problems: [{ code: 'selector-no-match', message: 'ReplicationJobSet/wave: vmName nope matches no server in the catalog', source: pos(11, 'manifests/sets.yaml', '/spec/servers/0', 7) }],
  },
  {
    name: '--target narrows the plan to one address, and says so',
    desired: desired({ jobs: [job('a', byName('web-02')), job('b', byName('app-01'))] }),
    options: { targets: ['ReplicationJob/a'] },
    changes: [{ address: 'ReplicationJob/a', action: 'create' }],
    // The renderers say the plan is targeted (from options.targets); diff adds no warning.
  },
  {
    name: '--target ReplicationJobSet/NAME covers its members',
    desired: desired({ jobs: [job('a', byName('web-02'))], jobSets: [jobSet('wave', { match: { vmManagerName: MANAGER_B.vmManagerName } })] }),
    options: { targets: ['ReplicationJobSet/wave'] },
    changes: [
      { address: `ReplicationJobSet/wave[${S5}]`, action: 'create' },
      { address: `ReplicationJobSet/wave[${S6}]`, action: 'create' },
    ],
  },
  {
    name: '--target keeps the catalog import a targeted deferred job needs',
    desired: desired({ catalogs: [catalogDoc()], jobs: [job('a', byName('web-02')), job('b', byName('app-01'))] }),
    observed: world({ servers: SERVERS, status: 'NOT_IMPORTED' }),
    options: { targets: ['ReplicationJob/a'] },
    changes: [
      { address: 'ServerCatalog/catalog', action: 'import-catalog' },
      { address: 'ReplicationJob/a', action: 'create', deferredUntilCatalog: true },
    ],
  },
  {
    name: 'drift: a live value differs from what state recorded as applied',
    desired: desired({ jobs: [job('web', byName('web-02'), WEB_SPEC)] }),
    observed: live(webJob({ frequency: 6, roleName: 'other' })),
    prior: tracked(),
    changes: [{ address: WEB, action: 'update', fields: [field('frequency', 6, 12), field('roleName', 'other', 'sms')] }],
    drift: [
      { address: WEB, replicationJobId: J2.replicationJobId, field: 'frequency', applied: 12, live: 6 },
      { address: WEB, replicationJobId: J2.replicationJobId, field: 'roleName', applied: 'sms', live: 'other' },
    ],
  },
  {
    // The drift is reported once more; the plan records that the field is no longer managed, so
    // later plans stop reporting it.
    name: 'drift: a field the manifest no longer manages is reported, and dropped from the applied spec',
    desired: desired({ jobs: [job('web', byName('web-02'), { description: 'web' })] }),
    observed: live(webJob({ frequency: 6 })),
    prior: tracked(),
    changes: [{ address: WEB, action: 'record' }],
    drift: [{ address: WEB, replicationJobId: J2.replicationJobId, field: 'frequency', applied: 12, live: 6 }],
  },
  {
    name: 'drift: none for the schedule that moves by itself (next run, seed)',
    desired: desired({ jobs: [job('web', byName('web-02'), WEB_SPEC)] }),
    observed: live(webJob({ nextReplicationRunStartTime: T0 + 7 * HOUR })),
    prior: tracked({ ...WEB_SPEC, seedReplicationTime: T0 - 3 * DAY, nextReplicationRunStartTime: T0 + HOUR }),
    changes: [{ address: WEB, action: 'no-op' }],
  },
  {
    name: '--refresh-only: no changes, drift only',
    desired: desired({ jobs: [job('web', byName('web-02'), WEB_SPEC), job('new', byName('app-01'))] }),
    observed: live(webJob({ frequency: 6 })),
    prior: tracked(),
    options: { refreshOnly: true },
    changes: [],
    drift: [{ address: WEB, replicationJobId: J2.replicationJobId, field: 'frequency', applied: 12, live: 6 }],
    exit: 0,
  },
  {
    name: 'preflight: no healthy connector for the VM manager of a job to create',
    desired: desired({ jobs: [job('web', byName('web-02')), job('hr', byName('hr-01'))] }),
    observed: world({ servers: SERVERS, connectors: [connector(1, MANAGER_A, 'UNHEALTHY'), connector(2, MANAGER_B)] }),
    changes: [
      { address: 'ReplicationJob/hr', action: 'create' },
      { address: 'ReplicationJob/web', action: 'create' },
    ],
    warnings: [{ code: 'no-healthy-connector', address: 'ReplicationJob/web', message: expect.stringContaining('no healthy connector serves vcenter-a.example.com;') }],
  },
  {
    name: 'preflight: the only healthy connector is planned for disassociation',
    desired: desired({ jobs: [job('web', byName('web-02'))], connectors: [connectorDoc('a', connectorIdOf(1))] }),
    changes: [
      { address: 'Connector/a', action: 'disassociate-connector' },
      { address: 'ReplicationJob/web', action: 'create' },
    ],
    warnings: [{ code: 'no-healthy-connector', message: expect.stringContaining('once the planned disassociation is done') }],
  },
  {
    name: 'preflight: a DELETING job on the server',
    desired: desired({ jobs: [job('web', byName('web-02'))] }),
    observed: live(webJob({}, 'DELETING')),
    changes: [{ address: WEB, action: 'create', observedFingerprint: 'absent' }],
    warnings: [{ code: 'server-busy', address: WEB, message: expect.stringContaining(`job ${J2.replicationJobId} of server ${S2} is DELETING`) }],
  },
  {
    name: 'preflight: catalog not imported and no ServerCatalog document',
    desired: desired({ jobs: [job('web', byId(S2))] }),
    observed: world({ servers: SERVERS, status: 'NOT_IMPORTED' }),
    changes: [{ address: WEB, action: 'create', serverId: S2 }],
    warnings: [{ code: 'catalog-not-imported', message: expect.stringContaining('add a ServerCatalog document') }],
    also: (r) => expect(membersOf(r.changes[0]!).deferredUntilCatalog).toBeUndefined(),
  },
  {
    name: 'preflight: catalog not imported, a vmName selector cannot resolve',
    desired: desired({ jobs: [job('web', byName('web-02'))] }),
    observed: world({ servers: SERVERS, status: 'NOT_IMPORTED' }),
    changes: [],
    warnings: [{ code: 'catalog-not-imported' }],
    problems: [{ code: 'selector-no-match', hint: expect.stringContaining('the catalog is not imported') }],
  },
  {
    name: 'preflight: on-demand run on a job that has not completed its seed run',
    desired: desired({ jobs: [job('web', byName('web-02'), WEB_SPEC, { onDemandRun: { token: 't2' } })] }),
    observed: live(webJob({}, 'PENDING')),
    prior: tracked(WEB_SPEC, { onDemandRunToken: 't1' }),
    changes: [
      { address: WEB, action: 'start-run' },
      { address: WEB, action: 'no-op' },
    ],
    warnings: [{ code: 'on-demand-not-ready', address: WEB, message: expect.stringContaining('is PENDING') }],
  },
  {
    name: 'preflight: on-demand run while a run is in progress',
    desired: desired({ jobs: [job('web', byName('web-02'), WEB_SPEC, { onDemandRun: { token: 't2' } })] }),
    observed: live(liveJob(WEB02, WEB_SPEC, { n: 2, runs: [{ replicationRunId: 'sms-run-00000001', state: 'ACTIVE', type: 'AUTOMATIC' }] })),
    prior: tracked(WEB_SPEC, { onDemandRunToken: 't1' }),
    changes: [
      { address: WEB, action: 'start-run' },
      { address: WEB, action: 'no-op' },
    ],
    warnings: [{ code: 'on-demand-not-ready', message: expect.stringContaining('a run of sms-job-00000002 is in progress') }],
  },
  {
    name: "quota: the creates past the account's concurrent-job limit wait for quota (held)",
    desired: desired({ jobs: [job('web', byName('web-02')), job('app', byName('app-01'))] }),
    observed: live(J1),
    options: { maxConcurrentJobs: 2 },
    changes: [
      { address: 'ReplicationJob/app', action: 'create' },
      { address: WEB, action: 'create' },
    ],
    warnings: [{ code: 'concurrent-job-limit', message: expect.stringContaining('1 job(s) wait for quota: 1 of 2 concurrent jobs in use') }],
  },
  {
    name: 'quota: a plain delete frees its slot only once DELETED: the create waits for a later apply',
    desired: desired({ jobs: [job('app', byName('app-01'))] }),
    observed: live(J1),
    prior: state([record('ReplicationJob/old', J1, WEB_SPEC)]),
    options: { maxConcurrentJobs: 1 },
    changes: [
      { address: 'ReplicationJob/old', action: 'delete' },
      { address: 'ReplicationJob/app', action: 'create' },
    ],
    warnings: [{ code: 'concurrent-job-limit', message: expect.stringContaining('1 job(s) wait for quota: 1 of 1 concurrent jobs in use') }],
  },
  {
    name: 'ordering: destructive first, then by execution order, then by address',
    desired: desired({
      catalogs: [catalogDoc(1)],
      jobs: [job('z-new', byName('db-01')), job('a-new', byName('hr-01')), job('web', byName('web-02'), { ...WEB_SPEC, runOnce: true, frequency: undefined })],
      connectors: [connectorDoc('c', connectorIdOf(2))],
    }),
    observed: world({ servers: SERVERS, jobs: [J1, J2], lastModifiedOn: T0 - 2 * HOUR }),
    prior: state([record('ReplicationJob/old', J1, WEB_SPEC), record(WEB, J2, WEB_SPEC)]),
    changes: [
      { address: 'ReplicationJob/old', action: 'delete' },
      { address: WEB, action: 'replace' },
      { address: 'ServerCatalog/catalog', action: 'import-catalog' },
      { address: 'Connector/c', action: 'disassociate-connector' },
      { address: 'ReplicationJob/a-new', action: 'create' },
      { address: 'ReplicationJob/z-new', action: 'create' },
    ],
    warnings: [{ code: 'no-healthy-connector', address: 'ReplicationJob/a-new' }],
    exit: 3,
  },
  {
    name: 'adopt: a nextReplicationRunStartTime in the past is not applied to an adopted job either (a warning)',
    desired: desired({ jobs: [job('web', byName('web-02'), { ...WEB_SPEC, nextReplicationRunStartTime: T0 - HOUR })] }),
    observed: live(J2),
    changes: [{ address: WEB, action: 'adopt', fields: [] }],
    warnings: [{ code: 'server-busy' }, { code: 'next-run-in-past', address: WEB }],
  },
  {
    name: 'adopt: a create-only difference on an adopted job is a warning, as for a managed one',
    desired: desired({ jobs: [job('web', byName('web-02'), { ...WEB_SPEC, seedReplicationTime: T0 - 2 * DAY })] }),
    observed: live(J2),
    changes: [{ address: WEB, action: 'adopt', fields: [] }],
    warnings: [{ code: 'server-busy' }, { code: 'create-only-change', address: WEB }],
  },
];

describe('diff: one case per action and per field policy', () => {
  it.each([...cases.map((c) => [c.name, c] as const)])('%s', (_name, c) => check(c));
});

// Cases that show defects (see the session report): they state what the contract asks for and
// fail until src/ is fixed.
const defects: Case[] = [
  {
    name: 'move: renaming a COMPLETED runOnce job moves it (never deletes the job it adopts)',
    desired: desired({ jobs: [job('once-new', byName('db-01'), { runOnce: true })] }),
    observed: live(liveJob(DB01, { runOnce: true }, { n: 4, state: 'COMPLETED' })),
    prior: state([record('ReplicationJob/once-old', { replicationJobId: 'sms-job-00000004', serverId: DB01.serverId }, { runOnce: true })]),
    changes: [{ address: 'ReplicationJob/once-new', action: 'move', previousAddress: 'ReplicationJob/once-old', replicationJobId: 'sms-job-00000004' }],
    exit: 2,
  },
  {
    name: 'adopt: a forces-replace difference (runOnce) on a job to adopt is planned as a replace, not as an update apply cannot send',
    desired: desired({ jobs: [job('web', byName('web-02'), { runOnce: true })] }),
    observed: live(J2),
    changes: [{ address: WEB, action: 'replace', replaceBecause: ['runOnce'], replicationJobId: J2.replicationJobId }],
    warnings: [{ code: 'server-busy' }],
    exit: 3,
  },
  {
    name: 'move: a forces-replace difference (runOnce) on a renamed job is planned as a replace',
    desired: desired({ jobs: [job('app', byName('app-01'), { runOnce: true })] }),
    observed: live(J3),
    prior: state([record('ReplicationJob/old-name', J3, { description: 'app' })]),
    changes: [{ address: 'ReplicationJob/app', action: 'replace', replaceBecause: ['runOnce'] }],
    exit: 3,
  },
  {
    name: '--target: a protected delete outside the target is not part of the plan, so it does not block it',
    desired: desired({ jobs: [job('a', byName('app-01'))] }),
    observed: live(J2),
    prior: tracked(WEB_SPEC, { preventDestroy: true }),
    options: { targets: ['ReplicationJob/a'] },
    changes: [{ address: 'ReplicationJob/a', action: 'create' }],
  },
  {
    name: '--refresh-only: plans no delete, so preventDestroy has nothing to block',
    desired: desired(),
    observed: live(J2),
    prior: tracked(WEB_SPEC, { preventDestroy: true }),
    options: { refreshOnly: true },
    changes: [],
  },
  {
    name: 'a FAILED managed job is not updated (the service refuses UpdateReplicationJob on it); the plan warns instead',
    desired: desired({ jobs: [job('web', byName('web-02'), { ...WEB_SPEC, description: 'front end' })] }),
    observed: live(webJob({}, 'FAILED')),
    prior: tracked(),
    changes: [{ address: WEB, action: 'no-op', fields: [] }],
    warnings: [{ code: 'job-terminated', address: WEB }],
  },
  {
    name: 'the selector now resolves to a server whose job is managed under a removed address: move it, never adopt and delete the same job',
    desired: desired({ jobs: [job('web', byName('web-02'), WEB_SPEC)] }),
    // State: web -> a job on web-01 that is gone; old -> the job of web-02.
    observed: live(J2),
    prior: state([record(WEB, J1, WEB_SPEC), record('ReplicationJob/old', J2, WEB_SPEC)]),
    changes: [{ address: WEB, action: 'move', previousAddress: 'ReplicationJob/old', replicationJobId: J2.replicationJobId }],
  },
  {
    name: 'a renamed address whose job is DELETING is not moved onto it: create (after DELETED) and forget the old record',
    desired: desired({ jobs: [job('app', byName('app-01'), { description: 'app v2' })] }),
    observed: live(liveJob(APP01, { description: 'app' }, { n: 3, state: 'DELETING' })),
    prior: state([record('ReplicationJob/old-name', J3, { description: 'app' })]),
    changes: [
      { address: 'ReplicationJob/old-name', action: 'delete', stateOnly: true },
      { address: 'ReplicationJob/app', action: 'create', serverId: S3 },
    ],
    warnings: [{ code: 'server-busy', address: 'ReplicationJob/app' }],
  },
];

describe('diff: regressions (defects this suite found, fixed)', () => {
  it.each([...defects.map((c) => [c.name, c] as const)])('%s', (_name, c) => check(c));
});

describe('diff: no plan creates a job on a server that keeps a live job', () => {
  it('the selector now resolves to a server that already has an unmanaged job', () => {
    // State: web -> J1 on web-01. The manifest now selects web-02, which has its own job J2.
    const r = diff(desired({ jobs: [job('web', byName('web-02'), WEB_SPEC)] }), live(J1, J2), state([record(WEB, J1, WEB_SPEC)]), diffOptions());
    const deleted = new Set(r.changes.filter((c) => c.action === 'delete' || c.action === 'replace').map((c) => c.replicationJobId));
    const creates = r.changes.filter((c) => c.action === 'create' || c.action === 'replace');
    for (const c of creates) {
      const busy = [J1, J2].find((j) => j.serverId === membersOf(c).serverId && !deleted.has(j.replicationJobId));
      expect(busy, `${c.action} ${c.address} creates on ${membersOf(c).serverId ?? '?'}, which keeps job ${busy?.replicationJobId ?? ''}`).toBeUndefined();
    }
  });
});
