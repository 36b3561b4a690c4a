/**
 * YAML -> JavaScript values, keeping every node's source range so later stages can point at
 * line:column. Pure: it takes the file's bytes (or text), never touches the file system.
 *
 * Hostile input is bounded before it can cost much:
 * - size: more than `maxFileBytes` is refused before decoding;
 * - binary: NUL bytes or invalid UTF-8 are refused (a UTF-8 BOM is accepted and dropped);
 * - nesting: the CST parser's stack is checked after every lexeme, so a deep `[[[[...` stops at
 *   depth `maxDepth` + 1 instead of reaching yaml's recursive composer;
 * - documents: parsing stops at document `maxDocuments` + 1;
 * - aliases: yaml's `maxAliasCount` stops an alias bomb at the first expansion over the budget.
 * In each case no token past the decision is read (`ParsedFile.composed` counts what was composed),
 * and line positions are found lazily (LineIndex), so the cost is bounded by where the report is.
 *
 * Invariants of a ParsedFile: `documents` holds, in file order, exactly the documents that parsed
 * without YAML errors and are not empty; each has its 0-based index in the file. A document with
 * YAML errors gives at least one diagnostic with a position (one per line: the first error of a
 * line, since the others are usually its consequences). Duplicate keys are errors (uniqueKeys).
 * A file with no document at all gives one warning (SMSR-M016).
 */
import {
  Composer,
  Lexer,
  Parser,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  visit,
  type CST,
  type Document,
  type Node as YamlNode,
  type Pair,
  type YAMLError,
} from 'yaml';
import { diagnostic, type Diagnostic, type DiagnosticPosition } from './diagnostics.ts';
import { LineIndex, toPointer, type PathSegment } from './source.ts';

export interface ParseLimits {
  /** Largest file accepted, in bytes. */
  readonly maxFileBytes: number;
  /** Most documents accepted in one file. */
  readonly maxDocuments: number;
  /** Deepest nesting of collections (mappings and sequences) accepted; the document's root is depth 1. */
  readonly maxDepth: number;
  /** yaml's alias-expansion budget per document (`maxAliasCount`). */
  readonly maxAliasCount: number;
}

export const DEFAULT_PARSE_LIMITS: ParseLimits = {
  maxFileBytes: 10 * 1024 * 1024,
  maxDocuments: 1000,
  maxDepth: 64,
  maxAliasCount: 1000,
};

/** One input file: a display name (as diagnostics print it) and its content. */
export interface ManifestSource {
  readonly file: string;
  readonly content: Uint8Array | string;
  /** The file's size in bytes, when the reader left a file over the size limit unread (content empty). */
  readonly byteLength?: number;
}

/** Positions inside one parsed document (DocumentLocator). */
export interface ManifestLocator {
  readonly file: string;
  /** The span of a range of offsets, as a position. */
  span(start: number, end: number, pointer?: string): DiagnosticPosition;
  /** Where the document's content starts. */
  start(): DiagnosticPosition;
  /** The position of the value at `path` (or, with part 'key', of its mapping key); see DocumentLocator. */
  locate(path: readonly PathSegment[], part?: 'key' | 'value'): DiagnosticPosition;
}

/** Positions inside one parsed document, from yaml's syntax tree. */
export class DocumentLocator implements ManifestLocator {
  constructor(
    readonly file: string,
    /** The syntax tree (position-table.ts walks it for a document parsed in a worker thread). */
    readonly doc: Document.Parsed,
    private readonly lines: LineIndex,
  ) {}

  /** The span of a range of offsets, as a position. */
  span(start: number, end: number, pointer?: string): DiagnosticPosition {
    return DocumentLocator.spanIn(this.file, this.lines, start, end, pointer);
  }

  /** The span of a range of offsets of a file, as a position. */
  static spanIn(file: string, lines: LineIndex, start: number, end: number, pointer?: string): DiagnosticPosition {
    const s = lines.position(start);
    const e = end > start ? lines.position(end) : s;
    if (pointer === undefined) return { file, line: s.line, column: s.column, endLine: e.line, endColumn: e.column };
    return { file, line: s.line, column: s.column, endLine: e.line, endColumn: e.column, pointer };
  }

  /** Where the document's content starts. */
  start(): DiagnosticPosition {
    const range = this.doc.contents?.range ?? this.doc.range;
    return this.span(range[0], range[0], '');
  }

