/**
 * The fast parser (src/manifest/fast-parse.ts) against the exact one (parse.ts), which stays the
 * authority: wherever the fast path gives a result, it must be the exact parser's result.
 * - Every YAML file of the fixtures and examples, and ~1,500 generated documents (every scalar form
 *   of the core schema, quoting styles, block scalars, flow and block collections, comments, empty
 *   values, document markers, CRLF): same values, and the same line and column for the start of
 *   the document and of every key and every non-empty value in it.
 * - checkManifests gives the same result (DesiredSet with its source positions, diagnostics,
 *   summary) with the fast path as with the exact parser alone.
 * - What the fast path must not take (anchors, tags, tabs, directives, duplicate keys, complex or
 *   null keys, too deep, too many documents) falls back to the exact parser.
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkManifests } from '../../src/manifest/check.ts';
import { parseBlockSubset } from '../../src/manifest/block-subset.ts';
import { fastParseText } from '../../src/manifest/fast-parse.ts';
import { DEFAULT_PARSE_LIMITS, parseManifest, type ManifestLocator } from '../../src/manifest/parse.ts';
import { LineIndex, type PathSegment } from '../../src/manifest/source.ts';
import { mulberry32 } from '../helpers/random.ts';
import { REPO_ROOT } from '../helpers/repo-copy.ts';
import { yamlFiles } from '../helpers/yaml-files.ts';

/** Every path to a key or value in a plain value. */
function paths(value: unknown, prefix: PathSegment[] = []): PathSegment[][] {
  const out: PathSegment[][] = [];
  if (Array.isArray(value)) value.forEach((v, i) => out.push([...prefix, i], ...paths(v, [...prefix, i])));
  else if (typeof value === 'object' && value !== null) for (const [k, v] of Object.entries(value)) out.push([...prefix, k], ...paths(v, [...prefix, k]));
  return out;
}

const at = (p: { line?: number; column?: number }) => `${p.line}:${p.column}`;

/** Compares the fast parse of `text` with the exact one; returns whether the fast path took it. */
function compareParsers(file: string, text: string): boolean {
  const fast = fastParseText(file, text, new LineIndex(text), DEFAULT_PARSE_LIMITS);
  if (fast === undefined) return false;
  const exact = parseManifest({ file, content: text });
  expect(exact.diagnostics, `${file}: the fast path took a file the exact parser reports on`).toEqual([]);
  expect(fast.documents.map((d) => d.value), file).toEqual(exact.documents.map((d) => d.value));
  fast.documents.forEach((doc, i) => {
    const other = exact.documents[i]!.locator as ManifestLocator;
    expect(at(doc.locator.start()), `${file} document ${i} start`).toBe(at(other.start()));
    for (const path of paths(doc.value)) {
      for (const part of ['key', 'value'] as const) {
        expect(at(doc.locator.locate(path, part)), `${file} document ${i} ${part} of ${path.join('.')}\n${text}`).toBe(at(other.locate(path, part)));
      }
    }
  });
  return true;
}

