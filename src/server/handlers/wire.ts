import { stageDetails } from '../lifecycle.ts';
import type { ConnectorRow, JobRow, RunRow, ServerRow } from '../store/db.ts';
import type { RequestContext } from './context.ts';

/** Response shapes of the API reference (Data Types). Absent values are omitted, never null. */

type Wire = Record<string, unknown>;

function compact(o: Wire): Wire {
  for (const k of Object.keys(o)) if (o[k] === null || o[k] === undefined) delete o[k];
  return o;
}

export function vmServer(s: ServerRow): Wire {
  return {
    vmManagerName: s.vmManagerName,
    vmManagerType: s.vmManagerType,
    vmName: s.vmName,
    vmPath: s.vmPath,
    vmServerAddress: { vmId: s.vmId, vmManagerId: s.vmManagerId },
  };
}

export function wireRun(ctx: RequestContext, r: RunRow): Wire {
  const stage = stageDetails(r, ctx.settings.runSeconds, ctx.now);
  if (stage !== undefined) ctx.volatile.value = true;
  return compact({
    replicationRunId: r.replicationRunId,
    state: r.state,
    type: r.type,
    stageDetails: stage,
    // BEHAVIOR.md: while a run is ACTIVE its statusMessage is the current stage's name.
    statusMessage: stage?.stage ?? r.statusMessage,
    amiId: r.amiId,
    scheduledStartTime: r.scheduledStartTime,
    completedTime: r.completedTime,
    description: r.description,
    encrypted: r.encrypted === 1,
    kmsKeyId: r.kmsKeyId,
  });
}

/**
 * The job's `replicationRunList` holds one run, as in the User Guide's samples: the ACTIVE run if
 * there is one, else the latest finished run, else the pending one.
 */
function currentRun(ctx: RequestContext, jobId: string): RunRow | undefined {
  return ctx.store.activeRun(jobId) ?? ctx.store.lastFinishedRun(jobId) ?? ctx.store.pendingRun(jobId);
}

export function wireJob(ctx: RequestContext, j: JobRow): Wire {
  const server = ctx.store.server(j.serverId);
  const pending = j.state === 'DELETED' || j.state === 'DELETING' ? undefined : ctx.store.pendingRun(j.replicationJobId);
  const run = currentRun(ctx, j.replicationJobId);
  return compact({
    replicationJobId: j.replicationJobId,
    serverId: j.serverId,
    serverType: 'VIRTUAL_MACHINE',
    vmServer: server ? vmServer(server) : undefined,
    seedReplicationTime: j.seedReplicationTime,
    frequency: j.frequency,
    runOnce: j.runOnce === 1,
    nextReplicationRunStartTime: pending?.scheduledStartTime,
    licenseType: j.licenseType,
    roleName: j.roleName,
    latestAmiId: j.latestAmiId,
    state: j.state,
    statusMessage: j.statusMessage,
    description: j.description,
    numberOfRecentAmisToKeep: j.numberOfRecentAmisToKeep,
    encrypted: j.encrypted === 1,
    kmsKeyId: j.kmsKeyId,
    replicationRunList: run ? [wireRun(ctx, run)] : [],
  });
}

export function wireServer(ctx: RequestContext, s: ServerRow): Wire {
  const job = s.replicationJobId === null ? undefined : ctx.store.job(s.replicationJobId);
  return compact({
    serverId: s.serverId,
    serverType: 'VIRTUAL_MACHINE',
    vmServer: vmServer(s),
    replicationJobId: job?.replicationJobId,
    replicationJobTerminated: job ? isTerminated(job) : undefined,
  });
}

/** "Whether the replication job is deleted or failed"; a finished one-time job counts too. */
export function isTerminated(j: JobRow): boolean {
  return j.state === 'DELETED' || j.state === 'FAILED' || j.state === 'COMPLETED';
}

export function wireConnector(c: ConnectorRow): Wire {
  return compact({
    connectorId: c.connectorId,
    version: c.version,
    status: c.status,
    capabilityList: JSON.parse(c.capabilityList) as string[],
    vmManagerName: c.vmManagerName,
    vmManagerType: c.vmManagerType,
    vmManagerId: c.vmManagerId,
    ipAddress: c.ipAddress,
    macAddress: c.macAddress,
    associatedOn: c.associatedOn,
  });
}
