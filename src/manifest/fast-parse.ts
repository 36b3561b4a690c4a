/**
 * The fast paths of the manifest parser, for files that are plain, valid YAML (nearly all of them).
 *
 * `yaml` (parse.ts) keeps a full syntax tree with every node's range, which makes exact diagnostics
 * possible and costs ~65 us per manifest document: 0.65 s for 10,000 documents, most of a plan's
 * CPU at that scale. js-yaml builds the values only, ~10x faster. This module loads a file with
 * js-yaml and keeps, from its parse events, the start of every node: enough for the source
 * positions a clean DesiredSet carries (a document's start, a selector's key).
 *
 * It is an optimisation only; parse.ts stays the authority:
 * - Scalars resolve by yaml's own core-schema tests (null, bool, int, float, exactly as
 *   `yaml/dist/schema/core`), so both parsers give the same values.
 * - Anything the fast path does not reproduce exactly gives `undefined`, and the caller uses
 *   parse.ts for that file: any js-yaml error (syntax, duplicate key, unknown tag, an alias), an
 *   anchor, a tab or a `%` directive anywhere, content after a `---` marker, a key that is not a
 *   string/number/bool, nesting deeper than the limit, more documents than the limit, or a file
 *   without documents.
 * - Files written in the plain block subset most manifests use are read by block-subset.ts, which
 *   is faster still; js-yaml reads the others.
 * - check.ts uses the fast results only when the whole manifest set gives no diagnostic at all;
 *   otherwise it runs every file through parse.ts again, so every diagnostic (and its end position)
 *   comes from one parser.
 * - A position the fast tree cannot give with certainty (a structure whose events do not match the
 *   value js-yaml built, a node with a tag) is taken from parse.ts, parsing that file on demand.
 * test/unit/manifest-fast-parse.test.ts compares both parsers over the fixtures, the examples and
 * generated documents: same values, same positions, same DesiredSet.
 */
import jsyaml from 'js-yaml';
import type { DiagnosticPosition } from './diagnostics.ts';
import { DocumentLocator, parseManifest, type ManifestLocator, type ParseLimits, type ParsedDocument, type ParsedFile } from './parse.ts';
import { toPointer, type LineIndex, type PathSegment } from './source.ts';
import { parseBlockSubset } from './block-subset.ts';
import { CORE_SCALARS } from './core-scalars.ts';

/** The parts of js-yaml's loader state the listener reads (its typings list fewer). */
interface LoaderState {
  readonly position: number;
  readonly result: unknown;
  readonly kind: string | null;
  readonly anchor: string | null;
}

/** One node of a document, from its parse events. */
export interface PosNode {
  /** Offset of the node's first character. */
  readonly start: number;
  readonly value: unknown;
  /** For a mapping: its key nodes and value nodes, by key; for a sequence: its items. */
  readonly pairs?: ReadonlyMap<string, { readonly key: PosNode; readonly value: PosNode | undefined }>;
  readonly items?: readonly PosNode[];
  /** False when the events did not match the value built (the position is then taken from parse.ts). */
  readonly exact: boolean;
}

interface OpenFrame {
  readonly open: number;
  readonly kids: PosNode[];
  /** Where each kid ended (js-yaml's position at its close). */
  readonly ends: number[];
}

class Bail extends Error {}

/** A core-schema type: one per tag (js-yaml keeps the last type of a tag), trying yaml's tests in order. */
const core = (tag: string, forms: readonly (readonly [RegExp, (s: string) => unknown])[]): jsyaml.Type => {
  const formOf = (s: unknown) => (typeof s === 'string' ? forms.find(([test]) => test.test(s)) : undefined);
  return new jsyaml.Type(`tag:yaml.org,2002:${tag}`, {
    kind: 'scalar',
    resolve: (s: unknown) => formOf(s) !== undefined,
    construct: (s: string) => (formOf(s) as readonly [RegExp, (s: string) => unknown])[1](s),
  });
};

