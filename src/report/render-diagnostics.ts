/**
 * Renders manifest diagnostics for people (text) and for programs (JSON). Pure: returns strings.
 *
 * Text, one block per diagnostic, in the order given (callers sort):
 *
 *   examples/web.yaml:7:14: error SMSR-M032: spec.frequency must be a whole number, got 1.5
 *      7 |   frequency: 1.5
 *        |              ^^^
 *     hint: use a whole number from 1 to 24
 *
 * Whole-file problems print `file: error CODE: summary` without a source line. Colour (ANSI) only
 * when `color` is true; the text is otherwise identical.
 *
 * JSON: `{formatVersion: 1, ok, summary, diagnostics: [...]}`, every member always present (null when
 * absent) so consumers need no existence checks; stable key order.
 */
import type { Diagnostic, DiagnosticPosition } from '../manifest/diagnostics.ts';
import { painter, type Style } from './color.ts';

export interface DiagnosticSummary {
  readonly files: number;
  readonly documents: number;
  readonly errors: number;
  readonly warnings: number;
}

export interface TextRenderOptions {
  readonly color: boolean;
  /** The text of a 1-based line of a file, when known. */
  readonly sourceLine?: (file: string, line: number) => string | undefined;
}

/** `file:line:col` (or `file` for whole-file problems). */
export function formatLocation(p: DiagnosticPosition): string {
  return p.line === undefined ? p.file : `${p.file}:${p.line}:${p.column ?? 1}`;
}

const MAX_SHOWN = 120;

/**
 * The source line and the caret line under it. Tabs before the column are kept in the caret line so
 * the caret lines up in any terminal; long lines are cut to a window around the column.
 */
function excerpt(text: string, column: number, width: number): { line: string; caret: string } {
  let start = 0;
  let shown = text;
  if (text.length > MAX_SHOWN) {
    start = Math.max(0, Math.min(column - 1 - 40, text.length - MAX_SHOWN));
    shown = text.slice(start, start + MAX_SHOWN);
  }
  const col = Math.max(0, column - 1 - start);
  const prefix = shown
    .slice(0, col)
    .replace(/[^\t]/g, ' ');
  const span = Math.max(1, Math.min(width, shown.length - col));
  const ellipsisL = start > 0 ? '…' : '';
  const ellipsisR = start + MAX_SHOWN < text.length ? '…' : '';
  return { line: `${ellipsisL}${shown}${ellipsisR}`, caret: `${ellipsisL === '' ? '' : ' '}${prefix}${'^'.repeat(span)}` };
}

export function renderDiagnosticText(d: Diagnostic, options: TextRenderOptions): string {
  const paint = painter(options.color);
  const sevStyle: Style = d.severity === 'error' ? 'red' : 'yellow';
  const head = `${paint('bold', formatLocation(d.position) + ':')} ${paint([sevStyle, 'bold'], d.severity)} ${paint('dim', d.code + ':')} ${d.summary}`;
  const lines = [head];
  const { line, column } = d.position;
  const text = line === undefined ? undefined : options.sourceLine?.(d.position.file, line);
  if (line !== undefined && text !== undefined) {
    const width = d.position.endLine === line && d.position.endColumn !== undefined ? d.position.endColumn - (column ?? 1) : 1;
    const ex = excerpt(text, column ?? 1, width);
    const gutter = String(line);
    const pad = ' '.repeat(gutter.length);
    lines.push(`  ${paint('dim', `${gutter} |`)} ${ex.line}`);
    lines.push(`  ${paint('dim', `${pad} |`)} ${paint([sevStyle, 'bold'], ex.caret)}`);
  }
  if (d.position.pointer !== undefined && d.position.pointer !== '') lines.push(`  ${paint('dim', 'at:')} ${d.position.pointer}`);
  if (d.hint !== undefined) lines.push(`  ${paint('cyan', 'hint:')} ${d.hint}`);
  if (d.related !== undefined) lines.push(`  ${paint('dim', 'see:')} ${formatLocation(d.related)}`);
  return lines.join('\n');
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** `3 files, 12 documents: 0 errors, 1 warning`. */
export function renderSummaryLine(s: DiagnosticSummary): string {
  return `${plural(s.files, 'file')}, ${plural(s.documents, 'document')}: ${plural(s.errors, 'error')}, ${plural(s.warnings, 'warning')}`;
}

/** Every diagnostic, a blank line between them, then the summary line. Ends with a newline. */
export function renderDiagnosticsText(diagnostics: readonly Diagnostic[], summary: DiagnosticSummary, options: TextRenderOptions): string {
  const blocks = diagnostics.map((d) => renderDiagnosticText(d, options) + '\n');
  const paint = painter(options.color);
  const style: Style = summary.errors > 0 ? 'red' : summary.warnings > 0 ? 'yellow' : 'bold';
  blocks.push(paint(style, renderSummaryLine(summary)) + '\n');
  return blocks.join('\n');
}

function positionJson(p: DiagnosticPosition): Record<string, unknown> {
  return {
    file: p.file,
    line: p.line ?? null,
    column: p.column ?? null,
    endLine: p.endLine ?? null,
    endColumn: p.endColumn ?? null,
    pointer: p.pointer ?? null,
  };
}

export function diagnosticJson(d: Diagnostic): Record<string, unknown> {
  return {
    code: d.code,
    name: d.name,
    severity: d.severity,
    summary: d.summary,
    hint: d.hint ?? null,
    position: positionJson(d.position),
    related: d.related === undefined ? null : positionJson(d.related),
  };
}

/** The JSON document `validate --format json` prints. `ok` is false when there are errors (or, with strict, warnings). */
export function renderDiagnosticsJson(diagnostics: readonly Diagnostic[], summary: DiagnosticSummary, ok: boolean): string {
  return JSON.stringify({ formatVersion: 1, ok, summary: { ...summary }, diagnostics: diagnostics.map(diagnosticJson) }, null, 2) + '\n';
}
