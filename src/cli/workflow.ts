import { loadManifests } from '../manifest/load.ts';
import type { ManifestCheckResult } from '../manifest/check.ts';
import type { DesiredSet } from '../model/desired.ts';
import type { ManifestRoots } from '../model/manifest-roots.ts';
import { SmsReconcileError, userError } from '../model/errors.ts';
import { output } from '../model/messages.ts';
import { recover } from '../reconcile/apply.ts';
import { diff, fingerprintOf, type PlanProblem } from '../reconcile/diff.ts';
import { ObservedIndex, type ObservedSet } from '../reconcile/observed.ts';
import { PLAN_FORMAT_VERSION, type Plan, type PlanOptions } from '../reconcile/plan.ts';
import type { ApplyPorts } from '../reconcile/ports.ts';
import { replicationStartWrites } from '../reconcile/replication-age.ts';
import { renderDiagnosticsText } from '../report/render-diagnostics.ts';
import type { ReplicationJobInfo, SmsApi, SmsAction } from '../sms/api.ts';
import { assertSameTarget, type StateDocument } from '../state/codec.ts';
import type { StateStore } from '../state/store.ts';
import type { CommandContext } from './context.ts';
import { manifestRoots } from './manifest-roots.ts';
import type { Target } from './target.ts';

/** The steps plan and apply share: read the manifests, read the world, diff. */

/** Loads and checks the manifests; prints every diagnostic and fails on errors. `roots`: where each file was found. */
export async function loadDesired(ctx: CommandContext, files: readonly string[]): Promise<{ desired: DesiredSet; check: ManifestCheckResult; roots: ManifestRoots }> {
  const check = await loadManifests(files, { cwd: ctx.io.cwd, stdin: ctx.io.stdin });
  const color = ctx.globals().color && ctx.io.stderr.isTTY === true;
  if (check.diagnostics.length > 0 || check.desired === undefined) {
    const text = renderDiagnosticsText(check.diagnostics, check.summary, { color, sourceLine: (f, l) => check.sources.get(f)?.lineText(l) });
    const failed = check.summary.errors > 0 || check.desired === undefined;
    ctx.host.notify(output('manifest.diagnostics', text, failed ? 'error' : 'warn'));
    if (failed) {
      throw new SmsReconcileError('manifest-invalid', `the manifests have ${check.summary.errors} error(s); nothing was planned`, {
        source: 'user',
        hint: 'fix the errors above (`sms-reconcile validate -f ...` checks offline)',
      });
    }
  }
  return { desired: check.desired, check, roots: manifestRoots(files, check.sources.keys(), ctx.io.cwd) };
}

/**
 * One bulk read: each list once, in parallel; no per-job calls. Each page is indexed (ObservedIndex),
 * and each page of jobs has its live specs and fingerprints computed (and cached, live-spec.ts),
 * while the next page is awaited: the diff after the last page then finds them done (~0.4 s of a
 * 100,000-job plan).
 */
export async function observeAll(api: SmsApi): Promise<ObservedSet> {
  const index = new ObservedIndex();
  const jobPage = (page: readonly ReplicationJobInfo[]): void => {
    index.addJobs(page);
    for (const j of page) fingerprintOf(j);
  };
  const [catalog, jobs, connectors] = await Promise.all([api.getServers((page) => index.addServers(page)), api.getReplicationJobs(jobPage), api.getConnectors()]);
  return index.finish(catalog, jobs, connectors);
}

/** The state, refused when it belongs to another target. */
export async function readPrior(store: StateStore, target: Target): Promise<StateDocument | undefined> {
  const prior = await store.read();
  if (prior) assertSameTarget(prior.target, target.identity, store.location);
  return prior;
}

/**
 * Under the state lock, before planning what to apply: the state and the live jobs, read again
 * after the journal's pending operations (a crashed run's) were resolved by observing. `apply` and
 * the controller's cycle both start here.
 */
export async function readAfterRecovery(ports: ApplyPorts, target: Target): Promise<{ prior: StateDocument | undefined; observed: ObservedSet }> {
  const read = async () => ({ prior: await readPrior(ports.store, target), observed: await observeAll(ports.api) });
  const first = await read();
  return (await recover(ports, first.observed)) > 0 ? read() : first;
}

