/** Saved plan files: encoding, tamper and version checks, and why a saved plan is stale. */
import { describe, expect, it } from 'vitest';
import { desiredToDocuments } from '../../src/manifest/normalize.ts';
import type { DesiredSet } from '../../src/model/desired.ts';
import { SmsReconcileError } from '../../src/model/errors.ts';
import { diff } from '../../src/reconcile/diff.ts';
import { isDeferred, membersOf, type Change } from '../../src/reconcile/change.ts';
import type { ObservedSet } from '../../src/reconcile/observed.ts';
import { decodePlanFile, encodePlanFile, observedDigest, staleReasons, type CurrentWorld } from '../../src/reconcile/plan-file.ts';
import { PLAN_FORMAT_VERSION, type Plan } from '../../src/reconcile/plan.ts';
import type { StateDocument, TargetIdentity } from '../../src/state/codec.ts';
import {
  byName, catalogDoc, desired, diffOptions, HOUR, job, jobSet, LINEAGE, liveJob, MANAGER_B, record, server, state, T0, TEST_TARGET, world,
} from '../helpers/desired.ts';

const WEB01 = server(1, { vmName: 'web-01' });
const WEB02 = server(2, { vmName: 'web-02' });
const APP01 = server(3, { vmName: 'app-01' });
const HR01 = server(4, { vmName: 'hr-01', manager: MANAGER_B });
const SERVERS = [WEB01, WEB02, APP01, HR01];

const J1 = liveJob(WEB01, { frequency: 12, description: 'web 1' }, { n: 1 });
const J2 = liveJob(WEB02, { frequency: 12, description: 'web 2' }, { n: 2 });
const J9 = liveJob(APP01, { description: 'old' }, { n: 9 });

/** web-01 updated, web-02 untouched, app-01's old job deleted, hr-01 created. */
const DESIRED = desired({
  jobs: [job('web-01', byName('web-01'), { frequency: 6, description: 'web 1' }), job('web-02', byName('web-02'), { frequency: 12, description: 'web 2' }), job('hr', byName('hr-01'), { frequency: 24 })],
  jobSets: [jobSet('batch', { template: { frequency: 4 }, match: { vmNameGlob: 'batch-*' } })],
  catalogs: [catalogDoc(24)],
});
const PRIOR: StateDocument = state(
  [record('ReplicationJob/web-01', J1, { frequency: 12, description: 'web 1' }), record('ReplicationJob/web-02', J2, { frequency: 12, description: 'web 2' }), record('ReplicationJob/old', J9, { description: 'old' })],
  { serial: 7 },
);
const OBSERVED = world({ servers: SERVERS, jobs: [J1, J2, J9] });

function planOf(d: DesiredSet, observed: ObservedSet, prior: StateDocument | undefined, target: TargetIdentity = TEST_TARGET): Plan {
  const r = diff(d, observed, prior, diffOptions());
  expect(r.problems).toEqual([]);
  return {
    formatVersion: PLAN_FORMAT_VERSION,
    createdAt: new Date(T0 * 1000).toISOString(),
    target,
    targetDescription: `SMS endpoint ${target.endpoint} (${target.region})`,
    state: prior ? { lineage: prior.lineage, serial: prior.serial } : undefined,
    manifestDigest: d.digest,
    options: { targets: [], replace: [], refreshOnly: false },
    changes: r.changes,
    drift: r.drift,
    warnings: r.warnings,
    apiCalls: { GetServers: 1, GetReplicationJobs: 1, GetConnectors: 1 },
  };
}

const PLAN = planOf(DESIRED, OBSERVED, PRIOR);
const TEXT = encodePlanFile(PLAN, desiredToDocuments(DESIRED), ['manifests']);

const fresh = (over: Partial<CurrentWorld> = {}): CurrentWorld => ({
  target: TEST_TARGET,
  state: { lineage: PRIOR.lineage, serial: PRIOR.serial },
  manifestDigest: DESIRED.digest,
  observed: OBSERVED,
  ...over,
});

