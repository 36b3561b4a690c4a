/**
 * Replication-job fields as the SMS API spells them. Manifests, state, the SMS adapter and the
 * embedded server all use these names: there is no translation table anywhere.
 *
 * Timestamps are epoch seconds (numbers), as on the wire. They are parsed from RFC 3339 strings
 * at the manifest edge and rendered back to RFC 3339 only for display.
 */

export const LICENSE_TYPES = ['AWS', 'BYOL'] as const;
export type LicenseType = (typeof LICENSE_TYPES)[number];

export const REPLICATION_JOB_STATES = [
  'PENDING', 'ACTIVE', 'FAILED', 'DELETING', 'DELETED', 'COMPLETED', 'PAUSED_ON_FAILURE', 'FAILING',
] as const;
export type ReplicationJobState = (typeof REPLICATION_JOB_STATES)[number];

export const REPLICATION_RUN_STATES = ['PENDING', 'MISSED', 'ACTIVE', 'FAILED', 'COMPLETED', 'DELETING', 'DELETED'] as const;
export type ReplicationRunState = (typeof REPLICATION_RUN_STATES)[number];

export const REPLICATION_RUN_TYPES = ['ON_DEMAND', 'AUTOMATIC'] as const;
export type ReplicationRunType = (typeof REPLICATION_RUN_TYPES)[number];

export const SERVER_CATALOG_STATUSES = ['NOT_IMPORTED', 'IMPORTING', 'AVAILABLE', 'DELETED', 'EXPIRED'] as const;
export type ServerCatalogStatus = (typeof SERVER_CATALOG_STATUSES)[number];

export const VM_MANAGER_TYPES = ['VSPHERE', 'SCVMM', 'HYPERV-MANAGER'] as const;
export type VmManagerType = (typeof VM_MANAGER_TYPES)[number];

export const CONNECTOR_STATUSES = ['HEALTHY', 'UNHEALTHY'] as const;
export type ConnectorStatus = (typeof CONNECTOR_STATUSES)[number];

export const CONNECTOR_CAPABILITIES = ['VSPHERE', 'SCVMM', 'HYPERV-MANAGER', 'SNAPSHOT_BATCHING'] as const;
export type ConnectorCapability = (typeof CONNECTOR_CAPABILITIES)[number];

/** The job fields a manifest may set (all optional: an absent field is not managed). */
export interface JobSpec {
  frequency?: number;
  runOnce?: boolean;
  seedReplicationTime?: number;
  nextReplicationRunStartTime?: number;
  licenseType?: LicenseType;
  roleName?: string;
  description?: string;
  numberOfRecentAmisToKeep?: number;
  encrypted?: boolean;
  kmsKeyId?: string;
}

/** Every key of JobSpec, in the order plans and docs list them. */
export const JOB_SPEC_FIELDS = [
  'frequency', 'runOnce', 'seedReplicationTime', 'nextReplicationRunStartTime', 'licenseType', 'roleName',
  'description', 'numberOfRecentAmisToKeep', 'encrypted', 'kmsKeyId',
] as const satisfies readonly (keyof JobSpec)[];
export type JobSpecField = (typeof JOB_SPEC_FIELDS)[number];

/** The JobSpec fields that are timestamps: epoch seconds here, RFC 3339 strings in manifests. */
export const JOB_TIMESTAMP_FIELDS = ['seedReplicationTime', 'nextReplicationRunStartTime'] as const satisfies readonly JobSpecField[];
export type JobTimestampField = (typeof JOB_TIMESTAMP_FIELDS)[number];

export function isJobTimestampField(field: string): field is JobTimestampField {
  return (JOB_TIMESTAMP_FIELDS as readonly string[]).includes(field);
}
