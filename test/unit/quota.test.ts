/**
 * The account's concurrent-job quota as a planning constraint (reconcile/quota.ts, issue 25) through
 * the real diff: how many creates a plan makes (the free slots, plus those its retires free), in
 * wave order then manifest order; the rest held `{ kind: 'quota' }`; replaces need no new slot;
 * the renderers and the JSON schema; --detailed-exitcode; the executor's order; a stale saved plan.
 */
import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import schema from '../../schemas/plan.v1.schema.json' with { type: 'json' };
import type { DesiredJob } from '../../src/model/desired.ts';
import type { JobSpec } from '../../src/model/job.ts';
import { diff, type DiffOptions } from '../../src/reconcile/diff.ts';
import { stepsByPhase } from '../../src/reconcile/order.ts';
import { staleReasons } from '../../src/reconcile/plan-file.ts';
import { detailedExitCode, PLAN_FORMAT_VERSION, type Plan } from '../../src/reconcile/plan.ts';
import { isHeld, runnable } from '../../src/reconcile/waves.ts';
import type { ReplicationJobInfo, ServerInfo } from '../../src/sms/api.ts';
import { renderPlanJson } from '../../src/report/render-json.ts';
import { renderPlanMarkdown } from '../../src/report/render-markdown.ts';
import { renderPlanText } from '../../src/report/render-text.ts';
import { renderHeld } from '../../src/report/render-waves.ts';
import { byName, desired, diffOptions, job, liveJob, record, server, state, T0, TEST_TARGET, world } from '../helpers/desired.ts';

const Ajv2020 = Ajv2020Module.default;
const SPEC: JobSpec = { frequency: 12 };
const S: ServerInfo[] = Array.from({ length: 8 }, (_, i) => server(i + 1, { vmName: `vm-${i + 1}` }));
const srv = (i: number): ServerInfo => S[i - 1] as ServerInfo;
/** A job of server i (job number i), replicated once (an AMI). */
const replicated = (i: number): ReplicationJobInfo => ({
  ...liveJob(srv(i), SPEC, { n: i, runs: [{ replicationRunId: 'sms-run-00000001', state: 'COMPLETED', amiId: 'ami-0123456789abcdef0' }] }),
  latestAmiId: 'ami-0123456789abcdef0',
});
const named = (i: number, o: { wave?: number; cutover?: boolean } = {}): DesiredJob => ({
  ...job(`j${i}`, byName(`vm-${i}`), SPEC, o.wave === undefined ? {} : { wave: o.wave }),
  ...(o.cutover === true ? { cutover: true as const } : {}),
});

function plan(jobs: readonly DesiredJob[], live: readonly ReplicationJobInfo[], options: Partial<DiffOptions>): Plan {
  const d = desired({ jobs });
  const records = live.filter((j) => j.state !== 'DELETING').map((j) => record(`ReplicationJob/j${Number.parseInt(j.serverId.slice(2), 16)}`, j, SPEC));
  const r = diff(d, world({ servers: S, jobs: live }), state(records), diffOptions({ now: T0, ...options }));
  expect(r.problems).toEqual([]);
  return {
    formatVersion: PLAN_FORMAT_VERSION, createdAt: '2026-11-26T20:00:00.000Z', target: TEST_TARGET, targetDescription: 'test endpoint', state: undefined,
    manifestDigest: d.digest, options: { targets: [], replace: [], refreshOnly: false },
    changes: r.changes, drift: r.drift, warnings: r.warnings, apiCalls: {}, quota: r.quota, ...(r.waves.length === 0 ? {} : { waves: r.waves }),
  };
}

const creates = (p: Plan) => runnable(p.changes).filter((c) => c.action === 'create').map((c) => c.address);
const waiting = (p: Plan) => p.changes.filter((c) => c.gatedBy?.kind === 'quota').map((c) => c.address);