function refusal(text: string): SmsReconcileError {
  try {
    decodePlanFile(text, 'plan.json');
  } catch (e) {
    expect(e).toBeInstanceOf(SmsReconcileError);
    return e as SmsReconcileError;
  }
  throw new Error('the plan file was accepted');
}

describe('plan file encoding', () => {
  it('the plan is what the test means it to be', () => {
    expect(PLAN.changes.map((c) => `${c.action} ${c.address}`)).toEqual([
      'delete ReplicationJob/old',
      'create ReplicationJob/hr',
      'update ReplicationJob/web-01',
      'no-op ReplicationJob/web-02',
      'no-op ServerCatalog/catalog',
    ]);
  });

  it('round-trips: decode(encode(plan)) gives back the plan (unchanged jobs in short, last), documents and paths', () => {
    const pf = decodePlanFile(TEXT, 'plan.json');
    expect(pf.kind).toBe('sms-reconcile-plan');
    expect(pf.formatVersion).toBe(PLAN_FORMAT_VERSION);
    const web02 = PLAN.changes.find((c) => c.address === 'ReplicationJob/web-02')!;
    expect(pf.plan).toEqual({
      ...JSON.parse(JSON.stringify(PLAN)),
      changes: [
        ...JSON.parse(JSON.stringify(PLAN.changes.filter((c) => c !== web02))),
        {
          address: 'ReplicationJob/web-02',
          action: 'no-op',
          kind: 'ReplicationJob',
          replicationJobId: 'sms-job-00000002',
          fields: [],
          reason: 'matches the manifest',
          preventDestroy: false,
          observedFingerprint: observedDigest(membersOf(web02).observedFingerprint!),
        },
      ],
    });
    expect(pf.unchanged).toEqual([['ReplicationJob/web-02', 'sms-job-00000002', observedDigest(membersOf(web02).observedFingerprint!).replace('sha256/64:', '')]]);
    // No change waits for a catalog import: apply has no use for the documents (see the next test).
    expect(pf.documents).toEqual([]);
    expect(pf.manifestPaths).toEqual(['manifests']);
    expect(pf.checksum).toMatch(/^[0-9a-f]{64}$/);
    // Deterministic, and a decoded plan is as fresh as the one written.
    expect(encodePlanFile(PLAN, desiredToDocuments(DESIRED), ['manifests'])).toBe(TEXT);
    expect(staleReasons(pf.plan, fresh())).toEqual([]);
  });

  it('accepts the same content formatted differently (the checksum is over the content)', () => {
    expect(() => decodePlanFile(JSON.stringify(JSON.parse(TEXT)), 'plan.json')).not.toThrow();
  });

  it('refuses a hand-edited file: one byte of a value changed', () => {
    const edits: [string, string][] = [
      ['"frequency": 6', '"frequency": 7'],
      ['"action": "delete"', '"action": "update"'],
      ['"serial": 7', '"serial": 8'],
      ['"manifests"', '"manifestz"'],
    ];
    for (const [from, to] of edits) {
      expect(TEXT.includes(from), from).toBe(true);
      const e = refusal(TEXT.replace(from, to));
      expect({ code: e.code, source: e.source }, from).toEqual({ code: 'plan-file-modified', source: 'user' });
      expect(e.message).toBe('plan.json was modified after it was written (its checksum does not match)');
      expect(e.hint).toMatch(/run plan again/);
    }
    // A byte of the checksum itself, or no checksum at all.
    const doc = JSON.parse(TEXT) as Record<string, unknown>;
    const checksum = doc['checksum'] as string;
    expect(refusal(TEXT.replace(checksum, `${checksum.slice(0, -1)}${checksum.endsWith('0') ? '1' : '0'}`)).code).toBe('plan-file-modified');
    delete doc['checksum'];
    expect(refusal(JSON.stringify(doc)).code).toBe('plan-file-modified');
  });

  it('refuses what is not a plan file, and another format version', () => {
    expect(refusal('not json').code).toBe('plan-file-invalid');
    expect(refusal('null').code).toBe('plan-file-invalid');
    expect(refusal('[]').code).toBe('plan-file-invalid');
    const doc = JSON.parse(TEXT) as Record<string, unknown>;
    const wrongKind = refusal(JSON.stringify({ ...doc, kind: 'terraform-plan' }));
    expect(wrongKind.code).toBe('plan-file-invalid');
    expect(wrongKind.message).toBe('plan.json is not an sms-reconcile plan file');
    const v2 = refusal(JSON.stringify({ ...doc, formatVersion: 2 }));
    expect(v2.code).toBe('plan-file-version');
    expect(v2.message).toBe('plan.json has plan format 2; this sms-reconcile reads format 1');
    expect(refusal(JSON.stringify({ ...doc, formatVersion: undefined })).code).toBe('plan-file-version');
  });

  it('refuses a change that lacks what its action needs, even with a right checksum (each change is read into its variant)', () => {
    const del = PLAN.changes.find((c) => c.action === 'delete')!;
    const { replicationJobId: _id, ...withoutJob } = membersOf(del);
    const asUpdate = { ...membersOf(PLAN.changes.find((c) => c.action === 'update')!), action: 'start-run' };
    for (const bad of [withoutJob, asUpdate]) {
      // A file as a buggy writer (or a careful hand, recomputing the checksum) would make it.
      const text = encodePlanFile({ ...PLAN, changes: [bad as unknown as Change] }, [], ['manifests']);
      const e = refusal(text);
      expect({ code: e.code, message: e.message }).toEqual({ code: 'plan-file-invalid', message: 'plan.json: change 0 lacks what its action needs' });
    }
    expect(decodePlanFile(encodePlanFile({ ...PLAN, changes: [del] }, [], ['manifests']), 'plan.json').plan.changes).toEqual([del]);
  });
});

