/**
 * Manifest diagnostics: what `validate` (and the manifest stage of plan/apply) reports about the
 * user's files. Diagnostics are data, not exceptions: every problem in every file is collected and
 * reported in one run.
 *
 * Invariants:
 * - Every diagnostic's `code` is a key of DIAGNOSTIC_CODES; its `name` and `severity` are the ones
 *   that table gives (codes are stable: scripts may match on them; a code is never reused).
 * - `position.line`/`column` are 1-based and present together; absent for problems with a whole
 *   file or path (unreadable, binary, too large). `endLine`/`endColumn` (exclusive) span the node.
 * - `position.pointer` is a JSON pointer into the document (`/spec/frequency`), when there is one.
 *
 * The table below is the one place codes are documented; the README's manifest reference is
 * generated from it (src/manifest/reference.ts).
 */

export type Severity = 'error' | 'warning';

export interface DiagnosticCodeInfo {
  readonly name: string;
  readonly severity: Severity;
  /** When it is reported, one sentence for the docs. */
  readonly meaning: string;
}

export const DIAGNOSTIC_CODES = {
  'SMSR-M001': { name: 'path-not-found', severity: 'error', meaning: 'A path given with -f does not exist.' },
  'SMSR-M002': { name: 'path-unreadable', severity: 'error', meaning: 'A path cannot be read (permissions, I/O error, or not a regular file or directory).' },
  'SMSR-M003': { name: 'no-manifest-files', severity: 'error', meaning: 'A directory given with -f holds no *.yaml or *.yml file.' },
  'SMSR-M004': { name: 'file-too-large', severity: 'error', meaning: 'A file is larger than the limit (10 MiB).' },
  'SMSR-M005': { name: 'not-text', severity: 'error', meaning: 'A file is not UTF-8 text (binary content, NUL bytes or invalid UTF-8).' },
  'SMSR-M006': { name: 'stdin-unusable', severity: 'error', meaning: '-f - reads standard input, but stdin is a terminal (refused at once) or the stream is empty.' },
  'SMSR-M010': { name: 'yaml-syntax', severity: 'error', meaning: 'The YAML is malformed.' },
  'SMSR-M011': { name: 'yaml-tab-indent', severity: 'error', meaning: 'A tab is used for indentation (YAML allows spaces only).' },
  'SMSR-M012': { name: 'yaml-duplicate-key', severity: 'error', meaning: 'A mapping has the same key twice.' },
  'SMSR-M013': { name: 'too-many-documents', severity: 'error', meaning: 'A file has more documents than the limit (1000).' },
  'SMSR-M014': { name: 'too-deep', severity: 'error', meaning: 'Collections are nested deeper than the limit (64).' },
  'SMSR-M015': { name: 'too-many-aliases', severity: 'error', meaning: 'YAML aliases expand beyond the limit (an alias bomb).' },
  'SMSR-M016': { name: 'empty-file', severity: 'warning', meaning: 'A file holds no document (empty, or only comments).' },
  'SMSR-M017': { name: 'yaml-unresolved-alias', severity: 'error', meaning: 'An alias refers to an anchor not defined before it.' },
  'SMSR-M018': { name: 'yaml-warning', severity: 'warning', meaning: 'The YAML parser warns about something (e.g. an unknown tag).' },
  'SMSR-M020': { name: 'not-a-mapping', severity: 'error', meaning: 'A document is not a mapping (apiVersion, kind, metadata, spec).' },
  'SMSR-M021': { name: 'unknown-api-version', severity: 'error', meaning: 'apiVersion is not a supported version.' },
  'SMSR-M022': { name: 'unknown-kind', severity: 'error', meaning: 'kind is not one of the supported kinds.' },
  'SMSR-M030': { name: 'unknown-field', severity: 'error', meaning: 'A field the format does not define (often a typo).' },
  'SMSR-M031': { name: 'missing-field', severity: 'error', meaning: 'A required field is missing.' },
  'SMSR-M032': { name: 'wrong-type', severity: 'error', meaning: 'A value has the wrong type (e.g. a string where a number goes, or a fraction where a whole number goes).' },
  'SMSR-M033': { name: 'out-of-range', severity: 'error', meaning: 'A number is outside its allowed range.' },
  'SMSR-M034': { name: 'not-allowed-value', severity: 'error', meaning: 'A value is not one of the allowed values.' },
  'SMSR-M035': { name: 'invalid-name', severity: 'error', meaning: 'metadata.name is not address-safe ([a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 characters).' },
  'SMSR-M036': { name: 'invalid-timestamp', severity: 'error', meaning: 'A timestamp is not an RFC 3339 date-time with a timezone, or not a real date.' },
  'SMSR-M037': { name: 'invalid-server-selector', severity: 'error', meaning: 'A server selector is not exactly one of {serverId}, {vmId, vmManagerId}, {vmName[, vmManagerName][, vmPath]}.' },
  'SMSR-M038': { name: 'invalid-value', severity: 'error', meaning: 'A value breaks a constraint (format, length, count).' },
  'SMSR-M039': { name: 'job-set-without-servers', severity: 'error', meaning: 'A ReplicationJobSet has neither spec.servers nor spec.match.' },
  'SMSR-M040': { name: 'frequency-with-run-once', severity: 'warning', meaning: 'frequency is set on a job with runOnce: true, where it has no effect.' },
  'SMSR-M041': { name: 'kms-key-without-encryption', severity: 'warning', meaning: 'kmsKeyId is set on a job with encrypted: false, where it has no effect.' },
  'SMSR-M050': { name: 'duplicate-address', severity: 'error', meaning: 'Two documents declare the same kind and metadata.name.' },
  'SMSR-M051': { name: 'duplicate-server', severity: 'error', meaning: 'Two jobs select the same literal server (same serverId, same vmId + vmManagerId, or the same vmName selector).' },
  'SMSR-M052': { name: 'multiple-server-catalogs', severity: 'warning', meaning: 'More than one ServerCatalog document: there is one catalog per account and region.' },
  'SMSR-M053': { name: 'duplicate-connector', severity: 'error', meaning: 'Two Connector documents name the same connectorId.' },
  'SMSR-M054': { name: 'server-in-two-waves', severity: 'error', meaning: 'Two documents put the same literal server in different waves (spec.wave): reported at both positions, each naming the other file.' },
} as const satisfies Record<string, DiagnosticCodeInfo>;

