/**
 * A parsed document's positions as plain data, for a document parsed in another thread (see
 * load-pool.ts): yaml's syntax tree cannot cross a thread, so the worker walks it once and sends,
 * for every path in the document, the offsets of its value and of its mapping key. `TableLocator`
 * answers `locate` from that table exactly as `DocumentLocator` answers from the tree: the tests
 * hold the two equal over the manifest corpus.
 *
 * Invariants:
 * - One entry per path that `DocumentLocator.locate` can reach: the path of every mapping value and
 *   sequence item, aliases followed (an entry's own range is the alias's, as the tree walk keeps it).
 * - `ranges` holds four numbers per entry, in the order of `pointers`: value start and end, key start
 *   and end; -1 where the tree has none (an empty value has no node range; a sequence item no key).
 */
import { isAlias, isMap, isScalar, isSeq, type Document, type Node as YamlNode } from 'yaml';
import type { DiagnosticPosition } from './diagnostics.ts';
import { DocumentLocator, type ManifestLocator } from './parse.ts';
import { toPointer, type LineIndex, type PathSegment } from './source.ts';

export interface PositionTable {
  /** The range of the document's content, where positions fall back to. */
  readonly root: readonly [number, number];
  readonly pointers: readonly string[];
  readonly ranges: readonly number[];
}

const NONE = -1;
const SCAN_LIMIT = 64;
/** Deeper than any manifest the parser lets through (its depth limit is 64): a guard for alias cycles. */
const MAX_WALK_DEPTH = 256;

function escapeSegment(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Walks a parsed document (without errors) into its table. */
export function positionTable(doc: Document.Parsed): PositionTable {
  const range = doc.contents?.range ?? doc.range;
  const pointers: string[] = [];
  const ranges: number[] = [];
  const add = (pointer: string, value: unknown, key: unknown): void => {
    pointers.push(pointer);
    const v = isNodeWithRange(value) ? value.range : undefined;
    const k = isNodeWithRange(key) ? key.range : undefined;
    ranges.push(v?.[0] ?? NONE, v?.[1] ?? NONE, k?.[0] ?? NONE, k?.[1] ?? NONE);
  };
  const walk = (node: unknown, pointer: string, depth: number): void => {
    if (depth > MAX_WALK_DEPTH) return;
    const target = isAlias(node) ? node.resolve(doc) : node;
    if (isMap(target)) {
      const seen = new Set<string>();
      for (const pair of target.items) {
        const name = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        // DocumentLocator takes a key's first pair (a document with duplicate keys never gets here).
        if (seen.has(name)) continue;
        seen.add(name);
        const child = `${pointer}/${escapeSegment(name)}`;
        add(child, pair.value, pair.key);
        if (pair.value !== null) walk(pair.value, child, depth + 1);
      }
    } else if (isSeq(target)) {
      target.items.forEach((item, i) => {
        const child = `${pointer}/${i}`;
        add(child, item, undefined);
        walk(item, child, depth + 1);
      });
    }
  };
  walk(doc.contents, '', 0);
  return { root: [range[0], range[1]], pointers, ranges };
}

function isNodeWithRange(v: unknown): v is YamlNode & { range: [number, number, number] } {
  return typeof v === 'object' && v !== null && 'range' in v && Array.isArray(v.range);
}

/** `DocumentLocator`'s answers, from a position table. */
export class TableLocator implements ManifestLocator {
  #index: Map<string, number> | undefined;

  constructor(
    readonly file: string,
    private readonly table: PositionTable,
    private readonly lines: LineIndex,
  ) {}

  span(start: number, end: number, pointer?: string): DiagnosticPosition {
    return DocumentLocator.spanIn(this.file, this.lines, start, end, pointer);
  }

  start(): DiagnosticPosition {
    return this.span(this.table.root[0], this.table.root[0], '');
  }

  /**
   * The entry of a path. Most documents have tens of paths and are located a few times, where a
   * scan beats building an index; a large one (a job set listing many servers) gets an index.
   */
  #find(pointer: string): number | undefined {
    const pointers = this.table.pointers;
    if (pointers.length <= SCAN_LIMIT) {
      const i = pointers.indexOf(pointer);
      return i < 0 ? undefined : i;
    }
    this.#index ??= new Map(pointers.map((p, i) => [p, i]));
    return this.#index.get(pointer);
  }

  /** See DocumentLocator.locate: the deepest part of `path` that exists, at its value or its key. */
  locate(path: readonly PathSegment[], part: 'key' | 'value' = 'value'): DiagnosticPosition {
    const pointer = toPointer(path);
    let entry: number | undefined;
    let prefix = '';
    for (const seg of path) {
      prefix += `/${escapeSegment(String(seg))}`;
      const i = this.#find(prefix);
      if (i === undefined) break;
      entry = i;
    }
    const r = this.table.ranges;
    if (entry === undefined) return this.span(this.table.root[0], this.table.root[1], pointer);
    const [vs, ve, ks, ke] = [r[entry * 4] ?? NONE, r[entry * 4 + 1] ?? NONE, r[entry * 4 + 2] ?? NONE, r[entry * 4 + 3] ?? NONE];
    const complete = this.table.pointers[entry] === pointer;
    const useKey = ks !== NONE && (part === 'key' || !complete || vs === NONE || vs === ve);
    if (useKey) return this.span(ks, ke, pointer);
    if (vs !== NONE) return this.span(vs, ve, pointer);
    return this.span(this.table.root[0], this.table.root[0], pointer);
  }
}