  /**
   * The position of the value at `path` (or, with part 'key', of its mapping key). When the path
   * does not exist in full, the position of the deepest ancestor that does, shown at its key when it
   * is a mapping value. An empty value (`frequency:`) is shown at its key.
   */
  locate(path: readonly PathSegment[], part: 'key' | 'value' = 'value'): DiagnosticPosition {
    const pointer = toPointer(path);
    let node: YamlNode | null = this.doc.contents;
    let pair: Pair<unknown, unknown> | undefined;
    let found = 0;
    for (const seg of path) {
      if (node !== null && isAlias(node)) node = node.resolve(this.doc) ?? null;
      if (node !== null && isMap(node)) {
        const p: Pair<unknown, unknown> | undefined = node.items.find((it) => keyText(it.key) === String(seg));
        if (p === undefined) break;
        pair = p;
        node = isNodeLike(p.value) ? p.value : null;
      } else if (node !== null && isSeq(node)) {
        const item: unknown = node.items[Number(seg)];
        if (!isNodeLike(item)) break;
        pair = undefined;
        node = item;
      } else {
        break;
      }
      found++;
    }
    const complete = found === path.length;
    const keyNode = pair !== undefined && isNodeLike(pair.key) ? pair.key : undefined;
    const useKey = keyNode?.range && (part === 'key' || !complete || node === null || !node.range || node.range[0] === node.range[1]);
    if (useKey && keyNode?.range) return this.span(keyNode.range[0], keyNode.range[1], pointer);
    if (node?.range) return this.span(node.range[0], node.range[1], pointer);
    const range = this.doc.contents?.range ?? this.doc.range;
    return this.span(range[0], range[0], pointer);
  }
}

function isNodeLike(v: unknown): v is YamlNode {
  return typeof v === 'object' && v !== null && (isScalar(v) || isMap(v) || isSeq(v) || isAlias(v));
}

function keyText(key: unknown): string {
  if (isScalar(key)) return String(key.value);
  return String(key);
}

export interface ParsedDocument {
  readonly file: string;
  /** 0-based index of the document in its file (counting empty documents). */
  readonly index: number;
  /** The document as plain JavaScript (aliases expanded). */
  readonly value: unknown;
  readonly locator: ManifestLocator;
}

