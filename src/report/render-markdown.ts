/**
 * Renders a plan as GitHub-flavoured Markdown for pull-request comments. Pure: returns a string.
 *
 * Layout: a heading naming the target and the summary; the state and reads; notes for targeted
 * plans; destructive changes in a `> [!CAUTION]` alert; a table of the changes (action, address,
 * job, what changes, why); warnings; drift; the full per-field diff in a collapsed
 * `<details><summary>Full diff</summary>` block holding a ```diff fence.
 *
 * Invariants:
 * - The first line is the heading, and names the target (ARCHITECTURE.md section 4).
 * - No ANSI escape code, ever (the text is built from format.ts, whose data is sanitized, and
 *   never painted).
 * - Every value from the plan outside the code fence goes through `escapeMarkdown`: `|`, backticks
 *   and the other inline markup characters are backslash-escaped, `<`, `>` and `&` become entities,
 *   line breaks become spaces (a table row stays one row), and `@` cannot start a mention.
 * - Inside the diff fence text is verbatim; the fence is longer than any backtick run in it, so no
 *   value can close it.
 * - The string ends with a newline.
 */
import type { Change } from '../reconcile/change.ts';
import type { Plan } from '../reconcile/plan.ts';
import {
  countChanges, countsPhrase, driftPhrase, formatApiCalls, formatStateHead, groupChanges, groupDrift, headline, isRefreshOnly,
  NO_CHANGES, NOT_SET, planNotes, sanitize, viewChange, warningLocation, type ChangeView, type FieldRow,
} from './format.ts';

export interface PlanMarkdownOptions {
  /** Ignored: Markdown never carries colour. Accepted so the three renderers share one signature. */
  readonly color: boolean;
  /** Render as a refresh-only report; defaults to the plan's own `options.refreshOnly`. */
  readonly refreshOnly?: boolean;
}

/** Longest value shown in a table cell; the full value is in the diff. */
const CELL_VALUE_MAX = 40;

