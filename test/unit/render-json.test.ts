import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import schema from '../../schemas/plan.v1.schema.json' with { type: 'json' };
import { MANIFEST_KINDS } from '../../src/model/address.ts';
import { FIELD_POLICIES, POLICY_FIELDS } from '../../src/model/field-policy.ts';
import { JOB_SPEC_FIELDS, type JobSpec } from '../../src/model/job.ts';
import { ACTIONS } from '../../src/reconcile/action.ts';
import { WARNING_CODES } from '../../src/reconcile/change.ts';
import { SMS_ACTIONS } from '../../src/sms/api.ts';
import { renderPlanJson, renderPlanJsonChunks, renderPlanJsonString } from '../../src/report/render-json.ts';
import { emptyPlan, FIXTURE_PLANS, firstRunPlan, kitchenSinkPlan, plan, T0 } from '../fixtures/plans/plans.ts';
import { diff } from '../../src/reconcile/diff.ts';
import type { Plan } from '../../src/reconcile/plan.ts';
import { byName, desired, diffOptions, job, liveJob, record, server, state, world } from '../helpers/desired.ts';

const Ajv2020 = Ajv2020Module.default;
const addFormats = addFormatsModule.default;

function compile() {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv, ['uuid', 'date-time']);
  return ajv.compile(schema);
}
const validate = compile();

const defs = schema.$defs;
const sorted = (xs: readonly string[]) => [...xs].sort();

describe('plan JSON schema', () => {
  it('validates the JSON rendering of every fixture plan', () => {
    for (const [name, p] of Object.entries(FIXTURE_PLANS)) {
      const ok = validate(JSON.parse(renderPlanJsonString(p, { planFile: 'plan.out' })));
      expect(validate.errors ?? [], name).toEqual([]);
      expect(ok, name).toBe(true);
      expect(validate(renderPlanJson(p)), name).toBe(true);
    }
  });

  it('keeps its enums equal to the code, so a new action, warning or field cannot be forgotten', () => {
    expect(defs.action.enum).toEqual([...ACTIONS]);
    expect(sorted(defs.actionCounts.required)).toEqual(sorted(ACTIONS));
    expect(sorted(Object.keys(defs.actionCounts.properties))).toEqual(sorted(ACTIONS));
    expect(defs.warning.properties.code.enum).toEqual([...WARNING_CODES]);
    expect(defs.policyField.enum).toEqual([...POLICY_FIELDS]);
    expect(defs.jobField.enum).toEqual([...JOB_SPEC_FIELDS]);
    expect(Object.keys(defs.jobSpec.properties)).toEqual([...JOB_SPEC_FIELDS]);
    expect(defs.fieldChange.properties.policy.enum).toEqual([...FIELD_POLICIES]);
    expect(defs.kind.enum).toEqual([...MANIFEST_KINDS]);
    expect(sorted(Object.keys(defs.apiCalls.properties))).toEqual(sorted(SMS_ACTIONS));
  });

  it('lists exactly the members the renderer writes, all of them required', () => {
    const json = renderPlanJson(kitchenSinkPlan);
    expect(sorted(defs.plan.required)).toEqual(sorted(Object.keys(json)));
    expect(sorted(Object.keys(defs.plan.properties))).toEqual(sorted(Object.keys(json)));
    expect(sorted(defs.change.required)).toEqual(sorted(Object.keys(json.changes[0]!)));
    expect(sorted(Object.keys(defs.change.properties))).toEqual(sorted(Object.keys(json.changes[0]!)));
  });

  it('rejects what the renderer never writes', () => {
    const good = (): Record<string, unknown> => JSON.parse(renderPlanJsonString(kitchenSinkPlan));
    const cases: Array<[string, (j: any) => void]> = [
      ['extra member', (j) => (j.extra = 1)],
      ['unknown action', (j) => (j.changes[0].action = 'destroy')],
      ['missing summary action', (j) => delete j.summary['start-run']],
      ['timestamp as a string', (j) => (j.changes.find((c: any) => c.address === 'ReplicationJob/web-01').after.seedReplicationTime = '2026-11-26T20:00:00Z')],
      ['replace without replaceBecause', (j) => (j.changes.find((c: any) => c.action === 'replace').replaceBecause = [])],
      ['absent member instead of null', (j) => delete j.changes[0].serverName],
      ['bad address', (j) => (j.changes[0].address = 'Job/x')],
    ];
    expect(validate(good())).toBe(true);
    for (const [name, mutate] of cases) {
      const j = good();
      mutate(j);
      expect(validate(j), name).toBe(false);
    }
  });
});

