import { LICENSE_TYPES } from '../../model/job.ts';
import { ApiError, invalidParameter, notPermitted } from '../errors.ts';
import { ID_PATTERNS } from '../ids.ts';
import { advanceJob, beginDelete, coveredVmManagers, DAY, HOUR, insertPendingRun, insertRun, startRun, TERMINAL_JOB_STATES } from '../lifecycle.ts';
import type { JobRow } from '../store/db.ts';
import type { Handler, RequestContext } from './context.ts';
import {
  maxResults, nextToken, optionalBoolean, optionalEnum, optionalInteger, optionalString, optionalTimestamp, requiredString,
  requiredTimestamp, ROLE_NAME, type Input,
} from './input.ts';
import { isTerminated, wireJob, wireRun } from './wire.ts';

/** Limits the reference leaves open; BEHAVIOR.md states each one. */
export const LIMITS = {
  frequencyHours: [1, 24],
  amisToKeep: [0, 270],
  seedMaxAheadSeconds: 30 * DAY,
  descriptionLength: 255,
  kmsKeyIdLength: 2048,
  defaultFrequencyHours: 24,
} as const;

/** Members shared by Create and Update, checked the same way. */
function jobSettings(input: Input) {
  const roleName = optionalString(input, 'roleName', 64);
  if (roleName !== undefined && !ROLE_NAME.test(roleName)) {
    throw invalidParameter(`roleName '${roleName}' is not a valid IAM role name (1-64 of letters, digits and +=,.@_-).`);
  }
  return {
    frequency: optionalInteger(input, 'frequency', LIMITS.frequencyHours[0], LIMITS.frequencyHours[1], ' of hours'),
    licenseType: optionalEnum(input, 'licenseType', LICENSE_TYPES),
    roleName,
    description: optionalString(input, 'description', LIMITS.descriptionLength),
    numberOfRecentAmisToKeep: optionalInteger(input, 'numberOfRecentAmisToKeep', LIMITS.amisToKeep[0], LIMITS.amisToKeep[1]),
    encrypted: optionalBoolean(input, 'encrypted'),
    kmsKeyId: optionalString(input, 'kmsKeyId', LIMITS.kmsKeyIdLength),
  };
}

function checkNotTooFarAhead(ctx: RequestContext, name: string, at: number): void {
  if (at > ctx.now + LIMITS.seedMaxAheadSeconds) {
    throw invalidParameter(`${name} must be at most 30 days in the future.`);
  }
}

function requireJob(ctx: RequestContext, input: Input, notFound: 'ReplicationJobNotFoundException' | 'InvalidParameterException'): JobRow {
  const id = requiredString(input, 'replicationJobId', 64);
  const job = ID_PATTERNS.job.test(id) ? ctx.store.job(id) : undefined;
  if (!job) {
    throw notFound === 'ReplicationJobNotFoundException'
      ? new ApiError('ReplicationJobNotFoundException', `The specified Replication Job cannot be found: ${id}.`)
      : invalidParameter(`The replication job ${id} does not exist.`);
  }
  return job;
}