/**
 * Under the apply's lock, after its changes: records when replication began for the jobs whose
 * first run the listing shows started and whose records do not say yet (one write, none when there
 * is nothing to record). Creates record it themselves; this catches adopted and older records.
 */
export async function recordReplicationStarts(ports: ApplyPorts, observed: ObservedSet): Promise<void> {
  const doc = await ports.store.read();
  if (doc === undefined) return;
  const writes = replicationStartWrites(Object.values(doc.resources), observed.jobs, new Date(ports.clock.now()).toISOString());
  if (writes.length > 0) await ports.store.writeResources(ports.lock, writes, 'record when replication began');
}

export interface PlanInputs {
  readonly desired: DesiredSet;
  readonly observed: ObservedSet;
  readonly prior: StateDocument | undefined;
  readonly target: Target;
  readonly options: PlanOptions;
  readonly maxConcurrentJobs: number;
  readonly now: Date;
  readonly apiCalls: Readonly<Partial<Record<SmsAction, number>>>;
  /** The -f roots (loadDesired): changes carry their document's root; deletes of other roots' jobs warn. */
  readonly manifestRoots?: ManifestRoots;
}

/** Diffs and assembles the plan; every problem is reported at once, with its manifest position. */
export function buildPlan(ctx: CommandContext, input: PlanInputs): Plan {
  const result = diff(input.desired, input.observed, input.prior, {
    now: input.now.getTime() / 1000,
    targets: input.options.targets,
    replace: input.options.replace,
    refreshOnly: input.options.refreshOnly,
    maxConcurrentJobs: input.maxConcurrentJobs,
    ...(input.manifestRoots ? { manifestRoots: input.manifestRoots } : {}),
    ...(input.options.maxWave === undefined ? {} : { maxWave: input.options.maxWave }),
  });
  if (result.problems.length > 0) {
    // A plan that would delete another manifest set's jobs fails on their protection: say why first.
    for (const w of result.warnings) if (w.code === 'foreign-root-delete') ctx.host.notify(output('plan.warning', `Warning: ${w.message}\n`, 'warn'));
    reportProblems(ctx, result.problems);
    throw new SmsReconcileError('plan-failed', `${result.problems.length} problem(s) prevent a plan; nothing was changed`, {
      source: 'user',
      hint: 'fix the manifests (or the catalog) as the messages above say',
    });
  }
  return {
    formatVersion: PLAN_FORMAT_VERSION,
    createdAt: input.now.toISOString(),
    target: input.target.identity,
    targetDescription: input.target.description,
    state: input.prior ? { lineage: input.prior.lineage, serial: input.prior.serial } : undefined,
    manifestDigest: input.desired.digest,
    options: input.options,
    changes: result.changes,
    drift: result.drift,
    warnings: result.warnings,
    apiCalls: nonZero(input.apiCalls),
    migrated: result.migrated,
    quota: result.quota,
    ...(result.waves.length === 0 ? {} : { waves: result.waves }),
  };
}

function nonZero(calls: Readonly<Partial<Record<SmsAction, number>>>): Partial<Record<SmsAction, number>> {
  return Object.fromEntries(Object.entries(calls).filter(([, n]) => (n ?? 0) > 0));
}

export function reportProblems(ctx: CommandContext, problems: readonly PlanProblem[]): void {
  for (const p of problems) {
    const where = p.source ? `${p.source.file}:${p.source.line}:${p.source.column}: ` : '';
    ctx.host.notify(output('plan.problem', `${where}error ${p.code}: ${p.message}\n${p.hint ? `  hint: ${p.hint}\n` : ''}`, 'error'));
  }
}

/** `--max-wave N`: a whole number from 1, or undefined when not given. */
export function parseMaxWave(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw userError('bad-flag', `--max-wave ${value} is not a whole number from 1`, 'waves are numbered from 1 (spec.wave); e.g. --max-wave 1 creates the jobs of wave 1 only');
  }
  return n;
}

/** Addresses given to --target/--replace must look like addresses. */
export function checkAddresses(flag: string, values: readonly string[]): void {
  for (const v of values) {
    if (!/^(ReplicationJob|ReplicationJobSet|ServerCatalog|Connector)\/[a-z0-9-]+(\[[^\]]+\])?$/.test(v)) {
      throw userError('bad-address', `${flag} ${v} is not a resource address`, 'addresses look like ReplicationJob/web-01 or ReplicationJobSet/wave-1[s-1a2b3c4d]');
    }
  }
}
