import type { Address } from '../model/address.ts';
import { effectiveSpec, entryCutover, jobSetAddress, type DesiredJob, type DesiredJobSet, type DesiredSet, type Lifecycle, type OnDemandRunRequest } from '../model/desired.ts';
import type { SourcePosition } from '../model/errors.ts';
import type { JobSpec } from '../model/job.ts';
import type { ServerInfo } from '../sms/api.ts';
import type { ServerMatch, ServerSelector } from '../model/server.ts';
import type { JobKind, PlanProblem, PlanWarning } from './change.ts';
import type { ObservedSet } from './observed.ts';

/**
 * Picking catalog servers for selectors and ReplicationJobSet matches, and resolving the jobs the
 * manifests want (jobs and the members of job sets) to their servers. Pure.
 */

export type Resolution =
  | { readonly ok: true; readonly server: ServerInfo }
  | { readonly ok: false; readonly reason: 'none' | 'ambiguous'; readonly message: string; readonly candidates: readonly ServerInfo[] };

export function describeServer(s: ServerInfo): string {
  const v = s.vmServer;
  return `${s.serverId} (${v.vmName ?? '?'} at ${v.vmPath ?? '?'} on ${v.vmManagerName ?? '?'})`;
}

export function describeSelector(sel: ServerSelector): string {
  switch (sel.kind) {
    case 'serverId':
      return `serverId ${sel.serverId}`;
    case 'vmAddress':
      return `vmId ${sel.vmId} on vmManagerId ${sel.vmManagerId}`;
    case 'vmName':
      return [`vmName ${sel.vmName}`, sel.vmManagerName && `vmManagerName ${sel.vmManagerName}`, sel.vmPath && `vmPath ${sel.vmPath}`]
        .filter(Boolean)
        .join(', ');
  }
}

/**
 * The catalog indexed by what selectors name (serverId, vmId + vmManagerId, vmName), built once per
 * plan: resolving N selectors costs O(N), not O(N x catalog). Each kind's index is built when a
 * selector of that kind first asks: manifests that name servers by vmName only never pay for the
 * other two (at 100,000 servers, each costs ~0.1 s of a plan).
 */
export class CatalogIndex {
  readonly servers: readonly ServerInfo[];
  private readonly byKind: { [K in ServerSelector['kind']]?: Map<string, ServerInfo[]> } = {};

  constructor(servers: readonly ServerInfo[]) {
    this.servers = servers;
  }

  private index(kind: ServerSelector['kind']): Map<string, ServerInfo[]> {
    let map = this.byKind[kind];
    if (map === undefined) {
      map = new Map();
      for (const s of this.servers) {
        const key = kind === 'serverId' ? s.serverId : kind === 'vmName' ? (s.vmServer.vmName ?? '') : vmAddressKey(s.vmServer.vmServerAddress?.vmId ?? '', s.vmServer.vmServerAddress?.vmManagerId ?? '');
        const list = map.get(key);
        if (list) list.push(s);
        else map.set(key, [s]);
      }
      this.byKind[kind] = map;
    }
    return map;
  }

  /** The servers that could match the selector (all of them satisfy its key field). */
  candidates(sel: ServerSelector): readonly ServerInfo[] {
    switch (sel.kind) {
      case 'serverId':
        return this.index('serverId').get(sel.serverId) ?? [];
      case 'vmAddress':
        return this.index('vmAddress').get(vmAddressKey(sel.vmId, sel.vmManagerId)) ?? [];
      case 'vmName':
        return this.index('vmName').get(sel.vmName) ?? [];
    }
  }
}

function vmAddressKey(vmId: string, vmManagerId: string): string {
  return `${vmId}\u0000${vmManagerId}`;
}

