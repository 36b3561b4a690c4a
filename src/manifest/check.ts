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
import { countDiagnostics, hasErrors, sortDiagnostics, type Diagnostic } from './diagnostics.ts';
import { DesiredSetBuilder } from './normalize.ts';
import { DEFAULT_PARSE_LIMITS, parseManifest, type ManifestSource, type ParseLimits } from './parse.ts';
import type { LineIndex } from './source.ts';
import { validateDocument } from './validate.ts';

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
  const steps = checkManifestsStepwise(sources, options);
  for (;;) {
    const step = steps.next();
    if (step.done === true) return step.value;
  }
}

/** Documents validated between two steps of checkManifestsStepwise (~1 ms of work). */
const STEP_DOCUMENTS = 50;

/**
 * checkManifests as steps: the generator yields after parsing each file and after every
 * STEP_DOCUMENTS documents checked, so a caller with other work in flight (load.ts, while plan reads
 * the SMS API) can let it run every millisecond or so.
 */
export function* checkManifestsStepwise(sources: readonly ManifestSource[], options: CheckOptions = {}): Generator<void, ManifestCheckResult> {
  const limits: ParseLimits = { ...DEFAULT_PARSE_LIMITS, ...options.limits };
  const diagnostics: Diagnostic[] = [...(options.priorDiagnostics ?? [])];
  const builder = new DesiredSetBuilder();
  const texts = new Map<string, LineIndex>();
  let documents = 0;
  let composed = 0;
  // File by file: each file's YAML tree is garbage once its documents are added.
  for (const source of sources) {
    const parsed = parseManifest(source, limits);
    composed += parsed.composed;
    if (parsed.lines !== undefined) texts.set(source.file, parsed.lines);
    diagnostics.push(...parsed.diagnostics);
    documents += parsed.documents.length;
    yield;
    let n = 0;
    for (const doc of parsed.documents) {
      const v = validateDocument(doc);
      diagnostics.push(...v.diagnostics);
      if (v.valid !== undefined) builder.add(v.valid);
      if (++n % STEP_DOCUMENTS === 0) yield;
    }
    yield;
  }
  const normalized = builder.build();
  diagnostics.push(...normalized.diagnostics);
  const sorted = sortDiagnostics(diagnostics);
  const counts = countDiagnostics(sorted);
  return {
    desired: hasErrors(sorted) ? undefined : normalized.desired,
    diagnostics: sorted,
    summary: { files: sources.length, documents, errors: counts.errors, warnings: counts.warnings },
    sources: texts,
    composed,
  };
}
