import type { DiagnosticCode } from '../manifest/diagnostics.ts';
import type { Address, ManifestKind } from '../model/address.ts';
import { PLAN_WARNING_CODES, type PlanProblemCode, type PlanWarningCode } from '../model/codes.ts';
import type { SourcePosition } from '../model/errors.ts';
import type { FieldPolicy, PolicyField } from '../model/field-policy.ts';
import type { JobSpec, JobSpecField } from '../model/job.ts';
import type { Action } from './action.ts';
import type { Hold } from './waves.ts';

/** One field of a change: what it is now, what it will be, and how the change is carried out. */
export interface FieldChange {
  readonly field: PolicyField;
  readonly before: unknown;
  readonly after: unknown;
  readonly policy: FieldPolicy;
}

/** A list with at least one member. */
export type NonEmpty<T> = readonly [T, ...T[]];

/** The kinds of manifest document a job change comes from. */
export type JobKind = Extract<ManifestKind, 'ReplicationJob' | 'ReplicationJobSet'>;

export interface OnDemandRun {
  readonly token: string;
  readonly description?: string;
}

/**
 * What every change has. A change says what and why: the executor acts on `action`, the ids and
 * the specs; it never branches on `reason`, which is for people.
 */
interface ChangeBase<K extends ManifestKind = ManifestKind, F extends readonly FieldChange[] = readonly FieldChange[]> {
  readonly address: Address;
  readonly kind: K;
  readonly reason: string;
  /**
   * The managed fields that differ (only the actions that change a job's fields have any); for
   * adopt and move, a non-empty list means an UpdateReplicationJob follows the state change.
   */
  readonly fields: F;
  readonly preventDestroy: boolean;
  readonly source?: SourcePosition;
  /** The -f root of the document (model/manifest-roots.ts); the executor records it in state. */
  readonly manifestRoot?: string;
  /** The migration wave of the job (`spec.wave`; reconcile/waves.ts), for grouping; absent: in no wave. */
  readonly wave?: number;
  /**
   * Why the change is held (reconcile/waves.ts): it is pending, but no apply carries it out until
   * the reason is gone. Absent: it may run now. Apply and the controller read it only through `isHeld`.
   */
  readonly gatedBy?: Hold;
}

/** A change with no field-level differences. */
type NoFields = readonly [];

/** A change of one live job of a known server. */
interface OfLiveJob {
  /** The live job the change acts on. */
  readonly replicationJobId: string;
  readonly serverId: string;
  /** Name of the VM behind serverId, for display. */
  readonly serverName?: string;
  /** The live job's spec as observed. */
  readonly before?: JobSpec;
  /** Fingerprint of the live job this change was planned against (stale-plan check). */
  readonly observedFingerprint?: string;
}

/** The whole desired job spec: sent as is by a create; its `fields` by an update. */
interface WithDesiredSpec {
  readonly after: JobSpec;
}

/** Creates a new job: no live job yet, so no `replicationJobId`. */
interface CreateBase extends ChangeBase<JobKind, NoFields>, WithDesiredSpec {
  readonly action: 'create';
  readonly serverName?: string;
  /** A token given at creation counts as satisfied by the seed run. */
  readonly onDemandRun?: OnDemandRun;
  /** A job of this server is being deleted; apply waits for DELETED first. */
  readonly waitForDeletion?: string;
  /**
   * The create takes a slot that this apply's retires free (reconcile/quota.ts): it runs in the
   * create phase, once those jobs are DELETED (the executor counts the slots as they free up).
   */
  readonly slotFromRetire?: true;
  /** 'absent': the server had no job that would block the create (stale-plan check). */
  readonly observedFingerprint?: string;
}

/** A create for a server of the catalog. */
export interface ResolvedCreateChange extends CreateBase {
  readonly serverId: string;
  readonly deferredUntilCatalog?: false;
}

/** A create whose server is resolved only after the planned catalog import (apply plans it again then). */
export interface DeferredCreateChange extends CreateBase {
  readonly deferredUntilCatalog: true;
}

export type CreateChange = ResolvedCreateChange | DeferredCreateChange;

