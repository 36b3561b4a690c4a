import equal from 'fast-deep-equal';
import type { Address } from '../model/address.ts';
import { FIELD_POLICY } from '../model/field-policy.ts';
import { JOB_SPEC_FIELDS, type JobSpec } from '../model/job.ts';
import type { ReplicationJobInfo } from '../sms/api.ts';
import type { ResourceRecord } from '../state/codec.ts';
import { isNonEmpty, type Change, type Drift, type FieldChange, type PlanWarning } from './change.ts';
import { base, made, type LiveCommon } from './change-make.ts';
import { planCutover } from './cutover.ts';
import { driftOf } from './drift.ts';
import { comparable, fingerprintOf, fmt, iso, liveSpec, NOT_DRIFT } from './live-spec.ts';
import { isTerminated, type ObservedSet } from './observed.ts';
import type { Ownership } from './ownership.ts';
import { expiredMessage, isExpired } from './replication-age.ts';
import { describeServer, hasServer, type ResolvedWanted, type WantedJob } from './resolve.ts';

/**
 * The jobs the manifests want (a ReplicationJob, or a member of a ReplicationJobSet: both are
 * diffed alike): keep the live job (tracked, renamed or adopted) and compare it, or create or
 * replace one. Pure.
 */

export interface JobDiffContext {
  readonly now: number;
  readonly warnings: PlanWarning[];
  readonly drift: Drift[];
  readonly observed: ObservedSet;
  readonly resources: Readonly<Record<Address, ResourceRecord>>;
  /** --replace */
  readonly replace: readonly Address[];
  readonly owners: Ownership;
}

/** The changes of one wanted job (it adds to `ctx.warnings`, `ctx.drift` and `ctx.owners.moved`). */
export function diffWanted(ctx: JobDiffContext, w: WantedJob): Change[] {
  if (w.deferred) {
    // A migrated server gets no job: the plan made after the import retires or keeps it.
    if (w.cutover && w.kind === 'ReplicationJob') return [];
    const deferred = { after: w.spec, deferredUntilCatalog: true, preventDestroy: w.lifecycle.preventDestroy, onDemandRun: w.onDemandRun, source: w.source, wave: w.wave } as const;
    return [made(base(w.address, w.kind, 'create', 'the server is resolved after the catalog import'), deferred)];
  }
  if (!hasServer(w)) return [];
  const rec = ctx.resources[w.address];
  if (w.cutover) return planCutover(ctx, w, rec);
  const live = ctx.observed.jobByServer.get(w.serverId);
  const usable = live !== undefined && live.state !== 'DELETING' ? live : undefined;
  const forcedReplace = ctx.replace.includes(w.address);
  if (usable === undefined && !forcedReplace && rec !== undefined && rec.serverId === w.serverId) {
    const expired = expiredNoop(ctx, w, rec);
    if (expired !== undefined) return [expired];
  }

  // The address is tracked on this server and its job is alive: compare.
  if (rec !== undefined && rec.serverId === w.serverId && usable !== undefined && usable.replicationJobId === rec.replicationJobId) {
    const changes = planExisting(ctx, w, usable, { kind: 'tracked', rec }, forcedReplace);
    ctx.drift.push(...driftOf(w.address, rec, usable));
    return changes;
  }
  const old = oldJobOf(ctx, w, rec);
  const existing = usable === undefined ? undefined : keepLive(ctx, w, usable, forcedReplace);
  if (existing === undefined) return [planNew(ctx, w, rec, live, old)];
  if (old.live === undefined) return existing;
  const oldLive = old.live;
  return [
    ...existing,
    made(base(w.address, w.kind, 'delete', `${old.whyNew ?? ''}; the job of the old server is deleted`), {
      serverId: rec?.serverId,
      serverName: oldLive.vmServer?.vmName,
      replicationJobId: oldLive.replicationJobId,
      before: liveSpec(oldLive),
      preventDestroy: w.lifecycle.preventDestroy,
      observedFingerprint: fingerprintOf(oldLive),
      source: w.source,
      wave: w.wave,
    }),
  ];
}

/**
 * As for a FAILED job, a job SMS terminated at its 90-day limit is not re-created by itself: the
 * plan says what happened (a warning), and `--replace ADDRESS` creates a new one.
 */