describe('staleReasons: each thing that moved since the plan, said plainly', () => {
  it('a fresh plan has none; jobs moving by themselves (state, schedule, runs) do not make it stale', () => {
    expect(staleReasons(PLAN, fresh())).toEqual([]);
    const running = world({
      servers: SERVERS,
      jobs: [
        { ...J1, state: 'ACTIVE', nextReplicationRunStartTime: T0 + 9 * HOUR, latestAmiId: 'ami-0123456789abcdef0', replicationRunList: [{ replicationRunId: 'sms-run-00000001', state: 'ACTIVE' }] },
        { ...J2, state: 'FAILING' },
        J9,
      ],
    });
    expect(staleReasons(PLAN, fresh({ observed: running }))).toEqual([]);
  });

  it('the state serial moved', () => {
    expect(staleReasons(PLAN, fresh({ state: { lineage: LINEAGE, serial: 8 } }))).toEqual([
      'the state moved from serial 7 to 8: something was applied since the plan',
    ]);
  });

  it('the lineage changed (another state)', () => {
    const other = '11111111-2222-4333-8444-555555555555';
    expect(staleReasons(PLAN, fresh({ state: { lineage: other, serial: 7 } }))).toEqual([`the state's lineage changed (${LINEAGE} -> ${other}): it is another state`]);
  });

  it('a state appeared, or disappeared', () => {
    const first = planOf(DESIRED, OBSERVED, undefined);
    expect(staleReasons(first, fresh({ state: { lineage: LINEAGE, serial: 0 } })).filter((r) => r.includes('state'))).toEqual([
      `a state was created since the plan (lineage ${LINEAGE}, serial 0)`,
    ]);
    expect(staleReasons(PLAN, fresh({ state: undefined }))).toEqual(['the state the plan was made against no longer exists']);
  });

  it('the target differs', () => {
    const other: TargetIdentity = { kind: 'remote', endpoint: 'http://127.0.0.1:9999', region: 'us-east-1' };
    expect(staleReasons(PLAN, fresh({ target: other }))).toEqual([
      'the target differs: the plan was made against remote http://127.0.0.1:4573 (us-east-1), this is remote http://127.0.0.1:9999 (us-east-1)',
    ]);
    expect(staleReasons(PLAN, fresh({ target: { ...TEST_TARGET, region: 'eu-west-1' } }))).toHaveLength(1);
  });

  it('the manifests changed, or cannot be read', () => {
    expect(staleReasons(PLAN, fresh({ manifestDigest: 'f'.repeat(64) }))).toEqual(['the manifests changed since the plan (their digest differs)']);
    expect(staleReasons(PLAN, fresh({ manifestDigest: undefined }))).toEqual(['the manifests the plan was made from cannot be read here']);
  });

  it('a job the plan touches was changed since the plan', () => {
    const changed = world({ servers: SERVERS, jobs: [{ ...J1, frequency: 8 }, J2, J9] });
    expect(staleReasons(PLAN, fresh({ observed: changed }))).toEqual(['ReplicationJob/web-01: job sms-job-00000001 was changed since the plan']);
    // A job the plan leaves as it is (a no-op) is checked too: the plan promised nothing changes it.
    const changed2 = world({ servers: SERVERS, jobs: [J1, { ...J2, description: 'edited in the console' }, J9] });
    expect(staleReasons(PLAN, fresh({ observed: changed2 }))).toEqual(['ReplicationJob/web-02: job sms-job-00000002 was changed since the plan']);
  });

  it('a job the plan touches is gone since the plan', () => {
    const gone = world({ servers: SERVERS, jobs: [J1, J2, { ...J9, state: 'DELETED' }] });
    expect(staleReasons(PLAN, fresh({ observed: gone }))).toEqual(['ReplicationJob/old: job sms-job-00000009 is gone since the plan']);
  });

  it('a job was created for a server the plan creates one for', () => {
    const taken = world({ servers: SERVERS, jobs: [J1, J2, J9, liveJob(HR01, {}, { n: 44, state: 'PENDING' })] });
    expect(staleReasons(PLAN, fresh({ observed: taken }))).toEqual(['ReplicationJob/hr: server s-00000004 got job sms-job-0000002c since the plan']);
    // A terminated job there does not block the create.
    const failed = world({ servers: SERVERS, jobs: [J1, J2, J9, liveJob(HR01, {}, { n: 44, state: 'FAILED' })] });
    expect(staleReasons(PLAN, fresh({ observed: failed }))).toEqual([]);
  });

  it('every reason at once', () => {
    const reasons = staleReasons(PLAN, {
      target: { ...TEST_TARGET, endpoint: 'http://127.0.0.1:1' },
      state: { lineage: LINEAGE, serial: 9 },
      manifestDigest: '0'.repeat(64),
      observed: world({ servers: SERVERS, jobs: [{ ...J1, roleName: 'x' }, J2] }),
    });
    expect(reasons).toHaveLength(5);
    expect(reasons.join('\n')).toMatch(/target differs[\s\S]*serial 7 to 9[\s\S]*digest differs[\s\S]*sms-job-00000009 is gone[\s\S]*sms-job-00000001 was changed/);
  });

  it('jobs deferred until a catalog import are not checked (their server is not known yet)', () => {
    const d = desired({ catalogs: [catalogDoc()], jobs: [job('hr', byName('hr-01'))] });
    const p = planOf(d, world({ servers: SERVERS, status: 'NOT_IMPORTED' }), undefined);
    expect(p.changes.map((c) => `${c.action} ${c.address}`)).toEqual(['import-catalog ServerCatalog/catalog', 'create ReplicationJob/hr']);
    const after = world({ servers: SERVERS, jobs: [liveJob(HR01, {}, { n: 5 })] });
    expect(staleReasons(p, { target: TEST_TARGET, state: undefined, manifestDigest: d.digest, observed: after })).toEqual([]);
  });
});

