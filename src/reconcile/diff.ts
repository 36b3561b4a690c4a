import equal from 'fast-deep-equal';
import type { Address, ManifestKind } from '../model/address.ts';
import { effectiveSpec, jobSetAddress, type DesiredJob, type DesiredSet, type Lifecycle, type OnDemandRunRequest } from '../model/desired.ts';
import type { SourcePosition } from '../model/errors.ts';
import { withoutUndefined } from '../model/objects.ts';
import type { ManifestRoots } from '../model/manifest-roots.ts';
import { FIELD_POLICY, serviceDefaultFor } from '../model/field-policy.ts';
import { JOB_SPEC_FIELDS, type JobSpec, type JobSpecField } from '../model/job.ts';
import type { ReplicationJobInfo, ServerInfo } from '../sms/api.ts';
import type { ResourceRecord, StateDocument } from '../state/codec.ts';
import { ACTIONS, type Action } from './action.ts';
import { isDeferred, isNonEmpty, isStateOnlyDelete, type Change, type Drift, type FieldChange, type JobKind, type PlanWarning, type ReplaceChange } from './change.ts';
import { isTerminated, type ObservedSet } from './observed.ts';
import { CatalogIndex, describeServer, matchServers, resolveSelector } from './resolve.ts';

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
}

export const DEFAULT_DIFF_OPTIONS: Omit<DiffOptions, 'now'> = { targets: [], replace: [], refreshOnly: false, maxConcurrentJobs: 50 };

/** A reason the plan cannot be made (a selector matching nothing, a protected job to destroy). */
export interface PlanProblem {
  readonly code: string;
  readonly message: string;
  readonly hint?: string;
  readonly address?: Address;
  readonly source?: SourcePosition;
}

export interface DiffResult {
  readonly changes: Change[];
  readonly drift: Drift[];
  readonly warnings: PlanWarning[];
  readonly problems: PlanProblem[];
}

/** One job the manifests want, resolved to its server. */
interface WantedJob {
  readonly address: Address;
  readonly kind: JobKind;
  readonly server: ServerInfo | undefined;
  readonly serverId: string | undefined;
  readonly spec: JobSpec;
  readonly onDemandRun: OnDemandRunRequest | undefined;
  readonly lifecycle: Lifecycle;
  readonly source: SourcePosition;
  readonly deferred: boolean;
}

/** Fields whose live value moves by itself and is never compared for drift. */
const NOT_DRIFT: ReadonlySet<JobSpecField> = new Set(['nextReplicationRunStartTime', 'seedReplicationTime']);

/** The order changes are listed in: destructive first, then as the executor runs them. */
const ACTION_ORDER: Record<Action, number> = Object.fromEntries(ACTIONS.map((a, i) => [a, i])) as Record<Action, number>;

