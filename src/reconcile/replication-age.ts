import type { Address } from '../model/address.ts';
import type { ReplicationJobInfo } from '../sms/api.ts';
import type { ResourceRecord, ResourceWrite } from '../state/codec.ts';
import type { PlanWarning } from './change.ts';

/**
 * The 90-day clock: SMS replicates a server for at most 90 days from its job's first run, then
 * terminates the job (src/server/BEHAVIOR.md, Lifecycle). Pure: every time is given.
 *
 * When replication began: a job apply creates starts its seed run at its seed time, or at once for
 * a seed in the past, and its record says so from the start. For any other record (a job adopted,
 * imported or exported, an older state) it is read from the bulk listing, with no per-job call:
 * once the job has left PENDING, its first run started at `seedReplicationTime`, or, when that was
 * before the record was written, at some time before the record (the listing does not say when:
 * the record's time is taken, so the warning may come late, never early). The state records it
 * (`replicationStartedAt`) so that a job the service no longer lists can be told apart as expired.
 */

const DAY = 86_400;
/** How long SMS replicates one job. */
export const REPLICATION_LIMIT_DAYS = 90;
/** The warning windows (days left): at 75 days (15 left) and at 83 days (7 left). */
export const EXPIRY_WINDOWS = [15, 7] as const;
export type ExpiryWindow = (typeof EXPIRY_WINDOWS)[number];

/** Job states in which the first run has started (PENDING: not yet; DELETING/DELETED: unknown). */
const STARTED: ReadonlySet<string> = new Set(['ACTIVE', 'FAILING', 'PAUSED_ON_FAILURE', 'COMPLETED', 'FAILED']);

/** When the job's replication began (epoch seconds), as the listing shows it; undefined before its first run. */
export function replicationStartOf(job: Pick<ReplicationJobInfo, 'state' | 'seedReplicationTime'>): number | undefined {
  return job.state !== undefined && STARTED.has(job.state) && job.seedReplicationTime !== undefined ? Math.floor(job.seedReplicationTime) : undefined;
}

/**
 * When replication of a record's job began: as the state recorded it, else as the listing shows it,
 * but not before the record was written (see the module comment).
 */
export function startOf(rec: ResourceRecord | undefined, job: ReplicationJobInfo | undefined): number | undefined {
  const recorded = secondsOf(rec?.replicationStartedAt);
  if (recorded !== undefined) return recorded;
  const listed = job === undefined ? undefined : replicationStartOf(job);
  if (listed === undefined) return undefined;
  const written = secondsOf(rec?.updatedAt);
  return Math.max(listed, Math.floor(written ?? listed));
}

function secondsOf(rfc3339: string | undefined): number | undefined {
  const ms = rfc3339 === undefined ? NaN : Date.parse(rfc3339);
  return Number.isFinite(ms) ? ms / 1000 : undefined;
}

/** When SMS terminates a job whose replication began at `start` (epoch seconds). */
export function expiresAt(start: number): number {
  return start + REPLICATION_LIMIT_DAYS * DAY;
}

/** Whole days left before `end`, rounded up (0 once it has passed). */
export function daysLeft(end: number, now: number): number {
  return Math.max(0, Math.ceil((end - now) / DAY));
}

function iso(epochSeconds: number): string {
  return new Date(Math.floor(epochSeconds) * 1000).toISOString().replace('.000Z', 'Z');
}

/** A managed job that SMS terminates within the widest warning window. */
export interface ExpiringJob {
  readonly address: Address;
  readonly replicationJobId: string;
  /** The VM's name, else its server id. */
  readonly name: string;
  /** Epoch seconds. */
  readonly startedAt: number;
  readonly endsAt: number;
  readonly daysLeft: number;
}

/**
 * The managed jobs, still replicating, that SMS terminates within 15 days (75 days or more since
 * their replication began), by address.
 */