/** Deletes the live job and creates a new one (in the create phase, once the old one is DELETED). */
export interface ReplaceChange extends ChangeBase<JobKind>, OfLiveJob, WithDesiredSpec {
  readonly action: 'replace';
  /** The forces-replace fields (or `--replace`, or `serverId`) that make this a replace. */
  readonly replaceBecause: NonEmpty<string>;
  /** A replace of a renamed job: the address the state record had (retired by the create). */
  readonly previousAddress?: Address;
  readonly onDemandRun?: OnDemandRun;
  readonly waitForDeletion?: string;
}

/** A delete of a live job. */
export interface LiveDeleteChange extends ChangeBase<JobKind, NoFields> {
  readonly action: 'delete';
  readonly replicationJobId: string;
  readonly serverId?: string;
  readonly serverName?: string;
  readonly before?: JobSpec;
  readonly observedFingerprint?: string;
  readonly stateOnly?: false;
}

/** A delete of a job that is already gone (or never had an id): only the state record is removed. */
export interface StateOnlyDeleteChange extends ChangeBase<JobKind, NoFields> {
  readonly action: 'delete';
  readonly replicationJobId?: string;
  readonly serverId?: string;
  readonly serverName?: string;
  readonly before?: JobSpec;
  readonly observedFingerprint?: string;
  readonly stateOnly: true;
}

export type DeleteChange = LiveDeleteChange | StateOnlyDeleteChange;

/** Changes the job's `fields` in place (UpdateReplicationJob). */
export interface UpdateChange extends ChangeBase<JobKind>, OfLiveJob, WithDesiredSpec {
  readonly action: 'update';
}

/** Records a live job the state does not manage (then updates it when `fields` is not empty). */
export interface AdoptChange extends ChangeBase<JobKind>, OfLiveJob, WithDesiredSpec {
  readonly action: 'adopt';
  /** Adopted with its history: the token counts as satisfied by the runs the job already had. */
  readonly onDemandRun?: OnDemandRun;
}

/** Moves a state record to a new address (a rename), then updates the job when `fields` is not empty. */
export interface MoveChange extends ChangeBase<JobKind>, OfLiveJob, WithDesiredSpec {
  readonly action: 'move';
  /** The address the state record had. */
  readonly previousAddress: Address;
  /** A token the old record already satisfied moves with the job. */
  readonly onDemandRun?: OnDemandRun;
}

/** Starts an on-demand run of the job (StartOnDemandReplicationRun). */
export interface StartRunChange extends ChangeBase<JobKind, NoFields>, OfLiveJob {
  readonly action: 'start-run';
  readonly onDemandRun: OnDemandRun;
}

/**
 * Writes the state record only (no API call): `preventDestroy`, and `after` as the applied spec;
 * `fields` are the recorded values that differ from the manifest.
 */
export interface RecordChange extends ChangeBase<JobKind>, OfLiveJob, WithDesiredSpec {
  readonly action: 'record';
  /** The preventDestroy the state has now (the change writes `preventDestroy`). */
  readonly recordedPreventDestroy: boolean;
}

/**
 * Retires the job of a migrated server (`cutover: true`): deletes it (its AMIs stay), waits for
 * DELETED so its slot frees, and records the server as migrated with its final AMI. A retire the
 * plan cannot carry out (no job, a run in progress, no completed run) holds `blocked`, the reason:
 * apply refuses it and nothing is deleted.
 */
export interface RetireChange extends ChangeBase<JobKind, NoFields> {
  readonly action: 'retire';
  readonly serverId: string;
  readonly serverName?: string;
  /** The job to delete; absent when the server has none. */
  readonly replicationJobId?: string;
  readonly before?: JobSpec;
  readonly observedFingerprint?: string;
  /** The AMI of the job's latest completed run, when the plan was made. */
  readonly amiId?: string;
  /** Why the retire cannot be carried out now. */
  readonly blocked?: string;
}

/** Imports the server catalog (ImportServerCatalog), then waits for AVAILABLE. */
export interface ImportCatalogChange extends ChangeBase<'ServerCatalog', NoFields> {
  readonly action: 'import-catalog';
}

/** Disassociates a connector (DisassociateConnector). */
export interface DisassociateConnectorChange extends ChangeBase<'Connector', NoFields> {
  readonly action: 'disassociate-connector';
  readonly connectorId: string;
}

