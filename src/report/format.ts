/**
 * Formatting shared by the three plan renderers (render-text, render-json, render-markdown): value
 * and timestamp formatting, the display order of changes, what each change shows, and the summary
 * line. Pure: strings in, strings out. A rule about how a plan is presented lives here once.
 *
 * Invariants:
 * - Display order: live-destructive changes (delete of a live job, replace) first, then deletes that
 *   only drop a state record (the job is already gone), then every other effective change; within
 *   each group the plan's own order is kept. no-op changes are never listed, only counted.
 * - "Destructive" means exactly what `hasDestructive` in reconcile/plan.ts means (so it agrees with
 *   exit code 3 and `--allow-destroy`): a delete or replace that is not `stateOnly`.
 * - Timestamp fields (FIELD_POLICY[field].timestamp) are whole epoch seconds in the model and are
 *   shown as RFC 3339 UTC with no fraction (`2026-11-26T20:00:00Z`). Strings are shown quoted (JSON
 *   escapes), other scalars bare, an absent value as `(not set)`.
 * - Every free text that reaches a renderer from outside the tool (VM names, reasons, messages,
 *   ids) passes through `sanitize`, so no control character (and so no terminal escape code) can
 *   reach the output except the renderer's own colours.
 */
import { ACTION_INFO, ACTIONS, type Action } from '../reconcile/action.ts';
import { isBlockedRetire, isStateOnlyDelete, membersOf, type Change, type Drift, type PlanWarning } from '../reconcile/change.ts';
import { summarize, type Plan, type PlanSummary } from '../reconcile/plan.ts';
import type { SourcePosition } from '../model/errors.ts';
import { FIELD_POLICY, POLICY_FIELDS, type PolicyField } from '../model/field-policy.ts';
import { JOB_SPEC_FIELDS, type JobSpec } from '../model/job.ts';
import { SMS_ACTIONS, type SmsAction } from '../sms/api.ts';
import { byWave, heldPhrase, holdPhrase } from './waves-format.ts';

// ---------------------------------------------------------------------------------------------
// Text and values

/**
 * Replaces every C0/C1 control character and DEL by a visible `\uXXXX`, so that data from the
 * live world (a VM named with an escape sequence, say) cannot drive the terminal.
 */
export function sanitize(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    out += code < 0x20 || (code >= 0x7f && code <= 0x9f) ? `\\u${code.toString(16).padStart(4, '0')}` : ch;
  }
  return out;
}