export type DiagnosticCode = keyof typeof DIAGNOSTIC_CODES;

export interface DiagnosticPosition {
  readonly file: string;
  /** 1-based; absent for whole-file problems. */
  readonly line?: number;
  /** 1-based, in UTF-16 code units (as editors count). */
  readonly column?: number;
  readonly endLine?: number;
  /** 1-based, exclusive. */
  readonly endColumn?: number;
  /** JSON pointer into the document, e.g. `/spec/frequency`. */
  readonly pointer?: string;
}

export interface Diagnostic {
  readonly code: DiagnosticCode;
  readonly name: string;
  readonly severity: Severity;
  readonly summary: string;
  readonly position: DiagnosticPosition;
  readonly hint?: string;
  /** Another place the problem involves, e.g. the first of two duplicates. */
  readonly related?: DiagnosticPosition;
}

export function diagnostic(
  code: DiagnosticCode,
  summary: string,
  position: DiagnosticPosition,
  extra: { readonly hint?: string | undefined; readonly related?: DiagnosticPosition | undefined } = {},
): Diagnostic {
  const info: DiagnosticCodeInfo = DIAGNOSTIC_CODES[code];
  const d: { -readonly [K in keyof Diagnostic]: Diagnostic[K] } = { code, name: info.name, severity: info.severity, summary, position };
  if (extra.hint !== undefined) d.hint = extra.hint;
  if (extra.related !== undefined) d.related = extra.related;
  return d;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Orders by file, then position (whole-file problems first), then code. Stable for equal keys. */
export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  return (
    compareStrings(a.position.file, b.position.file) ||
    (a.position.line ?? 0) - (b.position.line ?? 0) ||
    (a.position.column ?? 0) - (b.position.column ?? 0) ||
    compareStrings(a.code, b.code)
  );
}

export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return [...diagnostics].sort(compareDiagnostics);
}

export interface DiagnosticCounts {
  readonly errors: number;
  readonly warnings: number;
}

export function countDiagnostics(diagnostics: readonly Diagnostic[]): DiagnosticCounts {
  let errors = 0;
  let warnings = 0;
  for (const d of diagnostics) {
    if (d.severity === 'error') errors++;
    else warnings++;
  }
  return { errors, warnings };
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}
