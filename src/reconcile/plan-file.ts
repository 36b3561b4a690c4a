import { createHash } from 'node:crypto';
import { canonicalJson } from '../model/desired.ts';
import { SmsReconcileError } from '../model/errors.ts';
import type { ErrorCode } from '../model/codes.ts';
import type { StateHead, TargetIdentity } from '../state/codec.ts';
import { describeTarget, sameTarget } from '../state/codec.ts';
import { fingerprintOf } from './live-spec.ts';
import { isDeferred, membersOf, type Change, type JobNoOpChange } from './change.ts';
import { decodeChange } from './change-decode.ts';
import { isTerminated, type ObservedSet } from './observed.ts';
import { PLAN_FORMAT_VERSION, type Plan } from './plan.ts';
import { freeSlots, liveJobCount } from './quota.ts';
import type { WaveGate } from './waves.ts';

/**
 * A saved plan (`plan --out FILE`): the plan, the normalized manifest documents it was made from
 * (apply re-resolves jobs that waited for a catalog import from them), the manifest paths, and a
 * checksum over all of it, so a hand-edited file is refused. Pure: reading and writing the file is
 * the CLI's job.
 *
 * Sized for artifacts (at estate scale nearly every job is unchanged, and a full no-op entry is
 * about 1.4 KB):
 * - Unchanged jobs (no-op changes of a live job) are not kept in full: for each, `unchanged` holds
 *   what the staleness check reads, `[address, replicationJobId, digest of the observed job]`, one
 *   a line. `decodePlanFile` gives them back as no-op changes whose `observedFingerprint` is that
 *   digest (`observedDigest`; `staleReasons` compares it with the digest of the job as it is now).
 * - `documents` are kept only when a change waits for a catalog import (apply re-resolves those
 *   jobs after the import) or the plan declares waves (apply plans again from them to see whether
 *   a wave's gate opened or closed since). Otherwise the list is empty, and apply carries out the
 *   plan's changes as they are (the manifests are still checked by their digest).
 * A file written before these rules (no `unchanged`; every document) is read as it is.
 */
export interface PlanFile {
  readonly kind: 'sms-reconcile-plan';
  readonly formatVersion: typeof PLAN_FORMAT_VERSION;
  /** The plan; when written, without the unchanged jobs that `unchanged` holds. */
  readonly plan: Plan;
  /** Unchanged jobs: address, job id, digest of the observed job (`observedDigest`). */
  readonly unchanged?: readonly UnchangedJob[];
  /** The manifest documents, normalized (manifest/normalize.ts desiredToDocuments); see above for when. */
  readonly documents: readonly unknown[];
  /** The -f paths, relative to the working directory of the plan. */
  readonly manifestPaths: readonly string[];
  /** sha256 of the canonical JSON of everything above. */
  readonly checksum: string;
}

/** In the file the digest is written without DIGEST_PREFIX: 16 hex digits. */
export type UnchangedJob = readonly [address: string, replicationJobId: string, observedDigest: string];

/** How an `observedFingerprint` that is a digest (of an unchanged job read back) starts. */
const DIGEST_PREFIX = 'sha256/64:';

/** The digest of an observed job's fingerprint (diff.ts `fingerprintOf`): 64 bits of its sha256. */
export function observedDigest(fingerprint: string): string {
  return `${DIGEST_PREFIX}${createHash('sha256').update(fingerprint).digest('hex').slice(0, 16)}`;
}

/** Whether a change's recorded fingerprint (or digest of one) is the fingerprint `now`. */
function sameObserved(recorded: string, now: string): boolean {
  return recorded.startsWith(DIGEST_PREFIX) ? recorded === observedDigest(now) : recorded === now;
}

/** A no-op change of a live job: what `unchanged` keeps in short. */
function isUnchangedJob(c: Change): c is JobNoOpChange & { observedFingerprint: string } {
  return c.action === 'no-op' && c.kind !== 'ServerCatalog' && c.kind !== 'Connector' && c.observedFingerprint !== undefined;
}

function checksumOf(body: Omit<PlanFile, 'checksum'>): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