describe('renderPlanJson', () => {
  it('counts every action and the destructive ones apart', () => {
    const json = renderPlanJson(kitchenSinkPlan);
    expect(json.summary).toEqual({
      delete: 2, replace: 1, 'import-catalog': 1, 'disassociate-connector': 1, retire: 2, create: 2, update: 1, adopt: 1, move: 1, 'start-run': 1, record: 1, 'no-op': 3,
    });
    expect(json.destructive).toEqual({ delete: 1, replace: 1 });
  });

  it('lists every change, no-op included, destructive first, with every member present', () => {
    const json = renderPlanJson({ ...kitchenSinkPlan, changes: [...kitchenSinkPlan.changes].reverse() });
    expect(json.changes).toHaveLength(kitchenSinkPlan.changes.length);
    expect(json.changes.slice(0, 3).map((c) => [c.action, c.destructive, c.stateOnly])).toEqual([
      ['replace', true, false],
      ['delete', true, false],
      ['delete', false, true],
    ]);
    expect(json.changes.slice(-3).map((c) => c.action)).toEqual(['no-op', 'no-op', 'no-op']);
    const create = json.changes.find((c) => c.address === 'ReplicationJob/web-01')!;
    expect(create).toMatchObject({
      replicationJobId: null,
      before: null,
      after: { frequency: 12, seedReplicationTime: T0, licenseType: 'AWS' },
      replaceBecause: [],
      onDemandRun: null,
      source: { file: 'manifests/web.yaml', line: 1, column: 1, pointer: null },
    });
    const update = json.changes.find((c) => c.action === 'update')!;
    expect(update.fields[0]).toEqual({ field: 'nextReplicationRunStartTime', before: null, after: T0 + 3600, policy: 'updatable', forcesReplacement: false });
    const replace = json.changes.find((c) => c.action === 'replace')!;
    expect(replace.fields.map((f) => [f.field, f.forcesReplacement])).toEqual([['frequency', false], ['runOnce', true]]);
  });

  it('carries the target, state, digest, options, drift, warnings and reads', () => {
    const json = renderPlanJson(kitchenSinkPlan, { planFile: 'out.plan' });
    expect(json).toMatchObject({
      formatVersion: 1,
      createdAt: '2026-11-26T20:00:00Z',
      target: { endpoint: 'embedded', region: 'us-east-1', kind: 'embedded', id: 'emb-0123456789abcdef' },
      state: { lineage: '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d', serial: 7 },
      manifestDigest: kitchenSinkPlan.manifestDigest,
      options: { targets: [], replace: [], refreshOnly: false },
      apiCalls: { GetServers: 1, GetReplicationJobs: 1, GetConnectors: 1 },
      planFile: 'out.plan',
    });
    expect(json.drift[0]).toEqual({ address: 'ReplicationJob/web-04', replicationJobId: 'sms-job-88888888', field: 'nextReplicationRunStartTime', applied: T0, live: T0 + 7200 });
    expect(json.warnings[1]).toEqual({ code: 'concurrent-job-limit', message: 'the plan would leave 51 active jobs; the account allows 50', address: null, source: null });
    const first = renderPlanJson(firstRunPlan);
    expect(first.state).toBeNull();
    expect(first.target.id).toBeNull();
    expect(first.planFile).toBeNull();
  });

  it('has a string form that parses back to the object and ends with a newline', () => {
    const text = renderPlanJsonString(emptyPlan);
    expect(text.endsWith('}\n')).toBe(true);
    expect(JSON.parse(text)).toEqual(renderPlanJson(emptyPlan));
    expect(renderPlanJson(emptyPlan).summary['no-op']).toBe(3);
  });
});

describe('--omit-unchanged (renderPlanJson omitUnchanged)', () => {
  /** 10,000 managed jobs, 1% of them with another frequency in the manifests: a plan made by diff. */
  function estatePlan(n: number): Plan {
    const servers = Array.from({ length: n }, (_, i) => server(i + 1, { vmName: `vm-${i + 1}` }));
    const spec = (i: number): JobSpec => ({ frequency: 12, licenseType: 'AWS', description: `job ${i}` });
    const live = servers.map((s, i) => liveJob(s, spec(i), { n: i + 1 }));
    const d = desired({ jobs: servers.map((s, i) => job(`job-${i}`, byName(`vm-${i + 1}`), i % 100 === 42 ? { ...spec(i), frequency: 6 } : spec(i))) });
    const prior = state(live.map((j, i) => record(`ReplicationJob/job-${i}`, j, spec(i))));
    const r = diff(d, world({ servers, jobs: live }), prior, diffOptions({ maxConcurrentJobs: 2 * n }));
    expect(r.problems).toEqual([]);
    return plan({ changes: r.changes, warnings: r.warnings, manifestDigest: d.digest });
  }

  it('is written in pieces whose concatenation is JSON.stringify(renderPlanJson(...), null, 2), byte for byte', () => {
    const whole = (p: Plan, extras = {}) => `${JSON.stringify(renderPlanJson(p, extras), null, 2)}\n`;
    for (const [name, p] of Object.entries(FIXTURE_PLANS)) {
      for (const extras of [{}, { omitUnchanged: true }, { planFile: 'p.out' }]) expect(renderPlanJsonString(p, extras), name).toBe(whole(p, extras));
    }
    // 3,000 jobs: several pieces of about 64 KiB, none of them the whole.
    const big = estatePlan(3_000);
    const pieces = [...renderPlanJsonChunks(big)];
    expect(pieces.length).toBeGreaterThan(2);
    expect(pieces.join('')).toBe(whole(big));
    expect(pieces.join('').length).toBeGreaterThan(3 * 2 ** 20);
  });

  it('at 10,000 jobs with 1% changed: at most 5% of the full size, schema-valid, the summary still counting the unchanged', () => {
    const p = estatePlan(10_000);
    const full = renderPlanJsonString(p);
    const short = renderPlanJsonString(p, { omitUnchanged: true });
    expect(short.length / full.length).toBeLessThanOrEqual(0.05);
    const json = JSON.parse(short) as { summary: Record<string, number>; changes: { action: string }[] };
    expect(validate(json), JSON.stringify(validate.errors)).toBe(true);
    expect(json.summary).toMatchObject({ update: 100, 'no-op': 9_900 });
    expect(json.changes.map((c) => c.action)).toEqual(Array.from({ length: 100 }, () => 'update'));
    expect(JSON.parse(full)).toMatchObject({ summary: json.summary });
    expect((JSON.parse(full) as { changes: unknown[] }).changes).toHaveLength(10_000);
  });
});