/** YAML 1.2 core schema, by yaml's tests (core-scalars.ts). */
const CORE_SCHEMA = jsyaml.FAILSAFE_SCHEMA.extend({ implicit: CORE_SCALARS.map(([tag, forms]) => core(tag, forms)) });

/** Skips whitespace, line breaks, comments and a `---` marker: where a node's content starts. */
function contentStart(text: string, from: number): number {
  let i = from;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 10 || c === 13) i++;
    else if (c === 35 && (i === 0 || isBlank(text.charCodeAt(i - 1)))) {
      const nl = text.indexOf('\n', i);
      i = nl === -1 ? text.length : nl;
    } else if (c === 45 && text.startsWith('---', i) && (i === 0 || text.charCodeAt(i - 1) === 10) && isBlankOrEnd(text, i + 3)) i += 3;
    else return i;
  }
}

function isBlank(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

function isBlankOrEnd(text: string, i: number): boolean {
  return i >= text.length || isBlank(text.charCodeAt(i));
}

/** True when the next non-blank character after `end` is ':' (the node was a mapping key). */
function isKey(text: string, end: number): boolean {
  let i = end;
  while (i < text.length && isBlank(text.charCodeAt(i))) i++;
  return text.charCodeAt(i) === 58;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A mapping's or sequence's node from the nodes its events gave, checked against the value built. */
function collectionNode(text: string, start: number, value: unknown, kids: readonly PosNode[], ends: readonly number[]): PosNode {
  if (Array.isArray(value)) {
    return { start, value, items: kids, exact: kids.length === value.length && kids.every((k, i) => k.value === value[i]) };
  }
  if (!isPlainObject(value)) return { start, value, exact: false };
  const pairs = new Map<string, { key: PosNode; value: PosNode | undefined }>();
  let exact = true;
  let pending: PosNode | undefined;
  kids.forEach((kid, i) => {
    if (isKey(text, ends[i] as number)) {
      // A key (the one before it, if any, had an empty value).
      const k = kid.value;
      if (typeof k !== 'string' && typeof k !== 'number' && typeof k !== 'boolean') throw new Bail('a key that is not a scalar');
      pending = kid;
      pairs.set(String(k), { key: kid, value: undefined });
      return;
    }
    if (pending !== undefined) {
      const pair = pairs.get(String(pending.value));
      if (pair) pairs.set(String(pending.value), { key: pair.key, value: kid });
      pending = undefined;
      return;
    }
    exact = false;
  });
  const keys = Object.keys(value);
  if (keys.length !== pairs.size || !keys.every((k) => pairs.has(k))) exact = false;
  for (const [k, p] of pairs) if (p.value !== undefined && p.value.value !== value[k]) exact = false;
  return { start, value, pairs, exact };
}

/**
 * Loads `text` with js-yaml and returns its documents with positions, or undefined when parse.ts
 * must parse it (see the module comment).
 */
export function fastParseText(file: string, text: string, lines: LineIndex, limits: ParseLimits): ParsedFile | undefined {
  // Content on a `---` line: yaml refuses a collection there, js-yaml takes it; parse.ts decides.
  if (text.includes('\t') || /^%/m.test(text) || /^--- *[^\s#]/m.test(text)) return undefined;
  let slow: ParsedFile | undefined;
  const slowLocator = (ordinal: number): ManifestLocator | undefined => {
    slow ??= parseManifest({ file, content: text }, limits);
    return slow.documents[ordinal]?.locator;
  };
  const block = parseBlockSubset(text, limits.maxDepth, limits.maxDocuments);
  if (block !== undefined) {
    const documents = block.map((root, index) => ({ file, index, value: root.value, locator: new FastLocator(file, lines, root, () => slowLocator(index)) }));
    return { file, lines, documents, diagnostics: [] };
  }
  const roots: PosNode[] = [];
  const stack: OpenFrame[] = [];
  let values: unknown[];
  try {
    values = jsyaml.loadAll(text, null, {
      schema: CORE_SCHEMA,
      // js-yaml counts every node's depth; a collection depth within the limit is within this.
      maxDepth: limits.maxDepth,
      listener(event, raw) {
        const state = raw as unknown as LoaderState;
        if (event === 'open') {
          stack.push({ open: state.position, kids: [], ends: [] });
          return;
        }
        if (state.anchor !== null) throw new Bail('an anchor');
        const frame = stack.pop() as OpenFrame;
        if (state.kind === null && state.result === null) return; // no node here (an empty attempt)
        const start = contentStart(text, frame.open);
        const value = state.result;
        const node: PosNode =
          state.kind === 'mapping' || state.kind === 'sequence'
            ? collectionNode(text, start, value, frame.kids, frame.ends)
            : { start, value, exact: text.charCodeAt(start) !== 33 /* '!': a tag; yaml's range may differ */ };
        const parent = stack.at(-1);
        if (parent) {
          parent.kids.push(node);
          parent.ends.push(state.position);
        } else {
          roots.push(node);
        }
      },
    } as jsyaml.LoadOptions & { maxDepth: number });
  } catch {
    return undefined;
  }
  const nonEmpty = values.filter((v) => v !== null && v !== undefined);
  if (nonEmpty.length === 0 || values.length > limits.maxDocuments) return undefined;
  const documents: ParsedDocument[] = [];
  let ordinal = 0;
  let nextRoot = 0;
  values.forEach((value, index) => {
    if (value === null || value === undefined) return;
    // Roots close in document order; a document's root is the next one holding its value.
    while (nextRoot < roots.length && roots[nextRoot]?.value !== value) nextRoot++;
    const root = roots[nextRoot++];
    const n = ordinal++;
    documents.push({ file, index, value, locator: new FastLocator(file, lines, root, () => slowLocator(n)) });
  });
  return { file, lines, documents, diagnostics: [] };
}

/** Positions from the fast tree; what it cannot answer exactly comes from parse.ts's locator. */
class FastLocator implements ManifestLocator {
  constructor(
    readonly file: string,
    private readonly lines: LineIndex,
    private readonly root: PosNode | undefined,
    private readonly exactLocator: () => ManifestLocator | undefined,
  ) {}

  span(start: number, end: number, pointer?: string): DiagnosticPosition {
    return DocumentLocator.spanIn(this.file, this.lines, start, end, pointer);
  }

  start(): DiagnosticPosition {
    if (this.root?.exact) return this.span(this.root.start, this.root.start, '');
    return this.exactLocator()?.start() ?? { file: this.file, line: 1, column: 1, pointer: '' };
  }

  locate(path: readonly PathSegment[], part: 'key' | 'value' = 'value'): DiagnosticPosition {
    let node = this.root;
    let key: PosNode | undefined;
    for (const seg of path) {
      if (node === undefined || !node.exact) return this.fallback(path, part);
      if (node.pairs) {
        const pair = node.pairs.get(String(seg));
        if (pair === undefined) return this.fallback(path, part);
        key = pair.key;
        node = pair.value;
      } else if (node.items) {
        key = undefined;
        node = node.items[Number(seg)];
      } else {
        return this.fallback(path, part);
      }
    }
    const pointer = toPointer(path);
    if (part === 'key' && key?.exact) return this.span(key.start, key.start, pointer);
    // A value: only a non-empty one whose node is known (an empty one is shown at its key, by parse.ts).
    if (part === 'value' && node?.exact && node.value !== null && (path.length === 0 || key !== undefined || typeof path.at(-1) === 'number')) {
      return this.span(node.start, node.start, pointer);
    }
    return this.fallback(path, part);
  }

  private fallback(path: readonly PathSegment[], part: 'key' | 'value'): DiagnosticPosition {
    const exact = this.exactLocator();
    if (exact) return exact.locate(path, part);
    return { ...this.start(), pointer: toPointer(path) };
  }
}
