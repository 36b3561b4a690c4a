import { FIELD_POLICY, serviceDefaultFor } from '../model/field-policy.ts';
import { JOB_SPEC_FIELDS, type JobSpec, type JobSpecField } from '../model/job.ts';
import type { ReplicationJobInfo } from '../sms/api.ts';

/** A live job's spec, its fingerprint, and how a field's values compare. Pure. */

/** Fields whose live value moves by itself and is never compared for drift. */
export const NOT_DRIFT: ReadonlySet<JobSpecField> = new Set(['nextReplicationRunStartTime', 'seedReplicationTime']);

/** A field's value with the service default filled in and timestamps truncated to seconds. */
export function comparable(field: JobSpecField, spec: JobSpec): unknown {
  const v = spec[field] ?? serviceDefaultFor(field, spec);
  return FIELD_POLICY[field].timestamp && typeof v === 'number' ? Math.floor(v) : v;
}

export function fmt(field: JobSpecField, v: unknown): string {
  return FIELD_POLICY[field].timestamp && typeof v === 'number' ? iso(v) : JSON.stringify(v);
}

export function iso(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace('.000Z', 'Z');
}

/**
 * Per-job results computed once per observed job object (a plan asks for each several times: the
 * change's `before`, its field diff, its drift, its fingerprint). Keyed weakly by the observed
 * object, which is never mutated; the cached specs are frozen.
 */
const liveSpecs = new WeakMap<ReplicationJobInfo, Readonly<JobSpec>>();
const fingerprints = new WeakMap<ReplicationJobInfo, string>();

/** The job fields of a live job, as the API reports them (frozen: shared by every caller). */
export function liveSpec(j: ReplicationJobInfo): JobSpec {
  let spec = liveSpecs.get(j);
  if (spec === undefined) {
    spec = Object.freeze(readLiveSpec(j));
    liveSpecs.set(j, spec);
  }
  return spec;
}

function readLiveSpec(j: ReplicationJobInfo): JobSpec {
  // Field by field, in JOB_SPEC_FIELDS order; absent stays absent (no closure: ~10,000 calls a plan).
  const out: { -readonly [F in JobSpecField]?: JobSpec[F] } = {};
  if (j.frequency !== undefined) out.frequency = j.frequency;
  if (j.runOnce !== undefined) out.runOnce = j.runOnce;
  if (j.seedReplicationTime !== undefined) out.seedReplicationTime = Math.floor(j.seedReplicationTime);
  if (j.nextReplicationRunStartTime !== undefined) out.nextReplicationRunStartTime = Math.floor(j.nextReplicationRunStartTime);
  if (j.licenseType !== undefined) out.licenseType = j.licenseType;
  if (j.roleName !== undefined) out.roleName = j.roleName;
  if (j.description !== undefined) out.description = j.description;
  if (j.numberOfRecentAmisToKeep !== undefined) out.numberOfRecentAmisToKeep = j.numberOfRecentAmisToKeep;
  if (j.encrypted !== undefined) out.encrypted = j.encrypted;
  if (j.kmsKeyId !== undefined) out.kmsKeyId = j.kmsKeyId;
  return out;
}

/** The fingerprint of what a plan saw of a job; a job being deleted counts as absent. */
export function fingerprintOf(j: ReplicationJobInfo | undefined): string {
  return j === undefined || j.state === 'DELETING' || j.state === 'DELETED' ? 'absent' : fingerprint(j);
}

/**
 * A job's identity and configurable fields (not its state or schedule, which move by themselves):
 * a saved plan is stale when the fingerprint of a job it touches changed.
 */
export function fingerprint(j: ReplicationJobInfo): string {
  let known = fingerprints.get(j);
  if (known === undefined) {
    const s = liveSpec(j);
    known = `${j.replicationJobId}|${j.serverId}`;
    for (const f of FINGERPRINT_FIELDS) known += `|${f}=${fingerprintValue(comparable(f, s))}`;
    fingerprints.set(j, known);
  }
  return known;
}

const FINGERPRINT_FIELDS: readonly JobSpecField[] = JOB_SPEC_FIELDS.filter((f) => !NOT_DRIFT.has(f));

/** A field value as `${JSON.stringify(v)}` writes it (undefined as "undefined"), without JSON.stringify for the common scalars. */
function fingerprintValue(v: unknown): string {
  if (typeof v === 'boolean' || v === undefined || v === null) return String(v);
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  return String(JSON.stringify(v));
}