export interface ParsedFile {
  readonly file: string;
  /** The decoded text (BOM dropped), or undefined when the file could not be decoded. */
  readonly lines: LineIndex | undefined;
  readonly documents: readonly ParsedDocument[];
  readonly diagnostics: readonly Diagnostic[];
  /** Documents composed (empty ones included): the work done, which stops where the file is decided. */
  readonly composed: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** The file's text (BOM dropped), or the diagnostic that says why it is not read as text. */
export function decodeSource(source: ManifestSource, limits: ParseLimits): string | Diagnostic {
  const { file, content } = source;
  const size = source.byteLength ?? (typeof content === 'string' ? content.length : content.byteLength);
  if (size > limits.maxFileBytes) {
    return diagnostic('SMSR-M004', `file is ${formatBytes(size)}, more than the ${formatBytes(limits.maxFileBytes)} limit`, { file }, {
      hint: 'split the manifests into several files',
    });
  }
  let text: string;
  if (typeof content === 'string') {
    text = content.charCodeAt(0) === 0xfeff ? content.slice(1) : content;
  } else {
    if (content.indexOf(0) !== -1) return notText(file, 'it contains NUL bytes');
    try {
      text = utf8.decode(content);
    } catch {
      return notText(file, 'it is not valid UTF-8');
    }
  }
  if (text.indexOf('\0') !== -1) return notText(file, 'it contains NUL characters');
  return text;
}

function notText(file: string, why: string): Diagnostic {
  return diagnostic('SMSR-M005', `not a text file: ${why}`, { file }, { hint: 'manifests are YAML text in UTF-8; is this the right path?' });
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(n % (1024 * 1024) === 0 ? 0 : 1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(n % 1024 === 0 ? 0 : 1)} KiB`;
  return `${n} bytes`;
}

function isCollectionToken(t: CST.Token): boolean {
  return t.type === 'block-map' || t.type === 'block-seq' || t.type === 'flow-collection';
}

/**
 * Parses one file into documents and diagnostics. Never throws on bad input.
 *
 * Documents are composed one at a time as the lexer reaches them, and each is judged (YAML errors,
 * alias expansion) as soon as it is complete. Once the file is decided (the document limit, the
 * depth limit or an alias bomb), no further token is pulled: the work done is bounded by where the
 * report is, not by the size of the file. `composed` counts the documents composed.
 */
export function parseManifest(source: ManifestSource, limits: ParseLimits = DEFAULT_PARSE_LIMITS): ParsedFile {
  const { file } = source;
  const decoded = decodeSource(source, limits);
  if (typeof decoded !== 'string') return { file, lines: undefined, documents: [], diagnostics: [decoded], composed: 0 };
  const lines = new LineIndex(decoded);
  const state: FileParse = { file, lines, limits, documents: [], diagnostics: [], composed: 0, stopped: false };
  const at = atOffset(state);
  const lexer = new Lexer();
  const parser = new Parser();
  const composer = new Composer({ uniqueKeys: true, version: '1.2', schema: 'core' });
  let documentTokens = 0;
  // The stack holds the document, the open collections and at most one scalar.
  const stackAlarm = limits.maxDepth + 2;

  lexing: for (const lexeme of lexer.lex(decoded)) {
    for (const token of parser.next(lexeme)) {
      if (token.type === 'document' && ++documentTokens > limits.maxDocuments) {
        stop(state, diagnostic('SMSR-M013', `more than ${limits.maxDocuments} documents in one file`, at(token.offset), {
          hint: 'split the manifests into several files',
        }));
        break lexing;
      }
      for (const doc of composer.next(token)) if (!judgeDocument(state, doc)) break lexing;
    }
    if (parser.stack.length > stackAlarm) {
      const culprit = parser.stack.filter(isCollectionToken)[limits.maxDepth];
      if (culprit !== undefined) {
        stop(state, diagnostic('SMSR-M014', `collections nested more than ${limits.maxDepth} deep`, at(culprit.offset), {
          hint: 'manifests nest a few levels only; this looks generated or corrupted',
        }));
        break lexing;
      }
    }
  }
  if (!state.stopped) {
    finish: {
      for (const token of parser.end()) for (const doc of composer.next(token)) if (!judgeDocument(state, doc)) break finish;
      for (const doc of composer.end()) if (!judgeDocument(state, doc)) break finish;
      for (const e of composer.streamInfo().errors) state.diagnostics.push(yamlErrorDiagnostic(e, file, at, undefined));
    }
  } else if (state.stopped === 'stream') {
    // Stopped by a limit of the token stream: the document the composer holds was complete before
    // it. (After an alias bomb, the composer still holds the bomb itself: nothing more to judge.)
    for (const doc of composer.end()) if (!judgeDocument(state, doc)) break;
  }

  if (state.documents.length === 0 && state.diagnostics.length === 0) {
    state.diagnostics.push(
      diagnostic('SMSR-M016', 'file holds no documents', { file, line: 1, column: 1 }, {
        hint: 'an empty file declares nothing; remove it, or add a document',
      }),
    );
  }
  return { file, lines, documents: state.documents, diagnostics: state.diagnostics, composed: state.composed };
}

/** What parseManifest has found so far in one file. */
interface FileParse {
  readonly file: string;
  readonly lines: LineIndex;
  readonly limits: ParseLimits;
  readonly documents: ParsedDocument[];
  readonly diagnostics: Diagnostic[];
  composed: number;
  /**
   * Set once the file is decided, and by what: a limit of the token stream, or a composed document
   * (an alias bomb). No further token is pulled.
   */
  stopped: false | 'stream' | 'document';
}

function atOffset(state: FileParse): (offset: number) => DiagnosticPosition {
  return (offset) => {
    const p = state.lines.position(offset);
    return { file: state.file, line: p.line, column: p.column };
  };
}

function stop(state: FileParse, d: Diagnostic, by: 'stream' | 'document' = 'stream'): void {
  state.diagnostics.push(d);
  state.stopped = by;
}

/**
 * Judges one composed document: its YAML warnings and errors, then its value. Returns false when
 * the file is decided by it (an alias bomb), so the caller stops pulling tokens.
 */
function judgeDocument(state: FileParse, doc: Document.Parsed): boolean {
  const index = state.composed++;
  const at = atOffset(state);
  for (const w of doc.warnings) state.diagnostics.push(diagnostic('SMSR-M018', w.message, at(w.pos[0])));
  if (doc.errors.length > 0) {
    // One diagnostic per line: yaml often reports one mistake as several errors (a tab, then the
    // odd structure it causes), and the first is the one to fix.
    const seen = new Set<number>();
    for (const e of doc.errors) {
      const d = yamlErrorDiagnostic(e, state.file, at, doc);
      if (seen.has(d.position.line ?? 0)) continue;
      seen.add(d.position.line ?? 0);
      state.diagnostics.push(d);
    }
    return true;
  }
  if (doc.contents === null) return true;
  const locator = new DocumentLocator(state.file, doc, state.lines);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: state.limits.maxAliasCount });
  } catch (err) {
    const d = aliasDiagnostic(err, doc, locator);
    if (d.code !== 'SMSR-M015') {
      state.diagnostics.push(d);
      return true;
    }
    stop(state, d, 'document');
    return false;
  }
  if (value !== null && value !== undefined) state.documents.push({ file: state.file, index, value, locator });
  return true;
}

function yamlErrorDiagnostic(
  e: YAMLError,
  file: string,
  at: (offset: number) => DiagnosticPosition,
  doc: Document.Parsed | undefined,
): Diagnostic {
  const start = at(e.pos[0]);
  const end = at(Math.max(e.pos[0], e.pos[1]));
  const pos: DiagnosticPosition = end.line === start.line ? { ...start, endLine: end.line, endColumn: end.column } : start;
  switch (e.code) {
    case 'TAB_AS_INDENT':
      return diagnostic('SMSR-M011', 'tab character used for indentation', pos, { hint: 'YAML indents with spaces only: replace the tab with spaces' });
    case 'DUPLICATE_KEY': {
      const dup = doc === undefined ? undefined : findDuplicate(doc, e.pos[0]);
      const name = dup?.key ?? 'key';
      const keyPos = dup === undefined ? pos : { ...start, endLine: start.line, endColumn: (start.column ?? 1) + name.length };
      return diagnostic('SMSR-M012', dup ? `duplicate key "${name}" in the same mapping` : 'duplicate key in the same mapping', keyPos, {
        hint: 'YAML keeps only one of them: remove or rename one',
        related: dup?.first === undefined ? undefined : at(dup.first),
      });
    }
    default:
      return diagnostic('SMSR-M010', `YAML syntax error: ${lowerFirst(e.message)}`, pos, { hint: syntaxHint(e.code) });
  }
}

function lowerFirst(s: string): string {
  return s.length > 0 ? (s[0] as string).toLowerCase() + s.slice(1) : s;
}

function syntaxHint(code: string): string | undefined {
  switch (code) {
    case 'BAD_INDENT':
      return 'check the indentation here, and that every [ or { opened above is closed';
    case 'MULTILINE_IMPLICIT_KEY':
    case 'BLOCK_AS_IMPLICIT_KEY':
      return 'the line after this one is indented deeper than the keys around it: align it with them';
    case 'MISSING_CHAR':
      return 'a quote or bracket opened earlier is not closed';
    case 'BAD_ALIAS':
    case 'ALIAS_PROPS':
      return 'aliases are written *name and refer to an &name anchor defined earlier';
    default:
      return undefined;
  }
}

/** The key text at `offset` and the offset of its first occurrence in the same mapping. */
function findDuplicate(doc: Document.Parsed, offset: number): { key: string; first: number | undefined } | undefined {
  let result: { key: string; first: number | undefined } | undefined;
  visit(doc, {
    Map(_k, map) {
      const idx = map.items.findIndex((p) => isNodeLike(p.key) && p.key.range?.[0] === offset);
      if (idx === -1) return undefined;
      const dupKey = map.items[idx]?.key;
      const text = keyText(dupKey);
      const first = map.items.find((p, i) => i < idx && keyText(p.key) === text);
      const firstKey = first?.key;
      result = { key: text, first: isNodeLike(firstKey) ? firstKey.range?.[0] : undefined };
      return visit.BREAK;
    },
  });
  return result;
}

function aliasDiagnostic(err: unknown, doc: Document.Parsed, locator: DocumentLocator): Diagnostic {
  const message = err instanceof Error ? err.message : String(err);
  const unresolved = /Unresolved alias[^:]*: (.*)$/.exec(message);
  let firstAlias: YamlNode | undefined;
  const anchors = new Set<string>();
  let target: YamlNode | undefined;
  visit(doc, {
    Node(_k, node) {
      if (isAlias(node)) {
        firstAlias ??= node;
        if (unresolved && !anchors.has(node.source)) {
          target = node;
          return visit.BREAK;
        }
      } else if (node.anchor) {
        anchors.add(node.anchor);
      }
      return undefined;
    },
  });
  const node = target ?? firstAlias;
  const pos = node?.range ? locator.span(node.range[0], node.range[1]) : locator.start();
  if (unresolved) {
    return diagnostic('SMSR-M017', `alias *${unresolved[1] ?? ''} refers to no anchor defined before it`, pos, {
      hint: 'define the anchor (&name) before the alias (*name), in the same document',
    });
  }
  if (/Excessive alias count/.test(message)) {
    return diagnostic('SMSR-M015', 'YAML aliases expand beyond the limit (an alias bomb?)', pos, {
      hint: 'write the repeated values out, or use a ReplicationJobSet template instead of aliases',
    });
  }
  // Anything else from toJS is a YAML construct the core schema cannot represent.
  return diagnostic('SMSR-M010', `YAML error: ${message}`, pos);
}