/** A job that matches its manifest. (A saved plan keeps only its id and fingerprint: plan-file.ts.) */
export interface JobNoOpChange extends ChangeBase<JobKind, NoFields> {
  readonly action: 'no-op';
  readonly replicationJobId: string;
  readonly serverId?: string;
  readonly serverName?: string;
  readonly before?: JobSpec;
  readonly after?: JobSpec;
  readonly observedFingerprint?: string;
}

/** The catalog is AVAILABLE (and fresh enough). */
export interface CatalogNoOpChange extends ChangeBase<'ServerCatalog', NoFields> {
  readonly action: 'no-op';
}

/** The connector is not associated. */
export interface ConnectorNoOpChange extends ChangeBase<'Connector', NoFields> {
  readonly action: 'no-op';
  readonly connectorId: string;
}

export type NoOpChange = JobNoOpChange | CatalogNoOpChange | ConnectorNoOpChange;

/**
 * A change says what and why: one variant per action (a create and a delete have two, a no-op
 * three), each with exactly the members its action uses. Switch on `action` to reach them.
 */
export type Change =
  | DeleteChange
  | ReplaceChange
  | ImportCatalogChange
  | DisassociateConnectorChange
  | RetireChange
  | CreateChange
  | UpdateChange
  | AdoptChange
  | MoveChange
  | StartRunChange
  | RecordChange
  | NoOpChange;

/** The variant(s) of one action. */
export type ChangeOf<A extends Action> = Extract<Change, { readonly action: A }>;

type KeysOfUnion<T> = T extends unknown ? keyof T : never;
type ValueIn<T, K extends PropertyKey> = T extends unknown ? (K extends keyof T ? T[K] : never) : never;

/** Every member any variant has. */
export type ChangeMember = KeysOfUnion<Change>;

/**
 * A change seen as the members of every variant, each optional but the shared ones: for renderers
 * that show whatever a change holds. Code that acts on a change switches on its `action` instead.
 */
export type ChangeMembers = ChangeBase & { readonly action: Action } & { readonly [K in Exclude<ChangeMember, keyof ChangeBase | 'action'>]?: ValueIn<Change, K> };

/** The change as ChangeMembers (a widening: every variant is one). */
export function membersOf(c: Change): ChangeMembers {
  return c;
}

/** Whether the change is a create waiting for a catalog import. */
export function isDeferred(c: Change): c is DeferredCreateChange {
  return c.action === 'create' && c.deferredUntilCatalog === true;
}

/** Whether the change is a retire that apply refuses (see RetireChange). */
export function isBlockedRetire(c: Change): c is RetireChange & { readonly blocked: string } {
  return c.action === 'retire' && c.blocked !== undefined;
}

/** Whether the change is a delete of a job that is already gone. */
export function isStateOnlyDelete(c: Change): c is StateOnlyDeleteChange {
  return c.action === 'delete' && c.stateOnly === true;
}

/** A live value that differs from what state recorded as applied: a change made outside the tool. */
export interface Drift {
  readonly address: Address;
  readonly replicationJobId: string;
  readonly field: JobSpecField;
  readonly applied: unknown;
  readonly live: unknown;
}

/** The plan warnings' codes, from the registry (model/codes.ts), in the plan schema's order. */
export const WARNING_CODES = Object.keys(PLAN_WARNING_CODES) as readonly PlanWarningCode[];
export type WarningCode = PlanWarningCode;

export interface PlanWarning {
  readonly code: WarningCode;
  readonly message: string;
  readonly address?: Address;
  readonly source?: SourcePosition;
}

/** A reason the plan cannot be made (a selector matching nothing, a protected job to destroy). */
export interface PlanProblem {
  /** A plan problem code; `export`'s check also reports the exported manifests' diagnostics. */
  readonly code: PlanProblemCode | DiagnosticCode;
  readonly message: string;
  readonly hint?: string;
  readonly address?: Address;
  readonly source?: SourcePosition;
}

export function isNonEmpty<T>(list: readonly T[]): list is NonEmpty<T> {
  return list.length > 0;
}

/** The end of an exhaustive switch on `action`: a variant left unhandled does not compile. */
export function unhandledChange(change: never): never {
  throw new Error(`unhandled change ${JSON.stringify(change)}`);
}
