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
 * - Bounded renderings (`renderPlanMarkdownWithin`, `renderPlanMarkdownParts`) count Unicode code
 *   points, as GitHub counts a comment body, and never exceed their budget; what they leave out
 *   is said on their last line, and a destructive change is never left out without a word.
 */
import type { Change } from '../reconcile/change.ts';
import type { Plan } from '../reconcile/plan.ts';
import {
  countChanges, countsPhrase, driftPhrase, formatApiCalls, formatStateHead, groupChanges, groupDrift, headline, isRefreshOnly,
  NO_CHANGES, NOT_SET, planNotes, sanitize, viewChange, warningLocation, type ChangeView, type FieldRow,
} from './format.ts';
import { actionCounts, gatePhrase, heldPhrase, holdPhrase } from './waves-format.ts';

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
    case 'retire':
      return change.blocked === undefined ? escapeMarkdown(`retire: delete the job, keep ${change.amiId ?? 'its AMIs'}, record as migrated`) : escapeMarkdown(`blocked: ${change.blocked}`);
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
    change.gatedBy === undefined ? whatChanges(change, view) : `${whatChanges(change, view)} (held: ${escapeMarkdown(holdPhrase(change.gatedBy))})`,
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

/**
 * A run of lines that can be cut between items: `open`, then the items (one per line or several
 * lines each), then `close`. Rendered whole it is `open\nitem\nitem…close`.
 */
interface Section {
  readonly id: 'destructive' | 'table' | 'waves' | 'warnings' | 'drift' | 'diff';
  readonly open: string;
  readonly items: readonly string[];
  readonly close: string;
}

const renderSection = (s: Section, items: readonly string[] = s.items): string => `${s.open}\n${items.join('\n')}${s.close}`;

/** Length in Unicode code points, as GitHub counts a comment body. */
export function codePoints(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff || i + 1 >= text.length) n++;
    else {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
      n++;
    }
  }
  return n;
}

/** The plan as heading blocks and cuttable sections; the unbounded rendering joins them all. */
interface Layout {
  /** `Plan for <target>` (or `Refresh only for <target>`), escaped. */
  readonly title: string;
  readonly heading: string;
  /** The state line and the notes. */
  readonly head: readonly string[];
  readonly sections: readonly Section[];
  /** Changes listed in the table (the plan's effective changes). */
  readonly listed: number;
  /** Addresses of the destructive changes, escaped. */
  readonly destructiveAddresses: readonly string[];
}

/** How a section left out of a bounded rendering is named in its last line. */
const LEFT_OUT: Record<Section['id'], (items: number) => string> = {
  destructive: (n) => plural(n, 'destructive change'),
  table: (n) => plural(n, 'change'),
  waves: (n) => plural(n, 'wave'),
  warnings: (n) => plural(n, 'warning'),
  drift: (n) => plural(n, 'drifted field'),
  diff: () => 'the full diff',
};

/** One line per declared wave: its progress, its gate, and its changes in this plan (waves-format.ts). */
function wavesSection(plan: Plan, listed: readonly Change[]): Section {
  const items = (plan.waves ?? []).map((g) => {
    const changes = listed.filter((c) => c.wave === g.wave);
    const wait = changes.map((c) => c.gatedBy).find((h) => h?.kind === 'wave');
    const gate = gatePhrase(g, plan.options.maxWave, wait?.kind === 'wave' ? wait.waitingFor : undefined, sanitize);
    const what = changes.length === 0 ? 'nothing to do' : actionCounts(changes);
    return `- **Wave ${g.wave}**: ${g.replicated} of ${g.declared} replicated; ${escapeMarkdown(gate)}; ${escapeMarkdown(what)}`;
  });
  return { id: 'waves', open: '#### Waves\n', items, close: '' };
}