function expiredNoop(ctx: JobDiffContext, w: ResolvedWanted, rec: ResourceRecord): Change | undefined {
  const id = rec.replicationJobId;
  if (id === undefined) return undefined;
  const job = ctx.observed.jobs.get(id) ?? (rec.replicationStartedAt === undefined ? ctx.observed.allJobs.find((j) => j.replicationJobId === id) : undefined);
  if (!isExpired(rec, job, ctx.now)) return undefined;
  const message = expiredMessage(w.server?.vmServer.vmName ?? w.serverId, w.address, rec, job);
  ctx.warnings.push({ code: 'job-expired', message, address: w.address });
  return made(base(w.address, w.kind, 'no-op', message), { serverId: w.serverId, serverName: w.server?.vmServer.vmName, replicationJobId: id, preventDestroy: w.lifecycle.preventDestroy, source: w.source });
}

/** The job the address had before, when it is not tracked on this server with its job alive. */
interface OldJob {
  /** The live job the address had on another server (its selector now picks this one): it goes. */
  readonly live: ReplicationJobInfo | undefined;
  /** Why the address needs another job than its record's. */
  readonly whyNew: string | undefined;
}

function oldJobOf(ctx: JobDiffContext, w: ResolvedWanted, rec: ResourceRecord | undefined): OldJob {
  const oldJob =
    rec !== undefined && rec.serverId !== w.serverId && rec.replicationJobId !== undefined && !ctx.owners.claimed.has(rec.replicationJobId)
      ? ctx.observed.jobs.get(rec.replicationJobId)
      : undefined;
  const oldLive = oldJob !== undefined && oldJob.state !== 'DELETING' ? oldJob : undefined;
  const whyNew =
    rec === undefined
      ? undefined
      : rec.serverId !== w.serverId
        ? `the selector now picks ${w.server ? describeServer(w.server) : w.serverId} instead of ${rec.serverId ?? '?'}`
        : rec.migrated !== undefined
          ? `the server was migrated (its job ${rec.migrated.replicationJobId} retired on ${rec.migrated.at.slice(0, 10)}), and cutover is no longer set`
          : `the recorded job ${rec.replicationJobId ?? '?'} no longer exists`;
  return { live: oldLive, whyNew };
}

/** The server's live job the address keeps without a record of its own: a rename (a released record holds it) or an adoption. */
function keepLive(ctx: JobDiffContext, w: ResolvedWanted, usable: ReplicationJobInfo, forcedReplace: boolean): Change[] | undefined {
  const orphan = ctx.owners.releasedByJob.get(usable.replicationJobId);
  if (orphan !== undefined && orphan.address !== w.address) {
    ctx.owners.moved.add(orphan.address);
    return planExisting(ctx, w, usable, { kind: 'move', rec: orphan }, forcedReplace);
  }
  if (!ctx.owners.trackedJobs.has(usable.replicationJobId) && adoptable(usable, w)) {
    ctx.warnings.push({
      code: 'server-busy',
      message: `${w.address}: server ${w.serverId} already has job ${usable.replicationJobId}, which this state does not manage: it will be adopted`,
      address: w.address,
    });
    return planExisting(ctx, w, usable, { kind: 'adopt' }, forcedReplace);
  }
  return undefined;
}

/** The server needs a new job: a create, or a replace of the job the address had on its old server. */
function planNew(ctx: JobDiffContext, w: ResolvedWanted, rec: ResourceRecord | undefined, live: ReplicationJobInfo | undefined, old: OldJob): Change {
  if (live?.state === 'DELETING') {
    ctx.warnings.push({ code: 'server-busy', message: `${w.address}: job ${live.replicationJobId} of server ${w.serverId} is DELETING; apply waits for DELETED before creating`, address: w.address });
  } else if (live !== undefined && live.state === 'FAILED') {
    ctx.warnings.push({ code: 'job-terminated', message: `${w.address}: the server's previous job ${live.replicationJobId} FAILED; a new job will be created`, address: w.address });
  }
  if (w.spec.nextReplicationRunStartTime !== undefined) {
    ctx.warnings.push({
      code: 'create-drops-next-run',
      message: `${w.address}: a new job starts at seedReplicationTime; nextReplicationRunStartTime is applied by a later apply, once the seed run has ended`,
      address: w.address,
    });
  }
  const create = {
    serverId: w.serverId,
    serverName: w.server?.vmServer.vmName,
    after: w.spec,
    preventDestroy: w.lifecycle.preventDestroy,
    // The seed run replicates at once: a token given at creation counts as satisfied by it.
    onDemandRun: w.onDemandRun,
    waitForDeletion: live?.state === 'DELETING' ? live.replicationJobId : undefined,
    source: w.source,
    wave: w.wave,
  };
  if (old.live !== undefined) {
    return made(base(w.address, w.kind, 'replace', old.whyNew ?? 'the server changed'), create, {
      replicationJobId: old.live.replicationJobId,
      before: liveSpec(old.live),
      fields: [{ field: 'serverId', before: rec?.serverId, after: w.serverId, policy: 'forces-replace' }],
      replaceBecause: ['serverId'],
      observedFingerprint: fingerprintOf(old.live),
    });
  }
  // No job that could block the create: none, or one DELETING or terminated.
  return made(base(w.address, w.kind, 'create', old.whyNew ?? 'declared in the manifests; no job replicates this server'), create, { observedFingerprint: 'absent' });
}


