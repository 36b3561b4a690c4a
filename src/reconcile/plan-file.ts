import { createHash } from 'node:crypto';
import { canonicalJson } from '../model/desired.ts';
import { SmsReconcileError } from '../model/errors.ts';
import type { StateHead, TargetIdentity } from '../state/codec.ts';
import { describeTarget, sameTarget } from '../state/codec.ts';
import { fingerprintOf } from './diff.ts';
import { isTerminated, type ObservedSet } from './observed.ts';
import { PLAN_FORMAT_VERSION, type Plan } from './plan.ts';

/**
 * A saved plan (`plan --out FILE`): the plan, the normalized manifest documents it was made from
 * (apply re-resolves jobs that waited for a catalog import from them), the manifest paths, and a
 * checksum over all of it, so a hand-edited file is refused. Pure: reading and writing the file is
 * the CLI's job.
 */
export interface PlanFile {
  readonly kind: 'sms-reconcile-plan';
  readonly formatVersion: typeof PLAN_FORMAT_VERSION;
  readonly plan: Plan;
  /** The manifest documents, normalized (manifest/normalize.ts desiredToDocuments). */
  readonly documents: readonly unknown[];
  /** The -f paths, relative to the working directory of the plan. */
  readonly manifestPaths: readonly string[];
  /** sha256 of the canonical JSON of everything above. */
  readonly checksum: string;
}

function checksumOf(body: Omit<PlanFile, 'checksum'>): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

export function encodePlanFile(plan: Plan, documents: readonly unknown[], manifestPaths: readonly string[]): string {
  const body = { kind: 'sms-reconcile-plan' as const, formatVersion: PLAN_FORMAT_VERSION, plan, documents, manifestPaths };
  return `${JSON.stringify({ ...body, checksum: checksumOf(body) }, null, 2)}\n`;
}

function planError(code: string, message: string, hint: string): SmsReconcileError {
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
  return v as PlanFile;
}

/** What apply sees now, to compare with what the plan saw. */
export interface CurrentWorld {
  readonly target: TargetIdentity;
  readonly state: StateHead | undefined;
  /** Digest of the manifests at the plan's paths now; undefined when they cannot be read. */
  readonly manifestDigest: string | undefined;
  readonly observed: ObservedSet;
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
  for (const c of plan.changes) {
    if (c.observedFingerprint === undefined || c.deferredUntilCatalog) continue;
    const job =
      c.replicationJobId !== undefined
        ? now.observed.jobs.get(c.replicationJobId)
        : c.serverId !== undefined
          ? blockingJob(now.observed, c.serverId)
          : undefined;
    const current = fingerprintOf(job);
    if (current !== c.observedFingerprint) {
      reasons.push(
        c.observedFingerprint === 'absent'
          ? `${c.address}: server ${c.serverId ?? '?'} got job ${job?.replicationJobId ?? '?'} since the plan`
          : job === undefined
            ? `${c.address}: job ${c.replicationJobId ?? '?'} is gone since the plan`
            : `${c.address}: job ${job.replicationJobId} was changed since the plan`,
      );
    }
  }
  return reasons;
}

/** The job that would make a create for the server fail: one that is neither terminated nor being deleted. */
function blockingJob(observed: ObservedSet, serverId: string) {
  const j = observed.jobByServer.get(serverId);
  return j && !isTerminated(j) && j.state !== 'DELETING' ? j : undefined;
}