export function resolveSelector(sel: ServerSelector, catalog: readonly ServerInfo[] | CatalogIndex): Resolution {
  const index = catalog instanceof CatalogIndex ? catalog : new CatalogIndex(catalog);
  const servers = index.servers;
  const found = index.candidates(sel).filter(
    (s) =>
      sel.kind !== 'vmName' ||
      ((sel.vmManagerName === undefined || s.vmServer.vmManagerName === sel.vmManagerName) && (sel.vmPath === undefined || s.vmServer.vmPath === sel.vmPath)),
  );
  const [first] = found;
  if (found.length === 1 && first) return { ok: true, server: first };
  if (found.length > 1) {
    return {
      ok: false,
      reason: 'ambiguous',
      message: `${describeSelector(sel)} matches ${found.length} servers: ${found.map(describeServer).join('; ')}`,
      candidates: found,
    };
  }
  const near = nearCandidates(sel, servers);
  return {
    ok: false,
    reason: 'none',
    message: `${describeSelector(sel)} matches no server in the catalog${near.length > 0 ? `; close: ${near.map(describeServer).join('; ')}` : ''}`,
    candidates: near,
  };
}

/** Servers a user may have meant: same VM name elsewhere, or names a small edit away. */
function nearCandidates(sel: ServerSelector, servers: readonly ServerInfo[]): ServerInfo[] {
  const name = sel.kind === 'vmName' ? sel.vmName : sel.kind === 'serverId' ? sel.serverId : sel.vmId;
  const key = (s: ServerInfo): string =>
    sel.kind === 'vmName' ? (s.vmServer.vmName ?? '') : sel.kind === 'serverId' ? s.serverId : (s.vmServer.vmServerAddress?.vmId ?? '');
  return servers
    .map((s) => ({ s, d: editDistance(name, key(s)) }))
    .filter(({ d }) => d <= Math.max(1, Math.floor(name.length / 4)))
    .sort((a, b) => a.d - b.d || a.s.serverId.localeCompare(b.s.serverId))
    .slice(0, 5)
    .map(({ s }) => s);
}

export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] ?? 0;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] ?? 0;
      prev[j] = Math.min(up + 1, (prev[j - 1] ?? 0) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length] ?? 0;
}

/** `*` any run of characters, `?` one character; the rest literal. Anchored. */
export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/** Servers a set's `spec.match` selects, in catalog order. Every given criterion must hold. */
export function matchServers(match: ServerMatch, servers: readonly ServerInfo[]): ServerInfo[] {
  const glob = match.vmNameGlob === undefined ? undefined : globToRegExp(match.vmNameGlob);
  return servers.filter(
    (s) =>
      (match.vmManagerName === undefined || s.vmServer.vmManagerName === match.vmManagerName) &&
      (match.vmPathPrefix === undefined || (s.vmServer.vmPath ?? '').startsWith(match.vmPathPrefix)) &&
      (glob === undefined || glob.test(s.vmServer.vmName ?? '')),
  );
}

/** One job the manifests want, resolved to its server. */
export interface WantedJob {
  readonly address: Address;
  readonly kind: JobKind;
  readonly server: ServerInfo | undefined;
  readonly serverId: string | undefined;
  readonly spec: JobSpec;
  readonly onDemandRun: OnDemandRunRequest | undefined;
  readonly lifecycle: Lifecycle;
  /** The document's `spec.wave` (reconcile/waves.ts); undefined: in no wave. */
  readonly wave: number | undefined;
  /** The manifest says the server is migrated (`cutover: true`). */
  readonly cutover: boolean;
  readonly source: SourcePosition;
  readonly deferred: boolean;
}

export type ResolvedWanted = WantedJob & { readonly serverId: string };
export const hasServer = (w: WantedJob): w is ResolvedWanted => w.serverId !== undefined;

/**
 * The jobs the manifests want, resolved to servers: each ReplicationJob, then each set's members.
 * With `deferAll` (the catalog is being imported) nothing is resolved: each job and each set waits.
 */
export function resolveWanted(
  desired: DesiredSet,
  observed: ObservedSet,
  deferAll: boolean,
  catalogAvailable: boolean,
  problems: PlanProblem[],
  warnings: PlanWarning[],
): WantedJob[] {
  const servers = new CatalogIndex(observed.catalog.servers);
  const out: WantedJob[] = [];
  for (const job of desired.jobs.values()) {
    const w = resolveJob(job, servers, deferAll, catalogAvailable, problems);
    if (w !== undefined) out.push(w);
  }
  for (const set of desired.jobSets.values()) out.push(...resolveJobSet(set, servers, deferAll, problems, warnings));
  return out;
}

