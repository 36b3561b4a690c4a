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
  return new ObservedIndex().finish(catalog, allJobs, connectors);
}

/**
 * observe(), fed page by page as the listings arrive (cli/workflow.ts observeAll): the indexes of a
 * 100,000-job listing (~0.13 s) are built while the next pages are awaited, not after the last one.
 * `finish` gives what observe gives for the whole listing. A listing whose pages it was not shown
 * whole (an api that does not report them, or pages shown twice) is indexed again there, from the
 * list itself: the pages only ever save time.
 */
export class ObservedIndex {
  readonly #servers = new Map<string, ServerInfo>();
  readonly #jobs = new Map<string, ReplicationJobInfo>();
  readonly #jobByServer = new Map<string, ReplicationJobInfo>();
  #serversSeen = 0;
  #jobsSeen = 0;

  addServers(page: readonly ServerInfo[]): void {
    for (const s of page) this.#servers.set(s.serverId, s);
    this.#serversSeen += page.length;
  }

  /** Jobs in listing order (creation order): for a server with several, the order decides. */
  addJobs(page: readonly ReplicationJobInfo[]): void {
    for (const j of page) {
      if (j.state === 'DELETED') continue;
      this.#jobs.set(j.replicationJobId, j);
      const seen = this.#jobByServer.get(j.serverId);
      // Prefer a job that still runs over a terminated one; the listing is in creation order.
      if (!seen || isTerminated(seen) || !isTerminated(j)) this.#jobByServer.set(j.serverId, j);
    }
    this.#jobsSeen += page.length;
  }

  finish(catalog: ServerCatalog, allJobs: readonly ReplicationJobInfo[], connectors: readonly ConnectorInfo[]): ObservedSet {
    if (this.#serversSeen !== catalog.servers.length) {
      this.#servers.clear();
      this.#serversSeen = 0;
      this.addServers(catalog.servers);
    }
    if (this.#jobsSeen !== allJobs.length) {
      this.#jobs.clear();
      this.#jobByServer.clear();
      this.#jobsSeen = 0;
      this.addJobs(allJobs);
    }
    return { catalog, allJobs, connectors, servers: this.#servers, jobs: this.#jobs, jobByServer: this.#jobByServer };
  }
}

/** Deleted, failed or completed: the service lets a new job be created for the server. */
export function isTerminated(j: ReplicationJobInfo): boolean {
  return j.state === 'DELETED' || j.state === 'FAILED' || j.state === 'COMPLETED';
}