/** How the wanted address relates to the live job it will keep. */
type Relation =
  | { readonly kind: 'tracked'; readonly rec: ResourceRecord }
  | { readonly kind: 'move'; readonly rec: ResourceRecord }
  | { readonly kind: 'adopt' };

/** A live job that is not in state can be taken over: it runs, or it is a finished one-time job that is wanted as one. */
function adoptable(live: ReplicationJobInfo, w: WantedJob): boolean {
  return !isTerminated(live) || (live.state === 'COMPLETED' && w.spec.runOnce === true);
}

/**
 * The address keeps a live job (it is tracked, renamed or adopted): compare it with the manifest.
 * A forces-replace difference, or --replace, replaces it; a FAILED or COMPLETED job takes no update
 * (the service refuses them); otherwise an update, a state-only record, or nothing.
 */
function planExisting(ctx: JobDiffContext, w: ResolvedWanted, live: ReplicationJobInfo, relation: Relation, forcedReplace: boolean): Change[] {
  const previousAddress = relation.kind === 'move' ? relation.rec.address : undefined;
  const common = {
    serverId: w.serverId,
    serverName: w.server?.vmServer.vmName,
    replicationJobId: live.replicationJobId,
    previousAddress,
    before: liveSpec(live),
    after: w.spec,
    preventDestroy: w.lifecycle.preventDestroy,
    observedFingerprint: fingerprintOf(live),
    source: w.source,
    wave: w.wave,
  };
  const fields = fieldChanges(w.spec, live, ctx.now, ctx.warnings, w.address, forcedReplace);
  const forcing = fields.filter((f) => f.policy === 'forces-replace').map((f) => String(f.field));
  if (isNonEmpty(forcing) || forcedReplace) {
    const why = isNonEmpty(forcing) ? `${forcing.join(', ')} cannot change on a live job` : `--replace ${w.address}`;
    return [
      made(base(w.address, w.kind, 'replace', previousAddress ? `${why} (renamed from ${previousAddress})` : why), common, {
        fields,
        replaceBecause: isNonEmpty(forcing) ? forcing : ['--replace'],
        onDemandRun: w.onDemandRun,
      }),
    ];
  }
  const ended = live.state === 'FAILED' || live.state === 'COMPLETED';
  if (live.state === 'FAILED') {
    ctx.warnings.push({ code: 'job-terminated', message: `${w.address}: job ${live.replicationJobId} is FAILED and takes no update; plan with --replace ${w.address} to create a new one`, address: w.address });
  }
  const applied = ended ? [] : fields;
  const out: Change[] = [];
  if (relation.kind === 'move') {
    // A token the old record already satisfied moves with the job (a different one starts a run below).
    const kept = w.onDemandRun !== undefined && w.onDemandRun.token === relation.rec.onDemandRunToken ? w.onDemandRun : undefined;
    out.push(made(base(w.address, w.kind, 'move', `renamed from ${relation.rec.address}; the job keeps its replication history`), common, { previousAddress: relation.rec.address, fields: applied, onDemandRun: kept }));
  } else if (relation.kind === 'adopt') {
    // Adopted with its history: an on-demand token counts as satisfied by the runs it already had.
    out.push(made(base(w.address, w.kind, 'adopt', `job ${live.replicationJobId} already replicates this server`), common, { fields: applied, onDemandRun: w.onDemandRun }));
    return out;
  } else if (applied.length > 0) {
    out.push(made(base(w.address, w.kind, 'update', 'the live job differs from the manifest'), common, { fields: applied }));
  } else {
    out.push(recordOrNoop(w, relation.rec, live, common));
  }
  startRunIfWanted(ctx, out, w, relation.rec, live);
  return out;
}

/**
 * A tracked job that needs no API call: `no-op`, or `record` when the state record itself is out of
 * date - preventDestroy changed, or the managed fields differ from what the state says was applied
 * (a field added, dropped, or changed to the value the live job already has).
 */