export const createReplicationJob: Handler = (ctx, input) => {
  const serverId = requiredString(input, 'serverId', 64);
  const seed = requiredTimestamp(input, 'seedReplicationTime');
  const runOnce = optionalBoolean(input, 'runOnce') ?? false;
  const s = jobSettings(input);
  if (runOnce && s.frequency !== undefined) throw invalidParameter('frequency cannot be set on a one-time (runOnce) replication job.');
  checkNotTooFarAhead(ctx, 'seedReplicationTime', seed);

  const server = ID_PATTERNS.server.test(serverId) ? ctx.store.server(serverId) : undefined;
  if (!server) throw invalidParameter(`The server ${serverId} does not exist in the server catalog.`);
  const catalog = ctx.store.catalog();
  if (catalog.status !== 'AVAILABLE' || server.inCatalog !== 1) {
    throw notPermitted(`The server catalog is not available (status ${catalog.status}); import it with ImportServerCatalog first.`);
  }
  const vm = ctx.vmOf(server);
  if (!vm) throw new ApiError('ServerCannotBeReplicatedException', `The provided server cannot be replicated: ${serverId} is no longer in its VM manager.`);
  if ((vm.volumes ?? 1) > 22) {
    throw new ApiError('ServerCannotBeReplicatedException', `The provided server cannot be replicated: ${serverId} has ${vm.volumes} volumes (at most 22).`);
  }
  const existing = server.replicationJobId === null ? undefined : ctx.store.job(server.replicationJobId);
  if (existing && !isTerminated(existing)) {
    throw new ApiError('ReplicationJobAlreadyExistsException',
      `An active Replication Job already exists for the specified server: ${existing.replicationJobId} (${existing.state}).`);
  }
  if (!coveredVmManagers(ctx).has(server.vmManagerId)) throw new ApiError('NoConnectorsAvailableException');
  if (ctx.store.liveJobCount() >= ctx.settings.maxConcurrentJobs) {
    throw notPermitted(`The account's limit of ${ctx.settings.maxConcurrentJobs} concurrent replication jobs is reached.`);
  }

  const job: JobRow = {
    seq: 0,
    replicationJobId: ctx.ids.next('job'),
    serverId,
    state: 'PENDING',
    statusMessage: null,
    frequency: runOnce ? null : (s.frequency ?? LIMITS.defaultFrequencyHours),
    runOnce: runOnce ? 1 : 0,
    seedReplicationTime: seed,
    licenseType: s.licenseType ?? null,
    roleName: s.roleName ?? null,
    description: s.description ?? null,
    numberOfRecentAmisToKeep: s.numberOfRecentAmisToKeep ?? 0,
    encrypted: s.encrypted ? 1 : 0,
    kmsKeyId: s.kmsKeyId ?? null,
    latestAmiId: null,
    createdAt: ctx.now,
    // A seed time in the past starts the seed run now.
    anchorTime: Math.max(seed, Math.floor(ctx.now)),
    firstRunAt: null,
    deleteRequestedAt: null,
    pausedAt: null,
    consecutiveFailures: 0,
    runCount: 0,
    nextEventAt: null,
  };
  const { seq: _seq, ...row } = job;
  ctx.store.insertJob(row);
  ctx.store.setServerJob(serverId, job.replicationJobId);
  insertPendingRun(ctx, job, job.anchorTime);
  advanceJob(ctx, job, ctx.now);
  return { replicationJobId: job.replicationJobId };
};

export const updateReplicationJob: Handler = (ctx, input) => {
  const job = requireJob(ctx, input, 'ReplicationJobNotFoundException');
  const s = jobSettings(input);
  const nextRun = optionalTimestamp(input, 'nextReplicationRunStartTime');
  if (job.state === 'DELETING' || job.state === 'DELETED' || TERMINAL_JOB_STATES.has(job.state)) {
    throw notPermitted(`The replication job ${job.replicationJobId} is ${job.state} and can no longer be updated.`);
  }
  const server = ctx.store.server(job.serverId);
  if (!server || server.inCatalog !== 1) {
    throw new ApiError('ServerCannotBeReplicatedException',
      `The provided server cannot be replicated: ${job.serverId} is not in the server catalog any more.`);
  }
  if (job.runOnce && s.frequency !== undefined) throw invalidParameter('frequency cannot be set on a one-time (runOnce) replication job.');
  const pending = ctx.store.pendingRun(job.replicationJobId);
  if (nextRun !== undefined) {
    if (nextRun <= ctx.now) throw invalidParameter('nextReplicationRunStartTime must be in the future.');
    checkNotTooFarAhead(ctx, 'nextReplicationRunStartTime', nextRun);
    if (!pending) throw notPermitted(`The replication job ${job.replicationJobId} has no scheduled run to move (state ${job.state}).`);
    ctx.store.saveRun({ ...pending, scheduledStartTime: nextRun });
    job.anchorTime = nextRun;
  } else if (s.frequency !== undefined && s.frequency !== job.frequency && pending) {
    // The next run keeps its time; the runs after it follow the new frequency.
    job.anchorTime = pending.scheduledStartTime;
  }
  if (s.frequency !== undefined) job.frequency = s.frequency;
  if (s.licenseType !== undefined) job.licenseType = s.licenseType;
  if (s.roleName !== undefined) job.roleName = s.roleName;
  if (s.description !== undefined) job.description = s.description;
  if (s.numberOfRecentAmisToKeep !== undefined) job.numberOfRecentAmisToKeep = s.numberOfRecentAmisToKeep;
  if (s.encrypted !== undefined) job.encrypted = s.encrypted ? 1 : 0;
  if (s.kmsKeyId !== undefined) job.kmsKeyId = s.kmsKeyId;
  advanceJob(ctx, job, ctx.now);
  return {};
};

