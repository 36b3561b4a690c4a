import equal from 'fast-deep-equal';
import type { Address } from '../model/address.ts';
import { JOB_SPEC_FIELDS } from '../model/job.ts';
import type { ReplicationJobInfo } from '../sms/api.ts';
import type { ResourceRecord } from '../state/codec.ts';
import type { Drift } from './change.ts';
import { comparable, liveSpec, NOT_DRIFT } from './live-spec.ts';

/** Drift: a live job's managed fields that moved away from what the state says was applied. Pure. */

export function driftOf(address: Address, rec: ResourceRecord, live: ReplicationJobInfo): Drift[] {
  // A FAILED or COMPLETED job takes no update: what it holds is history, not drift.
  if (live.state === 'FAILED' || live.state === 'COMPLETED') return [];
  const have = liveSpec(live);
  const out: Drift[] = [];
  for (const field of JOB_SPEC_FIELDS) {
    if (NOT_DRIFT.has(field) || rec.appliedSpec[field] === undefined) continue;
    const applied = comparable(field, rec.appliedSpec);
    const current = comparable(field, have);
    if (!equal(applied, current)) out.push({ address, replicationJobId: live.replicationJobId, field, applied, live: current });
  }
  return out;
}

/** Drift in plan order: by address, then field. */
export function sortDrift(drift: Drift[]): void {
  drift.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : a.field < b.field ? -1 : 1));
}