export function encodePlanFile(plan: Plan, documents: readonly unknown[], manifestPaths: readonly string[]): string {
  const unchanged: UnchangedJob[] = [];
  const changes: Change[] = [];
  for (const c of plan.changes) {
    if (isUnchangedJob(c)) unchanged.push([c.address, c.replicationJobId, observedDigest(c.observedFingerprint).slice(DIGEST_PREFIX.length)]);
    else changes.push(c);
  }
  // Waves: apply plans again from the documents to see whether a gate opened or closed since.
  const kept = plan.changes.some(isDeferred) || (plan.waves?.length ?? 0) > 0 ? documents : [];
  const body = { kind: 'sms-reconcile-plan' as const, formatVersion: PLAN_FORMAT_VERSION, plan: { ...plan, changes }, unchanged, documents: kept, manifestPaths };
  // Indented but for the unchanged jobs, one a line: a reviewer can read the file, and it stays small.
  const text = JSON.stringify({ ...body, unchanged: [], checksum: checksumOf(body) }, null, 2);
  const rows = unchanged.map((u) => `    ${JSON.stringify(u)}`).join(',\n');
  return `${unchanged.length === 0 ? text : text.replace('\n  "unchanged": [],\n', `\n  "unchanged": [\n${rows}\n  ],\n`)}\n`;
}

/** The unchanged jobs as no-op changes again (see PlanFile). */
function unchangedChanges(unchanged: readonly UnchangedJob[]): JobNoOpChange[] {
  return unchanged.map(([address, replicationJobId, digest]) => ({
    address,
    action: 'no-op',
    kind: address.startsWith('ReplicationJobSet/') ? 'ReplicationJobSet' : 'ReplicationJob',
    replicationJobId,
    fields: [],
    reason: 'matches the manifest',
    preventDestroy: false,
    observedFingerprint: `${DIGEST_PREFIX}${digest}`,
  }));
}

function planError(code: ErrorCode, message: string, hint: string): SmsReconcileError {
  return new SmsReconcileError(code, message, { source: 'user', hint });
}

/** Parses a plan file; refuses one that is not a plan, from another format version, or edited. */
export function decodePlanFile(text: string, file: string): PlanFile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw planError('plan-file-invalid', `${file} is not a plan file (not JSON)`, 'make one with `sms-reconcile plan -f ... --out FILE`');
  }
  const v = value as Partial<PlanFile> | null;
  if (typeof v !== 'object' || v === null || v.kind !== 'sms-reconcile-plan') {
    throw planError('plan-file-invalid', `${file} is not an sms-reconcile plan file`, 'make one with `sms-reconcile plan -f ... --out FILE`');
  }
  if (v.formatVersion !== PLAN_FORMAT_VERSION) {
    throw planError('plan-file-version', `${file} has plan format ${String(v.formatVersion)}; this sms-reconcile reads format ${PLAN_FORMAT_VERSION}`, 'make the plan again with this version');
  }
  const { checksum, ...body } = v as PlanFile;
  if (typeof checksum !== 'string' || checksum !== checksumOf(body)) {
    throw planError('plan-file-modified', `${file} was modified after it was written (its checksum does not match)`, 'plans are not edited by hand: run plan again');
  }
  const pf = v as PlanFile;
  const changes = decodeChanges(pf.plan?.changes, file);
  const unchanged = pf.unchanged ?? [];
  return { ...pf, plan: { ...pf.plan, changes: unchanged.length === 0 ? changes : [...changes, ...unchangedChanges(unchanged)] } };
}

/** The plan's changes, each checked to be the variant its action says (change-decode.ts). */
function decodeChanges(value: unknown, file: string): Change[] {
  if (!Array.isArray(value)) throw planError('plan-file-invalid', `${file} holds no list of changes`, 'make one with `sms-reconcile plan -f ... --out FILE`');
  return value.map((c: unknown, i: number) => {
    const change = decodeChange(c);
    if (change === undefined) throw planError('plan-file-invalid', `${file}: change ${i} lacks what its action needs`, 'make the plan again with this version');
    return change;
  });
}

/** What apply sees now, to compare with what the plan saw. */
export interface CurrentWorld {
  readonly target: TargetIdentity;
  readonly state: StateHead | undefined;
  /** Digest of the manifests at the plan's paths now; undefined when they cannot be read. */
  readonly manifestDigest: string | undefined;
  readonly observed: ObservedSet;
  /** The waves' gates now (a fresh plan's `waves`), when the plan declares waves. */
  readonly waves?: readonly WaveGate[];
}

