// report/render-diagnostics.ts: the text people read and the JSON programs read.
import { describe, expect, it } from 'vitest';
import { checkManifests } from '../../src/manifest/check.ts';
import { diagnostic } from '../../src/manifest/diagnostics.ts';
import { renderDiagnosticText, renderDiagnosticsJson, renderDiagnosticsText, renderSummaryLine } from '../../src/report/render-diagnostics.ts';

const text = 'apiVersion: sms-reconcile/v1\nkind: ReplicationJob\nmetadata:\n  name: web-01\nspec:\n  server: {vmName: web-01}\n  frequency: 1.5\n';
const result = checkManifests([{ file: 'jobs/web.yaml', content: text }]);
const sourceLine = (file: string, line: number): string | undefined => result.sources.get(file)?.lineText(line);

describe('text', () => {
  it('prints file:line:col, severity, code and summary, the source line, a caret under the value and the hint', () => {
    expect(renderDiagnosticsText(result.diagnostics, result.summary, { color: false, sourceLine })).toBe(
      [
        'jobs/web.yaml:7:14: error SMSR-M032: spec.frequency must be a whole number, got 1.5',
        '  7 |   frequency: 1.5',
        '    |              ^^^',
        '  at: /spec/frequency',
        '  hint: use a whole number from 1 to 24',
        '',
        '1 file, 1 document: 1 error, 0 warnings',
        '',
      ].join('\n'),
    );
  });

  it('keeps tabs before the caret so it lines up, and marks one column for an empty span', () => {
    const d = diagnostic('SMSR-M011', 'tab character used for indentation', { file: 'f', line: 2, column: 3 });
    expect(renderDiagnosticText(d, { color: false, sourceLine: () => '\t\tx: 1' })).toBe(
      ['f:2:3: error SMSR-M011: tab character used for indentation', '  2 | \t\tx: 1', '    | \t\t^'].join('\n'),
    );
  });

  it('cuts very long lines to a window around the column', () => {
    const long = 'description: ' + 'a'.repeat(300) + 'XYZ' + 'b'.repeat(300);
    const d = diagnostic('SMSR-M038', 's', { file: 'f', line: 1, column: 314, endLine: 1, endColumn: 317 });
    const [, src, caret] = renderDiagnosticText(d, { color: false, sourceLine: () => long }).split('\n');
    expect(src!.length).toBeLessThan(140);
    expect(src!.indexOf('XYZ')).toBe(caret!.indexOf('^^^'));
  });

  it('prints whole-file problems without a position or source, and related positions', () => {
    const d = diagnostic('SMSR-M005', 'not a text file: it contains NUL bytes', { file: 'blob.yaml' }, { hint: 'h', related: { file: 'a.yaml', line: 3, column: 5 } });
    expect(renderDiagnosticText(d, { color: false, sourceLine: () => 'never shown' })).toBe(
      ['blob.yaml: error SMSR-M005: not a text file: it contains NUL bytes', '  hint: h', '  see: a.yaml:3:5'].join('\n'),
    );
  });

  it('uses colour only when asked, and the text is otherwise the same', () => {
    const plain = renderDiagnosticsText(result.diagnostics, result.summary, { color: false, sourceLine });
    const coloured = renderDiagnosticsText(result.diagnostics, result.summary, { color: true, sourceLine });
    expect(plain).not.toContain('\u001b[');
    expect(coloured).toContain('\u001b[31m');
    // eslint-disable-next-line no-control-regex
    expect(coloured.replace(/\u001b\[[0-9;]*m/g, '')).toBe(plain);
  });

  it('summarizes with the right plurals', () => {
    expect(renderSummaryLine({ files: 3, documents: 12, errors: 0, warnings: 1 })).toBe('3 files, 12 documents: 0 errors, 1 warning');
    expect(renderSummaryLine({ files: 1, documents: 1, errors: 2, warnings: 0 })).toBe('1 file, 1 document: 2 errors, 0 warnings');
  });
});

describe('json', () => {
  it('has every member, nulls for the absent ones', () => {
    const doc = JSON.parse(renderDiagnosticsJson(result.diagnostics, result.summary, false));
    expect(doc).toEqual({
      formatVersion: 1,
      ok: false,
      summary: { files: 1, documents: 1, errors: 1, warnings: 0 },
      diagnostics: [
        {
          code: 'SMSR-M032',
          name: 'wrong-type',
          severity: 'error',
          summary: 'spec.frequency must be a whole number, got 1.5',
          hint: 'use a whole number from 1 to 24',
          position: { file: 'jobs/web.yaml', line: 7, column: 14, endLine: 7, endColumn: 17, pointer: '/spec/frequency' },
          related: null,
        },
      ],
    });
  });
});