/** RFC 3339 UTC, whole seconds: `2026-11-26T20:00:00Z`. Values outside the Date range print as numbers. */
export function formatTimestamp(epochSeconds: number): string {
  const ms = Math.floor(epochSeconds) * 1000;
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return String(epochSeconds);
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Shown for a field that has no value on one side of a change. */
export const NOT_SET = '(not set)';

/** One field value for display (see the module invariants). */
export function formatValue(field: PolicyField, value: unknown): string {
  if (value === undefined || value === null) return NOT_SET;
  if (typeof value === 'number' && FIELD_POLICY[field].timestamp === true) return formatTimestamp(value);
  if (typeof value === 'string') return sanitize(JSON.stringify(value));
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return sanitize(JSON.stringify(value) ?? String(value));
}

/** `file:line:column`. */
export function formatSource(source: SourcePosition): string {
  return sanitize(`${source.file}:${source.line}:${source.column}`);
}

// ---------------------------------------------------------------------------------------------
// Header lines

/** The state line's text: `lineage 1a2b3c4d… serial 7`, or that there is no state yet. */
export function formatStateHead(state: Plan['state']): string {
  if (state === undefined) return 'none yet (first apply creates it)';
  const short = state.lineage.length > 8 ? `${state.lineage.slice(0, 8)}…` : state.lineage;
  return `lineage ${sanitize(short)} serial ${state.serial}`;
}

/** The list reads first, in the order a plan makes them; then any other action, in SMS_ACTIONS order. */
const READ_ORDER: readonly SmsAction[] = [
  'GetServers', 'GetReplicationJobs', 'GetConnectors',
  ...SMS_ACTIONS.filter((a) => a !== 'GetServers' && a !== 'GetReplicationJobs' && a !== 'GetConnectors'),
];

/** `GetServers ×1, GetReplicationJobs ×2, GetConnectors ×1`; zero counts are left out. */
export function formatApiCalls(apiCalls: Plan['apiCalls']): string {
  const parts = READ_ORDER.filter((a) => (apiCalls[a] ?? 0) > 0).map((a) => `${a} ×${apiCalls[a] ?? 0}`);
  return parts.length === 0 ? 'no API calls' : parts.join(', ');
}

/** The note every rendering shows for a targeted plan, or undefined when the plan is not targeted. */
export function targetedNote(plan: Plan): string | undefined {
  if (plan.options.targets.length === 0) return undefined;
  return `Targeted plan (--target ${plan.options.targets.map(sanitize).join(', ')}): other changes are not shown, and the live jobs may still differ from the manifests after apply.`;
}

/** The note for `--replace`, or undefined when none was given. */
export function replaceNote(plan: Plan): string | undefined {
  if (plan.options.replace.length === 0) return undefined;
  return `Replacement requested (--replace): ${plan.options.replace.map(sanitize).join(', ')}.`;
}

/** The note for the servers the state records as migrated, or undefined when there are none. */
export function migratedNote(plan: Plan): string | undefined {
  const n = plan.migrated?.length ?? 0;
  if (n === 0) return undefined;
  return `Migrated: ${n} server${n === 1 ? '' : 's'} cut over (${n === 1 ? 'its job' : 'their jobs'} retired, AMIs kept; \`sms-reconcile status\` lists the final AMIs).`;
}

/** The notes every rendering shows under its header: targeted plan, requested replacements, migrated servers. */
export function planNotes(plan: Plan): string[] {
  return [targetedNote(plan), replaceNote(plan), migratedNote(plan)].filter((n): n is string => n !== undefined);
}

/** Where a warning points: `ReplicationJob/web (manifests/web.yaml:7:3)`, or undefined when nowhere. */
export function warningLocation(warning: PlanWarning): string | undefined {
  const parts = [warning.address === undefined ? '' : sanitize(warning.address), warning.source === undefined ? '' : `(${formatSource(warning.source)})`];
  const where = parts.filter((s) => s !== '').join(' ');
  return where === '' ? undefined : where;
}

/** Whether to render the plan as a refresh-only report (the option wins over the plan's own flag when given). */
export function isRefreshOnly(plan: Plan, refreshOnly: boolean | undefined): boolean {
  return refreshOnly ?? plan.options.refreshOnly;
}

// ---------------------------------------------------------------------------------------------
// Order and counts

/** A delete or replace of a live job: listed first, counted apart, needs --allow-destroy. */
export function isDestructiveChange(change: Change): boolean {
  return ACTION_INFO[change.action].destructive && !isStateOnlyDelete(change);
}

/** A delete whose job is already gone: only the state record goes. */
export { isStateOnlyDelete };

export interface DisplayGroups {
  /** Deletes of live jobs and replaces. */
  readonly destructive: readonly Change[];
  /** Deletes that only remove a state record. */
  readonly stateOnly: readonly Change[];
  /** Every other change but no-op, grouped by wave (jobs in no wave first). */
  readonly other: readonly Change[];
  /** How many no-op changes the plan holds. */
  readonly unchanged: number;
}

/** Splits a plan's changes into the display groups (see the module invariants for the order). */
export function groupChanges(changes: readonly Change[]): DisplayGroups {
  const destructive: Change[] = [];
  const stateOnly: Change[] = [];
  const other: Change[] = [];
  let unchanged = 0;
  for (const c of changes) {
    if (c.action === 'no-op') unchanged += 1;
    else if (isDestructiveChange(c)) destructive.push(c);
    else if (isStateOnlyDelete(c)) stateOnly.push(c);
    else other.push(c);
  }
  // Grouped by wave (jobs in no wave first), the plan's order kept within each wave.
  const byWaves = other.some((c) => c.wave !== undefined) ? byWave(other).flatMap((g) => g.changes) : other;
  return { destructive, stateOnly, other: byWaves, unchanged };
}

/** Every change (no-op included) in display order: what JSON lists, and the other renderers show. */
export function displayOrder(changes: readonly Change[]): Change[] {
  const g = groupChanges(changes);
  return [...g.destructive, ...g.stateOnly, ...g.other, ...changes.filter((c) => c.action === 'no-op')];
}

export interface PlanCounts {
  /** Changes per action, no-op included (reconcile/plan.ts `summarize`). */
  readonly byAction: PlanSummary;
  /** Live-destructive changes only: state-only deletes are not counted here. */
  readonly destructive: { readonly delete: number; readonly replace: number };
  /** Deletes that only remove a state record (counted in byAction.delete too). */
  readonly stateOnlyDeletes: number;
  /** Retires apply refuses (counted in byAction.retire too). */
  readonly blockedRetires: number;
}

export function countChanges(changes: readonly Change[]): PlanCounts {
  const byAction = summarize(changes);
  let del = 0;
  let replace = 0;
  let stateOnlyDeletes = 0;
  let blockedRetires = 0;
  for (const c of changes) {
    if (isBlockedRetire(c)) blockedRetires += 1;
    if (isStateOnlyDelete(c)) stateOnlyDeletes += 1;
    else if (c.action === 'delete') del += 1;
    else if (c.action === 'replace') replace += 1;
  }
  return { byAction, destructive: { delete: del, replace }, stateOnlyDeletes, blockedRetires };
}

/** `2 to create`; a leading plural noun agrees with a count of one (`1 run to start`). */
function actionCount(action: Action, n: number): string {
  const phrase = ACTION_INFO[action].summary;
  return `${n} ${n === 1 ? phrase.replace(/^(\w+)s /, '$1 ') : phrase}`;
}

/**
 * The counts of a plan with changes, e.g.
 * `1 to delete, 1 to replace, 2 to create (3 unchanged). Destructive: 1 delete, 1 replace.`
 * Actions in ACTIONS order (destructive first), zero counts left out; the destructive counts are
 * always stated, `Destructive: none.` when there are none.
 */
export function countsPhrase(counts: PlanCounts): string {
  const parts: string[] = [];
  for (const action of ACTIONS) {
    const n = counts.byAction[action];
    if (action === 'no-op' || n === 0) continue;
    let part = actionCount(action, n);
    if (action === 'delete' && counts.stateOnlyDeletes > 0) {
      part += counts.stateOnlyDeletes === n ? ' (state only)' : ` (${counts.stateOnlyDeletes} state only)`;
    }
    if (action === 'retire' && counts.blockedRetires > 0) part += ` (${counts.blockedRetires} blocked)`;
    parts.push(part);
  }
  const unchanged = counts.byAction['no-op'] > 0 ? ` (${actionCount('no-op', counts.byAction['no-op'])})` : '';
  const d = counts.destructive;
  const destructive = [d.delete > 0 ? `${d.delete} delete` : '', d.replace > 0 ? `${d.replace} replace` : ''].filter((s) => s !== '');
  return `${parts.join(', ')}${unchanged}. Destructive: ${destructive.length === 0 ? 'none' : destructive.join(', ')}.`;
}

export const NO_CHANGES = 'No changes. The live jobs match the manifests.';

/** `2 drifted fields`. */
export function driftPhrase(n: number): string {
  return `${n} drifted field${n === 1 ? '' : 's'}`;
}

/**
 * The closing line of a text plan, and the gist of every other rendering:
 * `Plan: <countsPhrase>` (then the held changes by what they wait for: `6 waiting for wave 1.`), or NO_CHANGES, or for a refresh-only report `Refresh only: N drifted fields.`
 */
export function summaryLine(plan: Plan, refreshOnly: boolean): string {
  if (refreshOnly) {
    const n = plan.drift.length;
    return n === 0 ? `Refresh only: ${driftPhrase(0)}. The live jobs match what was last applied.` : `Refresh only: ${driftPhrase(n)}.`;
  }
  const counts = countChanges(plan.changes);
  if (counts.byAction['no-op'] === plan.changes.length) return NO_CHANGES;
  const held = heldPhrase(plan.changes);
  return `Plan: ${countsPhrase(counts)}${held === '' ? '' : ` ${held}.`}`;
}

// ---------------------------------------------------------------------------------------------
// What one change shows

/** One field line of a change or a drift: a value that is set, or one that changes. */
export type FieldRow =
  | { readonly op: 'set'; readonly field: PolicyField; readonly value: string }
  | ChangedFieldRow;

export interface ChangedFieldRow {
  readonly op: 'change';
  readonly field: PolicyField;
  readonly before: string;
  readonly after: string;
  readonly forcesReplacement: boolean;
}

const FIELD_RANK = new Map<PolicyField, number>(POLICY_FIELDS.map((f, i) => [f, i]));

function byFieldOrder(a: { field: PolicyField }, b: { field: PolicyField }): number {
  return (FIELD_RANK.get(a.field) ?? 0) - (FIELD_RANK.get(b.field) ?? 0);
}

/** Every field `spec` sets, in JOB_SPEC_FIELDS order. */
export function specRows(spec: JobSpec | undefined): FieldRow[] {
  if (spec === undefined) return [];
  return JOB_SPEC_FIELDS.filter((f) => spec[f] !== undefined).map((f) => ({ op: 'set', field: f, value: formatValue(f, spec[f]) }));
}

/** The field changes of `change`, in POLICY_FIELDS order, marking the fields that force replacement. */
export function fieldChangeRows(change: Change): FieldRow[] {
  const forcing = new Set<string>(change.action === 'replace' ? change.replaceBecause : []);
  return [...change.fields].sort(byFieldOrder).map((fc) => ({
    op: 'change',
    field: fc.field,
    before: formatValue(fc.field, fc.before),
    after: formatValue(fc.field, fc.after),
    forcesReplacement: forcing.has(fc.field),
  }));
}

/** What a renderer shows for one change; each renderer only decides how it looks. */
export interface ChangeView {
  readonly action: Action;
  readonly glyph: string;
  /** `ReplicationJob/web` (for a move: `ReplicationJob/old -> ReplicationJob/new`). */
  readonly subject: string;
  /** `sms-job-12345678, server s-1a2b3c4d web-09`, or undefined when there is nothing to say. */
  readonly identity: string | undefined;
  /** `will be created`, ... (for a state-only delete: that only the state record goes). */
  readonly verb: string;
  /** Lines shown under the headline before the fields: `reason: ...`, `token: ...`. */
  readonly notes: readonly string[];
  /** Shown before the field rows when they follow a state change (adopt, move): `then update:`. */
  readonly fieldsIntro: string | undefined;
  readonly rows: readonly FieldRow[];
}

/** `address  (identity) verb` */
export function headline(view: ChangeView): string {
  return view.identity === undefined ? `${view.subject}  ${view.verb}` : `${view.subject}  (${view.identity}) ${view.verb}`;
}

function identityOf(change: Change): string | undefined {
  const c = membersOf(change);
  const parts: string[] = [];
  if (c.replicationJobId !== undefined) parts.push(c.replicationJobId);
  if (c.connectorId !== undefined) parts.push(`connector ${c.connectorId}`);
  if (c.deferredUntilCatalog === true && c.serverId === undefined) parts.push('server resolved after catalog import');
  else if (c.serverId !== undefined) parts.push(c.serverName === undefined ? `server ${c.serverId}` : `server ${c.serverId} ${c.serverName}`);
  return parts.length === 0 ? undefined : sanitize(parts.join(', '));
}

/** Builds the view of one change (see ChangeView). */
export function viewChange(c: Change): ChangeView {
  const info = ACTION_INFO[c.action];
  const notes: string[] = [`reason: ${c.reason}`];
  let rows: FieldRow[] = [];
  let fieldsIntro: string | undefined;
  let verb = info.verb;
  switch (c.action) {
    case 'create':
      rows = specRows(c.after);
      break;
    case 'update':
      rows = fieldChangeRows(c);
      break;
    case 'replace': {
      rows = fieldChangeRows(c);
      const shown = new Set<string>(c.fields.map((f) => f.field));
      const other = c.replaceBecause.filter((r) => !shown.has(r));
      if (other.length > 0) notes.push(`replaced because: ${other.join(', ')}`);
      break;
    }
    case 'adopt':
    case 'move':
      rows = fieldChangeRows(c);
      if (rows.length > 0) fieldsIntro = 'then update:';
      break;
    case 'delete':
      if (isStateOnlyDelete(c)) verb = 'will be removed from state only';
      break;
    case 'retire':
      if (c.blocked !== undefined) {
        verb = 'is blocked: apply refuses to retire it, and deletes nothing';
        notes[0] = `blocked: ${c.blocked}`;
      } else if (c.amiId !== undefined) {
        notes.push(`final AMI: ${c.amiId}`);
      }
      break;
    case 'start-run':
      notes.push(`token: ${JSON.stringify(c.onDemandRun.token)}`);
      if (c.onDemandRun.description !== undefined) notes.push(`description: ${JSON.stringify(c.onDemandRun.description)}`);
      break;
    case 'record':
      rows = fieldChangeRows(c);
      if (rows.length > 0) fieldsIntro = 'applied spec (the live job already has these values):';
      if (c.recordedPreventDestroy !== c.preventDestroy) {
        notes.push(`lifecycle.preventDestroy: ${String(c.recordedPreventDestroy)} -> ${String(c.preventDestroy)}`);
      }
      break;
    case 'import-catalog':
    case 'disassociate-connector':
    case 'no-op':
      break;
  }
  const waitForDeletion = c.action === 'create' || c.action === 'replace' ? c.waitForDeletion : undefined;
  if (waitForDeletion !== undefined) notes.push(`apply first waits for ${waitForDeletion} to be DELETED`);
  if (c.action === 'create' && c.slotFromRetire === true) notes.push("takes a slot this apply's retires free: runs once their jobs are DELETED");
  if (c.preventDestroy && isDestructiveChange(c)) notes.push('lifecycle.preventDestroy is set: apply will refuse this change');
  if (c.gatedBy !== undefined) notes.push(`held: ${holdPhrase(c.gatedBy)}; apply does not carry it out yet`);
  const subject = c.action === 'move' ? `${c.previousAddress} -> ${c.address}` : c.address;
  return {
    action: c.action,
    glyph: info.glyph,
    subject: sanitize(subject),
    identity: identityOf(c),
    verb,
    notes: notes.map(sanitize),
    fieldsIntro,
    rows,
  };
}

// ---------------------------------------------------------------------------------------------
// Drift

export interface DriftGroup {
  readonly address: string;
  readonly replicationJobId: string;
  /** applied -> live. */
  readonly rows: readonly ChangedFieldRow[];
}

/** Drift grouped by address (first-appearance order), fields in POLICY_FIELDS order. */
export function groupDrift(drift: readonly Drift[]): DriftGroup[] {
  const groups = new Map<string, { address: string; replicationJobId: string; items: Drift[] }>();
  for (const d of drift) {
    const key = `${d.address}\u0000${d.replicationJobId}`;
    const g = groups.get(key) ?? { address: d.address, replicationJobId: d.replicationJobId, items: [] };
    g.items.push(d);
    groups.set(key, g);
  }
  return [...groups.values()].map((g) => ({
    address: sanitize(g.address),
    replicationJobId: sanitize(g.replicationJobId),
    rows: [...g.items].sort(byFieldOrder).map((d): ChangedFieldRow => ({
      op: 'change',
      field: d.field,
      before: formatValue(d.field, d.applied),
      after: formatValue(d.field, d.live),
      forcesReplacement: false,
    })),
  }));
}