describe('a saved plan keeps unchanged jobs in short: the staleness check still sees them', () => {
  const SAVED = decodePlanFile(TEXT, 'plan.json').plan;

  it('the file holds no unchanged job in full, only its address, job id and a digest of the observed job', () => {
    const file = JSON.parse(TEXT) as { plan: Plan; unchanged: unknown[] };
    expect(file.plan.changes.filter((c) => c.action === 'no-op').map((c) => c.address)).toEqual(['ServerCatalog/catalog']);
    expect(file.unchanged).toEqual([['ReplicationJob/web-02', 'sms-job-00000002', expect.stringMatching(/^[0-9a-f]{16}$/)]]);
    expect(JSON.stringify(file.plan)).not.toContain('web 2');
  });

  it('keeps the manifest documents when a change waits for a catalog import (apply re-resolves it from them)', () => {
    const d = desired({ catalogs: [catalogDoc()], jobs: [job('hr', byName('hr-01'))] });
    const p = planOf(d, world({ servers: SERVERS, status: 'NOT_IMPORTED' }), undefined);
    expect(p.changes.some(isDeferred)).toBe(true);
    const pf = decodePlanFile(encodePlanFile(p, desiredToDocuments(d), ['manifests']), 'plan.json');
    expect(pf.documents).toEqual(JSON.parse(JSON.stringify(desiredToDocuments(d))));
    expect(pf.plan).toEqual(JSON.parse(JSON.stringify(p)));
  });

  it('the same reasons as the plan itself, for every stale world above', () => {
    const other = '11111111-2222-4333-8444-555555555555';
    const worlds: CurrentWorld[] = [
      fresh(),
      fresh({ state: { lineage: LINEAGE, serial: 8 } }),
      fresh({ state: { lineage: other, serial: 7 } }),
      fresh({ state: undefined }),
      fresh({ target: { kind: 'remote', endpoint: 'http://127.0.0.1:9999', region: 'us-east-1' } }),
      fresh({ manifestDigest: 'f'.repeat(64) }),
      fresh({ manifestDigest: undefined }),
      fresh({ observed: world({ servers: SERVERS, jobs: [{ ...J1, frequency: 8 }, J2, J9] }) }),
      fresh({ observed: world({ servers: SERVERS, jobs: [J1, { ...J2, description: 'edited in the console' }, J9] }) }),
      fresh({ observed: world({ servers: SERVERS, jobs: [J1, { ...J2, state: 'DELETED' }, J9] }) }),
      fresh({ observed: world({ servers: SERVERS, jobs: [J1, J2, { ...J9, state: 'DELETED' }] }) }),
      fresh({ observed: world({ servers: SERVERS, jobs: [J1, J2, J9, liveJob(HR01, {}, { n: 44, state: 'PENDING' })] }) }),
      fresh({ observed: world({ servers: SERVERS, jobs: [{ ...J1, state: 'ACTIVE' }, { ...J2, state: 'FAILING', nextReplicationRunStartTime: T0 + 9 * HOUR }, J9] }) }),
    ];
    for (const w of worlds) expect(staleReasons(SAVED, w)).toEqual(staleReasons(PLAN, w));
    expect(staleReasons(SAVED, worlds[8]!)).toEqual(['ReplicationJob/web-02: job sms-job-00000002 was changed since the plan']);
    expect(staleReasons(SAVED, worlds[9]!)).toEqual(['ReplicationJob/web-02: job sms-job-00000002 is gone since the plan']);
  });
});

describe('staleReasons: regressions (defects this suite found, fixed)', () => {
  it('a job that was DELETING when the plan forgot it, and is DELETED now, does not make the plan stale', () => {
    const deleting = { ...J9, state: 'DELETING' as const };
    const p = planOf(desired(), world({ servers: SERVERS, jobs: [deleting] }), state([record('ReplicationJob/old', J9, {})]));
    expect(p.changes).toMatchObject([{ action: 'delete', stateOnly: true }]);
    const now = world({ servers: SERVERS, jobs: [{ ...J9, state: 'DELETED' }] });
    expect(staleReasons(p, { target: TEST_TARGET, state: { lineage: LINEAGE, serial: 3 }, manifestDigest: desired().digest, observed: now })).toEqual([]);
  });
});
