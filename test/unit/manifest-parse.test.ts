// parse.ts: YAML with positions, the bounds on hostile input, and the line index.
import { describe, expect, it } from 'vitest';
import { DEFAULT_PARSE_LIMITS, parseManifest } from '../../src/manifest/parse.ts';
import { LineIndex, displayPath, pointerSegments, toPointer } from '../../src/manifest/source.ts';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const codes = (text: string | Uint8Array, limits = DEFAULT_PARSE_LIMITS): [string, number | undefined, number | undefined][] =>
  parseManifest({ file: 'f.yaml', content: text }, limits).diagnostics.map((d) => [d.code, d.position.line, d.position.column]);

const JOB = [
  'apiVersion: sms-reconcile/v1', // 1
  'kind: ReplicationJob', // 2
  'metadata:', // 3
  '  name: web-01', // 4
  'spec:', // 5
  '  server: {vmName: web-01}', // 6
  '  frequency: 12', // 7
  '  description: |', // 8
  '    line one', // 9
  '    line two', // 10
  '  licenseType: AWS', // 11
  '',
].join('\n');

describe('documents and positions', () => {
  it('gives each document its value and index, skipping empty documents', () => {
    const parsed = parseManifest({ file: 'f.yaml', content: `---\n# nothing\n---\n${JOB}---\n${JOB}...\n` });
    expect(parsed.diagnostics).toEqual([]);
    expect(parsed.documents.map((d) => d.index)).toEqual([1, 2]);
    expect(parsed.documents[0]!.value).toMatchObject({ kind: 'ReplicationJob', spec: { frequency: 12, description: 'line one\nline two\n' } });
  });

  it('locates values, keys, flow-mapping members and missing paths', () => {
    const { locator } = parseManifest({ file: 'f.yaml', content: JOB }).documents[0]!;
    expect(locator.locate(['spec', 'frequency'])).toEqual({ file: 'f.yaml', line: 7, column: 14, endLine: 7, endColumn: 16, pointer: '/spec/frequency' });
    expect(locator.locate(['spec', 'frequency'], 'key')).toMatchObject({ line: 7, column: 3, endColumn: 12 });
    expect(locator.locate(['spec', 'server', 'vmName'])).toMatchObject({ line: 6, column: 20, endColumn: 26 });
    // Lines after a multi-line block scalar are counted right.
    expect(locator.locate(['spec', 'licenseType'])).toMatchObject({ line: 11, column: 16 });
    // A missing member: its deepest existing ancestor, at its key.
    expect(locator.locate(['spec', 'runOnce'])).toMatchObject({ line: 5, column: 1, pointer: '/spec/runOnce' });
    expect(locator.start()).toMatchObject({ line: 1, column: 1, pointer: '' });
  });

  it('an empty value is located at its key', () => {
    const { locator } = parseManifest({ file: 'f.yaml', content: 'a:\n  b:\n  c: 1\n' }).documents[0]!;
    expect(locator.locate(['a', 'b'])).toMatchObject({ line: 2, column: 3 });
  });

  it('positions follow aliases to their anchor', () => {
    const { locator } = parseManifest({ file: 'f.yaml', content: 'x: &s {vmName: a}\ny: *s\n' }).documents[0]!;
    expect(locator.locate(['y', 'vmName'])).toMatchObject({ line: 1, column: 16 });
  });

  it('a UTF-8 BOM is dropped and CRLF gives the same positions as LF', () => {
    const lf = parseManifest({ file: 'f.yaml', content: enc(JOB) }).documents[0]!;
    const crlf = parseManifest({ file: 'f.yaml', content: enc('\uFEFF' + JOB.replace(/\n/g, '\r\n')) }).documents[0]!;
    expect(crlf.value).toEqual(lf.value);
    for (const p of [['spec', 'frequency'], ['spec', 'licenseType'], ['metadata', 'name']]) expect(crlf.locator.locate(p)).toEqual(lf.locator.locate(p));
  });

  it('the core schema keeps timestamps and yes/no as strings', () => {
    const v = parseManifest({ file: 'f.yaml', content: 't: 2026-03-01T02:00:00Z\nb: yes\nn: 0x10\n' }).documents[0]!.value;
    expect(v).toEqual({ t: '2026-03-01T02:00:00Z', b: 'yes', n: 16 });
  });
});

