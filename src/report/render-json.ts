/**
 * Renders a plan as JSON for scripts (`plan --format json`). Pure. The shape is described exactly by
 * schemas/plan.v1.schema.json, and a test validates every fixture plan's rendering against it.
 *
 * Invariants:
 * - Every member is always present, so consumers need no existence checks: an absent optional value
 *   is `null`, an absent list `[]`, an absent flag `false`. Key order is stable.
 * - `changes` holds every change of the plan, no-op included unless `omitUnchanged` (then
 *   `summary['no-op']` alone says how many there are), in display order (destructive first,
 *   format.ts `displayOrder`), and each keeps every member of Change (the `satisfies` clauses below
 *   make a member added to any variant of Change, FieldChange, Drift, PlanWarning or Plan a compile error here
 *   until it is rendered), plus the derived `destructive` flag.
 * - Job-field timestamps stay whole epoch seconds (numbers), as on the SMS wire; `createdAt` is
 *   RFC 3339.
 * - `summary` counts every action; `destructive` counts only deletes of live jobs and replaces
 *   (format.ts `countChanges`), so it agrees with exit code 3.
 */
import type { ManifestKind } from '../model/address.ts';
import type { SourcePosition } from '../model/errors.ts';
import type { FieldPolicy, PolicyField } from '../model/field-policy.ts';
import { JOB_SPEC_FIELDS, type JobSpec, type JobSpecField } from '../model/job.ts';
import type { Action } from '../reconcile/action.ts';
import { membersOf, type Change, type ChangeMember, type Drift, type FieldChange, type PlanWarning, type WarningCode } from '../reconcile/change.ts';
import type { Plan, PlanSummary } from '../reconcile/plan.ts';
import type { Hold, WaveGate, WaveMember } from '../reconcile/waves.ts';
import type { MigratedEntry } from '../reconcile/cutover.ts';
import { freeSlots } from '../reconcile/quota.ts';
import type { SmsAction } from '../sms/api.ts';
import type { TargetIdentity } from '../state/codec.ts';
import { countChanges, displayOrder, isDestructiveChange } from './format.ts';

export type FieldValueJson = string | number | boolean | null;
export type JobSpecJson = { -readonly [F in JobSpecField]?: JobSpec[F] };

export interface SourceJson {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly pointer: string | null;
}

export interface FieldChangeJson {
  readonly field: PolicyField;
  readonly before: FieldValueJson;
  readonly after: FieldValueJson;
  readonly policy: FieldPolicy;
  /** The field is named in the change's `replaceBecause`. */
  readonly forcesReplacement: boolean;
}

export interface ChangeJson {
  readonly address: string;
  readonly action: Action;
  readonly kind: ManifestKind;
  /** A delete of a live job or a replace. */
  readonly destructive: boolean;
  readonly serverId: string | null;
  readonly serverName: string | null;
  readonly replicationJobId: string | null;
  readonly previousAddress: string | null;
  readonly connectorId: string | null;
  readonly before: JobSpecJson | null;
  readonly after: JobSpecJson | null;
  readonly fields: readonly FieldChangeJson[];
  readonly replaceBecause: readonly string[];
  readonly reason: string;
  readonly preventDestroy: boolean;
  readonly onDemandRun: { readonly token: string; readonly description: string | null } | null;
  readonly deferredUntilCatalog: boolean;
  readonly stateOnly: boolean;
  readonly recordedPreventDestroy: boolean | null;
  readonly waitForDeletion: string | null;
  /** create: it takes a slot this apply's retires free, so it runs once their jobs are DELETED. */
  readonly slotFromRetire: boolean;
  /** A retire: the AMI of the job's latest completed run. */
  readonly amiId: string | null;
  /** A retire apply refuses: why. */
  readonly blocked: string | null;
  readonly observedFingerprint: string | null;
  readonly source: SourceJson | null;
  /** The -f root of the change's document (recorded in state by apply), or null. */
  readonly manifestRoot: string | null;
  /** The job's wave (spec.wave), or null. */
  readonly wave: number | null;
  /** Why the change is held (reconcile/waves.ts), or null when it runs with this apply. */
  readonly gatedBy: HoldJson | null;
}

