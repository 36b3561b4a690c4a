import type { Address } from '../model/address.ts';
import type { DesiredSet } from '../model/desired.ts';
import type { ManifestRoots } from '../model/manifest-roots.ts';
import type { ResourceRecord, StateDocument } from '../state/codec.ts';
import { ACTIONS, type Action } from './action.ts';
import { isDeferred, type Change, type Drift, type PlanProblem, type PlanWarning } from './change.ts';
import { diffCatalog } from './diff-catalog.ts';
import { diffConnectors } from './diff-connectors.ts';
import { migratedEntries, type MigratedEntry } from './cutover.ts';
import { diffWanted, type JobDiffContext } from './diff-jobs.ts';
import { sortDrift } from './drift.ts';
import type { ObservedSet } from './observed.ts';
import { deletesOfReleased, foreignRootWarnings, ownershipOf, preventDestroyProblems, withManifestRoots } from './ownership.ts';
import { preflight, quotaWarning } from './preflight.ts';
import { holdForQuota, type QuotaView } from './quota.ts';
import { expiringJobs, expiringWarnings } from './replication-age.ts';
import { hasServer, resolveWanted, serverClaimProblems } from './resolve.ts';
import { gateWaves, type WaveGate } from './waves.ts';

export type { PlanProblem } from './change.ts';
export { fingerprint, fingerprintOf, liveSpec } from './live-spec.ts';

/**
 * diff(desired, observed, prior) -> changes, drift, warnings and problems. Pure and deterministic.
 *
 * How an address is decided (ARCHITECTURE.md section 3):
 * - in state, same server, its job live: update (field-level) / replace (a forces-replace field,
 *   or --replace) / no-op;
 * - in state, another server now: replace;
 * - not in state, but a state record of an address no manifest declares any more has the same
 *   server: move (state only; an update follows when fields differ) - a rename never recreates;
 * - not in state, a live job replicates the server: adopt (then update if it differs);
 * - otherwise: create.
 * - in state but declared by no manifest: delete (state-only when the job is already gone).
 * A field absent from the manifest is not managed and never diffed; service defaults and
 * sub-second timestamps never show as differences.
 *
 * The rooms: resolve.ts (selectors -> servers), diff-catalog.ts, diff-connectors.ts, diff-jobs.ts
 * (jobs and job-set members), drift.ts, ownership.ts (state, adoption, moves, deletes, roots),
 * preflight.ts, live-spec.ts (live specs, fingerprints, comparing fields); this file puts them together.
 */

export interface DiffOptions {
  /** Epoch seconds. */
  readonly now: number;
  readonly targets: readonly Address[];
  readonly replace: readonly Address[];
  readonly refreshOnly: boolean;
  /** The account's concurrent-job limit (the service's default is 50). */
  readonly maxConcurrentJobs: number;
  /**
   * The -f roots of this plan: each change gets the root of its document (`manifestRoot`, which
   * the executor records), and deletes of jobs recorded from other roots are warned about.
   */
  readonly manifestRoots?: ManifestRoots;
  /** `--max-wave`: changes of jobs of later waves are held (reconcile/waves.ts). */
  readonly maxWave?: number;
}

export const DEFAULT_DIFF_OPTIONS: Omit<DiffOptions, 'now'> = { targets: [], replace: [], refreshOnly: false, maxConcurrentJobs: 50 };

export interface DiffResult {
  readonly changes: Change[];
  readonly drift: Drift[];
  readonly warnings: PlanWarning[];
  readonly problems: PlanProblem[];
  /** The declared waves and their gates (reconcile/waves.ts); empty when no manifest declares a wave. */
  readonly waves: WaveGate[];
  /** Servers the state records as migrated that the manifests still mark cutover. */
  readonly migrated: MigratedEntry[];
  /** The account's slots as this plan saw them (reconcile/quota.ts). */
  readonly quota: QuotaView;
}

/** The order changes are listed in: destructive first, then as the executor runs them. */
const ACTION_ORDER: Record<Action, number> = Object.fromEntries(ACTIONS.map((a, i) => [a, i])) as Record<Action, number>;

export function diff(desired: DesiredSet, observed: ObservedSet, prior: StateDocument | undefined, options: DiffOptions): DiffResult {
  const warnings: PlanWarning[] = [];
  const problems: PlanProblem[] = [];
  const drift: Drift[] = [];
  const resources: Readonly<Record<Address, ResourceRecord>> = prior?.resources ?? {};
  // Listed once: Object.values of a 100,000-key object costs ~90 ms each time.
  const records = Object.values(resources);

  // 1. The catalog. 2. Connectors.
  const catalog = diffCatalog(desired, observed, options.now, warnings);
  const changes: Change[] = [...catalog.changes, ...diffConnectors(desired, observed)];

  // 3. The jobs the manifests want, resolved to servers.
  const wanted = resolveWanted(desired, observed, catalog.deferAll, catalog.available, problems, warnings);
  problems.push(...serverClaimProblems(wanted));
  const owners = ownershipOf(wanted, records, observed, desired, catalog.deferAll);
  const ctx: JobDiffContext = { now: options.now, warnings, drift, observed, resources, replace: options.replace, owners };
  for (const w of wanted) changes.push(...diffWanted(ctx, w));

  // 4. Managed addresses no manifest declares: delete.
  changes.push(...deletesOfReleased(records, owners, observed, desired, catalog.deferAll));

  // 5. Waves: the creates of a wave whose gate is closed are held (and --max-wave holds later waves).
  // A retired (migrated) server counts as replicated for the gates of later waves.
  const migrated = migratedEntries(wanted.filter(hasServer), resources);
  const gated = gateWaves(wanted, changes, observed, options.maxWave, new Set(migrated.map((m) => m.address)));
  preflight(gated.changes, observed, warnings);
  // 6. The 90-day clock: jobs SMS terminates within 15 days.
  warnings.push(...expiringWarnings(expiringJobs(records, observed.jobs, options.now)));

  let result = gated.changes;
  if (options.targets.length > 0) {
    const hit = (a: Address) => options.targets.some((t) => a === t || (t.startsWith('ReplicationJobSet/') && !t.includes('[') && a.startsWith(`${t}[`)));
    // The renderers say the plan is targeted (from options.targets); no warning needed.
    const kept = result.filter((c) => hit(c.address) || (c.action === 'import-catalog' && changes.some((d) => isDeferred(d) && hit(d.address))));
    result = kept;
  }
  if (options.refreshOnly) result = [];
  // 8. The quota: the creates past the free slots (and those this apply's retires free) are held.
  const quota = holdForQuota(result, observed, options.maxConcurrentJobs);
  result = quota.changes;
  warnings.push(...quotaWarning(result, quota.quota));
  if (options.manifestRoots !== undefined) {
    result = withManifestRoots(result, options.manifestRoots);
    warnings.push(...foreignRootWarnings(result, resources, options.manifestRoots));
  }
  // 9. preventDestroy blocks the deletes and replaces this plan holds, whatever the flags.
  problems.push(...preventDestroyProblems(result));

  result.sort((a, b) => ACTION_ORDER[a.action] - ACTION_ORDER[b.action] || (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  sortDrift(drift);
  return { changes: result, drift, warnings, problems, waves: gated.waves, migrated, quota: quota.quota };
}