describe('the quota as a planning constraint', () => {
  it('creates at most the free slots, in manifest order; the rest wait for quota (pending: exit 2)', () => {
    // 2 live jobs of a limit of 4: 2 free for 5 new servers.
    const p = plan([named(1), named(2), named(3), named(4), named(5), named(6), named(7)], [replicated(1), replicated(2)], { maxConcurrentJobs: 4 });
    expect(p.quota).toEqual({ limit: 4, inUse: 2 });
    expect(creates(p)).toEqual(['ReplicationJob/j3', 'ReplicationJob/j4']);
    expect(waiting(p)).toEqual(['ReplicationJob/j5', 'ReplicationJob/j6', 'ReplicationJob/j7']);
    expect(p.changes.find((c) => c.address === 'ReplicationJob/j5')?.gatedBy).toEqual({ kind: 'quota', inUse: 2, limit: 4 });
    expect(detailedExitCode(p)).toBe(2);
    // The executor has no step for them.
    expect(stepsByPhase(p.changes).create.map((s) => s.change.address)).toEqual(['ReplicationJob/j3', 'ReplicationJob/j4']);
    expect(p.warnings.map((w) => w.code)).toEqual(['concurrent-job-limit']);
  });

  it('takes the creates in wave order, then manifest order (a later wave is not created before an earlier one)', () => {
    // Wave 2 waits for wave 1 anyway (the gate); of the others, the job in no wave first, then wave 1
    // in manifest order (j4 before j5), whatever the manifest order across waves.
    const p = plan([named(3, { wave: 2 }), named(4, { wave: 1 }), named(5, { wave: 1 }), named(6)], [], { maxConcurrentJobs: 2 });
    expect(creates(p)).toEqual(['ReplicationJob/j4', 'ReplicationJob/j6']);
    expect(waiting(p)).toEqual(['ReplicationJob/j5']);
    expect(p.changes.find((c) => c.address === 'ReplicationJob/j3')?.gatedBy?.kind).toBe('wave');
  });

  it('at the limit, nothing is created, each create saying "waiting for quota (N of N in use)"', () => {
    const p = plan([named(1), named(2), named(3)], [replicated(1), replicated(2)], { maxConcurrentJobs: 2 });
    expect(creates(p)).toEqual([]);
    const text = renderPlanText(p, { color: false });
    expect(text).toContain('waiting for quota (2 of 2 in use)');
    expect(text).toContain('1 waiting for quota.');
    expect(renderPlanMarkdown(p, { color: false })).toContain('waiting for quota (2 of 2 in use)');
    expect(renderHeld(p)).toContain('1 create(s) wait for quota');
    const json = renderPlanJson(p);
    expect(json.quota).toEqual({ limit: 2, inUse: 2, free: 0 });
    expect(json.changes.find((c) => c.address === 'ReplicationJob/j3')?.gatedBy).toEqual({ kind: 'quota', inUse: 2, limit: 2 });
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    addFormatsModule.default(ajv);
    const validate = ajv.compile(schema);
    expect(validate(json), JSON.stringify(validate.errors)).toBe(true);
  });

  it('a retire frees a slot in the same apply: as many creates as retires run after it (in the create phase)', () => {
    const p = plan([named(1, { cutover: true }), named(2, { cutover: true }), named(3), named(4), named(5)], [replicated(1), replicated(2)], { maxConcurrentJobs: 2 });
    expect(p.changes.filter((c) => c.action === 'retire').map((c) => c.address)).toEqual(['ReplicationJob/j1', 'ReplicationJob/j2']);
    expect(creates(p)).toEqual(['ReplicationJob/j3', 'ReplicationJob/j4']);
    expect(waiting(p)).toEqual(['ReplicationJob/j5']);
    const steps = stepsByPhase(p.changes);
    expect(steps.delete.map((s) => [s.change.action, s.waitsFor])).toEqual([['retire', 'job-deleted'], ['retire', 'job-deleted']]);
    expect(steps.create.map((s) => s.change.address)).toEqual(['ReplicationJob/j3', 'ReplicationJob/j4']);
    // The plan says those creates run after the retires (runnable, not waiting for quota).
    expect(p.changes.filter((c) => c.action === 'create' && c.slotFromRetire === true).map((c) => c.address)).toEqual(['ReplicationJob/j3', 'ReplicationJob/j4']);
    expect(renderPlanText(p, { color: false })).toContain("takes a slot this apply's retires free: runs once their jobs are DELETED");
    expect(renderPlanJson(p).changes.filter((c) => c.slotFromRetire).map((c) => c.address)).toEqual(['ReplicationJob/j3', 'ReplicationJob/j4']);
  });

  it('a replace of a live job needs no new slot; a DELETING job still holds one', () => {
    const deleting = { ...replicated(3), state: 'DELETING' as const, serverId: srv(8).serverId, replicationJobId: 'sms-job-000000ff' };
    const p = plan([named(1), named(2)], [replicated(1), deleting], { maxConcurrentJobs: 2, replace: ['ReplicationJob/j1'] });
    expect(p.quota).toEqual({ limit: 2, inUse: 2 });
    expect(runnable(p.changes).map((c) => `${c.action} ${c.address}`)).toEqual(['replace ReplicationJob/j1']);
    expect(waiting(p)).toEqual(['ReplicationJob/j2']);
  });

  it('under the limit nothing is held and no warning is given', () => {
    const p = plan([named(1), named(2)], [], { maxConcurrentJobs: 50 });
    expect(p.changes.filter(isHeld)).toEqual([]);
    expect(p.warnings).toEqual([]);
    expect(renderPlanText(p, { color: false })).not.toContain('quota');
  });
});

describe('a saved plan and the free slots', () => {
  it('is stale when the free slots changed, saying how many it expected', () => {
    const p = plan([named(1), named(2), named(3)], [replicated(1)], { maxConcurrentJobs: 2 });
    const now = (jobs: readonly ReplicationJobInfo[]) => ({ target: TEST_TARGET, state: undefined, manifestDigest: p.manifestDigest, observed: world({ servers: S, jobs }) });
    expect(staleReasons(p, now([replicated(1)]))).toEqual([]);
    const other = { ...replicated(8), replicationJobId: 'sms-job-000000aa' };
    expect(staleReasons(p, now([replicated(1), other]))).toEqual([
      'the free concurrent-job slots changed since the plan: it expected 1 free (1 of 2 in use), there are 0 (2 of 2 in use)',
    ]);
  });
});
