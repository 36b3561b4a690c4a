/**
 * Resource addresses: the stable names by which state records what this manifest set manages.
 *   ReplicationJob/<name>
 *   ReplicationJobSet/<name>[<serverId>]
 *   ServerCatalog/<name>
 *   Connector/<name>
 * Names are address-safe: lowercase alphanumerics and '-', starting and ending alphanumeric, <= 63 chars.
 */

export const MANIFEST_KINDS = ['ReplicationJob', 'ReplicationJobSet', 'ServerCatalog', 'Connector'] as const;
export type ManifestKind = (typeof MANIFEST_KINDS)[number];

export const NAME_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const NAME_MAX_LENGTH = 63;

export type Address = string;

export function isValidName(name: string): boolean {
  return name.length <= NAME_MAX_LENGTH && NAME_PATTERN.test(name);
}

export function resourceAddress(kind: ManifestKind, name: string, serverId?: string): Address {
  return serverId === undefined ? `${kind}/${name}` : `${kind}/${name}[${serverId}]`;
}

export interface ParsedAddress {
  readonly kind: ManifestKind;
  readonly name: string;
  readonly serverId: string | undefined;
}

const ADDRESS_RE = /^(ReplicationJob|ReplicationJobSet|ServerCatalog|Connector)\/([a-z0-9]([-a-z0-9]*[a-z0-9])?)(?:\[([^\]]+)\])?$/;

/** Parses an address, or returns undefined when it is not one. */
export function parseAddress(address: string): ParsedAddress | undefined {
  const m = ADDRESS_RE.exec(address);
  if (!m) return undefined;
  const kind = m[1] as ManifestKind;
  const serverId = m[4];
  if ((kind === 'ReplicationJobSet') !== (serverId !== undefined)) return undefined;
  return { kind, name: m[2] as string, serverId };
}
