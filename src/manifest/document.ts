/**
 * The manifest documents as written (after YAML, before normalization): the TypeScript mirror of
 * schemas/manifest.v1.schema.json. A value has one of these types only after it passed the schema
 * (validate.ts); timestamps are still RFC 3339 strings here.
 */
import type { JobSpec, JobTimestampField } from '../model/job.ts';

export const API_VERSION = 'sms-reconcile/v1';
export const SUPPORTED_API_VERSIONS: readonly string[] = [API_VERSION];

/** Job fields as a manifest writes them: JobSpec, with the timestamps as RFC 3339 strings. */
export type ManifestJobFields = Omit<JobSpec, JobTimestampField> & { [F in JobTimestampField]?: string };

export type ManifestServerSelector =
  | { serverId: string }
  | { vmId: string; vmManagerId: string }
  | { vmName: string; vmManagerName?: string; vmPath?: string };

export interface ManifestMetadata {
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface ManifestOnDemandRun {
  token: string;
  description?: string;
}

export interface ManifestLifecycle {
  preventDestroy?: boolean;
}

export interface ReplicationJobDocument {
  apiVersion: typeof API_VERSION;
  kind: 'ReplicationJob';
  metadata: ManifestMetadata;
  spec: ManifestJobFields & {
    server: ManifestServerSelector;
    onDemandRun?: ManifestOnDemandRun;
    lifecycle?: ManifestLifecycle;
    wave?: number;
    cutover?: boolean;
  };
}

export interface ManifestServerEntry extends ManifestJobFields {
  server: ManifestServerSelector;
  cutover?: boolean;
}

export interface ManifestServerMatch {
  vmManagerName?: string;
  vmPathPrefix?: string;
  vmNameGlob?: string;
}

export interface ReplicationJobSetDocument {
  apiVersion: typeof API_VERSION;
  kind: 'ReplicationJobSet';
  metadata: ManifestMetadata;
  spec: {
    template?: ManifestJobFields;
    servers?: ManifestServerEntry[];
    match?: ManifestServerMatch;
    onDemandRun?: ManifestOnDemandRun;
    lifecycle?: ManifestLifecycle;
    wave?: number;
    cutover?: boolean;
  };
}

export interface ServerCatalogDocument {
  apiVersion: typeof API_VERSION;
  kind: 'ServerCatalog';
  metadata: ManifestMetadata;
  spec: { imported: true; maxAgeHours?: number };
}

export interface ConnectorDocument {
  apiVersion: typeof API_VERSION;
  kind: 'Connector';
  metadata: ManifestMetadata;
  spec: { connectorId: string; associated: false };
}

export type ManifestDocument = ReplicationJobDocument | ReplicationJobSetDocument | ServerCatalogDocument | ConnectorDocument;
