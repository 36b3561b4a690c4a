// The bad-input corpus (test/fixtures/manifests/invalid, with expected.json), the valid fixtures
// (BOM, CRLF, ...), and the hostile inputs too big to commit (a 50 MB file, an alias bomb), generated
// into a temp dir. Every file is judged with the exact expected codes and positions, and nothing is
// written anywhere. The hostile inputs are judged by the work done (the parser's count of documents
// composed), never by elapsed time: speed is measured in bench/validate.ts.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkManifests } from '../../src/manifest/check.ts';
import { DIAGNOSTIC_CODES } from '../../src/manifest/diagnostics.ts';
import { loadManifests } from '../../src/manifest/load.ts';

const fixtures = path.resolve(import.meta.dirname, '../fixtures/manifests');
const invalidDir = path.join(fixtures, 'invalid');
const validDir = path.join(fixtures, 'valid');

interface Expected {
  readonly why: string;
  readonly diagnostics: readonly { code: string; line: number | null; column: number | null }[];
}
const expected = JSON.parse(readFileSync(path.join(invalidDir, 'expected.json'), 'utf8')) as Record<string, Expected>;
const manifestFiles = (dir: string): string[] => readdirSync(dir).filter((n) => /\.ya?ml$/.test(n)).sort();

/** Every file under `dir` with its size and mtime: proof that nothing was written. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = path.join(d, name);
      const s = statSync(p);
      if (s.isDirectory()) walk(p);
      else out.push(`${path.relative(dir, p)} ${s.size} ${s.mtimeMs}`);
    }
  };
  walk(dir);
  return out;
}

function judge(dir: string, name: string): ReturnType<typeof checkManifests> {
  return checkManifests([{ file: name, content: readFileSync(path.join(dir, name)) }]);
}

const before = snapshot(fixtures);

describe('invalid corpus', () => {
  it('has at least 40 files, each with expected diagnostics, and no stale expectations', () => {
    const files = manifestFiles(invalidDir);
    expect(files.length).toBeGreaterThanOrEqual(40);
    expect(Object.keys(expected).sort()).toEqual(files);
  });

  it('covers every bullet of the bad-input list', () => {
    const codes = new Set(Object.values(expected).flatMap((e) => e.diagnostics.map((d) => d.code)));
    // syntax, tabs, duplicate keys, deep nesting, binary, empty/comments, types, ranges, unknown
    // fields, unknown kind, names, selectors, timestamps, enum, cross-document.
    for (const c of ['SMSR-M010', 'SMSR-M011', 'SMSR-M012', 'SMSR-M014', 'SMSR-M005', 'SMSR-M016', 'SMSR-M032', 'SMSR-M033',
      'SMSR-M030', 'SMSR-M022', 'SMSR-M031', 'SMSR-M035', 'SMSR-M037', 'SMSR-M036', 'SMSR-M034', 'SMSR-M050', 'SMSR-M051']) {
      expect(codes, c).toContain(c);
    }
  });

  for (const name of Object.keys(expected).sort()) {
    it(`${name}: ${expected[name]!.why}`, () => {
      const result = judge(invalidDir, name);
      const actual = result.diagnostics.map((d) => ({ code: d.code, line: d.position.line ?? null, column: d.position.column ?? null }));
      expect(actual).toEqual(expected[name]!.diagnostics);
      for (const d of result.diagnostics) {
        expect(d.severity).toBe(DIAGNOSTIC_CODES[d.code].severity);
        expect(d.summary.length).toBeGreaterThan(0);
      }
      // Rejected: an error, or (for warning-only files) a failure under --strict.
      expect(result.summary.errors + result.summary.warnings).toBeGreaterThan(0);
      if (result.summary.errors > 0) expect(result.desired).toBeUndefined();
    });
  }
});

describe('valid fixtures (BOM, CRLF, multi-document, anchors, flow style, every field)', () => {
  for (const name of manifestFiles(validDir)) {
    it(`${name} is accepted without diagnostics`, () => {
      const result = judge(validDir, name);
      expect(result.diagnostics).toEqual([]);
      expect(result.desired).toBeDefined();
      expect(result.summary.documents).toBeGreaterThan(0);
    });
  }

  it('a BOM and CRLF line endings change nothing in the result', () => {
    const lf = 'apiVersion: sms-reconcile/v1\nkind: ReplicationJob\nmetadata:\n  name: web-01\nspec:\n  server:\n    vmName: web-01\n  frequncy: 12\n';
    const variants = [lf, '\uFEFF' + lf, lf.replace(/\n/g, '\r\n'), '\uFEFF' + lf.replace(/\n/g, '\r\n')];
    const results = variants.map((text) => checkManifests([{ file: 'f.yaml', content: new TextEncoder().encode(text) }]));
    for (const r of results) expect(r.diagnostics.map((d) => d.position)).toEqual(results[0]!.diagnostics.map((d) => d.position));
    expect(results[0]!.diagnostics[0]!.position).toMatchObject({ line: 8, column: 3 });
  });
});

describe('generated hostile inputs', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'smsr-corpus-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a 50 MB file is refused by size, without being read or parsed', async () => {
    const big = path.join(dir, 'big.yaml');
    const line = 'description: ' + 'x'.repeat(1000) + '\n';
    writeFileSync(big, line.repeat(Math.ceil((50 * 1024 * 1024) / line.length)));
    const result = await loadManifests([big], { cwd: dir });
    expect(result.composed).toBe(0);
    expect(result.diagnostics.map((d) => [d.code, d.position.file, d.position.line])).toEqual([['SMSR-M004', 'big.yaml', undefined]]);
    expect(result.diagnostics[0]!.summary).toMatch(/50(\.\d)? MiB, more than the 10 MiB limit/);
  });

  it('an alias bomb (billion laughs) stops the file at its document, with one diagnostic', () => {
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 10; i++) {
      const prev = String.fromCharCode(96 + i);
      const cur = String.fromCharCode(97 + i);
      lines.push(`${cur}: &${cur} [${Array(9).fill('*' + prev).join(',')}]`);
    }
    // The bomb, then a million more documents that are never composed.
    const text = lines.join('\n') + '\n' + '---\nb: 1\n'.repeat(1_000_000);
    const result = checkManifests([{ file: 'bomb.yaml', content: text }], { limits: { maxDocuments: 2_000_000 } });
    expect(result.diagnostics.map((d) => [d.code, d.position.line, d.position.column])).toEqual([['SMSR-M015', 2, 8]]);
    expect(result.composed).toBeLessThanOrEqual(2);
  });

  it('nesting 5 million deep (10 MB of brackets) stops at depth 65, before composing anything', () => {
    const n = 5_000_000;
    const text = 'a: ' + '['.repeat(n) + ']'.repeat(n) + '\n';
    const result = checkManifests([{ file: 'deep.yaml', content: text }]);
    expect(result.composed).toBe(0);
    // Depth 1 is the root mapping; the 65th collection is the 64th '[' (column 3 + 63).
    expect(result.diagnostics.map((d) => [d.code, d.position.line, d.position.column])).toEqual([['SMSR-M014', 1, 67]]);
  });

  it('a file of two million empty documents stops at document 1001, having composed at most 1,001', () => {
    const text = '---\n'.repeat(2_000_000);
    const result = checkManifests([{ file: 'docs.yaml', content: text }]);
    expect(result.diagnostics.map((d) => [d.code, d.position.line, d.position.column])).toEqual([['SMSR-M013', 1001, 1]]);
    expect(result.composed).toBeGreaterThanOrEqual(1000);
    expect(result.composed).toBeLessThanOrEqual(1001);
  });

  it('a clean file of many documents is composed in full (the counter counts real work)', () => {
    const text = '---\na: 1\n'.repeat(900);
    const result = checkManifests([{ file: 'many.yaml', content: text }]);
    expect(result.composed).toBe(900);
  });
});

describe('nothing is written', () => {
  it('loading the whole corpus from an empty working directory leaves it empty and the fixtures untouched', async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'smsr-cwd-'));
    try {
      const result = await loadManifests([invalidDir, validDir], { cwd });
      expect(result.summary.files).toBe(manifestFiles(invalidDir).length + manifestFiles(validDir).length);
      expect(readdirSync(cwd)).toEqual([]);
      expect(snapshot(fixtures)).toEqual(before);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
