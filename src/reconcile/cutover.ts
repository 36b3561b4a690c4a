import type { Address } from '../model/address.ts';
import type { ReplicationJobInfo } from '../sms/api.ts';
import type { ResourceRecord } from '../state/codec.ts';
import type { Change, JobKind } from './change.ts';
import { base, made } from './change-make.ts';
import { fingerprintOf, liveSpec } from './live-spec.ts';
import type { JobDiffContext } from './diff-jobs.ts';
import { isExpired, REPLICATION_LIMIT_DAYS } from './replication-age.ts';
import type { ResolvedWanted } from './resolve.ts';

/**
 * Cutover: a server the manifests mark `cutover: true` is migrated. Once its job's latest run has
 * COMPLETED with an AMI, the plan retires the job (delete it, keep its AMIs, record the server as
 * migrated); before that the retire is blocked, with the reason. A server the state records as
 * migrated is never given a new job while its manifest says cutover. Pure.
 */

/** A migrated server, as the plan lists it (from the state). */
export interface MigratedEntry {
  readonly address: Address;
  readonly serverId: string;
  readonly serverName?: string;
  readonly amiId: string;
  /** When the job was retired (RFC 3339). */
  readonly at: string;
  readonly replicationJobId: string;
}

/**
 * Why the job cannot be retired now, or undefined when it can: its latest run has COMPLETED with an
 * AMI and no run is in progress. The executor asks again, on the job as it is at apply time.
 */
export function retireRefusal(job: ReplicationJobInfo | undefined, name: string): string | undefined {
  if (job === undefined || job.state === 'DELETING' || job.state === 'DELETED') return `cutover requested, but ${name} has no replication job`;
  const run = job.replicationRunList[0];
  if (run?.state === 'ACTIVE') {
    const stage = run.stageDetails?.stage === undefined ? '' : ` (${run.stageDetails.stage}${run.stageDetails.stageProgress === undefined ? '' : ` ${run.stageDetails.stageProgress}`})`;
    return `cutover requested, but a replication run of ${name} is in progress${stage}: cut over once it has completed`;
  }
  if (job.latestAmiId === undefined) return `cutover requested, but ${name} has no completed replication`;
  if (run?.state === 'FAILED') return `cutover requested, but the latest replication run of ${name} FAILED: cut over once a run has completed`;
  return undefined;
}

/** The changes of a wanted job whose manifest says cutover. */
export function planCutover(ctx: JobDiffContext, w: ResolvedWanted, rec: ResourceRecord | undefined): Change[] {
  const name = w.server?.vmServer.vmName ?? w.serverId;
  const head = { serverId: w.serverId, serverName: w.server?.vmServer.vmName, preventDestroy: w.lifecycle.preventDestroy, source: w.source };
  if (rec?.migrated !== undefined && rec.serverId === w.serverId) {
    const m = rec.migrated;
    return [made(base(w.address, w.kind, 'no-op', `migrated: job ${m.replicationJobId} retired on ${m.at.slice(0, 10)}, final AMI ${m.amiId}`), head, { replicationJobId: m.replicationJobId })];
  }
  const live = ctx.observed.jobByServer.get(w.serverId);
  const usable = live !== undefined && live.state !== 'DELETING' ? live : undefined;
  // Retiring a job another address recorded (a rename in the same change) takes its record along.
  const orphan = usable === undefined ? undefined : ctx.owners.releasedByJob.get(usable.replicationJobId);
  if (orphan !== undefined && orphan.address !== w.address) ctx.owners.moved.add(orphan.address);
  const recorded = rec?.replicationJobId === undefined ? undefined : ctx.observed.jobs.get(rec.replicationJobId);
  const expired = rec !== undefined && rec.serverId === w.serverId && usable === undefined && isExpired(rec, recorded, ctx.now);
  const refusal = expired
    ? `cutover requested, but the job of ${name} expired (SMS terminated it ${REPLICATION_LIMIT_DAYS} days after its replication began) before it was retired`
    : retireRefusal(usable, name);
  const why = refusal ?? `cutover: the latest run completed with ${usable?.latestAmiId ?? '?'}; the job is deleted (its AMIs stay) and the server recorded as migrated`;
  return [
    made(base(w.address, w.kind, 'retire', why), head, {
      replicationJobId: usable?.replicationJobId,
      before: usable === undefined ? undefined : liveSpec(usable),
      observedFingerprint: usable === undefined ? undefined : fingerprintOf(usable),
      amiId: usable?.latestAmiId,
      blocked: refusal,
    }),
  ];
}

/** The servers the state records as migrated whose manifests still say cutover, by address. */
export function migratedEntries(wanted: readonly ResolvedWanted[], resources: Readonly<Record<Address, ResourceRecord>>): MigratedEntry[] {
  const out: MigratedEntry[] = [];
  for (const w of wanted) {
    const rec = resources[w.address];
    if (!w.cutover || rec?.migrated === undefined || rec.serverId !== w.serverId) continue;
    out.push({ address: w.address, serverId: w.serverId, serverName: w.server?.vmServer.vmName, ...rec.migrated });
  }
  return out.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}

/** The record of a migrated server: the job's record without its job, with the final AMI and the date. */
export function migratedRecord(
  address: Address,
  kind: JobKind,
  prior: ResourceRecord | undefined,
  retired: { readonly serverId: string; readonly replicationJobId: string; readonly amiId: string; readonly preventDestroy: boolean; readonly at: string },
): ResourceRecord {
  const { replicationJobId: _job, observed: _observed, ...kept } = prior ?? { address, kind, appliedSpec: {}, preventDestroy: retired.preventDestroy, updatedAt: retired.at };
  return {
    ...kept,
    address,
    kind,
    serverId: retired.serverId,
    preventDestroy: retired.preventDestroy,
    migrated: { amiId: retired.amiId, at: retired.at, replicationJobId: retired.replicationJobId },
    updatedAt: retired.at,
  };
}