export interface WaveMemberJson {
  readonly address: string;
  readonly serverId: string | null;
  readonly serverName: string | null;
  readonly replicationJobId: string | null;
  readonly state: WaveMember['state'];
  readonly progress: string | null;
  readonly message: string | null;
}

export type HoldJson =
  | { readonly kind: 'wave'; readonly wave: number; readonly waitingFor: { readonly wave: number; readonly replicated: number; readonly total: number; readonly members: readonly WaveMemberJson[] } }
  | { readonly kind: 'max-wave'; readonly maxWave: number }
  | { readonly kind: 'quota'; readonly inUse: number; readonly limit: number };

export interface WaveGateJson {
  readonly wave: number;
  readonly declared: number;
  readonly created: number;
  readonly replicated: number;
  readonly failed: number;
  readonly open: boolean;
  readonly waitingFor: number | null;
  readonly heldByMaxWave: boolean;
}

export interface DriftJson {
  readonly address: string;
  readonly replicationJobId: string;
  readonly field: JobSpecField;
  readonly applied: FieldValueJson;
  readonly live: FieldValueJson;
}

export interface WarningJson {
  readonly code: WarningCode;
  readonly message: string;
  readonly address: string | null;
  readonly source: SourceJson | null;
}

export interface PlanJson {
  readonly formatVersion: 1;
  readonly createdAt: string;
  readonly target: { readonly endpoint: string; readonly region: string; readonly kind: TargetIdentity['kind']; readonly id: string | null };
  readonly targetDescription: string;
  readonly state: { readonly lineage: string; readonly serial: number } | null;
  readonly manifestDigest: string;
  readonly options: { readonly targets: readonly string[]; readonly replace: readonly string[]; readonly refreshOnly: boolean; readonly maxWave: number | null };
  readonly summary: PlanSummary;
  readonly destructive: { readonly delete: number; readonly replace: number };
  readonly changes: readonly ChangeJson[];
  readonly drift: readonly DriftJson[];
  readonly warnings: readonly WarningJson[];
  readonly apiCalls: Readonly<Partial<Record<SmsAction, number>>>;
  /** Where the plan was saved (`--out`), or null. */
  readonly planFile: string | null;
  /** The declared waves and their gates; [] when no manifest declares a wave. */
  readonly waves: readonly WaveGateJson[];
  /** Servers the state records as migrated (cut over), by address. */
  readonly migrated: readonly MigratedJson[];
  /** The account's concurrent-job slots as the plan saw them (--max-concurrent-jobs), or null in an older saved plan. */
  readonly quota: { readonly limit: number; readonly inUse: number; readonly free: number } | null;
}

export interface MigratedJson {
  readonly address: string;
  readonly serverId: string;
  readonly serverName: string | null;
  readonly amiId: string;
  readonly at: string;
  readonly replicationJobId: string;
}

function migratedJson(m: MigratedEntry): MigratedJson {
  return { address: m.address, serverId: m.serverId, serverName: m.serverName ?? null, amiId: m.amiId, at: m.at, replicationJobId: m.replicationJobId } satisfies Record<keyof MigratedEntry, unknown>;
}

/** What the caller knows beyond the plan itself. */
export interface PlanJsonExtras {
  /** The file the plan was saved to with `--out`. */
  readonly planFile?: string;
  /** `--omit-unchanged`: leave no-op entries out of `changes` (`summary` still counts them). */
  readonly omitUnchanged?: boolean;
}

/** A field value as JSON: scalars as they are, absent as null (non-finite numbers too, as JSON.stringify would). */
function valueJson(value: unknown): FieldValueJson {
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (value === undefined || value === null) return null;
  return typeof value === 'bigint' ? value.toString() : JSON.stringify(value) ?? null;
}

function specJson(spec: JobSpec | undefined): JobSpecJson | null {
  if (spec === undefined) return null;
  const out: Record<string, unknown> = {};
  for (const f of JOB_SPEC_FIELDS) {
    const v = spec[f];
    if (v !== undefined) out[f] = v;
  }
  return out as JobSpecJson;
}

