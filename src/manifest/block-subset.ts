/**
 * The fastest manifest parse path: a line-by-line reader for the block YAML nearly every manifest
 * is written in, ~5x faster than js-yaml with its parse events (bench/validate.ts).
 *
 * It reads only this subset, and answers undefined for anything else (the caller then uses js-yaml,
 * then parse.ts; test/unit/manifest-fast-parse.test.ts holds all three to the same values and
 * positions):
 * - documents separated by `---` lines (a `---` may carry a comment), each a block mapping;
 * - block mappings whose keys are plain words (`[A-Za-z_][A-Za-z0-9_./-]*`, not a null or bool),
 *   each on its own line as `key: value` or `key:` followed by a more indented block, or by a
 *   sequence at the key's own indentation;
 * - block sequences of `- value`, `- key: value` (a mapping inside the item) or `-` followed by a
 *   more indented block;
 * - scalars on one line: plain (resolved by the core schema, core-scalars.ts; ended by ` #`),
 *   single-quoted, and double-quoted without escapes;
 * - comment lines and blank lines anywhere.
 * Everything else leaves the subset: flow collections, block scalars, anchors, aliases, tags,
 * multi-line scalars, escapes, empty values, duplicate keys, quoted or complex keys, `...`, CR,
 * empty documents, and nesting or document counts over the limits.
 */
import { resolvePlain } from './core-scalars.ts';
import type { PosNode } from './fast-parse.ts';

/** A line with content: where it starts, its indentation, and the content after it. */
interface Line {
  /** Offset of the content's first character. */
  readonly at: number;
  readonly indent: number;
  readonly content: string;
}

class OutOfSubset extends Error {}

function out(): never {
  throw new OutOfSubset();
}