export function expiringJobs(records: Iterable<ResourceRecord>, jobs: ReadonlyMap<string, ReplicationJobInfo>, now: number): ExpiringJob[] {
  const widest = Math.max(...EXPIRY_WINDOWS) * DAY;
  const out: ExpiringJob[] = [];
  for (const rec of records) {
    if (rec.replicationJobId === undefined) continue;
    const job = jobs.get(rec.replicationJobId);
    if (job === undefined || job.state === 'DELETING' || job.state === 'DELETED' || job.state === 'FAILED' || job.state === 'COMPLETED') continue;
    const start = startOf(rec, job);
    if (start === undefined) continue;
    const end = expiresAt(start);
    if (end - now > widest) continue;
    out.push({ address: rec.address, replicationJobId: rec.replicationJobId, name: job.vmServer?.vmName ?? job.serverId, startedAt: start, endsAt: end, daysLeft: daysLeft(end, now) });
  }
  return out.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}

/** How many of `expiring` end within each window (the controller's `sms_reconcile_jobs_expiring{within}`). */
export function expiringCounts(expiring: readonly ExpiringJob[], now: number): Record<`${ExpiryWindow}d`, number> {
  const count = (days: number) => expiring.filter((e) => e.endsAt - now <= days * DAY).length;
  return { '15d': count(15), '7d': count(7) };
}

/** `dc-007: SMS terminates this job in 7 days: cut over, or ask AWS Support for an extension`. */
export function expiringMessage(e: ExpiringJob): string {
  const when = e.daysLeft === 0 ? 'today' : `in ${e.daysLeft} day${e.daysLeft === 1 ? '' : 's'}`;
  return `${e.name}: SMS terminates this job ${when}: cut over, or ask AWS Support for an extension`;
}

export function expiringWarnings(expiring: readonly ExpiringJob[]): PlanWarning[] {
  return expiring.map((e) => ({ code: 'job-expiring' as const, message: expiringMessage(e), address: e.address }));
}

/**
 * Whether the record's job was terminated by the 90-day limit: it is no longer live (gone,
 * DELETING or DELETED) and its replication began 90 days or more before `now`.
 */
export function isExpired(rec: ResourceRecord, job: ReplicationJobInfo | undefined, now: number): boolean {
  if (rec.replicationJobId === undefined) return false;
  if (job !== undefined && job.state !== 'DELETING' && job.state !== 'DELETED') return false;
  const start = startOf(rec, job);
  return start !== undefined && expiresAt(start) <= now;
}

/** The plan's word on an expired job: what happened and what to do. */
export function expiredMessage(name: string, address: Address, rec: ResourceRecord, job: ReplicationJobInfo | undefined): string {
  const start = startOf(rec, job);
  const ended = start === undefined ? '' : ` on ${iso(expiresAt(start))}`;
  return `${name}: SMS terminated job ${rec.replicationJobId ?? '?'}${ended}, ${REPLICATION_LIMIT_DAYS} days after its replication began (expired); plan with --replace ${address} to create a new job`;
}

/** The state record of a job the apply creates: its first run starts at the seed time, or at once for a seed in the past. */
export function startOfCreated(seed: number, now: number): string {
  return iso(Math.max(seed, Math.floor(now)));
}

/**
 * Records that do not say yet when their job's replication began, with it, for the jobs whose
 * first run the listing shows started (one state write after an apply).
 */
export function replicationStartWrites(records: Iterable<ResourceRecord>, jobs: ReadonlyMap<string, ReplicationJobInfo>, at: string): ResourceWrite[] {
  const writes: ResourceWrite[] = [];
  for (const rec of records) {
    if (rec.replicationJobId === undefined || rec.replicationStartedAt !== undefined) continue;
    const start = startOf(rec, jobs.get(rec.replicationJobId));
    if (start !== undefined) writes.push({ address: rec.address, record: { ...rec, replicationStartedAt: iso(start), updatedAt: at } });
  }
  return writes;
}