function sourceJson(source: SourcePosition | undefined): SourceJson | null {
  if (source === undefined) return null;
  return { file: source.file, line: source.line, column: source.column, pointer: source.pointer ?? null } satisfies Record<
    keyof SourcePosition,
    unknown
  >;
}

function fieldChangeJson(fc: FieldChange, forcing: ReadonlySet<string>): FieldChangeJson {
  return {
    field: fc.field,
    before: valueJson(fc.before),
    after: valueJson(fc.after),
    policy: fc.policy,
    forcesReplacement: forcing.has(fc.field),
  } satisfies Record<keyof FieldChange | 'forcesReplacement', unknown>;
}

function changeJson(change: Change): ChangeJson {
  const c = membersOf(change);
  const forcing = new Set<string>(c.replaceBecause ?? []);
  return {
    address: c.address,
    action: c.action,
    kind: c.kind,
    destructive: isDestructiveChange(change),
    serverId: c.serverId ?? null,
    serverName: c.serverName ?? null,
    replicationJobId: c.replicationJobId ?? null,
    previousAddress: c.previousAddress ?? null,
    connectorId: c.connectorId ?? null,
    before: specJson(c.before),
    after: specJson(c.after),
    fields: c.fields.map((fc) => fieldChangeJson(fc, forcing)),
    replaceBecause: [...(c.replaceBecause ?? [])],
    reason: c.reason,
    preventDestroy: c.preventDestroy,
    onDemandRun: c.onDemandRun === undefined ? null : { token: c.onDemandRun.token, description: c.onDemandRun.description ?? null },
    deferredUntilCatalog: c.deferredUntilCatalog === true,
    stateOnly: c.stateOnly === true,
    recordedPreventDestroy: c.recordedPreventDestroy ?? null,
    waitForDeletion: c.waitForDeletion ?? null,
    slotFromRetire: c.slotFromRetire === true,
    amiId: c.amiId ?? null,
    blocked: c.blocked ?? null,
    observedFingerprint: c.observedFingerprint ?? null,
    source: sourceJson(c.source),
    manifestRoot: c.manifestRoot ?? null,
    wave: c.wave ?? null,
    gatedBy: c.gatedBy === undefined ? null : holdJson(c.gatedBy),
  } satisfies Record<ChangeMember | 'destructive', unknown>;
}

function memberJson(m: WaveMember): WaveMemberJson {
  return {
    address: m.address,
    serverId: m.serverId ?? null,
    serverName: m.serverName ?? null,
    replicationJobId: m.replicationJobId ?? null,
    state: m.state,
    progress: m.progress ?? null,
    message: m.message ?? null,
  } satisfies Record<keyof WaveMember, unknown>;
}

function holdJson(h: Hold): HoldJson {
  switch (h.kind) {
    case 'wave':
      return { kind: 'wave', wave: h.wave, waitingFor: { ...h.waitingFor, members: h.waitingFor.members.map(memberJson) } };
    case 'max-wave':
      return { kind: 'max-wave', maxWave: h.maxWave };
    case 'quota':
      return { kind: 'quota', inUse: h.inUse, limit: h.limit };
  }
}

function waveGateJson(g: WaveGate): WaveGateJson {
  return { ...g, waitingFor: g.waitingFor ?? null } satisfies Record<keyof WaveGate, unknown>;
}

function driftJson(d: Drift): DriftJson {
  return {
    address: d.address,
    replicationJobId: d.replicationJobId,
    field: d.field,
    applied: valueJson(d.applied),
    live: valueJson(d.live),
  } satisfies Record<keyof Drift, unknown>;
}

function warningJson(w: PlanWarning): WarningJson {
  return {
    code: w.code,
    message: w.message,
    address: w.address ?? null,
    source: sourceJson(w.source),
  } satisfies Record<keyof PlanWarning, unknown>;
}

/** The plan as a JSON-ready object (see the module invariants and schemas/plan.v1.schema.json). */
export function renderPlanJson(plan: Plan, extras: PlanJsonExtras = {}): PlanJson {
  return { ...planJsonWithout(plan, extras), changes: listedChanges(plan, extras).map(changeJson) };
}

