/**
 * The one field-policy table: per replication-job field, how a change to it is carried out and what
 * the service fills in when a manifest leaves it out. diff, the plan renderer, the schema test
 * (test/unit/field-policy.test.ts checks every `x-sms-policy` marker in schemas/manifest.v1.schema.json
 * against this table, both ways) and the generated manifest reference all read it.
 *
 * Invariants:
 * - Every JobSpecField and `serverId` has exactly one entry (the Record type makes a missing one a
 *   compile error).
 * - `serviceDefault.value` has the field's own type; a diff treats "absent on the live job" and
 *   "equal to the applicable service default" as the same value, so defaults never show as changes.
 * - Timestamp fields hold whole epoch seconds: the service truncates fractions, so values are
 *   compared after `Math.floor`.
 */
import type { JobSpec, JobSpecField } from './job.ts';

/** How a change to a field reaches the live job. */
export const FIELD_POLICIES = ['updatable', 'forces-replace', 'create-only', 'computed'] as const;
export type FieldPolicy = (typeof FIELD_POLICIES)[number];

/** The fields the table covers: the job fields a manifest sets, plus the server the job replicates. */
export type PolicyField = JobSpecField | 'serverId';

/** When a service default applies. `always`, or only while the job is not a one-time job. */
export type ServiceDefaultCondition = 'always' | 'unless-run-once';

export interface ServiceDefault<V> {
  readonly value: V;
  readonly when: ServiceDefaultCondition;
}

type PolicyFieldValue<F extends PolicyField> = F extends JobSpecField ? NonNullable<JobSpec[F]> : string;

export interface FieldPolicyEntry<F extends PolicyField = PolicyField> {
  readonly policy: FieldPolicy;
  /** What the service applies when the field is absent (see ServiceDefaultCondition). */
  readonly serviceDefault?: ServiceDefault<PolicyFieldValue<F>>;
  /** True for timestamps: whole epoch seconds in the model, RFC 3339 strings in manifests. */
  readonly timestamp?: true;
  /** One sentence for docs and plan output. */
  readonly description: string;
}

export type FieldPolicyTable = { readonly [F in PolicyField]: FieldPolicyEntry<F> };

export const FIELD_POLICY: FieldPolicyTable = {
  serverId: {
    policy: 'forces-replace',
    description: 'The catalog server the job replicates. Another server means another job: delete, wait for DELETED, create.',
  },
  frequency: {
    policy: 'updatable',
    serviceDefault: { value: 24, when: 'unless-run-once' },
    description: 'Hours between consecutive replication runs (1 to 24).',
  },
  runOnce: {
    policy: 'forces-replace',
    serviceDefault: { value: false, when: 'always' },
    description: 'Replicate once and stop. The service cannot change this on a live job, so a change replaces the job.',
  },
  seedReplicationTime: {
    policy: 'create-only',
    timestamp: true,
    description: 'When the first replication run starts (omitted: the time of apply). Set at creation; a later change is a warning, not a diff, unless --replace is given.',
  },
  nextReplicationRunStartTime: {
    policy: 'updatable',
    timestamp: true,
    description: 'When the next replication run starts.',
  },
  licenseType: {
    policy: 'updatable',
    description: 'License type of the AMIs the runs produce: AWS or BYOL.',
  },
  roleName: {
    policy: 'updatable',
    description: 'Name of the IAM role the service uses.',
  },
  description: {
    policy: 'updatable',
    description: 'Free-text description of the replication job.',
  },
  numberOfRecentAmisToKeep: {
    policy: 'updatable',
    serviceDefault: { value: 0, when: 'always' },
    description: 'How many of the most recent AMIs the job keeps (0 to 270; 0 keeps all).',
  },
  encrypted: {
    policy: 'updatable',
    serviceDefault: { value: false, when: 'always' },
    description: 'Whether the AMIs are encrypted (with kmsKeyId, or the default EBS key).',
  },
  kmsKeyId: {
    policy: 'updatable',
    description: 'KMS key (id, alias, or either as an ARN) for encrypted AMIs.',
  },
};

/** Every field the table covers, serverId first, then the job fields in JOB_SPEC_FIELDS order. */
export const POLICY_FIELDS: readonly PolicyField[] = Object.keys(FIELD_POLICY) as PolicyField[];

/**
 * The value the service applies to `field` of a job whose other fields are `spec`, or undefined when
 * no default applies (the field then stays absent on the live job).
 */
export function serviceDefaultFor<F extends JobSpecField>(field: F, spec: Readonly<JobSpec>): NonNullable<JobSpec[F]> | undefined {
  const entry: FieldPolicyEntry<F> = FIELD_POLICY[field];
  const def = entry.serviceDefault;
  if (def === undefined) return undefined;
  if (def.when === 'unless-run-once' && spec.runOnce === true) return undefined;
  return def.value as NonNullable<JobSpec[F]>;
}

/** Fields whose change forces the job to be replaced (deleted and created again). */
export function forcesReplacement(field: PolicyField): boolean {
  return FIELD_POLICY[field].policy === 'forces-replace';
}