/**
 * Why a saved plan may no longer be applied: each thing that moved since the plan, said plainly.
 * Empty when the plan is fresh.
 */
export function staleReasons(plan: Plan, now: CurrentWorld): string[] {
  const reasons: string[] = [];
  if (!sameTarget(plan.target, now.target)) {
    reasons.push(`the target differs: the plan was made against ${describeTarget(plan.target)}, this is ${describeTarget(now.target)}`);
  }
  const was = plan.state;
  const is = now.state;
  if (was === undefined && is !== undefined) reasons.push(`a state was created since the plan (lineage ${is.lineage}, serial ${is.serial})`);
  else if (was !== undefined && is === undefined) reasons.push('the state the plan was made against no longer exists');
  else if (was !== undefined && is !== undefined) {
    if (was.lineage !== is.lineage) reasons.push(`the state's lineage changed (${was.lineage} -> ${is.lineage}): it is another state`);
    else if (was.serial !== is.serial) reasons.push(`the state moved from serial ${was.serial} to ${is.serial}: something was applied since the plan`);
  }
  if (now.manifestDigest === undefined) reasons.push('the manifests the plan was made from cannot be read here');
  else if (now.manifestDigest !== plan.manifestDigest) reasons.push('the manifests changed since the plan (their digest differs)');
  for (const c of plan.changes.map(membersOf)) {
    if (c.observedFingerprint === undefined || c.deferredUntilCatalog) continue;
    const job =
      c.replicationJobId !== undefined
        ? now.observed.jobs.get(c.replicationJobId)
        : c.serverId !== undefined
          ? blockingJob(now.observed, c.serverId)
          : undefined;
    const current = fingerprintOf(job);
    if (!sameObserved(c.observedFingerprint, current)) {
      reasons.push(
        c.observedFingerprint === 'absent'
          ? `${c.address}: server ${c.serverId ?? '?'} got job ${job?.replicationJobId ?? '?'} since the plan`
          : job === undefined
            ? `${c.address}: job ${c.replicationJobId ?? '?'} is gone since the plan`
            : `${c.address}: job ${job.replicationJobId} was changed since the plan`,
      );
    }
  }
  reasons.push(...gateReasons(plan.waves ?? [], now.waves ?? []));
  const slots = slotReason(plan, now.observed);
  if (slots !== undefined) reasons.push(slots);
  return reasons;
}

/**
 * The free concurrent-job slots changed since a plan that creates jobs or holds some for quota
 * (reconcile/quota.ts): the creates it planned, or held, no longer match the slots there are.
 */
function slotReason(plan: Plan, observed: ObservedSet): string | undefined {
  if (plan.quota === undefined || !plan.changes.some((c) => c.action === 'create' || c.gatedBy?.kind === 'quota')) return undefined;
  const expected = freeSlots(plan.quota);
  const inUse = liveJobCount(observed.allJobs);
  const free = freeSlots({ limit: plan.quota.limit, inUse });
  if (free === expected) return undefined;
  return `the free concurrent-job slots changed since the plan: it expected ${expected} free (${plan.quota.inUse} of ${plan.quota.limit} in use), there are ${free} (${inUse} of ${plan.quota.limit} in use)`;
}

/** A gate that opened or closed since the plan: the plan's held creates (or its open ones) no longer hold. */
function gateReasons(was: readonly WaveGate[], is: readonly WaveGate[]): string[] {
  const reasons: string[] = [];
  for (const then of was) {
    const now = is.find((g) => g.wave === then.wave);
    if (now === undefined || now.open === then.open) continue;
    reasons.push(
      now.open
        ? `wave ${then.wave}'s gate opened since the plan (wave ${then.waitingFor ?? '?'} has replicated): its creates were planned as held`
        : `wave ${then.wave}'s gate closed since the plan (it now waits for wave ${now.waitingFor ?? '?'}): its creates were planned to run`,
    );
  }
  return reasons;
}

/** The job that would make a create for the server fail: one that is neither terminated nor being deleted. */
function blockingJob(observed: ObservedSet, serverId: string) {
  const j = observed.jobByServer.get(serverId);
  return j && !isTerminated(j) && j.state !== 'DELETING' ? j : undefined;
}