/** The changes `changes` lists, in its order. */
function listedChanges(plan: Plan, extras: PlanJsonExtras): Change[] {
  return extras.omitUnchanged === true ? displayOrder(plan.changes).filter((c) => c.action !== 'no-op') : displayOrder(plan.changes);
}

/** renderPlanJson with `changes` empty (renderPlanJsonChunks renders them one by one). */
function planJsonWithout(plan: Plan, extras: PlanJsonExtras): PlanJson {
  const counts = countChanges(plan.changes);
  return {
    formatVersion: plan.formatVersion,
    createdAt: plan.createdAt,
    target: { endpoint: plan.target.endpoint, region: plan.target.region, kind: plan.target.kind, id: plan.target.id ?? null },
    targetDescription: plan.targetDescription,
    state: plan.state === undefined ? null : { lineage: plan.state.lineage, serial: plan.state.serial },
    manifestDigest: plan.manifestDigest,
    options: { targets: [...plan.options.targets], replace: [...plan.options.replace], refreshOnly: plan.options.refreshOnly, maxWave: plan.options.maxWave ?? null },
    summary: counts.byAction,
    destructive: { delete: counts.destructive.delete, replace: counts.destructive.replace },
    changes: [],
    drift: plan.drift.map(driftJson),
    warnings: plan.warnings.map(warningJson),
    apiCalls: { ...plan.apiCalls },
    planFile: extras.planFile ?? null,
    waves: (plan.waves ?? []).map(waveGateJson),
    migrated: (plan.migrated ?? []).map(migratedJson),
    quota: plan.quota === undefined ? null : { limit: plan.quota.limit, inUse: plan.quota.inUse, free: freeSlots(plan.quota) },
  } satisfies Record<keyof Plan | 'summary' | 'destructive' | 'planFile', unknown>;
}

/** The JSON rendering as text: two-space indented, ending with a newline. */
export function renderPlanJsonString(plan: Plan, extras: PlanJsonExtras = {}): string {
  return [...renderPlanJsonChunks(plan, extras)].join('');
}

/**
 * Characters of changes gathered into one piece by renderPlanJsonChunks: a pipe's capacity (64 KiB
 * on Linux), so that the reader takes one piece while the next is made (plan.ts).
 */
const CHUNK_CHARS = 1 << 16;

/** Where `changes` is in the two-space text of planJsonWithout (a top-level key: indented by two). */
const EMPTY_CHANGES = '\n  "changes": []';

/**
 * renderPlanJsonString's text in pieces of about CHUNK_CHARS, for writing as it is made: each
 * change is rendered and stringified on its own, at the indentation it has in the whole document,
 * so a 100,000-job plan (150 MB of JSON) never holds its whole object tree nor one giant string
 * (bench/RESULTS.md, "Session 7"). The pieces joined are byte for byte JSON.stringify(renderPlanJson(
 * plan, extras), null, 2) plus a newline (a test holds it to that).
 */
export function* renderPlanJsonChunks(plan: Plan, extras: PlanJsonExtras = {}): Generator<string, void> {
  const text = JSON.stringify(planJsonWithout(plan, extras), null, 2);
  const at = text.indexOf(EMPTY_CHANGES);
  const before = text.slice(0, at + EMPTY_CHANGES.length - 2);
  const after = `${text.slice(at + EMPTY_CHANGES.length)}\n`;
  const changes = listedChanges(plan, extras);
  if (changes.length === 0) {
    yield `${before}[]${after}`;
    return;
  }
  let piece = `${before}[`;
  for (let i = 0; i < changes.length; i++) {
    // An element of an array that is itself an element: indented as a member of `changes` is.
    const wrapped = JSON.stringify([[changeJson(changes[i] as Change)]], null, 2);
    piece += `${i === 0 ? '\n    ' : ',\n    '}${wrapped.slice(10, -6)}`;
    if (piece.length >= CHUNK_CHARS) {
      yield piece;
      piece = '';
    }
  }
  yield `${piece}\n  ]${after}`;
}