export function diff(desired: DesiredSet, observed: ObservedSet, prior: StateDocument | undefined, options: DiffOptions): DiffResult {
  const changes: Change[] = [];
  const warnings: PlanWarning[] = [];
  const problems: PlanProblem[] = [];
  const drift: Drift[] = [];
  const resources: Readonly<Record<Address, ResourceRecord>> = prior?.resources ?? {};

  // 1. The catalog.
  const catalogAvailable = observed.catalog.status === 'AVAILABLE';
  let importPlanned = false;
  for (const cat of desired.catalogs.values()) {
    const stale =
      cat.maxAgeHours !== undefined && (observed.catalog.lastModifiedOn ?? 0) < options.now - cat.maxAgeHours * 3600;
    if (catalogAvailable && !stale) {
      changes.push(made({ ...base(cat.address, 'ServerCatalog', 'no-op', 'the catalog is AVAILABLE'), source: cat.source }));
      continue;
    }
    importPlanned = true;
    const reason =
      observed.catalog.status === 'IMPORTING'
        ? 'an import is in progress; apply waits for it to finish'
        : catalogAvailable
          ? `the catalog is older than maxAgeHours (${cat.maxAgeHours})`
          : `the catalog is ${observed.catalog.status}`;
    changes.push(made({ ...base(cat.address, 'ServerCatalog', 'import-catalog', reason), source: cat.source }));
  }
  const deferAll = importPlanned && !catalogAvailable;
  if (!catalogAvailable && !importPlanned) {
    warnings.push({
      code: 'catalog-not-imported',
      message: `the server catalog is ${observed.catalog.status}: jobs cannot be created until it is imported (add a ServerCatalog document with spec.imported: true)`,
    });
  }

  // 2. Connectors.
  const associated = new Set(observed.connectors.map((c) => c.connectorId));
  for (const con of desired.connectors.values()) {
    if (associated.has(con.connectorId)) {
      changes.push(made({ ...base(con.address, 'Connector', 'disassociate-connector', 'the manifest wants it disassociated'), connectorId: con.connectorId, source: con.source }));
    } else {
      changes.push(made({ ...base(con.address, 'Connector', 'no-op', 'not associated'), connectorId: con.connectorId, source: con.source }));
    }
  }

  // 3. The jobs the manifests want, resolved to servers.
  const wanted = resolveWanted(desired, observed, deferAll, catalogAvailable, problems, warnings);
  const byServer = new Map<string, WantedJob>();
  for (const w of wanted) {
    if (w.serverId === undefined) continue;
    const other = byServer.get(w.serverId);
    if (other) {
      problems.push({
        code: 'server-claimed-twice',
        message: `${w.address} and ${other.address} both select server ${w.server ? describeServer(w.server) : w.serverId}; a server can have one job`,
        hint: 'narrow one of the selectors',
        address: w.address,
        source: w.source,
      });
      continue;
    }
    byServer.set(w.serverId, w);
  }

  // Released records: their address is declared no more, or now selects another server. The job
  // of a released record is moved to the address that now selects its server (a rename keeps the
  // job and its history); a released job nobody takes is deleted.
  const wantedAddresses = new Set(wanted.map((w) => w.address));
  const wantedServer = new Map(wanted.map((w) => [w.address, w.serverId]));
  const releasedByJob = new Map<string, ResourceRecord>();
  const trackedJobs = new Set<string>();
  for (const rec of Object.values(resources)) {
    if (!isJobKind(rec.kind) || rec.replicationJobId === undefined) continue;
    trackedJobs.add(rec.replicationJobId);
    if (deferAll && isDeferredSetMember(rec.address, desired)) continue;
    if (wantedAddresses.has(rec.address) && wantedServer.get(rec.address) === rec.serverId) continue;
    releasedByJob.set(rec.replicationJobId, rec);
  }
  /** Jobs a wanted address keeps by moving a released record onto itself. */
  const claimed = new Set<string>();
  for (const w of wanted) {
    const live = w.serverId === undefined ? undefined : observed.jobByServer.get(w.serverId);
    if (w.deferred || live === undefined || live.state === 'DELETING') continue;
    const from = releasedByJob.get(live.replicationJobId);
    if (from !== undefined && from.address !== w.address) claimed.add(live.replicationJobId);
  }
  const moved = new Set<Address>();
  const ctx: PlanContext = { now: options.now, warnings, observed };

  for (const w of wanted) {
    if (w.deferred) {
      const deferred = { after: w.spec, deferredUntilCatalog: true, preventDestroy: w.lifecycle.preventDestroy, onDemandRun: w.onDemandRun, source: w.source } as const;
      changes.push(made({ ...base(w.address, w.kind, 'create', 'the server is resolved after the catalog import'), ...deferred }));
      continue;
    }
    if (!hasServer(w)) continue;
    const rec = resources[w.address];
    const live = observed.jobByServer.get(w.serverId);
    const usable = live !== undefined && live.state !== 'DELETING' ? live : undefined;
    const forcedReplace = options.replace.includes(w.address);

    // The address is tracked on this server and its job is alive: compare.
    if (rec !== undefined && rec.serverId === w.serverId && usable !== undefined && usable.replicationJobId === rec.replicationJobId) {
      changes.push(...planExisting(ctx, w, usable, { kind: 'tracked', rec }, forcedReplace));
      drift.push(...driftOf(w.address, rec, usable));
      continue;
    }

    // The job the address had on another server (its selector now picks this one) goes.
    const oldJob =
      rec !== undefined && rec.serverId !== w.serverId && rec.replicationJobId !== undefined && !claimed.has(rec.replicationJobId)
        ? observed.jobs.get(rec.replicationJobId)
        : undefined;
    const oldLive = oldJob !== undefined && oldJob.state !== 'DELETING' ? oldJob : undefined;
    const whyNew =
      rec === undefined
        ? undefined
        : rec.serverId !== w.serverId
          ? `the selector now picks ${w.server ? describeServer(w.server) : w.serverId} instead of ${rec.serverId ?? '?'}`
          : `the recorded job ${rec.replicationJobId ?? '?'} no longer exists`;

    // A released record holds this server's job: a rename.
    const orphan = usable !== undefined ? releasedByJob.get(usable.replicationJobId) : undefined;
    let existing: Change[] | undefined;
    if (usable !== undefined && orphan !== undefined && orphan.address !== w.address) {
      moved.add(orphan.address);
      existing = planExisting(ctx, w, usable, { kind: 'move', rec: orphan }, forcedReplace);
    } else if (usable !== undefined && !trackedJobs.has(usable.replicationJobId) && adoptable(usable, w)) {
      warnings.push({
        code: 'server-busy',
        message: `${w.address}: server ${w.serverId} already has job ${usable.replicationJobId}, which this state does not manage: it will be adopted`,
        address: w.address,
      });
      existing = planExisting(ctx, w, usable, { kind: 'adopt' }, forcedReplace);
    }

    if (existing !== undefined) {
      changes.push(...existing);
      if (oldLive !== undefined) {
        changes.push(
          made({
            ...base(w.address, w.kind, 'delete', `${whyNew ?? ''}; the job of the old server is deleted`),
            serverId: rec?.serverId,
            serverName: oldLive.vmServer?.vmName,
            replicationJobId: oldLive.replicationJobId,
            before: liveSpec(oldLive),
            preventDestroy: w.lifecycle.preventDestroy,
            observedFingerprint: fingerprintOf(oldLive),
            source: w.source,
          }),
        );
      }
      continue;
    }

    // The server needs a new job.
    if (live?.state === 'DELETING') {
      warnings.push({ code: 'server-busy', message: `${w.address}: job ${live.replicationJobId} of server ${w.serverId} is DELETING; apply waits for DELETED before creating`, address: w.address });
    } else if (live !== undefined && live.state === 'FAILED') {
      warnings.push({ code: 'job-terminated', message: `${w.address}: the server's previous job ${live.replicationJobId} FAILED; a new job will be created`, address: w.address });
    }
    if (w.spec.nextReplicationRunStartTime !== undefined) {
      warnings.push({
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
    };
    if (oldLive !== undefined) {
      changes.push(
        made({
          ...base(w.address, w.kind, 'replace', whyNew ?? 'the server changed'),
          ...create,
          replicationJobId: oldLive.replicationJobId,
          before: liveSpec(oldLive),
          fields: [{ field: 'serverId', before: rec?.serverId, after: w.serverId, policy: 'forces-replace' }],
          replaceBecause: ['serverId'],
          observedFingerprint: fingerprintOf(oldLive),
        }),
      );
    } else {
      // No job that could block the create: none, or one DELETING or terminated.
      changes.push(made({ ...base(w.address, w.kind, 'create', whyNew ?? 'declared in the manifests; no job replicates this server'), ...create, observedFingerprint: 'absent' }));
    }
  }

  // 4. Managed addresses no manifest declares: delete.
  for (const rec of Object.values(resources)) {
    if (!isJobKind(rec.kind) || wantedAddresses.has(rec.address) || moved.has(rec.address)) continue;
    if (deferAll && isDeferredSetMember(rec.address, desired)) continue;
    const live = rec.replicationJobId ? observed.jobs.get(rec.replicationJobId) : undefined;
    const gone = live === undefined || live.state === 'DELETING';
    const head = { ...base(rec.address, rec.kind, 'delete', gone ? 'removed from the manifests; the job is already gone' : 'removed from the manifests'), serverId: rec.serverId, serverName: live?.vmServer?.vmName };
    const [before, preventDestroy, observedFingerprint] = [live ? liveSpec(live) : rec.appliedSpec, rec.preventDestroy, fingerprintOf(live)];
    changes.push(
      made(
        gone
          ? { ...head, replicationJobId: rec.replicationJobId, before, preventDestroy, stateOnly: true, observedFingerprint }
          : { ...head, replicationJobId: live.replicationJobId, before, preventDestroy, stateOnly: false, observedFingerprint },
      ),
    );
  }

  preflight(changes, observed, options, warnings);

  let result = changes;
  if (options.targets.length > 0) {
    const hit = (a: Address) => options.targets.some((t) => a === t || (t.startsWith('ReplicationJobSet/') && !t.includes('[') && a.startsWith(`${t}[`)));
    // The renderers say the plan is targeted (from options.targets); no warning needed.
    const kept = changes.filter((c) => hit(c.address) || (c.action === 'import-catalog' && changes.some((d) => isDeferred(d) && hit(d.address))));
    result = kept;
  }
  if (options.refreshOnly) result = [];
  if (options.manifestRoots !== undefined) {
    result = withManifestRoots(result, options.manifestRoots);
    warnings.push(...foreignRootWarnings(result, resources, options.manifestRoots));
  }
  // 5. preventDestroy blocks the deletes and replaces this plan holds, whatever the flags.
  for (const c of result) {
    if ((c.action === 'delete' && !isStateOnlyDelete(c)) || c.action === 'replace') {
      if (c.preventDestroy) {
        problems.push({
          code: 'prevent-destroy',
          message: `${c.address} has lifecycle.preventDestroy, but this plan would ${c.action === 'delete' ? 'delete' : 'replace'} its job ${c.replicationJobId ?? ''} (${c.reason})`.replace('  ', ' '),
          hint:
            c.action === 'delete'
              ? 'restore its document; to really delete it, first apply it with lifecycle.preventDestroy: false, then remove it'
              : 'set lifecycle.preventDestroy: false and apply, or undo the change that forces the replacement',
          address: c.address,
          source: c.source,
        });
      }
    }
  }

  result.sort((a, b) => ACTION_ORDER[a.action] - ACTION_ORDER[b.action] || (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  drift.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : a.field < b.field ? -1 : 1));
  return { changes: result, drift, warnings, problems };
}

/** The members every change starts with, in this order (a member spread over one keeps its place). */
function base<K extends ManifestKind, A extends Action>(address: Address, kind: K, action: A, reason: string) {
  return { address, kind, action, reason, fields: [] as const, preventDestroy: false };
}
/** The change without its undefined members. */
const made = (change: Change): Change => withoutUndefined(change);
type ResolvedWanted = WantedJob & { readonly serverId: string };
const hasServer = (w: WantedJob): w is ResolvedWanted => w.serverId !== undefined;
/** The members of a change of a live job the address keeps (planExisting). */
type LiveCommon = Omit<ReplaceChange, keyof ReturnType<typeof base> | 'replaceBecause'>;

/** Each change that comes from a document, with the root of that document's file. */
function withManifestRoots(changes: readonly Change[], roots: ManifestRoots): Change[] {
  return changes.map((c) => {
    const root = c.source === undefined ? undefined : roots.rootOfFile.get(c.source.file);
    return root === undefined ? c : { ...c, manifestRoot: root };
  });
}

/**
 * One warning per root that is not among this plan's -f but recorded the jobs this plan deletes:
 * the state is probably shared by two manifest sets (the examples, one after another), and the
 * deletes are the other set's jobs.
 */
function foreignRootWarnings(changes: readonly Change[], resources: Readonly<Record<Address, ResourceRecord>>, roots: ManifestRoots): PlanWarning[] {
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

function isJobKind(kind: ManifestKind): kind is JobKind {
  return kind === 'ReplicationJob' || kind === 'ReplicationJobSet';
}

/** Members of a set that is still declared, while its servers wait for a catalog import. */
function isDeferredSetMember(address: Address, desired: DesiredSet): boolean {
  for (const name of desired.jobSets.keys()) if (address.startsWith(`ReplicationJobSet/${name}[`)) return true;
  return false;
}

function resolveWanted(
  desired: DesiredSet,
  observed: ObservedSet,
  deferAll: boolean,
  catalogAvailable: boolean,
  problems: PlanProblem[],
  warnings: PlanWarning[],
): WantedJob[] {
  const servers = new CatalogIndex(observed.catalog.servers);
  const out: WantedJob[] = [];
  const wantedJob = (job: DesiredJob, server: ServerInfo | undefined, serverId: string | undefined, deferred: boolean): WantedJob => ({
    address: job.address,
    kind: 'ReplicationJob',
    spec: { ...job.spec },
    onDemandRun: job.onDemandRun,
    lifecycle: job.lifecycle,
    source: job.source,
    server,
    serverId,
    deferred,
  });
  for (const job of desired.jobs.values()) {
    if (deferAll) {
      out.push(wantedJob(job, undefined, job.selector.kind === 'serverId' ? job.selector.serverId : undefined, true));
      continue;
    }
    const r = resolveSelector(job.selector, servers);
    if (r.ok) {
      out.push(wantedJob(job, r.server, r.server.serverId, false));
    } else if (!catalogAvailable && job.selector.kind === 'serverId') {
      out.push(wantedJob(job, undefined, job.selector.serverId, false));
    } else {
      problems.push({
        code: r.reason === 'none' ? 'selector-no-match' : 'selector-ambiguous',
        message: `${job.address}: ${r.message}`,
        hint:
          r.reason === 'none'
            ? catalogAvailable
              ? 'check the selector against `aws sms get-servers`, or re-import the catalog'
              : 'the catalog is not imported: add a ServerCatalog document (spec.imported: true)'
            : 'add vmManagerName or vmPath to the selector, or select by serverId',
        address: job.address,
        source: job.selectorSource,
      });
    }
  }
  for (const set of desired.jobSets.values()) {
    if (deferAll) {
      out.push({
        address: `ReplicationJobSet/${set.name}[*]`,
        kind: 'ReplicationJobSet',
        server: undefined,
        serverId: undefined,
        spec: { ...set.template },
        onDemandRun: set.onDemandRun,
        lifecycle: set.lifecycle,
        source: set.source,
        deferred: true,
      });
      continue;
    }
    const picked = new Map<string, { server: ServerInfo; spec: JobSpec; source: SourcePosition }>();
    for (const entry of set.servers) {
      const r = resolveSelector(entry.selector, servers);
      if (!r.ok) {
        problems.push({
          code: r.reason === 'none' ? 'selector-no-match' : 'selector-ambiguous',
          message: `ReplicationJobSet/${set.name}: ${r.message}`,
          hint: r.reason === 'none' ? 'check the selector against the catalog' : 'add vmManagerName or vmPath, or select by serverId',
          source: entry.source,
        });
        continue;
      }
      picked.set(r.server.serverId, { server: r.server, spec: effectiveSpec(set, entry), source: entry.source });
    }
    if (set.match) {
      const matched = matchServers(set.match, servers.servers);
      if (matched.length === 0) {
        warnings.push({ code: 'match-empty', message: `ReplicationJobSet/${set.name}: spec.match selects no server in the catalog`, source: set.matchSource ?? set.source });
      }
      for (const s of matched) if (!picked.has(s.serverId)) picked.set(s.serverId, { server: s, spec: { ...set.template }, source: set.matchSource ?? set.source });
    }
    for (const [serverId, p] of [...picked.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      out.push({
        address: jobSetAddress(set, serverId),
        kind: 'ReplicationJobSet',
        server: p.server,
        serverId,
        spec: p.spec,
        onDemandRun: set.onDemandRun,
        lifecycle: set.lifecycle,
        source: p.source,
        deferred: false,
      });
    }
  }
  return out;
}

interface PlanContext {
  readonly now: number;
  readonly warnings: PlanWarning[];
  readonly observed: ObservedSet;
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
function planExisting(ctx: PlanContext, w: ResolvedWanted, live: ReplicationJobInfo, relation: Relation, forcedReplace: boolean): Change[] {
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
  };
  const fields = fieldChanges(w.spec, live, ctx.now, ctx.warnings, w.address, forcedReplace);
  const forcing = fields.filter((f) => f.policy === 'forces-replace').map((f) => String(f.field));
  if (isNonEmpty(forcing) || forcedReplace) {
    const why = isNonEmpty(forcing) ? `${forcing.join(', ')} cannot change on a live job` : `--replace ${w.address}`;
    return [
      made({
        ...base(w.address, w.kind, 'replace', previousAddress ? `${why} (renamed from ${previousAddress})` : why),
        ...common,
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
    out.push(made({ ...base(w.address, w.kind, 'move', `renamed from ${relation.rec.address}; the job keeps its replication history`), ...common, previousAddress: relation.rec.address, fields: applied, onDemandRun: kept }));
  } else if (relation.kind === 'adopt') {
    // Adopted with its history: an on-demand token counts as satisfied by the runs it already had.
    out.push(made({ ...base(w.address, w.kind, 'adopt', `job ${live.replicationJobId} already replicates this server`), ...common, fields: applied, onDemandRun: w.onDemandRun }));
    return out;
  } else if (applied.length > 0) {
    out.push(made({ ...base(w.address, w.kind, 'update', 'the live job differs from the manifest'), ...common, fields: applied }));
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
    return made({ ...base(w.address, w.kind, 'no-op', 'matches the manifest'), ...common });
  }
  const reasons = [
    ...(rec.preventDestroy !== w.lifecycle.preventDestroy ? [`lifecycle.preventDestroy is now ${String(w.lifecycle.preventDestroy)}`] : []),
    ...(stale.length > 0 ? ['the live job already matches the manifest; the state records it'] : []),
  ];
  return made({ ...base(w.address, w.kind, 'record', reasons.join('; ')), ...common, fields: stale, recordedPreventDestroy: rec.preventDestroy });
}

function onDemandWanted(w: WantedJob, rec: ResourceRecord | undefined): boolean {
  return w.onDemandRun !== undefined && w.onDemandRun.token !== rec?.onDemandRunToken;
}

/** On-demand runs the service allows per job in 24 hours. */
const ON_DEMAND_PER_24H = 2;

function startRunIfWanted(ctx: PlanContext, out: Change[], w: ResolvedWanted, rec: ResourceRecord, live: ReplicationJobInfo): void {
  if (!onDemandWanted(w, rec) || !w.onDemandRun) return;
  out.push(
    made({
      ...base(w.address, w.kind, 'start-run', `onDemandRun.token is ${w.onDemandRun.token} (state has ${rec.onDemandRunToken ?? 'none'})`),
      serverId: w.serverId,
      serverName: w.server?.vmServer.vmName,
      replicationJobId: live.replicationJobId,
      onDemandRun: w.onDemandRun,
      preventDestroy: w.lifecycle.preventDestroy,
      observedFingerprint: fingerprintOf(live),
      source: w.source,
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

/** A field's value with the service default filled in and timestamps truncated to seconds. */
function comparable(field: JobSpecField, spec: JobSpec): unknown {
  const v = spec[field] ?? serviceDefaultFor(field, spec);
  return FIELD_POLICY[field].timestamp && typeof v === 'number' ? Math.floor(v) : v;
}

function fmt(field: JobSpecField, v: unknown): string {
  return FIELD_POLICY[field].timestamp && typeof v === 'number' ? iso(v) : JSON.stringify(v);
}

function iso(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace('.000Z', 'Z');
}

/**
 * Per-job results computed once per observed job object (a plan asks for each several times: the
 * change's `before`, its field diff, its drift, its fingerprint). Keyed weakly by the observed
 * object, which is never mutated; the cached specs are frozen.
 */
const liveSpecs = new WeakMap<ReplicationJobInfo, Readonly<JobSpec>>();
const fingerprints = new WeakMap<ReplicationJobInfo, string>();

/** The job fields of a live job, as the API reports them (frozen: shared by every caller). */
export function liveSpec(j: ReplicationJobInfo): JobSpec {
  let spec = liveSpecs.get(j);
  if (spec === undefined) {
    spec = Object.freeze(readLiveSpec(j));
    liveSpecs.set(j, spec);
  }
  return spec;
}

function readLiveSpec(j: ReplicationJobInfo): JobSpec {
  // Field by field, in JOB_SPEC_FIELDS order; absent stays absent (no closure: ~10,000 calls a plan).
  const out: { -readonly [F in JobSpecField]?: JobSpec[F] } = {};
  if (j.frequency !== undefined) out.frequency = j.frequency;
  if (j.runOnce !== undefined) out.runOnce = j.runOnce;
  if (j.seedReplicationTime !== undefined) out.seedReplicationTime = Math.floor(j.seedReplicationTime);
  if (j.nextReplicationRunStartTime !== undefined) out.nextReplicationRunStartTime = Math.floor(j.nextReplicationRunStartTime);
  if (j.licenseType !== undefined) out.licenseType = j.licenseType;
  if (j.roleName !== undefined) out.roleName = j.roleName;
  if (j.description !== undefined) out.description = j.description;
  if (j.numberOfRecentAmisToKeep !== undefined) out.numberOfRecentAmisToKeep = j.numberOfRecentAmisToKeep;
  if (j.encrypted !== undefined) out.encrypted = j.encrypted;
  if (j.kmsKeyId !== undefined) out.kmsKeyId = j.kmsKeyId;
  return out;
}

/** The fingerprint of what a plan saw of a job; a job being deleted counts as absent. */
export function fingerprintOf(j: ReplicationJobInfo | undefined): string {
  return j === undefined || j.state === 'DELETING' || j.state === 'DELETED' ? 'absent' : fingerprint(j);
}

/**
 * A job's identity and configurable fields (not its state or schedule, which move by themselves):
 * a saved plan is stale when the fingerprint of a job it touches changed.
 */
export function fingerprint(j: ReplicationJobInfo): string {
  let known = fingerprints.get(j);
  if (known === undefined) {
    const s = liveSpec(j);
    known = `${j.replicationJobId}|${j.serverId}`;
    for (const f of FINGERPRINT_FIELDS) known += `|${f}=${fingerprintValue(comparable(f, s))}`;
    fingerprints.set(j, known);
  }
  return known;
}

const FINGERPRINT_FIELDS: readonly JobSpecField[] = JOB_SPEC_FIELDS.filter((f) => !NOT_DRIFT.has(f));

/** A field value as `${JSON.stringify(v)}` writes it (undefined as "undefined"), without JSON.stringify for the common scalars. */
function fingerprintValue(v: unknown): string {
  if (typeof v === 'boolean' || v === undefined || v === null) return String(v);
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  return String(JSON.stringify(v));
}

function driftOf(address: Address, rec: ResourceRecord, live: ReplicationJobInfo): Drift[] {
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

/** Warnings for what would fail at apply time. */
function preflight(changes: readonly Change[], observed: ObservedSet, options: DiffOptions, warnings: PlanWarning[]): void {
  const healthy = new Set(observed.connectors.filter((c) => c.status === 'HEALTHY' && c.vmManagerId).map((c) => c.vmManagerId));
  const disassociating = new Set(changes.filter((c) => c.action === 'disassociate-connector').map((c) => c.connectorId));
  const healthyAfter = new Set(
    observed.connectors.filter((c) => c.status === 'HEALTHY' && !disassociating.has(c.connectorId)).map((c) => c.vmManagerId),
  );
  for (const c of changes) {
    if ((c.action !== 'create' && c.action !== 'replace') || isDeferred(c)) continue;
    const server = observed.servers.get(c.serverId);
    const manager = server?.vmServer.vmServerAddress?.vmManagerId;
    if (manager === undefined) continue;
    if (!healthy.has(manager) || !healthyAfter.has(manager)) {
      warnings.push({
        code: 'no-healthy-connector',
        message: `${c.address}: no healthy connector serves ${server?.vmServer.vmManagerName ?? manager}${healthy.has(manager) ? ' once the planned disassociation is done' : ''}; CreateReplicationJob will fail with NoConnectorsAvailableException`,
        address: c.address,
      });
    }
  }
  const live = [...observed.jobs.values()].filter((j) => !isTerminated(j)).length;
  const creates = changes.filter((c) => c.action === 'create').length;
  const deletes = changes.filter((c) => c.action === 'delete' && !c.stateOnly).length;
  if (live + creates - deletes > options.maxConcurrentJobs) {
    warnings.push({
      code: 'concurrent-job-limit',
      message: `${live + creates - deletes} jobs would run at once, more than the account's limit of ${options.maxConcurrentJobs}: creates past it will fail with OperationNotPermittedException`,
    });
  }
}

