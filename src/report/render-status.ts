/**
 * What `status` shows beside its table of jobs: the migrated servers with their final AMIs, the
 * jobs SMS terminates within 15 days, and the account's live jobs against its limit. Pure.
 */
import type { Address } from '../model/address.ts';
import { liveJobCount } from '../reconcile/quota.ts';
import { expiringJobs, expiringMessage, type ExpiringJob } from '../reconcile/replication-age.ts';
import type { ReplicationJobInfo } from '../sms/api.ts';
import type { ResourceRecord } from '../state/codec.ts';
import { sanitize } from './format.ts';

/** A migrated server as `status` lists it. */
export interface MigratedStatus {
  readonly address: Address;
  readonly serverId: string | null;
  /** The AMI of the retired job's last completed run. */
  readonly amiId: string;
  /** When its job was retired (RFC 3339). */
  readonly at: string;
  readonly replicationJobId: string;
}

export interface StatusExtras {
  readonly migrated: readonly MigratedStatus[];
  readonly expiring: readonly (ExpiringJob & { readonly message: string })[];
  /** Jobs holding a slot of the account's concurrent-job limit (every job not DELETED or terminated). */
  readonly liveJobs: number;
  readonly maxConcurrentJobs: number;
}

/** The extras of a status read: from the state's records and one listing of the jobs, at the service's time `now` (epoch seconds). */
export function statusExtras(records: readonly ResourceRecord[], jobs: readonly ReplicationJobInfo[], now: number, maxConcurrentJobs: number): StatusExtras {
  const migrated = records
    .flatMap((r): MigratedStatus[] => (r.migrated === undefined ? [] : [{ address: r.address, serverId: r.serverId ?? null, ...r.migrated }]))
    .sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  const byId = new Map(jobs.map((j) => [j.replicationJobId, j]));
  const expiring = expiringJobs(records, byId, now).map((e) => ({ ...e, message: expiringMessage(e) }));
  return { migrated, expiring, liveJobs: liveJobCount(jobs), maxConcurrentJobs };
}

/** The extras as text lines after the table (each line ends with a newline; nothing when there is nothing to say but the count). */
export function renderStatusExtrasText(x: StatusExtras): string {
  const lines: string[] = [];
  if (x.migrated.length > 0) {
    lines.push(`Migrated (${x.migrated.length}): cut over, their jobs retired; the final AMIs:`);
    for (const m of x.migrated) lines.push(sanitize(`  ${m.address}  ${m.serverId ?? '?'}  ${m.amiId}  retired ${m.at.slice(0, 10)} (${m.replicationJobId})`));
  }
  for (const e of x.expiring) lines.push(sanitize(`Warning: ${e.message}`));
  lines.push(`Live jobs: ${x.liveJobs} of ${x.maxConcurrentJobs} (the account's concurrent-job limit, --max-concurrent-jobs)`);
  return lines.map((l) => `${l}\n`).join('');
}