export const deleteReplicationJob: Handler = (ctx, input) => {
  const job = requireJob(ctx, input, 'ReplicationJobNotFoundException');
  if (job.state === 'DELETING' || job.state === 'DELETED') {
    throw notPermitted(`The replication job ${job.replicationJobId} is already ${job.state}.`);
  }
  beginDelete(ctx, job, ctx.now, null);
  advanceJob(ctx, job, ctx.now);
  return {};
};

export const startOnDemandReplicationRun: Handler = (ctx, input) => {
  const job = requireJob(ctx, input, 'InvalidParameterException');
  const description = optionalString(input, 'description', 255);
  if (job.state !== 'ACTIVE' && job.state !== 'FAILING') {
    throw notPermitted(`A replication run cannot be started for a job in state ${job.state}.`);
  }
  if (ctx.store.completedRunCount(job.replicationJobId) === 0) {
    throw notPermitted('The specified operation is not allowed: the seed replication run has not completed yet.');
  }
  if (ctx.store.activeRun(job.replicationJobId)) {
    throw notPermitted('The specified operation is not allowed: another replication run is in progress.');
  }
  if (ctx.store.onDemandRunsSince(job.replicationJobId, ctx.now - 24 * HOUR) >= ctx.settings.onDemandRunsPer24h) {
    throw new ApiError('ReplicationRunLimitExceededException',
      `This user has exceeded the maximum allowed Replication Run limit: ${ctx.settings.onDemandRunsPer24h} on-demand runs per job in 24 hours.`);
  }
  const run = insertRun(ctx, job, 'ON_DEMAND', ctx.now, description ?? null);
  startRun(ctx, job, run, ctx.now);
  advanceJob(ctx, job, ctx.now);
  return { replicationRunId: run.replicationRunId };
};

export const getReplicationJobs: Handler = (ctx, input) => {
  const limit = maxResults(input);
  const token = nextToken(input);
  const id = optionalString(input, 'replicationJobId', 64);
  if (id !== undefined) {
    const job = requireJob(ctx, input, 'InvalidParameterException');
    if (token !== undefined) ctx.tokens.decode(token, 'GetReplicationJobs', `id:${id}`, 0, 0);
    return { replicationJobList: [wireJob(ctx, job)] };
  }
  const cursor = ctx.tokens.decode(token, 'GetReplicationJobs', '', ctx.store.maxSeq('jobs'), 0);
  const rows = ctx.store.jobsPage(cursor.after, cursor.highWater, limit + 1);
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    replicationJobList: page.map((j) => wireJob(ctx, j)),
    nextToken: rows.length > limit && last ? ctx.tokens.encode('GetReplicationJobs', '', { after: last.seq, highWater: cursor.highWater }) : undefined,
  };
};

export const getReplicationRuns: Handler = (ctx, input) => {
  const job = requireJob(ctx, input, 'InvalidParameterException');
  const limit = maxResults(input);
  const binding = `job:${job.replicationJobId}`;
  const cursor = ctx.tokens.decode(nextToken(input), 'GetReplicationRuns', binding, ctx.store.maxSeq('runs'), Number.MAX_SAFE_INTEGER);
  // Newest first, as the User Guide's samples show.
  const rows = ctx.store.runsPageDesc(job.replicationJobId, cursor.after, cursor.highWater, limit + 1);
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    replicationJob: wireJob(ctx, job),
    replicationRunList: page.map((r) => wireRun(ctx, r)),
    nextToken: rows.length > limit && last ? ctx.tokens.encode('GetReplicationRuns', binding, { after: last.seq, highWater: cursor.highWater }) : undefined,
  };
};
