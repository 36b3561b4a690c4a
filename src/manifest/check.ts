/**
 * The manifest pipeline over files already in memory: parse -> validate -> normalize, collecting
 * every diagnostic of every file. Pure; load.ts reads the files and calls this.
 *
 * Invariants:
 * - `desired` is present exactly when no diagnostic is an error: a partial set never reaches plan
 *   (it would plan deletes for whatever failed to parse).
 * - `diagnostics` are sorted by file, then position, then code (compareDiagnostics).
 * - `documents` counts the non-empty documents that parsed as YAML, valid or not.
 */
import type { DesiredSet } from '../model/desired.ts';
import { drain } from '../model/steps.ts';
import { countDiagnostics, hasErrors, sortDiagnostics, type Diagnostic } from './diagnostics.ts';
import { DesiredSetBuilder } from './normalize.ts';
import { DEFAULT_PARSE_LIMITS, parseManifest, type ManifestSource, type ParseLimits } from './parse.ts';
import type { LineIndex } from './source.ts';
import { validateDocument, type ValidDocument } from './validate.ts';

export interface ManifestSummary {
  readonly files: number;
  readonly documents: number;
  readonly errors: number;
  readonly warnings: number;
}

export interface ManifestCheckResult {
  readonly desired: DesiredSet | undefined;
  readonly diagnostics: readonly Diagnostic[];
  readonly summary: ManifestSummary;
  /** The decoded text of each file, by display name, for rendering source lines. */
  readonly sources: ReadonlyMap<string, LineIndex>;
  /** Documents composed by the parser over all files: the work done (see ParsedFile.composed). */
  readonly composed: number;
}

export interface CheckOptions {
  readonly limits?: Partial<ParseLimits>;
  /** Diagnostics found before parsing (by load.ts: missing or unreadable paths). */
  readonly priorDiagnostics?: readonly Diagnostic[];
}

/** Runs the pipeline over `sources` in the order given (load.ts gives a stable order). */
export function checkManifests(sources: readonly ManifestSource[], options: CheckOptions = {}): ManifestCheckResult {
  return drain(checkManifestsStepwise(sources, options));
}

/** Documents validated (or normalized) between two steps of a stepwise check (~1 ms of work). */
const STEP_DOCUMENTS = 50;

/** One file parsed and validated: what the cross-document stage (normalize) needs of it. */
export interface FileCheck {
  readonly file: string;
  readonly lines: LineIndex | undefined;
  readonly diagnostics: readonly Diagnostic[];
  /** Non-empty documents that parsed as YAML. */
  readonly documents: number;
  readonly composed: number;
  readonly valid: readonly ValidDocument[];
}

/** Parses and validates one file, yielding after the parse and every STEP_DOCUMENTS documents. */
export function* checkSourceStepwise(source: ManifestSource, limits: ParseLimits): Generator<void, FileCheck> {
  const parsed = parseManifest(source, limits);
  yield;
  const diagnostics = [...parsed.diagnostics];
  const valid: ValidDocument[] = [];
  let n = 0;
  for (const doc of parsed.documents) {
    const v = validateDocument(doc);
    diagnostics.push(...v.diagnostics);
    if (v.valid !== undefined) valid.push(v.valid);
    if (++n % STEP_DOCUMENTS === 0) yield;
  }
  return { file: source.file, lines: parsed.lines, diagnostics, documents: parsed.documents.length, composed: parsed.composed, valid };
}

/** checkSourceStepwise in one go (for a worker thread, where nothing else waits). */
export function checkSource(source: ManifestSource, limits: ParseLimits): FileCheck {
  return drain(checkSourceStepwise(source, limits));
}

/**
 * The cross-document stage: files are added in their order (each file's documents, and so its YAML
 * tree, are garbage once added), then `finish` normalizes and sorts the diagnostics.
 */
export class ManifestAssembler {
  readonly #builder = new DesiredSetBuilder();
  readonly #diagnostics: Diagnostic[];
  readonly #texts = new Map<string, LineIndex>();
  #documents = 0;
  #composed = 0;
  #files = 0;

  constructor(priorDiagnostics: readonly Diagnostic[] = []) {
    this.#diagnostics = [...priorDiagnostics];
  }

  /** Adds one file's documents, yielding every STEP_DOCUMENTS documents. */
  *add(f: FileCheck): Generator<void, void> {
    this.#files += 1;
    this.#composed += f.composed;
    this.#documents += f.documents;
    if (f.lines !== undefined) this.#texts.set(f.file, f.lines);
    this.#diagnostics.push(...f.diagnostics);
    let n = 0;
    for (const v of f.valid) {
      this.#builder.add(v);
      if (++n % STEP_DOCUMENTS === 0) yield;
    }
  }

  /** The result, as steps (the digest of a large set yields; see createDesiredSetStepwise). */
  *finish(): Generator<void, ManifestCheckResult> {
    const normalized = yield* this.#builder.buildStepwise();
    const sorted = sortDiagnostics([...this.#diagnostics, ...normalized.diagnostics]);
    const counts = countDiagnostics(sorted);
    return {
      desired: hasErrors(sorted) ? undefined : normalized.desired,
      diagnostics: sorted,
      summary: { files: this.#files, documents: this.#documents, errors: counts.errors, warnings: counts.warnings },
      sources: this.#texts,
      composed: this.#composed,
    };
  }
}

/**
 * checkManifests as steps: the generator yields after parsing each file and after every
 * STEP_DOCUMENTS documents checked, so a caller with other work in flight (load.ts, while plan reads
 * the SMS API) can let it run every millisecond or so.
 */
export function* checkManifestsStepwise(sources: readonly ManifestSource[], options: CheckOptions = {}): Generator<void, ManifestCheckResult> {
  const limits: ParseLimits = { ...DEFAULT_PARSE_LIMITS, ...options.limits };
  const assembler = new ManifestAssembler(options.priorDiagnostics);
  for (const source of sources) {
    yield* assembler.add(yield* checkSourceStepwise(source, limits));
    yield;
  }
  return yield* assembler.finish();
}
