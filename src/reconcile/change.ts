import type { Address, ManifestKind } from '../model/address.ts';
import type { SourcePosition } from '../model/errors.ts';
import type { FieldPolicy, PolicyField } from '../model/field-policy.ts';
import type { JobSpec, JobSpecField } from '../model/job.ts';
import type { Action } from './action.ts';

/** One field of a change: what it is now, what it will be, and how the change is carried out. */
export interface FieldChange {
  readonly field: PolicyField;
  readonly before: unknown;
  readonly after: unknown;
  readonly policy: FieldPolicy;
}

/**
 * A change says what and why. The executor acts on `action`, the ids and the specs; it never
 * branches on `reason`, which is for people.
 *
 * Invariants:
 * - `replicationJobId` is the live job the change acts on (update, replace, delete, adopt, move,
 *   start-run); absent for create and for jobs deferred until a catalog import.
 * - `after` is the whole desired job spec (create, replace: sent as is; update: the fields in
 *   `fields` are sent). `before` is the live job's spec as observed.
 * - `fields` lists only managed fields that differ; for adopt and move, a non-empty list means an
 *   UpdateReplicationJob follows the state change.
 * - `replaceBecause` is non-empty exactly when action is `replace`.
 */
export interface Change {
  readonly address: Address;
  readonly action: Action;
  readonly kind: ManifestKind;
  readonly serverId?: string;
  /** Name of the VM behind serverId, for display. */
  readonly serverName?: string;
  readonly replicationJobId?: string;
  /** move: the address the state record had. */
  readonly previousAddress?: Address;
  readonly before?: JobSpec;
  readonly after?: JobSpec;
  readonly fields: readonly FieldChange[];
  readonly replaceBecause?: readonly string[];
  readonly reason: string;
  readonly preventDestroy: boolean;
  readonly onDemandRun?: { readonly token: string; readonly description?: string };
  /** The job's server is resolved only after the planned catalog import. */
  readonly deferredUntilCatalog?: boolean;
  /** import-catalog / disassociate-connector. */
  readonly connectorId?: string;
  /** Fingerprint of the live job this change was planned against (stale-plan check). */
  readonly observedFingerprint?: string;
  /** delete of a job that is already gone: only the state record is removed. */
  readonly stateOnly?: boolean;
  /** record: the preventDestroy the state has now (the change writes `preventDestroy`). */
  readonly recordedPreventDestroy?: boolean;
  /** create/replace: a job of this server is being deleted; apply waits for DELETED first. */
  readonly waitForDeletion?: string;
  readonly source?: SourcePosition;
  /** The -f root of the document (model/manifest-roots.ts); the executor records it in state. */
  readonly manifestRoot?: string;
}

/** A live value that differs from what state recorded as applied: a change made outside the tool. */
export interface Drift {
  readonly address: Address;
  readonly replicationJobId: string;
  readonly field: JobSpecField;
  readonly applied: unknown;
  readonly live: unknown;
}

export const WARNING_CODES = [
  'no-healthy-connector', 'server-busy', 'catalog-not-imported', 'on-demand-limit', 'on-demand-not-ready', 'concurrent-job-limit',
  'create-only-change', 'match-empty', 'job-terminated', 'next-run-in-past', 'create-drops-next-run', 'foreign-root-delete',
] as const;
export type WarningCode = (typeof WARNING_CODES)[number];

export interface PlanWarning {
  readonly code: WarningCode;
  readonly message: string;
  readonly address?: Address;
  readonly source?: SourcePosition;
}
