// Manifests parsed in worker threads (src/manifest/load-pool.ts) give exactly what parsing on the
// main thread gives: the same diagnostics with the same positions, the same desired set. The
// workers run the real worker module (from source, through tsx), over real files.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isMap, isSeq, parseAllDocuments, type Node as YamlNode } from 'yaml';
import { loadManifests } from '../../src/manifest/load.ts';
import { poolSize, POOL_MIN_BYTES } from '../../src/manifest/load-pool.ts';
import { DocumentLocator } from '../../src/manifest/parse.ts';
import { positionTable, TableLocator } from '../../src/manifest/position-table.ts';
import { LineIndex, type PathSegment } from '../../src/manifest/source.ts';

const repo = path.resolve(import.meta.dirname, '../..');
const fixtures = path.join(repo, 'test/fixtures/manifests');

describe('manifests checked in worker threads', () => {
  // Few pools: a worker from source starts in a second or two (tsx compiles it).
  it.each([
    ['the valid fixtures', [path.join(fixtures, 'valid')]],
    ['the examples', [path.join(repo, 'examples/quickstart')]],
  ])('give the same desired set, with the same positions, as on the main thread: %s', async (_name, dirs) => {
    const [inline, pooled] = await Promise.all([loadManifests(dirs, { cwd: repo, workers: 0 }), loadManifests(dirs, { cwd: repo, workers: 2 })]);
    expect(pooled.desired).toBeDefined();
    expect(pooled.desired?.jobs.size).toBeGreaterThan(1);
    expect(pooled.desired).toEqual(inline.desired);
    expect(pooled.diagnostics).toEqual(inline.diagnostics);
    expect(pooled.summary).toEqual(inline.summary);
    expect(pooled.composed).toEqual(inline.composed);
    expect([...pooled.sources.keys()]).toEqual([...inline.sources.keys()]);
  });

  it('give the same diagnostics over the invalid corpus, cross-document ones included', async () => {
    const dir = path.join(fixtures, 'invalid');
    const [inline, pooled] = await Promise.all([loadManifests([dir], { cwd: repo, workers: 0 }), loadManifests([dir], { cwd: repo, workers: 3 })]);
    expect(pooled.diagnostics).toEqual(inline.diagnostics);
    expect(pooled.summary).toEqual(inline.summary);
    const crossDocument = pooled.diagnostics.filter((d) => d.code === 'SMSR-M050' || d.code === 'SMSR-M051');
    expect(crossDocument.length).toBeGreaterThan(0);
    for (const d of crossDocument) expect(d.position.line).toBeGreaterThan(0);
  });

  it('uses workers only for large sets, unless told', () => {
    const small = [{ file: 'a.yaml', content: 'x'.repeat(1000) }];
    const large = [{ file: 'a.yaml', content: 'x'.repeat(POOL_MIN_BYTES) }, { file: 'b.yaml', content: 'x' }];
    expect(poolSize(small)).toBe(0);
    expect(poolSize(large)).toBeGreaterThanOrEqual(1);
    expect(poolSize(large)).toBeLessThanOrEqual(2);
    expect(poolSize(small, 3)).toBe(1);
    expect(poolSize(large, 0)).toBe(0);
  });
});

/** Every path of a YAML node, and for each one a path one step past it that does not exist. */
function paths(node: unknown, at: PathSegment[] = [], out: PathSegment[][] = []): PathSegment[][] {
  out.push(at, [...at, 'no-such-key'], [...at, 7]);
  if (isMap(node)) for (const p of node.items) paths(p.value, [...at, String((p.key as YamlNode & { value?: unknown }).value ?? p.key)], out);
  else if (isSeq(node)) node.items.forEach((item, i) => paths(item, [...at, i], out));
  return out;
}

describe('TableLocator', () => {
  it('answers every path of every valid fixture as DocumentLocator does, at the value and at the key', () => {
    const dirs = [path.join(fixtures, 'valid'), path.join(repo, 'examples/quickstart'), path.join(repo, 'examples/waves')];
    let compared = 0;
    for (const dir of dirs) {
      for (const name of readdirSync(dir).filter((n) => /\.ya?ml$/.test(n))) {
        const text = readFileSync(path.join(dir, name), 'utf8').replace(/^\uFEFF/, '');
        const lines = new LineIndex(text);
        for (const doc of parseAllDocuments(text, { uniqueKeys: true, version: '1.2' })) {
          if (!('errors' in doc) || doc.errors.length > 0 || doc.contents === null) continue;
          const tree = new DocumentLocator(name, doc, lines);
          const table = new TableLocator(name, positionTable(doc), lines);
          expect(table.start()).toEqual(tree.start());
          for (const p of paths(doc.contents)) {
            expect(table.locate(p), `${name} ${p.join('.')}`).toEqual(tree.locate(p));
            expect(table.locate(p, 'key'), `${name} ${p.join('.')} (key)`).toEqual(tree.locate(p, 'key'));
            compared += 2;
          }
        }
      }
    }
    expect(compared).toBeGreaterThan(500);
  });

  it('follows aliases as the tree walk does, and places an empty value at its key', () => {
    const text = 'a: &x\n  b: 1\n  c:\nd: *x\ne: [1, {f: 2}]\n';
    const [doc] = parseAllDocuments(text, { version: '1.2' });
    if (doc === undefined || !('errors' in doc)) throw new Error('no document');
    const lines = new LineIndex(text);
    const tree = new DocumentLocator('t.yaml', doc, lines);
    const table = new TableLocator('t.yaml', positionTable(doc), lines);
    for (const p of [['d', 'b'], ['d'], ['a', 'c'], ['e', 1, 'f'], ['e', 1, 'g'], ['e', 5], ['zz', 'y']] as PathSegment[][]) {
      expect(table.locate(p), p.join('.')).toEqual(tree.locate(p));
    }
    expect(table.locate(['d', 'b'])).toMatchObject({ line: 2, pointer: '/d/b' });
    expect(table.locate(['a', 'c'])).toMatchObject({ line: 3, column: 3 });
  });

  it('answers a large document (indexed rather than scanned) as the tree does', () => {
    const text = `servers:\n${Array.from({ length: 60 }, (_, i) => `  - server: {vmName: vm-${i}}\n    frequency: ${i}\n`).join('')}`;
    const [doc] = parseAllDocuments(text, { version: '1.2' });
    if (doc === undefined || !('errors' in doc)) throw new Error('no document');
    const lines = new LineIndex(text);
    const tree = new DocumentLocator('big.yaml', doc, lines);
    const t = positionTable(doc);
    expect(t.pointers.length).toBeGreaterThan(64);
    const table = new TableLocator('big.yaml', t, lines);
    for (const p of paths(doc.contents)) expect(table.locate(p, 'key'), p.join('.')).toEqual(tree.locate(p, 'key'));
    expect(table.locate(['servers', 59, 'frequency'])).toMatchObject({ line: 121, pointer: '/servers/59/frequency' });
  });
});