/** Escapes text for Markdown inline content and table cells (see the module invariants). */
export function escapeMarkdown(text: string): string {
  return sanitize(text.replace(/\r\n|\r|\n/g, ' '))
    .replace(/[\\`*_[\]|~#!]/g, (ch) => `\\${ch}`)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/@/g, '@&#8203;');
}

function clip(value: string): string {
  return value.length > CELL_VALUE_MAX ? `${value.slice(0, CELL_VALUE_MAX - 1)}…` : value;
}

/** `frequency: 24 → 12 (forces replacement)`, escaped, values clipped. */
function inlineRow(row: FieldRow): string {
  if (row.op === 'set') return escapeMarkdown(`${row.field}: ${clip(row.value)}`);
  const text = `${row.field}: ${clip(row.before)} → ${clip(row.after)}`;
  return escapeMarkdown(row.forcesReplacement ? `${text} (forces replacement)` : text);
}

/** The table's "what changes" cell. */
function whatChanges(change: Change, view: ChangeView): string {
  const fields = view.rows.map(inlineRow).join('; ');
  switch (change.action) {
    case 'create':
      return view.rows.length === 0 ? 'new job' : `new job: ${view.rows.map((r) => escapeMarkdown(r.field)).join(', ')}`;
    case 'update':
    case 'replace':
      return fields;
    case 'adopt':
      return fields === '' ? 'record in state' : `record in state, then ${fields}`;
    case 'move':
      return escapeMarkdown(`from ${change.previousAddress ?? '?'}`) + (fields === '' ? '' : `, then ${fields}`);
    case 'delete':
      return change.stateOnly === true ? 'remove from state (job already gone)' : 'delete the job';
    case 'start-run':
      return escapeMarkdown(`on-demand run, token ${JSON.stringify(change.onDemandRun?.token ?? '')}`);
    case 'import-catalog':
      return 'import the server catalog';
    case 'disassociate-connector':
      return 'disassociate the connector';
    case 'record':
      return fields === '' ? 'update the state record' : `update the state record: ${fields}`;
    case 'no-op':
      return '';
  }
}

function tableRow(change: Change): string {
  const view = viewChange(change);
  const cells = [
    `\`${view.glyph}\` ${change.action}`,
    escapeMarkdown(change.address),
    escapeMarkdown(view.identity ?? ''),
    whatChanges(change, view),
    escapeMarkdown(change.reason),
  ];
  return `| ${cells.join(' | ')} |`;
}

/** The change as it appears in the diff fence: `-`/`+` lines for values, context lines for the rest. */
function diffLines(change: Change): string[] {
  const view = viewChange(change);
  const lines = [`${view.glyph} ${headline(view)}`];
  for (const note of view.notes) lines.push(`      ${note}`);
  if (view.fieldsIntro !== undefined && view.rows.length > 0) lines.push(`      ${view.fieldsIntro}`);
  for (const row of view.rows) {
    if (row.op === 'set') {
      lines.push(`+     ${row.field}: ${row.value}`);
    } else {
      const marker = row.forcesReplacement ? '  # forces replacement' : '';
      if (row.before !== NOT_SET) lines.push(`-     ${row.field}: ${row.before}${marker}`);
      if (row.after !== NOT_SET) lines.push(`+     ${row.field}: ${row.after}${marker}`);
    }
  }
  return lines;
}

/** A code fence longer than any run of backticks in `content`. */
function fenceFor(content: string): string {
  const longest = Math.max(0, ...(content.match(/`+/g) ?? []).map((run) => run.length));
  return '`'.repeat(Math.max(3, longest + 1));
}

export function renderPlanMarkdown(plan: Plan, opts: PlanMarkdownOptions): string {
  const refreshOnly = isRefreshOnly(plan, opts.refreshOnly);
  const target = escapeMarkdown(plan.targetDescription);
  const blocks: string[] = [];

  const counts = countChanges(plan.changes);
  const groups = groupChanges(plan.changes);
  const listed = [...groups.destructive, ...groups.stateOnly, ...groups.other];
  if (refreshOnly) blocks.push(`### Refresh only for ${target}: ${driftPhrase(plan.drift.length)}`);
  else blocks.push(`### Plan for ${target}: ${listed.length === 0 ? NO_CHANGES : countsPhrase(counts)}`);

  blocks.push(
    `State: ${escapeMarkdown(formatStateHead(plan.state))} · Read: ${escapeMarkdown(formatApiCalls(plan.apiCalls))} · ` +
      `Planned at ${escapeMarkdown(plan.createdAt)}`,
  );

  const notes = planNotes(plan);
  if (notes.length > 0) blocks.push(['> [!NOTE]', ...notes.map((n) => `> ${escapeMarkdown(n)}`)].join('\n'));

  if (!refreshOnly && groups.destructive.length > 0) {
    const n = groups.destructive.length;
    blocks.push(
      [
        '> [!CAUTION]',
        `> **${n} destructive change${n === 1 ? '' : 's'}**: ${n === 1 ? 'it deletes a live job' : 'they delete live jobs'}; a non-interactive apply needs \`--allow-destroy\`.`,
        ...groups.destructive.map((c) => {
          const view = viewChange(c);
          const identity = view.identity === undefined ? '' : ` (${escapeMarkdown(view.identity)})`;
          const forcing = view.rows.filter((r) => r.op === 'change' && r.forcesReplacement).map((r) => r.field);
          const why = forcing.length > 0 ? `${c.reason} (forces replacement: ${forcing.join(', ')})` : c.reason;
          return `> - **${c.action}** ${escapeMarkdown(c.address)}${identity}: ${escapeMarkdown(why)}`;
        }),
      ].join('\n'),
    );
  }

  if (!refreshOnly && listed.length > 0) {
    const header = ['| Action | Address | Job | What changes | Why |', '| --- | --- | --- | --- | --- |'];
    const unchanged = groups.unchanged > 0 ? `\n\n${groups.unchanged} unchanged.` : '';
    blocks.push([...header, ...listed.map(tableRow)].join('\n') + unchanged);
  }

  if (plan.warnings.length > 0) {
    blocks.push(
      [
        '#### Warnings',
        '',
        ...plan.warnings.map((w) => {
          const where = warningLocation(w);
          return `- ${escapeMarkdown(w.message)}${where === undefined ? '' : ` — at ${escapeMarkdown(where)}`}`;
        }),
      ].join('\n'),
    );
  }

  const drift = groupDrift(plan.drift);
  if (drift.length > 0) {
    blocks.push(
      [
        '#### Changed outside sms-reconcile',
        '',
        '| Address | Job | Field | Applied | Live |',
        '| --- | --- | --- | --- | --- |',
        ...drift.flatMap((g) =>
          g.rows.map(
            (r) => `| ${escapeMarkdown(g.address)} | ${escapeMarkdown(g.replicationJobId)} | ${r.field} | ${escapeMarkdown(clip(r.before))} | ${escapeMarkdown(clip(r.after))} |`,
          ),
        ),
      ].join('\n'),
    );
  }

  if (!refreshOnly && listed.length > 0) {
    const diff = listed.flatMap(diffLines).join('\n');
    const fence = fenceFor(diff);
    blocks.push(['<details><summary>Full diff</summary>', '', `${fence}diff`, diff, fence, '', '</details>'].join('\n'));
  }

  return `${blocks.join('\n\n')}\n`;
}