function recordOrNoop(w: WantedJob, rec: ResourceRecord, live: ReplicationJobInfo, common: LiveCommon): Change {
  const stale: FieldChange[] = [];
  if (live.state !== 'FAILED') {
    for (const field of JOB_SPEC_FIELDS) {
      if (NOT_DRIFT.has(field) || (rec.appliedSpec[field] === undefined && w.spec[field] === undefined)) continue;
      const before = comparable(field, rec.appliedSpec);
      const after = comparable(field, w.spec);
      if (!equal(before, after)) stale.push({ field, before: rec.appliedSpec[field], after: w.spec[field], policy: FIELD_POLICY[field].policy });
    }
  }
  if (stale.length === 0 && rec.preventDestroy === w.lifecycle.preventDestroy) {
    return made(base(w.address, w.kind, 'no-op', 'matches the manifest'), common);
  }
  const reasons = [
    ...(rec.preventDestroy !== w.lifecycle.preventDestroy ? [`lifecycle.preventDestroy is now ${String(w.lifecycle.preventDestroy)}`] : []),
    ...(stale.length > 0 ? ['the live job already matches the manifest; the state records it'] : []),
  ];
  return made(base(w.address, w.kind, 'record', reasons.join('; ')), common, { fields: stale, recordedPreventDestroy: rec.preventDestroy });
}

function onDemandWanted(w: WantedJob, rec: ResourceRecord | undefined): boolean {
  return w.onDemandRun !== undefined && w.onDemandRun.token !== rec?.onDemandRunToken;
}

/** On-demand runs the service allows per job in 24 hours. */
const ON_DEMAND_PER_24H = 2;

function startRunIfWanted(ctx: JobDiffContext, out: Change[], w: ResolvedWanted, rec: ResourceRecord, live: ReplicationJobInfo): void {
  if (!onDemandWanted(w, rec) || !w.onDemandRun) return;
  out.push(
    made(base(w.address, w.kind, 'start-run', `onDemandRun.token is ${w.onDemandRun.token} (state has ${rec.onDemandRunToken ?? 'none'})`), {
      serverId: w.serverId,
      serverName: w.server?.vmServer.vmName,
      replicationJobId: live.replicationJobId,
      onDemandRun: w.onDemandRun,
      preventDestroy: w.lifecycle.preventDestroy,
      observedFingerprint: fingerprintOf(live),
      source: w.source,
      wave: w.wave,
    }),
  );
  const current = live.replicationRunList[0];
  const recent = (rec.onDemandRunsStarted ?? []).filter((t) => Date.parse(t) / 1000 > ctx.now - 24 * 3600);
  if (live.state !== 'ACTIVE' && live.state !== 'FAILING') {
    ctx.warnings.push({ code: 'on-demand-not-ready', message: `${w.address}: job ${live.replicationJobId} is ${live.state ?? '?'}; the service refuses on-demand runs until its seed run has completed`, address: w.address });
  } else if (current?.state === 'ACTIVE') {
    ctx.warnings.push({ code: 'on-demand-not-ready', message: `${w.address}: a run of ${live.replicationJobId} is in progress; the service refuses an on-demand run until it ends`, address: w.address });
  }
  if (recent.length >= ON_DEMAND_PER_24H) {
    ctx.warnings.push({
      code: 'on-demand-limit',
      message: `${w.address}: ${recent.length} on-demand runs of ${live.replicationJobId} were started in the last 24 hours; the service allows ${ON_DEMAND_PER_24H} and refuses this one (ReplicationRunLimitExceededException)`,
      address: w.address,
    });
  }
}

/** The managed fields (present in `want`) whose live value differs. */
function fieldChanges(want: JobSpec, live: ReplicationJobInfo, now: number, warnings: PlanWarning[], address: Address, forcedReplace: boolean): FieldChange[] {
  const have = liveSpec(live);
  const out: FieldChange[] = [];
  for (const field of JOB_SPEC_FIELDS) {
    const desired = want[field];
    if (desired === undefined) continue;
    const current = comparable(field, have);
    if (equal(comparable(field, want), current)) continue;
    const policy = FIELD_POLICY[field].policy;
    if (field === 'nextReplicationRunStartTime' && typeof desired === 'number' && desired <= now) {
      warnings.push({ code: 'next-run-in-past', message: `${address}: nextReplicationRunStartTime ${iso(desired)} is in the past and is not applied`, address });
      continue;
    }
    if (policy === 'create-only') {
      if (!forcedReplace) {
        warnings.push({
          code: 'create-only-change',
          message: `${address}: ${field} can only be set when the job is created (live ${fmt(field, current)}, manifest ${fmt(field, desired)}); plan with --replace ${address} to recreate the job`,
          address,
        });
        continue;
      }
    }
    out.push({ field, before: have[field], after: desired, policy });
  }
  return out;
}