function layout(plan: Plan, refreshOnly: boolean): Layout {
  const target = escapeMarkdown(plan.targetDescription);
  const counts = countChanges(plan.changes);
  const groups = groupChanges(plan.changes);
  const listed = [...groups.destructive, ...groups.stateOnly, ...groups.other];
  const title = `${refreshOnly ? 'Refresh only' : 'Plan'} for ${target}`;
  const held = heldPhrase(plan.changes);
  const heading = `### ${title}: ${refreshOnly ? driftPhrase(plan.drift.length) : listed.length === 0 ? NO_CHANGES : `${countsPhrase(counts)}${held === '' ? '' : ` ${held}.`}`}`;

  const head = [
    `State: ${escapeMarkdown(formatStateHead(plan.state))} · Read: ${escapeMarkdown(formatApiCalls(plan.apiCalls))} · ` +
      `Planned at ${escapeMarkdown(plan.createdAt)}`,
  ];
  const notes = planNotes(plan);
  if (notes.length > 0) head.push(['> [!NOTE]', ...notes.map((n) => `> ${escapeMarkdown(n)}`)].join('\n'));

  const sections: Section[] = [];
  if (!refreshOnly && groups.destructive.length > 0) {
    const n = groups.destructive.length;
    sections.push({
      id: 'destructive',
      open: `> [!CAUTION]\n> **${n} destructive change${n === 1 ? '' : 's'}**: ${n === 1 ? 'it deletes a live job' : 'they delete live jobs'}; a non-interactive apply needs \`--allow-destroy\`.`,
      items: groups.destructive.map((c) => {
        const view = viewChange(c);
        const identity = view.identity === undefined ? '' : ` (${escapeMarkdown(view.identity)})`;
        const forcing = view.rows.filter((r) => r.op === 'change' && r.forcesReplacement).map((r) => r.field);
        const why = forcing.length > 0 ? `${c.reason} (forces replacement: ${forcing.join(', ')})` : c.reason;
        return `> - **${c.action}** ${escapeMarkdown(c.address)}${identity}: ${escapeMarkdown(why)}`;
      }),
      close: '',
    });
  }

  if (!refreshOnly && listed.length > 0) {
    sections.push({
      id: 'table',
      open: '| Action | Address | Job | What changes | Why |\n| --- | --- | --- | --- | --- |',
      items: listed.map(tableRow),
      close: groups.unchanged > 0 ? `\n\n${groups.unchanged} unchanged.` : '',
    });
  }

  if (!refreshOnly && plan.waves !== undefined && plan.waves.length > 0) sections.push(wavesSection(plan, listed));

  if (plan.warnings.length > 0) {
    sections.push({
      id: 'warnings',
      open: '#### Warnings\n',
      items: plan.warnings.map((w) => {
        const where = warningLocation(w);
        return `- ${escapeMarkdown(w.message)}${where === undefined ? '' : ` — at ${escapeMarkdown(where)}`}`;
      }),
      close: '',
    });
  }

  const drift = groupDrift(plan.drift);
  if (drift.length > 0) {
    sections.push({
      id: 'drift',
      open: '#### Changed outside sms-reconcile\n\n| Address | Job | Field | Applied | Live |\n| --- | --- | --- | --- | --- |',
      items: drift.flatMap((g) =>
        g.rows.map(
          (r) => `| ${escapeMarkdown(g.address)} | ${escapeMarkdown(g.replicationJobId)} | ${r.field} | ${escapeMarkdown(clip(r.before))} | ${escapeMarkdown(clip(r.after))} |`,
        ),
      ),
      close: '',
    });
  }

  if (!refreshOnly && listed.length > 0) {
    const items = listed.map((c) => diffLines(c).join('\n'));
    const fence = fenceFor(items.join('\n'));
    sections.push({ id: 'diff', open: `<details><summary>Full diff</summary>\n\n${fence}diff`, items, close: `\n${fence}\n\n</details>` });
  }
  return { title, heading, head, sections, listed: listed.length, destructiveAddresses: groups.destructive.map((c) => escapeMarkdown(c.address)) };
}

const joinBlocks = (blocks: readonly string[]): string => `${blocks.join('\n\n')}\n`;

export function renderPlanMarkdown(plan: Plan, opts: PlanMarkdownOptions): string {
  const l = layout(plan, isRefreshOnly(plan, opts.refreshOnly));
  return joinBlocks([l.heading, ...l.head, ...l.sections.map((s) => renderSection(s))]);
}

export interface MarkdownBudget {
  /** Most characters (code points) of one rendering; 0 = unbounded. */
  readonly maxChars: number;
  /** Where the whole plan is, for the line saying what was left out (e.g. `plan.json`). */
  readonly artifact?: string;
}

/** The budget leaves room for nothing but the heading: `minimum` is the least that works for this plan. */
export interface TooSmall {
  readonly ok: false;
  readonly minimum: number;
}

/** The default `--max-chars`: under GitHub's 65,536 limit for a comment body. */
export const DEFAULT_MARKDOWN_MAX_CHARS = 65_000;