const KEY_LINE = /^([A-Za-z_][A-Za-z0-9_./-]*):(?:$| +(.*)$)/;
/** The keys KEY_LINE takes that the core schema does not read as strings (resolvePlain: null and bool). */
const NON_STRING_KEY = /^(?:[Nn]ull|NULL|[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
/** Starts a scalar this reader does not take: flow, block scalar, anchor, alias, tag, directive, reserved. */
const OTHER_START = /^(?:[[\]{}|>&*!%@`,]|[?:](?: |$))/;

/** Splits `text` into documents of content lines; undefined outside the subset. */
function documentsOf(text: string): Line[][] | undefined {
  if (text.includes('\r')) return undefined;
  const docs: Line[][] = [];
  let current: Line[] = [];
  let sawMarker = false;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    let i = start;
    while (i < end && text.charCodeAt(i) === 32) i++;
    if (i < end && text.charCodeAt(i) !== 35 /* # */) {
      const indent = i - start;
      const content = text.slice(i, end);
      if (indent === 0 && (content.startsWith('---') || content.startsWith('...'))) {
        if (!/^---(?: +(?:#.*)?)?$/.test(content)) return undefined; // content after a marker, `...`, `----`
        // Content before the first marker is the first document; a marker first opens it.
        if (current.length > 0) docs.push(current);
        else if (sawMarker || docs.length > 0) return undefined; // an empty document
        current = [];
        sawMarker = true;
      } else {
        current.push({ at: i, indent, content });
      }
    }
    start = end + 1;
  }
  if (current.length > 0) docs.push(current);
  else if (sawMarker) return undefined; // a trailing marker opens an empty document
  return docs;
}

/** A scalar written on one line, with what may follow it (spaces, a comment). */
function scalar(s: string, at: number): PosNode {
  const c = s.charCodeAt(0);
  if (c === 39 /* ' */) {
    let i = 1;
    let value = '';
    for (;;) {
      const q = s.indexOf("'", i);
      if (q === -1) out();
      value += s.slice(i, q);
      if (s.charCodeAt(q + 1) === 39) {
        value += "'";
        i = q + 2;
        continue;
      }
      afterQuoted(s, q + 1);
      return { start: at, value, exact: true };
    }
  }
  if (c === 34 /* " */) {
    const q = s.indexOf('"', 1);
    if (q === -1) out();
    const value = s.slice(1, q);
    if (value.includes('\\')) out();
    afterQuoted(s, q + 1);
    return { start: at, value, exact: true };
  }
  if (OTHER_START.test(s) || (c === 45 /* - */ && (s.length === 1 || s.charCodeAt(1) === 32))) out();
  const hash = s.indexOf(' #');
  const text = (hash === -1 ? s : s.slice(0, hash)).trimEnd();
  if (text.includes(': ') || text.endsWith(':')) out();
  return { start: at, value: resolvePlain(text), exact: true };
}

/** After a closing quote: nothing, or spaces and a comment. */
function afterQuoted(s: string, from: number): void {
  const rest = s.slice(from);
  if (rest !== '' && !/^ +(#.*)?$/.test(rest)) out();
}

class Reader {
  private i = 0;

  constructor(
    private readonly lines: Line[],
    /** Well within parse.ts's own limit, whose depth counts differ a little (a deeper file is left to it). */
    private readonly maxDepth: number,
  ) {}

  document(): PosNode {
    const first = this.lines[0] as Line;
    if (first.indent !== 0 || first.content.startsWith('-')) out();
    const root = this.mapping(0, 1);
    if (this.i < this.lines.length) out();
    return root;
  }

  private peek(): Line | undefined {
    return this.lines[this.i];
  }

  /** The block that follows a `key:` or a `-` at `indent`: more indented, or (after a key) a sequence at the same indentation. */
  private nested(indent: number, depth: number, afterKey: boolean): PosNode {
    const next = this.peek();
    if (next === undefined) out();
    const isItem = next.content === '-' || next.content.startsWith('- ');
    if (next.indent > indent) return isItem ? this.sequence(next.indent, depth) : this.mapping(next.indent, depth);
    if (afterKey && next.indent === indent && isItem) return this.sequence(indent, depth);
    return out(); // an empty value
  }

  private mapping(indent: number, depth: number): PosNode {
    if (depth > this.maxDepth) out();
    const value: Record<string, unknown> = {};
    const pairs = new Map<string, { key: PosNode; value: PosNode | undefined }>();
    const start = (this.peek() as Line).at;
    for (let line = this.peek(); line !== undefined && line.indent === indent; line = this.peek()) {
      const m = KEY_LINE.exec(line.content);
      if (m === null) out();
      const key = m[1] as string;
      if (pairs.has(key) || key === '__proto__' || NON_STRING_KEY.test(key)) out();
      this.i++;
      const keyNode: PosNode = { start: line.at, value: key, exact: true };
      const rest = m[2];
      let node: PosNode;
      if (rest === undefined || rest === '' || rest.startsWith('#')) {
        node = this.nested(indent, depth + 1, true);
      } else {
        node = scalar(rest, line.at + line.content.length - rest.length);
        const next = this.peek();
        if (next !== undefined && next.indent > indent) out(); // a continued scalar, or bad indentation
      }
      value[key] = node.value;
      pairs.set(key, { key: keyNode, value: node });
    }
    const next = this.peek();
    if (next !== undefined && next.indent > indent) out();
    return { start, value, pairs, exact: true };
  }

  private sequence(indent: number, depth: number): PosNode {
    if (depth > this.maxDepth) out();
    const value: unknown[] = [];
    const items: PosNode[] = [];
    const start = (this.peek() as Line).at;
    for (let line = this.peek(); line !== undefined && line.indent === indent && (line.content === '-' || line.content.startsWith('- ')); line = this.peek()) {
      let node: PosNode;
      if (line.content === '-') {
        this.i++;
        node = this.nested(indent, depth + 1, false);
      } else {
        let skip = 2;
        while (line.content.charCodeAt(skip) === 32) skip++;
        const rest = line.content.slice(skip);
        if (rest === '' || rest.startsWith('#')) {
          this.i++;
          node = this.nested(indent, depth + 1, false);
        } else if (KEY_LINE.test(rest)) {
          // `- key: value`: a mapping whose keys are at the column of this one.
          this.lines[this.i] = { at: line.at + skip, indent: indent + skip, content: rest };
          node = this.mapping(indent + skip, depth + 1);
        } else {
          this.i++;
          node = scalar(rest, line.at + skip);
          const next = this.peek();
          if (next !== undefined && next.indent > indent) out();
        }
      }
      value.push(node.value);
      items.push(node);
    }
    const next = this.peek();
    if (next !== undefined && next.indent > indent) out();
    return { start, value, items, exact: true };
  }
}

/**
 * The documents of `text` (their values and position trees), when it is written in the subset
 * (module comment); undefined otherwise.
 */
export function parseBlockSubset(text: string, maxDepth: number, maxDocuments: number): PosNode[] | undefined {
  const docs = documentsOf(text);
  if (docs === undefined || docs.length === 0 || docs.length > maxDocuments) return undefined;
  try {
    return docs.map((lines) => new Reader(lines, Math.floor(maxDepth / 2)).document());
  } catch (err) {
    if (err instanceof OutOfSubset) return undefined;
    throw err;
  }
}
