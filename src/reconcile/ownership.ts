import type { Address, ManifestKind } from '../model/address.ts';
import type { DesiredSet } from '../model/desired.ts';
import type { ManifestRoots } from '../model/manifest-roots.ts';
import type { ResourceRecord } from '../state/codec.ts';
import { isStateOnlyDelete, type Change, type JobKind, type PlanProblem, type PlanWarning } from './change.ts';
import { base, made } from './change-make.ts';
import { fingerprintOf, liveSpec } from './live-spec.ts';
import type { ObservedSet } from './observed.ts';
import type { WantedJob } from './resolve.ts';

/**
 * Ownership: which state records the wanted addresses keep, which are released (their address is
 * declared no more, or now selects another server) and moved or deleted, which roots recorded the
 * jobs a plan deletes, and which deletes lifecycle.preventDestroy blocks. Pure.
 */

export interface Ownership {
  readonly wantedAddresses: ReadonlySet<Address>;
  /** Released records by their job. */
  readonly releasedByJob: ReadonlyMap<string, ResourceRecord>;
  /** Every job the state records. */
  readonly trackedJobs: ReadonlySet<string>;
  /** Jobs a wanted address keeps by moving a released record onto itself. */
  readonly claimed: ReadonlySet<string>;
  /** Released addresses whose job moved to another address (filled as the jobs are diffed). */
  readonly moved: Set<Address>;
}

/**
 * Released records: their address is declared no more, or now selects another server. The job
 * of a released record is moved to the address that now selects its server (a rename keeps the
 * job and its history); a released job nobody takes is deleted.
 */
export function ownershipOf(
  wanted: readonly WantedJob[],
  records: readonly ResourceRecord[],
  observed: ObservedSet,
  desired: DesiredSet,
  deferAll: boolean,
): Ownership {
  const wantedAddresses = new Set(wanted.map((w) => w.address));
  const wantedServer = new Map(wanted.map((w) => [w.address, w.serverId]));
  const releasedByJob = new Map<string, ResourceRecord>();
  const trackedJobs = new Set<string>();
  for (const rec of records) {
    if (!isJobKind(rec.kind) || rec.replicationJobId === undefined) continue;
    trackedJobs.add(rec.replicationJobId);
    if (deferAll && isDeferredSetMember(rec.address, desired)) continue;
    if (wantedAddresses.has(rec.address) && wantedServer.get(rec.address) === rec.serverId) continue;
    releasedByJob.set(rec.replicationJobId, rec);
  }
  const claimed = new Set<string>();
  for (const w of wanted) {
    const live = w.serverId === undefined ? undefined : observed.jobByServer.get(w.serverId);
    if (w.deferred || live === undefined || live.state === 'DELETING') continue;
    const from = releasedByJob.get(live.replicationJobId);
    if (from !== undefined && from.address !== w.address) claimed.add(live.replicationJobId);
  }
  return { wantedAddresses, releasedByJob, trackedJobs, claimed, moved: new Set<Address>() };
}

/** Managed addresses no manifest declares (and no wanted address moved onto itself): delete. */
export function deletesOfReleased(
  records: readonly ResourceRecord[],
  owners: Ownership,
  observed: ObservedSet,
  desired: DesiredSet,
  deferAll: boolean,
): Change[] {
  const changes: Change[] = [];
  for (const rec of records) {
    if (!isJobKind(rec.kind) || owners.wantedAddresses.has(rec.address) || owners.moved.has(rec.address)) continue;
    if (deferAll && isDeferredSetMember(rec.address, desired)) continue;
    const live = rec.replicationJobId ? observed.jobs.get(rec.replicationJobId) : undefined;
    const gone = live === undefined || live.state === 'DELETING';
    const why = rec.migrated !== undefined ? 'removed from the manifests; the server was migrated (its job retired): the state forgets it' : gone ? 'removed from the manifests; the job is already gone' : 'removed from the manifests';
    const head = { serverId: rec.serverId, serverName: live?.vmServer?.vmName };
    const [before, preventDestroy, observedFingerprint] = [live ? liveSpec(live) : rec.appliedSpec, rec.preventDestroy, fingerprintOf(live)];
    changes.push(
      made(
        base(rec.address, rec.kind, 'delete', why),
        head,
        gone
          ? { replicationJobId: rec.replicationJobId, before, preventDestroy, stateOnly: true, observedFingerprint }
          : { replicationJobId: live.replicationJobId, before, preventDestroy, stateOnly: false, observedFingerprint },
      ),
    );
  }
  return changes;
}