const DESTRUCTIVE_IN_FULL = 'the destructive changes in full';

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** `a`, `a, and b`, `a, b, and c` (the issue's own wording: "… 212 more changes, and the full diff"). */
function listPhrase(parts: readonly string[]): string {
  if (parts.length <= 1) return parts.join('');
  return `${parts.slice(0, -1).join(', ')}, and ${parts.at(-1) ?? ''}`;
}

function leftOutLine(parts: readonly string[], artifact: string | undefined): string {
  const where = artifact === undefined ? 'run `sms-reconcile plan` for the whole plan' : `see the plan artifact \`${escapeMarkdown(artifact)}\``;
  return `… ${listPhrase(parts)}: ${where}`;
}

/** Fits as many items of `s` as `room` allows (rendered as a section); how many, and the text. */
function fitItems(s: Section, room: number): { n: number; text: string; chars: number } {
  const base = codePoints(s.open) + 1 + codePoints(s.close);
  let chars = base;
  let n = 0;
  for (const item of s.items) {
    const add = codePoints(item) + (n === 0 ? 0 : 1);
    if (chars + add > room) break;
    chars += add;
    n++;
  }
  return { n, text: n === 0 ? '' : renderSection(s, s.items.slice(0, n)), chars: n === 0 ? 0 : chars };
}

/**
 * The plan as Markdown within `maxChars` code points. When the whole plan does not fit it keeps, in
 * this order while room remains: the heading, the state line and notes (always); every destructive
 * change in full (or, when those alone do not fit, their addresses, said in the heading); the
 * table rows in plan order; the warnings and drift (whole); the full diff (whole). The last line
 * says what was left out. A budget too small for the heading and that line is refused.
 */
export function renderPlanMarkdownWithin(plan: Plan, opts: PlanMarkdownOptions & MarkdownBudget): { ok: true; text: string } | TooSmall {
  const l = layout(plan, isRefreshOnly(plan, opts.refreshOnly));
  const whole = joinBlocks([l.heading, ...l.head, ...l.sections.map((s) => renderSection(s))]);
  if (opts.maxChars <= 0 || codePoints(whole) <= opts.maxChars) return { ok: true, text: whole };

  const destructive = l.sections.find((s) => s.id === 'destructive');
  const worstLeftOut = leftOutLine(
    [DESTRUCTIVE_IN_FULL, plural(l.listed, 'more change'), plural(plan.warnings.length, 'warning'), plural(plan.drift.length, 'drifted field'), 'the full diff'],
    opts.artifact,
  );
  const sep = 2; // '\n\n' between blocks
  // A heading that admits destructive changes shown by address only (or not all of them).
  const shortHeading = (shown: number): string =>
    destructive === undefined
      ? l.heading
      : `${l.heading} The ${plural(destructive.items.length, 'destructive change')} ${shown === destructive.items.length ? 'are listed by address only (too long to show in full)' : `are listed by address only, ${shown} of them (too long to show)`}.`;
  const headChars = (heading: string): number => codePoints(joinBlocks([heading, ...l.head])) + sep + codePoints(worstLeftOut);
  const minimum = headChars(shortHeading(0));
  if (opts.maxChars < minimum) return { ok: false, minimum };

  let heading = l.heading;
  const blocks: string[] = [];
  let used = headChars(l.heading);
  if (destructive !== undefined) {
    const full = renderSection(destructive);
    if (used + sep + codePoints(full) <= opts.maxChars) {
      blocks.push(full);
      used += sep + codePoints(full);
    } else {
      const addresses: Section = { ...destructive, items: l.destructiveAddresses.map((a) => `> - ${a}`) };
      // The heading names how many addresses follow, and its length decides how many fit: settle both.
      let n = addresses.items.length;
      for (;;) {
        heading = shortHeading(n);
        used = headChars(heading);
        const fit = fitItems(addresses, opts.maxChars - used - sep);
        if (fit.n >= n) break;
        n = fit.n;
      }
      if (n > 0) {
        const text = renderSection(addresses, addresses.items.slice(0, n));
        blocks.push(text);
        used += sep + codePoints(text);
      }
    }
  }
  const left: string[] = [];
  if (heading !== l.heading) left.push(DESTRUCTIVE_IN_FULL);
  for (const s of l.sections) {
    if (s.id === 'destructive') continue;
    if (s.id === 'table') {
      const fit = fitItems(s, opts.maxChars - used - sep);
      if (fit.n > 0) {
        blocks.push(fit.text);
        used += sep + fit.chars;
      }
      if (fit.n < s.items.length) left.push(plural(s.items.length - fit.n, fit.n === 0 ? 'change' : 'more change'));
      continue;
    }
    const text = renderSection(s);
    if (used + sep + codePoints(text) <= opts.maxChars) {
      blocks.push(text);
      used += sep + codePoints(text);
    } else {
      left.push(LEFT_OUT[s.id](s.items.length));
    }
  }
  return { ok: true, text: joinBlocks([heading, ...l.head, ...blocks, ...(left.length === 0 ? [] : [leftOutLine(left, opts.artifact)])]) };
}

/** The last line of each part `--split` writes: how sms-reconcile knows the files it wrote. */
export const PART_MARKER = /^<!-- sms-reconcile plan part \d+ of \d+ -->$/m;
const partMarker = (i: number, k: number): string => `<!-- sms-reconcile plan part ${i} of ${k} -->`;
/** Page numbers are filled in once the pages are known; the room kept for them is this wide. */
const WIDE = 999_999;

/** `text` cut to `room` code points, ending with `…`. */
function clipTo(text: string, room: number): string {
  return `${Array.from(text).slice(0, Math.max(0, room - 1)).join('')}…`;
}

/**
 * The plan as parts (`plan --split DIR`: plan-1.md, plan-2.md, …), each within `maxChars` code
 * points, that together hold every change: the destructive changes, the table, the warnings and
 * drift, and the full diff, each continued over as many parts as it needs. The first part has the
 * heading, says how many parts there are, and has the state line and notes; the others a short
 * heading naming their number. Each ends with a marker line (PART_MARKER). An item too long for a
 * part of its own (only with a tiny budget) is cut, ending with `…`.
 */
export function renderPlanMarkdownParts(plan: Plan, opts: PlanMarkdownOptions & Pick<MarkdownBudget, 'maxChars'>): { ok: true; parts: string[] } | TooSmall {
  const l = layout(plan, isRefreshOnly(plan, opts.refreshOnly));
  const max = opts.maxChars > 0 ? opts.maxChars : Number.POSITIVE_INFINITY;
  const sep = 2;
  const firstHeader = (k: number): string[] => [l.heading, `Part 1 of ${k}.`, ...l.head];
  const laterHeader = (i: number, k: number): string[] => [`### ${l.title}, part ${i} of ${k}`];
  const fixed = (blocks: readonly string[]): number => codePoints(joinBlocks([...blocks, partMarker(WIDE, WIDE)]));
  const widestOpen = Math.max(0, ...l.sections.map((s) => codePoints(s.open) + 1 + codePoints(s.close)));
  const minimum = Math.max(fixed(firstHeader(WIDE)), fixed(laterHeader(WIDE, WIDE))) + sep + widestOpen + 20;
  if (max < minimum) return { ok: false, minimum };

  const pages: string[][] = [[]];
  let used = fixed(firstHeader(WIDE));
  const newPage = (): void => {
    pages.push([]);
    used = fixed(laterHeader(WIDE, WIDE));
  };
  for (const s of l.sections) {
    let rest = s.items;
    while (rest.length > 0) {
      const fit = fitItems({ ...s, items: rest }, max - used - sep);
      if (fit.n > 0) {
        (pages.at(-1) as string[]).push(fit.text);
        used += sep + fit.chars;
        rest = rest.slice(fit.n);
        if (rest.length > 0) newPage();
        continue;
      }
      if ((pages.at(-1) as string[]).length > 0) {
        newPage();
        continue;
      }
      // Too long for a part of its own: cut.
      const room = max - used - sep - (codePoints(s.open) + 1 + codePoints(s.close));
      const text = renderSection(s, [clipTo(rest[0] as string, room)]);
      (pages.at(-1) as string[]).push(text);
      used += sep + codePoints(text);
      rest = rest.slice(1);
      if (rest.length > 0) newPage();
    }
  }
  if (pages.length > 1 && (pages.at(-1) as string[]).length === 0) pages.pop();
  const k = pages.length;
  return {
    ok: true,
    parts: pages.map((blocks, i) => joinBlocks([...(i === 0 ? firstHeader(k) : laterHeader(i + 1, k)), ...blocks, partMarker(i + 1, k)])),
  };
}
