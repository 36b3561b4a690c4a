/** How a manifest picks the one catalog server a job replicates. Exactly one form per selector. */
export type ServerSelector =
  | { readonly kind: 'serverId'; readonly serverId: string }
  | { readonly kind: 'vmAddress'; readonly vmId: string; readonly vmManagerId: string }
  | { readonly kind: 'vmName'; readonly vmName: string; readonly vmManagerName?: string; readonly vmPath?: string };

/** A ReplicationJobSet's `spec.match`: one job per matching catalog server. */
export interface ServerMatch {
  readonly vmManagerName?: string;
  readonly vmPathPrefix?: string;
  readonly vmNameGlob?: string;
}

export interface VmServerAddress {
  readonly vmManagerId: string;
  readonly vmId: string;
}