/**
 * Each change that comes from a document, with the root of that document's file. The changes are
 * diff's own, made in the same call and not yet returned: each is given its root in place rather
 * than copied (a copy of 100,000 changes took 0.3 s of a plan).
 */
export function withManifestRoots(changes: Change[], roots: ManifestRoots): Change[] {
  for (const c of changes) {
    const root = c.source === undefined ? undefined : roots.rootOfFile.get(c.source.file);
    if (root !== undefined) (c as { manifestRoot?: string }).manifestRoot = root;
  }
  return changes;
}

/**
 * One warning per root that is not among this plan's -f but recorded the jobs this plan deletes:
 * the state is probably shared by two manifest sets (the examples, one after another), and the
 * deletes are the other set's jobs.
 */
export function foreignRootWarnings(changes: readonly Change[], resources: Readonly<Record<Address, ResourceRecord>>, roots: ManifestRoots): PlanWarning[] {
  const byRoot = new Map<string, number>();
  for (const c of changes) {
    if (c.action !== 'delete' || c.stateOnly) continue;
    const root = resources[c.address]?.manifestRoot;
    if (root === undefined || roots.roots.includes(root)) continue;
    byRoot.set(root, (byRoot.get(root) ?? 0) + 1);
  }
  const here = roots.roots.join(', ');
  return [...byRoot.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([root, n]) => ({
      code: 'foreign-root-delete' as const,
      message:
        `this plan deletes ${n} job(s) recorded from ${root}, which is not among this plan's manifests (-f ${here}): ` +
        `if ${root} is another manifest set, give each set its own state with --state (e.g. --state .sms-reconcile/<set>.json) instead of sharing this one`,
    }));
}

const PREVENT_DESTROY_HINT = {
  delete: 'restore its document; to really delete it, first apply it with lifecycle.preventDestroy: false, then remove it',
  replace: 'set lifecycle.preventDestroy: false and apply, or undo the change that forces the replacement',
  retire: 'set lifecycle.preventDestroy: false beside cutover: true to retire the job, or remove cutover',
} as const;

/** preventDestroy blocks the deletes, replaces and retires a plan holds, whatever the flags. */
export function preventDestroyProblems(changes: readonly Change[]): PlanProblem[] {
  const problems: PlanProblem[] = [];
  for (const c of changes) {
    if ((c.action === 'delete' && !isStateOnlyDelete(c)) || c.action === 'replace' || (c.action === 'retire' && c.blocked === undefined)) {
      if (c.preventDestroy) {
        problems.push({
          code: 'prevent-destroy',
          message: `${c.address} has lifecycle.preventDestroy, but this plan would ${c.action} its job ${c.replicationJobId ?? ''} (${c.reason})`.replace('  ', ' '),
          hint: PREVENT_DESTROY_HINT[c.action],
          address: c.address,
          source: c.source,
        });
      }
    }
  }
  return problems;
}

function isJobKind(kind: ManifestKind): kind is JobKind {
  return kind === 'ReplicationJob' || kind === 'ReplicationJobSet';
}

/** Members of a set that is still declared, while its servers wait for a catalog import. */
function isDeferredSetMember(address: Address, desired: DesiredSet): boolean {
  for (const name of desired.jobSets.keys()) if (address.startsWith(`ReplicationJobSet/${name}[`)) return true;
  return false;
}
