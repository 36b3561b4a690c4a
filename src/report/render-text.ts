/**
 * Renders a plan as text for terminals and CI logs, Terraform-like. Pure: returns a string.
 *
 *   Target: embedded SMS server (us-east-1)
 *   State: lineage 1a2b3c4d… serial 7
 *   Read: GetServers ×1, GetReplicationJobs ×1, GetConnectors ×1
 *
 *   Destructive changes (1): apply performs them only with --allow-destroy
 *     - ReplicationJob/old  (sms-job-12345678, server s-1a2b3c4d web-09) will be deleted
 *         reason: removed from the manifests
 *
 *   Changes (1):
 *     ~ ReplicationJob/web  (sms-job-87654321, server s-0000abcd web-01) will be updated in place
 *         reason: the live job differs from the manifest
 *         ~ frequency: 24 -> 12
 *
 *   Plan: 1 to delete, 1 to update. Destructive: 1 delete.
 *
 * Invariants:
 * - The first line names the target; the last line is the summary (format.ts `summaryLine`).
 * - Deletes and replaces come first, under their own heading (format.ts `groupChanges`).
 * - With waves, the other changes are grouped by wave, each wave headed by its gate
 *   (`Wave 2 (3 creates): waiting for wave 1: 1 of 3 replicated (...)`), and each held change
 *   says what it waits for (waves-format.ts).
 * - A refresh-only rendering lists no changes, only warnings and drift.
 * - With `color: false` the output holds no escape code at all; with `color: true` the only
 *   escape codes are the renderer's own (data is sanitized in format.ts).
 * - The string ends with a newline.
 */
import type { Action } from '../reconcile/action.ts';
import type { Change } from '../reconcile/change.ts';
import type { Plan } from '../reconcile/plan.ts';
import { painter, type Paint, type Style } from './color.ts';
import {
  formatApiCalls, formatStateHead, groupChanges, groupDrift, headline, isRefreshOnly, planNotes, sanitize, summaryLine, viewChange,
  warningLocation, type FieldRow,
} from './format.ts';
import { byWave, waveHeading } from './waves-format.ts';

export interface PlanTextOptions {
  readonly color: boolean;
  /** Render as a refresh-only report; defaults to the plan's own `options.refreshOnly`. */
  readonly refreshOnly?: boolean;
}

/** Colour of each action's glyph: green adds, yellow changes, red removes, cyan state-only moves. */
const GLYPH_STYLE: Record<Action, Style> = {
  delete: 'red',
  replace: 'red',
  'import-catalog': 'green',
  'disassociate-connector': 'red',
  retire: 'cyan',
  create: 'green',
  update: 'yellow',
  adopt: 'cyan',
  move: 'cyan',
  'start-run': 'green',
  record: 'cyan',
  'no-op': 'dim',
};

const INDENT = '  ';
const DETAIL = '      ';

function fieldLine(row: FieldRow, paint: Paint): string {
  if (row.op === 'set') return `${paint('green', '+')} ${row.field}: ${row.value}`;
  const marker = row.forcesReplacement ? `  ${paint('red', '# forces replacement')}` : '';
  return `${paint('yellow', '~')} ${row.field}: ${row.before} -> ${row.after}${marker}`;
}

function changeBlock(change: Plan['changes'][number], paint: Paint): string[] {
  const view = viewChange(change);
  const lines = [`${INDENT}${paint(GLYPH_STYLE[view.action], view.glyph)} ${headline(view)}`];
  for (const note of view.notes) lines.push(`${DETAIL}${note}`);
  const rowIndent = view.fieldsIntro === undefined ? DETAIL : `${DETAIL}  `;
  if (view.fieldsIntro !== undefined && view.rows.length > 0) lines.push(`${DETAIL}${view.fieldsIntro}`);
  for (const row of view.rows) lines.push(`${rowIndent}${fieldLine(row, paint)}`);
  return lines;
}

/**
 * The non-destructive changes: one `Changes (N):` section, or, when the plan declares waves, the
 * changes of jobs in no wave under it and then one section per wave, headed by what its gate says.
 */
function otherSections(plan: Plan, other: readonly Change[], paint: Paint): string[][] {
  if (plan.waves === undefined || plan.waves.length === 0) return [[paint('bold', `Changes (${other.length}):`), ...other.flatMap((c) => changeBlock(c, paint))]];
  return byWave(other).map((g) => {
    const gate = plan.waves?.find((w) => w.wave === g.wave);
    const heading = g.wave === undefined ? `Changes (${g.changes.length}):` : `${waveHeading(g.wave, g.changes, gate, plan.options.maxWave, sanitize)}:`;
    return [paint('bold', heading), ...g.changes.flatMap((c) => changeBlock(c, paint))];
  });
}

export function renderPlanText(plan: Plan, opts: PlanTextOptions): string {
  const paint = painter(opts.color);
  const refreshOnly = isRefreshOnly(plan, opts.refreshOnly);
  const sections: string[][] = [];

  sections.push([
    `${paint('bold', 'Target:')} ${sanitize(plan.targetDescription)}`,
    `State: ${formatStateHead(plan.state)}`,
    `Read: ${formatApiCalls(plan.apiCalls)}`,
  ]);

  const notes = planNotes(plan);
  if (notes.length > 0) sections.push(notes.map((n) => `${paint(['bold', 'yellow'], 'Note:')} ${n}`));

  if (!refreshOnly) {
    const groups = groupChanges(plan.changes);
    if (groups.destructive.length > 0) {
      sections.push([
        paint(['bold', 'red'], `Destructive changes (${groups.destructive.length}): these delete live jobs; a non-interactive apply needs --allow-destroy`),
        ...groups.destructive.flatMap((c) => changeBlock(c, paint)),
      ]);
    }
    if (groups.stateOnly.length > 0) {
      sections.push([
        paint('bold', `Removed from state only (${groups.stateOnly.length}): the live job is already gone`),
        ...groups.stateOnly.flatMap((c) => changeBlock(c, paint)),
      ]);
    }
    if (groups.other.length > 0) sections.push(...otherSections(plan, groups.other, paint));
  }

  if (plan.warnings.length > 0) {
    const lines: string[] = [];
    for (const w of plan.warnings) {
      lines.push(`${paint(['bold', 'yellow'], 'Warning:')} ${sanitize(w.message)}`);
      const where = warningLocation(w);
      if (where !== undefined) lines.push(`${INDENT}at ${where}`);
    }
    sections.push(lines);
  }

  const drift = groupDrift(plan.drift);
  if (drift.length > 0) {
    sections.push([
      paint('bold', 'Changed outside sms-reconcile (applied -> live):'),
      ...drift.flatMap((g) => [
        `${INDENT}${paint('yellow', '~')} ${g.address}  (${g.replicationJobId})`,
        ...g.rows.map((row) => `${DETAIL}${fieldLine(row, paint)}`),
      ]),
    ]);
  }

  sections.push([paint('bold', summaryLine(plan, refreshOnly))]);
  return `${sections.map((s) => s.join('\n')).join('\n\n')}\n`;
}