function wantedJob(job: DesiredJob, server: ServerInfo | undefined, serverId: string | undefined, deferred: boolean): WantedJob {
  return {
    address: job.address,
    kind: 'ReplicationJob',
    spec: { ...job.spec },
    onDemandRun: job.onDemandRun,
    lifecycle: job.lifecycle,
    wave: job.wave,
    cutover: job.cutover === true,
    source: job.source,
    server,
    serverId,
    deferred,
  };
}

function resolveJob(job: DesiredJob, servers: CatalogIndex, deferAll: boolean, catalogAvailable: boolean, problems: PlanProblem[]): WantedJob | undefined {
  if (deferAll) return wantedJob(job, undefined, job.selector.kind === 'serverId' ? job.selector.serverId : undefined, true);
  const r = resolveSelector(job.selector, servers);
  if (r.ok) return wantedJob(job, r.server, r.server.serverId, false);
  if (!catalogAvailable && job.selector.kind === 'serverId') return wantedJob(job, undefined, job.selector.serverId, false);
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
  return undefined;
}

/** A set's members: its listed servers, then the servers its match selects (a listed server wins), by serverId. */
function resolveJobSet(set: DesiredJobSet, servers: CatalogIndex, deferAll: boolean, problems: PlanProblem[], warnings: PlanWarning[]): WantedJob[] {
  if (deferAll) {
    return [
      {
        address: `ReplicationJobSet/${set.name}[*]`,
        kind: 'ReplicationJobSet',
        server: undefined,
        serverId: undefined,
        spec: { ...set.template },
        onDemandRun: set.onDemandRun,
        lifecycle: set.lifecycle,
        wave: set.wave,
        cutover: set.cutover === true,
        source: set.source,
        deferred: true,
      },
    ];
  }
  const picked = new Map<string, { server: ServerInfo; spec: JobSpec; cutover: boolean; source: SourcePosition }>();
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
    picked.set(r.server.serverId, { server: r.server, spec: effectiveSpec(set, entry), cutover: entryCutover(set, entry), source: entry.source });
  }
  if (set.match) {
    const matched = matchServers(set.match, servers.servers);
    if (matched.length === 0) {
      warnings.push({ code: 'match-empty', message: `ReplicationJobSet/${set.name}: spec.match selects no server in the catalog`, source: set.matchSource ?? set.source });
    }
    for (const s of matched) {
      if (!picked.has(s.serverId)) picked.set(s.serverId, { server: s, spec: { ...set.template }, cutover: entryCutover(set, undefined), source: set.matchSource ?? set.source });
    }
  }
  return [...picked.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([serverId, p]): WantedJob => ({
      address: jobSetAddress(set, serverId),
      kind: 'ReplicationJobSet',
      server: p.server,
      serverId,
      spec: p.spec,
      onDemandRun: set.onDemandRun,
      lifecycle: set.lifecycle,
      wave: set.wave,
      cutover: p.cutover,
      source: p.source,
      deferred: false,
    }));
}

/**
 * A server can have one job: a problem for each wanted job whose server an earlier one already
 * claimed. When the two put the server in different waves, the problem is reported at both
 * positions, each naming the other's file (either document may be the one to fix).
 */
export function serverClaimProblems(wanted: readonly WantedJob[]): PlanProblem[] {
  const problems: PlanProblem[] = [];
  const byServer = new Map<string, WantedJob>();
  const waveName = (w: WantedJob) => (w.wave === undefined ? 'no wave' : `wave ${w.wave}`);
  const at = (w: WantedJob) => `${w.source.file}:${w.source.line}:${w.source.column}`;
  for (const w of wanted) {
    if (w.serverId === undefined) continue;
    const other = byServer.get(w.serverId);
    if (other && other.wave !== w.wave) {
      const server = w.server ? describeServer(w.server) : w.serverId;
      const hint = 'a server is in one wave: give both documents the same spec.wave, or narrow one of the selectors';
      problems.push(
        { code: 'server-in-two-waves', message: `${w.address} puts server ${server} in ${waveName(w)}, but ${other.address} (${at(other)}) puts it in ${waveName(other)}`, hint, address: w.address, source: w.source },
        { code: 'server-in-two-waves', message: `${other.address} puts server ${server} in ${waveName(other)}, but ${w.address} (${at(w)}) puts it in ${waveName(w)}`, hint, address: other.address, source: other.source },
      );
      continue;
    }
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
  return problems;
}