describe('YAML errors', () => {
  it('duplicate keys are errors pointing at the second, related to the first', () => {
    const d = parseManifest({ file: 'f.yaml', content: 'a: 1\nb: 2\na: 3\n' }).diagnostics;
    expect(d).toHaveLength(1);
    expect(d[0]).toMatchObject({ code: 'SMSR-M012', summary: 'duplicate key "a" in the same mapping', position: { line: 3, column: 1 }, related: { line: 1, column: 1 } });
  });

  it('a tab used as indentation is one diagnostic for its line', () => {
    expect(codes('a:\n\tb: 1\n')).toEqual([['SMSR-M011', 2, 1]]);
  });

  it('a document with a syntax error is dropped; the others are kept', () => {
    const parsed = parseManifest({ file: 'f.yaml', content: 'a: [1, 2\n---\nb: 2\n' });
    expect(parsed.diagnostics.map((d) => d.code)).toEqual(['SMSR-M010']);
    expect(parsed.documents.map((d) => d.value)).toEqual([{ b: 2 }]);
  });

  it('an unresolved alias is reported at the alias', () => {
    expect(codes('a: 1\nb: *nope\n')).toEqual([['SMSR-M017', 2, 4]]);
  });

  it('parser warnings become warnings', () => {
    const d = parseManifest({ file: 'f.yaml', content: 'a: !custom x\n' }).diagnostics;
    expect(d.map((x) => [x.code, x.severity, x.position.line])).toEqual([['SMSR-M018', 'warning', 1]]);
  });

  it('an empty file and a comments-only file are one warning each', () => {
    expect(codes('')).toEqual([['SMSR-M016', 1, 1]]);
    expect(codes('# only\n# comments\n')).toEqual([['SMSR-M016', 1, 1]]);
    expect(codes('---\n---\n')).toEqual([['SMSR-M016', 1, 1]]);
  });
});

describe('bounds', () => {
  const small = { ...DEFAULT_PARSE_LIMITS, maxFileBytes: 100, maxDocuments: 3, maxDepth: 4, maxAliasCount: 10 };

  it('refuses a file over the size limit, in bytes or as text', () => {
    expect(codes(enc('a: ' + 'x'.repeat(200)), small)).toEqual([['SMSR-M004', undefined, undefined]]);
    expect(codes('a: ' + 'x'.repeat(200), small)).toEqual([['SMSR-M004', undefined, undefined]]);
    expect(parseManifest({ file: 'f', content: new Uint8Array(0), byteLength: 101 }, small).diagnostics[0]!.summary).toBe('file is 101 bytes, more than the 100 bytes limit');
  });

  it('stops at the first document over the limit', () => {
    const parsed = parseManifest({ file: 'f.yaml', content: 'a: 1\n---\nb: 2\n---\nc: 3\n---\nd: 4\n---\ne: 5\n' }, small);
    // The fourth document starts at its '---' (line 6).
    expect(parsed.diagnostics.map((d) => [d.code, d.position.line])).toEqual([['SMSR-M013', 6]]);
    expect(parsed.documents).toHaveLength(3);
  });

  it('stops at the first collection deeper than the limit, flow or block', () => {
    expect(codes('a: [[[[[1]]]]]\n', small)).toEqual([['SMSR-M014', 1, 7]]);
    expect(codes('a: [[[1]]]\n', small)).toEqual([]);
    expect(codes('a:\n  b:\n    c:\n      d:\n        e: 1\n', small)).toEqual([['SMSR-M014', 5, 9]]);
    expect(codes('- - - - - 1\n', small)).toEqual([['SMSR-M014', 1, 9]]);
  });

  it('bounds alias expansion but allows modest reuse', () => {
    expect(codes('a: &a [1, 2]\nb: [*a, *a]\n', small)).toEqual([]);
    const bomb = 'a: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\nc: [*b, *b, *b, *b]\n';
    expect(codes(bomb, small)).toEqual([['SMSR-M015', 2, 8]]);
  });

  it('refuses binary content: NUL bytes, invalid UTF-8, NUL characters', () => {
    expect(codes(new Uint8Array([0x61, 0x3a, 0x20, 0x00, 0x0a]))).toEqual([['SMSR-M005', undefined, undefined]]);
    expect(codes(new Uint8Array([0x61, 0x3a, 0x20, 0xe9, 0x0a]))).toEqual([['SMSR-M005', undefined, undefined]]);
    expect(codes('a: \u0000\n')).toEqual([['SMSR-M005', undefined, undefined]]);
  });
});

describe('LineIndex and pointers', () => {
  it('maps offsets to 1-based lines and columns, and returns lines without endings', () => {
    const idx = new LineIndex('ab\r\ncd\n\nef');
    expect(idx.lineCount).toBe(4);
    expect(idx.position(0)).toEqual({ line: 1, column: 1 });
    expect(idx.position(4)).toEqual({ line: 2, column: 1 });
    expect(idx.position(5)).toEqual({ line: 2, column: 2 });
    expect(idx.position(7)).toEqual({ line: 3, column: 1 });
    expect(idx.position(99)).toEqual({ line: 4, column: 3 });
    expect([1, 2, 3, 4, 5].map((l) => idx.lineText(l))).toEqual(['ab', 'cd', '', 'ef', undefined]);
  });

  it('escapes and unescapes JSON pointers, and prints paths for people', () => {
    expect(toPointer(['a/b', 'c~d', 0])).toBe('/a~1b/c~0d/0');
    expect(pointerSegments('/a~1b/c~0d/0')).toEqual(['a/b', 'c~d', '0']);
    expect(pointerSegments('')).toEqual([]);
    expect(displayPath(['spec', 'servers', '2', 'server'])).toBe('spec.servers[2].server');
    expect(displayPath([])).toBe('(document)');
  });
});
