import type {
  JobSpec,
  ConnectorCapability, ConnectorStatus, ReplicationJobState, ReplicationRunState, ReplicationRunType, ServerCatalogStatus,
  VmManagerType,
} from '../model/job.ts';

/**
 * The narrow SMS interface the reconciler uses: the 11 actions, with listings paginated to
 * completion. Member names are the API's; timestamps are epoch seconds. Implementations throw
 * SmsApiError (sms/errors.ts) for every failure.
 */

export interface VmServer {
  readonly vmManagerName?: string;
  readonly vmManagerType?: VmManagerType;
  readonly vmName?: string;
  readonly vmPath?: string;
  readonly vmServerAddress?: { readonly vmManagerId?: string; readonly vmId?: string };
}

export interface ServerInfo {
  readonly serverId: string;
  readonly vmServer: VmServer;
  readonly replicationJobId?: string;
  readonly replicationJobTerminated?: boolean;
}

export interface ServerCatalog {
  readonly status: ServerCatalogStatus;
  readonly lastModifiedOn?: number;
  readonly servers: readonly ServerInfo[];
}

export interface ReplicationRunInfo {
  readonly replicationRunId: string;
  readonly state?: ReplicationRunState;
  readonly type?: ReplicationRunType;
  readonly stageDetails?: { readonly stage?: string; readonly stageProgress?: string };
  readonly statusMessage?: string;
  readonly amiId?: string;
  readonly scheduledStartTime?: number;
  readonly completedTime?: number;
  readonly description?: string;
}

/** A live job: its job fields (timestamps as epoch seconds) and what the service reports about it. */
export interface ReplicationJobInfo extends Readonly<JobSpec> {
  readonly replicationJobId: string;
  readonly serverId: string;
  readonly state?: ReplicationJobState;
  readonly statusMessage?: string;
  readonly vmServer?: VmServer;
  readonly latestAmiId?: string;
  readonly replicationRunList: readonly ReplicationRunInfo[];
}

export interface ConnectorInfo {
  readonly connectorId: string;
  readonly status?: ConnectorStatus;
  readonly capabilityList?: readonly ConnectorCapability[];
  readonly vmManagerId?: string;
  readonly vmManagerName?: string;
  readonly vmManagerType?: VmManagerType;
  readonly version?: string;
  readonly ipAddress?: string;
  readonly macAddress?: string;
  readonly associatedOn?: number;
}

/** CreateReplicationJob's members: the job fields but the next run (set by a later update), plus the server and the seed. */
export interface CreateJobInput extends Readonly<Omit<JobSpec, 'nextReplicationRunStartTime' | 'seedReplicationTime'>> {
  readonly serverId: string;
  readonly seedReplicationTime: number;
}

/** UpdateReplicationJob's members: the job fields the service can change on a live job. */
export interface UpdateJobInput extends Readonly<Omit<JobSpec, 'runOnce' | 'seedReplicationTime'>> {
  readonly replicationJobId: string;
}

export const SMS_ACTIONS = [
  'CreateReplicationJob', 'DeleteReplicationJob', 'DeleteServerCatalog', 'DisassociateConnector', 'GetConnectors',
  'GetReplicationJobs', 'GetReplicationRuns', 'GetServers', 'ImportServerCatalog', 'StartOnDemandReplicationRun',
  'UpdateReplicationJob',
] as const;
export type SmsAction = (typeof SMS_ACTIONS)[number];

export interface SmsApi {
  /** The whole catalog; `onPage` sees each page of servers as it arrives. */
  getServers(onPage?: (page: readonly ServerInfo[]) => void): Promise<ServerCatalog>;
  /** The catalog's status alone (one small call), for polling an import. */
  getServerCatalogStatus(): Promise<Omit<ServerCatalog, 'servers'>>;
  /** Every job; `onPage` sees each page as it arrives (plan warms its per-job caches meanwhile). */
  getReplicationJobs(onPage?: (page: readonly ReplicationJobInfo[]) => void): Promise<ReplicationJobInfo[]>;
  /** One job by id; undefined when the service does not know it. */
  getReplicationJob(replicationJobId: string): Promise<ReplicationJobInfo | undefined>;
  getReplicationRuns(replicationJobId: string): Promise<{ job: ReplicationJobInfo; runs: ReplicationRunInfo[] }>;
  getConnectors(): Promise<ConnectorInfo[]>;
  createReplicationJob(input: CreateJobInput): Promise<string>;
  updateReplicationJob(input: UpdateJobInput): Promise<void>;
  deleteReplicationJob(replicationJobId: string): Promise<void>;
  startOnDemandReplicationRun(replicationJobId: string, description?: string): Promise<string>;
  importServerCatalog(): Promise<void>;
  deleteServerCatalog(): Promise<void>;
  disassociateConnector(connectorId: string): Promise<void>;
  /** API calls made so far (each HTTP request, retries included), by action. */
  calls(): Readonly<Record<SmsAction, number>>;
  /**
   * The service's time (epoch ms) at wall time `wallMs`, when the service says it differs (the
   * embedded server with a manual clock sends its time with each answer: BEHAVIOR.md); absent or
   * `wallMs` otherwise.
   */
  serviceNow?(wallMs: number): number;
}

/** The time the service's lifecycle runs on (see SmsApi.serviceNow), epoch ms. */
export function serviceNowMs(api: Pick<SmsApi, 'serviceNow'>, wallMs: number): number {
  return api.serviceNow?.(wallMs) ?? wallMs;
}
