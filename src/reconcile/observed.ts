import type { ConnectorInfo, ReplicationJobInfo, ServerCatalog, ServerInfo } from '../sms/api.ts';

/**
 * What one bulk read of the SMS API reports: the catalog, every job and every connector, with the
 * indexes diff needs. Jobs in state DELETED are kept in `allJobs` but ignored for matching.
 */
export interface ObservedSet {
  readonly catalog: ServerCatalog;
  readonly allJobs: readonly ReplicationJobInfo[];
  readonly connectors: readonly ConnectorInfo[];
  /** Catalog servers by serverId. */
  readonly servers: ReadonlyMap<string, ServerInfo>;
  /** Jobs not DELETED, by id. */
  readonly jobs: ReadonlyMap<string, ReplicationJobInfo>;
  /** The job that replicates each server: the one not DELETED, the newest when several. */
  readonly jobByServer: ReadonlyMap<string, ReplicationJobInfo>;
}

export function observe(catalog: ServerCatalog, allJobs: readonly ReplicationJobInfo[], connectors: readonly ConnectorInfo[]): ObservedSet {
  const servers = new Map(catalog.servers.map((s) => [s.serverId, s]));
  const jobs = new Map<string, ReplicationJobInfo>();
  const jobByServer = new Map<string, ReplicationJobInfo>();
  for (const j of allJobs) {
    if (j.state === 'DELETED') continue;
    jobs.set(j.replicationJobId, j);
    const seen = jobByServer.get(j.serverId);
    // Prefer a job that still runs over a terminated one; the listing is in creation order.
    if (!seen || isTerminated(seen) || !isTerminated(j)) jobByServer.set(j.serverId, j);
  }
  return { catalog, allJobs, connectors, servers, jobs, jobByServer };
}

/** Deleted, failed or completed: the service lets a new job be created for the server. */
export function isTerminated(j: ReplicationJobInfo): boolean {
  return j.state === 'DELETED' || j.state === 'FAILED' || j.state === 'COMPLETED';
}
