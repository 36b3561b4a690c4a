import equal from 'fast-deep-equal';
import type { Address, ManifestKind } from '../model/address.ts';
import { effectiveSpec, jobSetAddress, type DesiredSet, type Lifecycle, type OnDemandRunRequest } from '../model/desired.ts';
import type { SourcePosition } from '../model/errors.ts';
import { FIELD_POLICY, serviceDefaultFor } from '../model/field-policy.ts';
import { JOB_SPEC_FIELDS, type JobSpec, type JobSpecField } from '../model/job.ts';
import { withoutUndefined } from '../model/objects.ts';
import type { ReplicationJobInfo, ServerInfo } from '../sms/api.ts';
import type { ResourceRecord, StateDocument } from '../state/codec.ts';
import { ACTIONS, type Action } from './action.ts';
import type { Change, Drift, FieldChange, PlanWarning } from './change.ts';
import { isTerminated, type ObservedSet } from './observed.ts';
import { describeServer, matchServers, resolveSelector } from './resolve.ts';

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
  readonly kind: ManifestKind;
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
      changes.push(base(cat.address, 'ServerCatalog', 'no-op', 'the catalog is AVAILABLE', { source: cat.source }));
      continue;
    }
    importPlanned = true;
    const reason =
      observed.catalog.status === 'IMPORTING'
        ? 'an import is in progress; apply waits for it to finish'
        : catalogAvailable
          ? `the catalog is older than maxAgeHours (${cat.maxAgeHours})`
          : `the catalog is ${observed.catalog.status}`;
    changes.push(base(cat.address, 'ServerCatalog', 'import-catalog', reason, { source: cat.source }));
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
      changes.push(base(con.address, 'Connector', 'disassociate-connector', 'the manifest wants it disassociated', { connectorId: con.connectorId, source: con.source }));
    } else {
      changes.push(base(con.address, 'Connector', 'no-op', 'not associated', { connectorId: con.connectorId, source: con.source }));
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

  // Records of addresses no manifest declares: candidates for a move, else deleted.
  const wantedAddresses = new Set(wanted.map((w) => w.address));
  const orphanByServer = new Map<string, ResourceRecord>();
  for (const rec of Object.values(resources)) {
    if (!isJobKind(rec.kind) || wantedAddresses.has(rec.address) || rec.serverId === undefined) continue;
    if (deferAll && isDeferredSetMember(rec.address, desired)) continue;
    orphanByServer.set(rec.serverId, rec);
  }
  const moved = new Set<Address>();

  for (const w of wanted) {
    if (w.deferred) {
      changes.push(
        base(w.address, w.kind, 'create', 'the server is resolved after the catalog import', {
          after: w.spec,
          deferredUntilCatalog: true,
          preventDestroy: w.lifecycle.preventDestroy,
          onDemandRun: w.onDemandRun,
          source: w.source,
        }),
      );
      continue;
    }
    if (w.serverId === undefined) continue;
    const rec = resources[w.address];
    const live = observed.jobByServer.get(w.serverId);
    const forcedReplace = options.replace.includes(w.address);
    if (rec !== undefined && rec.serverId === w.serverId) {
      changes.push(...planTracked(w, rec, live, forcedReplace, options, warnings));
      if (live && rec.replicationJobId === live.replicationJobId) drift.push(...driftOf(w.address, rec, live));
    } else if (rec !== undefined) {
      // The selector now resolves to another server: replace.
      const old = rec.replicationJobId ? observed.jobs.get(rec.replicationJobId) : undefined;
      const reason = `the selector now picks ${w.server ? describeServer(w.server) : w.serverId} instead of ${rec.serverId}`;
      if (old && old.state !== 'DELETING') {
        changes.push(
          base(w.address, w.kind, 'replace', reason, {
            serverId: w.serverId,
            serverName: w.server?.vmServer.vmName,
            replicationJobId: old.replicationJobId,
            before: liveSpec(old),
            after: w.spec,
            fields: [{ field: 'serverId', before: rec.serverId, after: w.serverId, policy: 'forces-replace' }],
            replaceBecause: ['serverId'],
            preventDestroy: w.lifecycle.preventDestroy,
            onDemandRun: w.onDemandRun,
            observedFingerprint: fingerprint(old),
            source: w.source,
          }),
        );
      } else {
        changes.push(createOrAdopt(w, observed.jobByServer.get(w.serverId), `${reason} (the old job is gone)`, warnings, options.now));
      }
    } else {
      const orphan = orphanByServer.get(w.serverId);
      if (orphan !== undefined && live !== undefined && orphan.replicationJobId === live.replicationJobId && !isTerminated(live)) {
        moved.add(orphan.address);
        const fields = fieldChanges(w.spec, live, options.now, warnings, w.address, false);
        changes.push(
          base(w.address, w.kind, 'move', `renamed from ${orphan.address}; the job keeps its replication history`, {
            serverId: w.serverId,
            serverName: w.server?.vmServer.vmName,
            replicationJobId: live.replicationJobId,
            previousAddress: orphan.address,
            before: liveSpec(live),
            after: w.spec,
            fields,
            preventDestroy: w.lifecycle.preventDestroy,
            onDemandRun: onDemandWanted(w, orphan) ? w.onDemandRun : undefined,
            observedFingerprint: fingerprint(live),
            source: w.source,
          }),
        );
        startRunIfWanted(changes, w, orphan, live, warnings);
        continue;
      }
      changes.push(createOrAdopt(w, live, undefined, warnings, options.now));
    }
  }

  // 4. Managed addresses no manifest declares: delete.
  for (const rec of Object.values(resources)) {
    if (!isJobKind(rec.kind) || wantedAddresses.has(rec.address) || moved.has(rec.address)) continue;
    if (deferAll && isDeferredSetMember(rec.address, desired)) continue;
    const live = rec.replicationJobId ? observed.jobs.get(rec.replicationJobId) : undefined;
    const gone = live === undefined || live.state === 'DELETING';
    changes.push(
      base(rec.address, rec.kind, 'delete', gone ? 'removed from the manifests; the job is already gone' : 'removed from the manifests', {
        serverId: rec.serverId,
        serverName: live?.vmServer?.vmName,
        replicationJobId: rec.replicationJobId,
        before: live ? liveSpec(live) : rec.appliedSpec,
        preventDestroy: rec.preventDestroy,
        stateOnly: gone,
        observedFingerprint: live ? fingerprint(live) : 'absent',
      }),
    );
  }

  // 5. preventDestroy blocks deletes and replaces whatever the flags.
  for (const c of changes) {
    if ((c.action === 'delete' && !c.stateOnly) || c.action === 'replace') {
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

  preflight(changes, observed, options, warnings);

  let result = changes;
  if (options.targets.length > 0) {
    const hit = (a: Address) => options.targets.some((t) => a === t || (t.startsWith('ReplicationJobSet/') && !t.includes('[') && a.startsWith(`${t}[`)));
    // The renderers say the plan is targeted (from options.targets); no warning needed.
    const kept = changes.filter((c) => hit(c.address) || (c.action === 'import-catalog' && changes.some((d) => d.deferredUntilCatalog && hit(d.address))));
    result = kept;
  }
  if (options.refreshOnly) result = [];
  result.sort((a, b) => ACTION_ORDER[a.action] - ACTION_ORDER[b.action] || (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  drift.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : a.field < b.field ? -1 : 1));
  return { changes: result, drift, warnings, problems };
}

function base(address: Address, kind: ManifestKind, action: Action, reason: string, extra: Partial<Change> = {}): Change {
  return { address, kind, action, reason, fields: [], preventDestroy: false, ...withoutUndefined(extra) };
}

function isJobKind(kind: ManifestKind): boolean {
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
  const servers = observed.catalog.servers;
  const out: WantedJob[] = [];
  for (const job of desired.jobs.values()) {
    const common = { address: job.address, kind: 'ReplicationJob' as const, spec: { ...job.spec }, onDemandRun: job.onDemandRun, lifecycle: job.lifecycle, source: job.source };
    if (deferAll) {
      out.push({ ...common, server: undefined, serverId: job.selector.kind === 'serverId' ? job.selector.serverId : undefined, deferred: true });
      continue;
    }
    const r = resolveSelector(job.selector, servers);
    if (r.ok) {
      out.push({ ...common, server: r.server, serverId: r.server.serverId, deferred: false });
    } else if (!catalogAvailable && job.selector.kind === 'serverId') {
      out.push({ ...common, server: undefined, serverId: job.selector.serverId, deferred: false });
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
      const matched = matchServers(set.match, servers);
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

/** An address that state already tracks on the same server. */
function planTracked(
  w: WantedJob,
  rec: ResourceRecord,
  live: ReplicationJobInfo | undefined,
  forcedReplace: boolean,
  options: DiffOptions,
  warnings: PlanWarning[],
): Change[] {
  const common = { serverId: w.serverId, serverName: w.server?.vmServer.vmName, preventDestroy: w.lifecycle.preventDestroy, source: w.source };
  if (live === undefined || live.state === 'DELETING' || live.replicationJobId !== rec.replicationJobId) {
    if (live !== undefined && live.replicationJobId !== rec.replicationJobId && live.state !== 'DELETING' && !isTerminated(live)) {
      return [createOrAdopt(w, live, `the recorded job ${rec.replicationJobId ?? '?'} is gone; ${live.replicationJobId} now replicates this server`, warnings, options.now)];
    }
    return [createOrAdopt(w, live, `the recorded job ${rec.replicationJobId ?? '?'} no longer exists`, warnings, options.now)];
  }
  if (live.state === 'FAILED' && !forcedReplace) {
    warnings.push({ code: 'job-terminated', message: `${w.address}: job ${live.replicationJobId} is FAILED; plan with --replace ${w.address} to create a new one`, address: w.address });
  }
  const fields = fieldChanges(w.spec, live, options.now, warnings, w.address, forcedReplace);
  const forcing = fields.filter((f) => f.policy === 'forces-replace').map((f) => String(f.field));
  const out: Change[] = [];
  if (forcing.length > 0 || forcedReplace) {
    out.push(
      base(w.address, w.kind, 'replace', forcing.length > 0 ? `${forcing.join(', ')} cannot change on a live job` : `--replace ${w.address}`, {
        ...common,
        replicationJobId: live.replicationJobId,
        before: liveSpec(live),
        after: w.spec,
        fields,
        replaceBecause: forcing.length > 0 ? forcing : ['--replace'],
        onDemandRun: w.onDemandRun,
        observedFingerprint: fingerprint(live),
      }),
    );
    return out;
  }
  out.push(
    base(w.address, w.kind, fields.length > 0 ? 'update' : 'no-op', fields.length > 0 ? 'the live job differs from the manifest' : 'matches the manifest', {
      ...common,
      replicationJobId: live.replicationJobId,
      before: liveSpec(live),
      after: w.spec,
      fields,
      observedFingerprint: fingerprint(live),
    }),
  );
  startRunIfWanted(out, w, rec, live, warnings);
  return out;
}

function onDemandWanted(w: WantedJob, rec: ResourceRecord | undefined): boolean {
  return w.onDemandRun !== undefined && w.onDemandRun.token !== rec?.onDemandRunToken;
}

function startRunIfWanted(out: Change[], w: WantedJob, rec: ResourceRecord, live: ReplicationJobInfo, warnings: PlanWarning[]): void {
  if (!onDemandWanted(w, rec) || !w.onDemandRun) return;
  out.push(
    base(w.address, w.kind, 'start-run', `onDemandRun.token is ${w.onDemandRun.token} (state has ${rec.onDemandRunToken ?? 'none'})`, {
      serverId: w.serverId,
      serverName: w.server?.vmServer.vmName,
      replicationJobId: live.replicationJobId,
      onDemandRun: w.onDemandRun,
      preventDestroy: w.lifecycle.preventDestroy,
      observedFingerprint: fingerprint(live),
      source: w.source,
    }),
  );
  const current = live.replicationRunList[0];
  if (live.state !== 'ACTIVE' && live.state !== 'FAILING') {
    warnings.push({ code: 'on-demand-not-ready', message: `${w.address}: job ${live.replicationJobId} is ${live.state ?? '?'}; the service refuses on-demand runs until its seed run has completed`, address: w.address });
  } else if (current?.state === 'ACTIVE') {
    warnings.push({ code: 'on-demand-not-ready', message: `${w.address}: a run of ${live.replicationJobId} is in progress; the service refuses an on-demand run until it ends`, address: w.address });
  }
}

function createOrAdopt(w: WantedJob, live: ReplicationJobInfo | undefined, reason: string | undefined, warnings: PlanWarning[], now: number): Change {
  const common = {
    serverId: w.serverId,
    serverName: w.server?.vmServer.vmName,
    after: w.spec,
    preventDestroy: w.lifecycle.preventDestroy,
    source: w.source,
  };
  const adoptable = live !== undefined && live.state !== 'DELETING' && (!isTerminated(live) || (live.state === 'COMPLETED' && w.spec.runOnce === true));
  if (live !== undefined && adoptable) {
    warnings.push({ code: 'server-busy', message: `${w.address}: server ${w.serverId ?? ''} already has job ${live.replicationJobId}, which this state does not manage: it will be adopted`, address: w.address });
    // As for a managed job: a past next run is not sent (the service refuses it) and a create-only difference is a warning.
    const fields = fieldChanges(w.spec, live, now, warnings, w.address, false);
    return base(w.address, w.kind, 'adopt', reason ?? `job ${live.replicationJobId} already replicates this server`, {
      ...common,
      replicationJobId: live.replicationJobId,
      before: liveSpec(live),
      fields,
      // A job adopted with its history: the token counts as satisfied by the runs it already had.
      onDemandRun: w.onDemandRun,
      observedFingerprint: fingerprint(live),
    });
  }
  if (live?.state === 'DELETING') {
    warnings.push({ code: 'server-busy', message: `${w.address}: job ${live.replicationJobId} of server ${w.serverId ?? ''} is DELETING; apply waits for DELETED before creating`, address: w.address });
  } else if (live?.state === 'FAILED') {
    warnings.push({ code: 'job-terminated', message: `${w.address}: the server's previous job ${live.replicationJobId} FAILED; a new job will be created`, address: w.address });
  }
  return base(w.address, w.kind, 'create', reason ?? 'declared in the manifests; no job replicates this server', {
    ...common,
    // The seed run replicates at once: a token given at creation counts as satisfied by it.
    onDemandRun: w.onDemandRun,
    // No job that could block the create (a DELETING or terminated one does not).
    observedFingerprint: 'absent',
  });
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

/** The job fields of a live job, as the API reports them. */
export function liveSpec(j: ReplicationJobInfo): JobSpec {
  const out: JobSpec = {};
  const set = <F extends JobSpecField>(f: F, v: JobSpec[F] | undefined) => {
    if (v !== undefined) out[f] = v;
  };
  set('frequency', j.frequency);
  set('runOnce', j.runOnce);
  set('seedReplicationTime', j.seedReplicationTime === undefined ? undefined : Math.floor(j.seedReplicationTime));
  set('nextReplicationRunStartTime', j.nextReplicationRunStartTime === undefined ? undefined : Math.floor(j.nextReplicationRunStartTime));
  set('licenseType', j.licenseType);
  set('roleName', j.roleName);
  set('description', j.description);
  set('numberOfRecentAmisToKeep', j.numberOfRecentAmisToKeep);
  set('encrypted', j.encrypted);
  set('kmsKeyId', j.kmsKeyId);
  return out;
}

/**
 * A job's identity and configurable fields (not its state or schedule, which move by themselves):
 * a saved plan is stale when the fingerprint of a job it touches changed.
 */
export function fingerprint(j: ReplicationJobInfo): string {
  const s = liveSpec(j);
  const parts = [j.replicationJobId, j.serverId, ...JOB_SPEC_FIELDS.filter((f) => !NOT_DRIFT.has(f)).map((f) => `${f}=${JSON.stringify(comparable(f, s))}`)];
  return parts.join('|');
}

function driftOf(address: Address, rec: ResourceRecord, live: ReplicationJobInfo): Drift[] {
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
    if (c.action !== 'create' && c.action !== 'replace') continue;
    if (c.serverId === undefined) continue;
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

