import type { ServerInfo } from '../sms/api.ts';
import type { ServerMatch, ServerSelector } from '../model/server.ts';

/** Picking catalog servers for selectors and ReplicationJobSet matches. Pure. */

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
 * plan: resolving N selectors costs O(N), not O(N x catalog).
 */
export class CatalogIndex {
  readonly servers: readonly ServerInfo[];
  private readonly byKey = new Map<string, ServerInfo[]>();

  constructor(servers: readonly ServerInfo[]) {
    this.servers = servers;
    for (const s of servers) {
      const v = s.vmServer;
      this.add(`id\u0000${s.serverId}`, s);
      this.add(`vm\u0000${v.vmServerAddress?.vmId ?? ''}\u0000${v.vmServerAddress?.vmManagerId ?? ''}`, s);
      this.add(`name\u0000${v.vmName ?? ''}`, s);
    }
  }

  private add(key: string, s: ServerInfo): void {
    const list = this.byKey.get(key);
    if (list) list.push(s);
    else this.byKey.set(key, [s]);
  }

  /** The servers that could match the selector (all of them satisfy its key field). */
  candidates(sel: ServerSelector): readonly ServerInfo[] {
    switch (sel.kind) {
      case 'serverId':
        return this.byKey.get(`id\u0000${sel.serverId}`) ?? [];
      case 'vmAddress':
        return this.byKey.get(`vm\u0000${sel.vmId}\u0000${sel.vmManagerId}`) ?? [];
      case 'vmName':
        return this.byKey.get(`name\u0000${sel.vmName}`) ?? [];
    }
  }
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