describe('the fast parser agrees with the exact one', () => {
  const files = [...yamlFiles(join(REPO_ROOT, 'test/fixtures')), ...yamlFiles(join(REPO_ROOT, 'examples'))];

  it('on every fixture and example file', () => {
    let taken = 0;
    for (const f of files) if (compareParsers(relative(REPO_ROOT, f), readFileSync(f, 'utf8'))) taken++;
    // Most files are plain YAML: the fast path is not just always falling back.
    expect(taken).toBeGreaterThan(files.length / 2);
  });

  it('checkManifests gives the same result with and without the fast path, file by file and for the examples as a set', () => {
    const sets: { file: string; content: string }[][] = files.map((f) => [{ file: relative(REPO_ROOT, f), content: readFileSync(f, 'utf8') }]);
    sets.push(yamlFiles(join(REPO_ROOT, 'examples/waves')).map((f) => ({ file: relative(REPO_ROOT, f), content: readFileSync(f, 'utf8') })));
    for (const set of sets) {
      const auto = checkManifests(set);
      const exact = checkManifests(set, { parser: 'exact' });
      expect(auto.diagnostics, set[0]!.file).toEqual(exact.diagnostics);
      expect(auto.summary, set[0]!.file).toEqual(exact.summary);
      expect(auto.desired, set[0]!.file).toEqual(exact.desired);
    }
  });

  it('on 1,500 generated documents', () => {
    const rnd = mulberry32(20261126);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const scalars = [
      '12', '+7', '-0', '007', '0o17', '0x1F', '0X1F', '1_000', '1.5', '1.', '.5', '1e3', '-2.5E-3', '.inf', '-.Inf', '.NaN', 'nan',
      '~', 'null', 'Null', 'NULL', 'true', 'True', 'FALSE', 'yes', 'off', 'on', 'y', 'n', '2026-11-26', '2026-11-26T10:00:00Z',
      'plain words', 'with: colon', 'a#b', 'x # comment', "'single ''quoted'''", '"double \\"quoted\\" \\u00e9 \\n"', '"12"', "'true'",
      'ünïcödé', 'http://example.com/a?b=c', '-dash', '[1, 2, three]', '{a: 1, b: [x, y]}', '[]', '{}', '""', "''",
    ];
    const keys = ['name', 'kind', 'spec', 'server', 'vmName', 'frequency', 'a b', '"quoted key"', "'single'", '12', 'true', '1.5', 'x-y_z'];
    const block = (depth: number, indent: string): string => {
      const n = 1 + Math.floor(rnd() * 4);
      const used = new Set<string>();
      const lines: string[] = [];
      for (let i = 0; i < n; i++) {
        let k = pick(keys);
        while (used.has(k.replace(/['"]/g, ''))) k = `${k.replace(/['"]/g, '')}${i}`;
        used.add(k.replace(/['"]/g, ''));
        const r = rnd();
        if (rnd() < 0.1) lines.push(`${indent}# a comment`);
        if (depth < 3 && r < 0.25) lines.push(`${indent}${k}:${rnd() < 0.2 ? ' # trailing' : ''}\n${block(depth + 1, `${indent}  `)}`);
        else if (depth < 3 && r < 0.4) {
          const items = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () =>
            rnd() < 0.3 ? `${indent}- ${block(depth + 1, `${indent}  `).trimStart()}` : `${indent}- ${pick(scalars)}`,
          );
          lines.push(`${indent}${k}:\n${items.join('\n')}`);
        } else if (r < 0.47) lines.push(`${indent}${k}:`);
        else if (r < 0.55) lines.push(`${indent}${k}: |\n${indent}  line one\n${indent}  line two`);
        else if (r < 0.6) lines.push(`${indent}${k}: >-\n${indent}  folded\n${indent}  text`);
        else lines.push(`${indent}${k}: ${pick(scalars)}`);
      }
      return lines.join('\n');
    };
    let taken = 0;
    for (let f = 0; f < 300; f++) {
      const docs = Array.from({ length: 1 + Math.floor(rnd() * 8) }, () => block(0, ''));
      let text = (rnd() < 0.3 ? '---\n' : '') + docs.join(rnd() < 0.5 ? '\n---\n' : '\n---\n# between\n') + (rnd() < 0.2 ? '\n...\n' : '\n');
      if (rnd() < 0.15) text = text.replace(/\n/g, '\r\n');
      if (compareParsers(`gen-${f}.yaml`, text)) taken++;
    }
    expect(taken).toBeGreaterThan(200);
  });

  it('falls back to the exact parser for what it does not reproduce', () => {
    const fallBack = (text: string) => fastParseText('f.yaml', text, new LineIndex(text), DEFAULT_PARSE_LIMITS) === undefined;
    expect(fallBack('a: 1\n')).toBe(false);
    expect(fallBack('a: &x 1\nb: *x\n')).toBe(true); // anchor and alias
    expect(fallBack('a: !!str 1\n')).toBe(false); // a standard tag: same value (its position comes from the exact parser)
    expect(fallBack('a: !custom 1\n')).toBe(true); // an unknown tag
    expect(fallBack('a:\n\tb: 1\n')).toBe(true); // a tab
    expect(fallBack('%YAML 1.2\n---\na: 1\n')).toBe(true); // a directive
    expect(fallBack('a: 1\na: 2\n')).toBe(true); // a duplicate key
    expect(fallBack('[a, b]: 1\n')).toBe(true); // a complex key
    expect(fallBack('~: 1\n')).toBe(true); // a null key
    expect(fallBack('# only a comment\n')).toBe(true); // no document
    expect(fallBack(`${'['.repeat(70)}${']'.repeat(70)}\n`)).toBe(true); // deeper than the limit
    expect(fallBack(Array.from({ length: 1001 }, (_, i) => `a: ${i}`).join('\n---\n'))).toBe(true); // more documents than the limit
    expect(fallBack('a: [1, 2\n')).toBe(true); // a syntax error
    expect(fallBack('--- a: 1\n')).toBe(true); // a mapping on the marker line: js-yaml takes it, yaml refuses it
  });
});

describe('the block subset reader (block-subset.ts), the first fast path', () => {
  const inSubset = (text: string) => parseBlockSubset(text, DEFAULT_PARSE_LIMITS.maxDepth, DEFAULT_PARSE_LIMITS.maxDocuments) !== undefined;

  it('takes 400 generated files of the subset, with the values and positions of the exact parser', () => {
    const rnd = mulberry32(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const scalars = [
      '12', '+7', '-0', '007', '0o17', '0x1F', '1_000', '1.5', '1.', '.5', '1e3', '-2.5E-3', '.inf', '-.Inf', '.NaN', 'nan', '~', 'null',
      'Null', 'NULL', 'true', 'True', 'FALSE', 'yes', 'off', '2026-11-26T10:00:00Z', 'plain words', 'a#b', 'x # comment', 'with:colon',
      'a - b', 'trailing   ', "'single ''quoted'''", '"double"', '"12"', "'true'", "'a: b # c'", '"x: y"', "'q'  # c", '""', "''",
      'ünïcödé', 'http://example.com/a?b=c', '-dash', '-1',
    ];
    const keys = ['name', 'kind', 'spec', 'server', 'vmName', 'frequency', 'x-y_z', 'a.b', 'k/v', '_u', 'yes', 'on'];
    const comment = (indent: string) => (rnd() < 0.08 ? `${indent}# a comment\n` : '') + (rnd() < 0.05 ? '\n' : '');
    /** A mapping at `indent`; its first key is written after `first` (a sequence item's `- `) when given. */
    const mapping = (depth: number, indent: string, first?: string): string => {
      const n = 1 + Math.floor(rnd() * 4);
      const used = new Set<string>();
      const lines: string[] = [];
      for (let i = 0; i < n; i++) {
        let k = pick(keys);
        while (used.has(k)) k = `${k}${i}`;
        used.add(k);
        const lead = i === 0 && first !== undefined ? first : `${comment(indent)}${indent}`;
        const r = rnd();
        if (depth < 4 && r < 0.25) lines.push(`${lead}${k}:${rnd() < 0.2 ? ' # trailing' : ''}\n${mapping(depth + 1, `${indent}  `)}`);
        else if (depth < 4 && r < 0.45) lines.push(`${lead}${k}:\n${sequence(depth + 1, rnd() < 0.5 ? indent : `${indent}  `)}`);
        else lines.push(`${lead}${k}: ${pick(scalars)}`);
      }
      return lines.join('\n');
    };
    const sequence = (depth: number, indent: string): string =>
      Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => {
        const r = rnd();
        const gap = rnd() < 0.2 ? '   ' : ' ';
        if (depth < 4 && r < 0.3) return mapping(depth + 1, `${indent} ${gap}`, `${indent}-${gap}`);
        if (depth < 4 && r < 0.4) return `${indent}-\n${mapping(depth + 1, `${indent}  `)}`;
        return `${indent}-${gap}${pick(scalars)}`;
      }).join('\n');
    for (let f = 0; f < 400; f++) {
      const docs = Array.from({ length: 1 + Math.floor(rnd() * 6) }, () => mapping(0, ''));
      const text = (rnd() < 0.3 ? '# head\n---\n' : '') + docs.join(rnd() < 0.5 ? '\n---\n' : '\n--- # next\n') + '\n';
      expect(inSubset(text), text).toBe(true);
      expect(compareParsers(`subset-${f}.yaml`, text)).toBe(true);
    }
  });

  it('takes most fixture and example files that are valid YAML', () => {
    const files = [...yamlFiles(join(REPO_ROOT, 'test/fixtures/manifests/valid')), ...yamlFiles(join(REPO_ROOT, 'examples'))];
    const taken = files.filter((f) => inSubset(readFileSync(f, 'utf8')));
    expect(taken.length).toBeGreaterThan(files.length / 2);
  });

  it('declines what it does not read, and the other paths still agree with the exact parser', () => {
    const outside = [
      'a: [1, 2]\n', 'a: {b: 1}\n', 'a: |\n  x\n', 'a: >-\n  x\n', 'a: &x 1\n', 'a: *x\n', 'a: !!str 1\n', 'a: "esc\\n"\n',
      'a: plain\n  continued\n', "a: 'multi\n  line'\n", 'a:\n', 'a:\nb: 1\n', 'a: 1\na: 2\n', '"a": 1\n', "'a': 1\n", '12: x\n',
      'true: x\n', 'a b: 1\n', 'a : 1\n', 'a: b: c\n', 'a: b:\n', '? a\n: 1\n', 'a:\n- - x\n', 'a:\n-\n', 'a: 1\n...\n',
      '--- a: 1\n', 'a: 1\n---\n', '---\n---\na: 1\n', 'a: 1\r\n', '- a\n- b\n', 'just a scalar\n', 'a:\n  b: 1\n c: 2\n',
      'a: 1\n  b: 2\n', '__proto__: 1\n', 'a: @x\n', 'a: `x`\n', 'a: ,x\n', 'a: - x\n', 'a: "x" y\n', "a: 'x' y\n", 'a: "open\n',
      '  a: 1\n',
    ];
    for (const text of outside) {
      expect(inSubset(text), JSON.stringify(text)).toBe(false);
      compareParsers('outside.yaml', text);
    }
  });
});
