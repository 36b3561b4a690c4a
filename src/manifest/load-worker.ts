/**
 * The manifest worker thread (see load-pool.ts): parses and validates the files it is sent, one
 * message each, and answers with plain data: diagnostics, the valid documents, and each document's
 * position table (the YAML tree stays here). Built into dist/ as manifest-worker.mjs.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { checkSource } from './check.ts';
import type { Diagnostic } from './diagnostics.ts';
import type { ManifestDocument } from './document.ts';
import { DocumentLocator, type ManifestSource, type ParseLimits } from './parse.ts';
import { positionTable, type PositionTable } from './position-table.ts';

export interface WorkerRequest {
  readonly id: number;
  readonly source: ManifestSource;
  readonly limits: ParseLimits;
}

export interface WorkerDocument {
  readonly index: number;
  readonly document: ManifestDocument;
  readonly table: PositionTable;
}

export interface WorkerAnswer {
  readonly id: number;
  readonly file: string;
  /** The decoded text, for positions and source lines; undefined when it could not be decoded. */
  readonly text: string | undefined;
  readonly diagnostics: readonly Diagnostic[];
  readonly documents: number;
  readonly composed: number;
  readonly valid: readonly WorkerDocument[];
}

/** Checks one file, as the answer to send. */
export function answer(req: WorkerRequest): WorkerAnswer {
  const f = checkSource(req.source, req.limits);
  const valid = f.valid.map((v) => {
    if (!(v.locator instanceof DocumentLocator)) throw new Error(`${v.file}: a parsed document without its syntax tree`);
    return { index: v.index, document: v.document, table: positionTable(v.locator.doc) };
  });
  return { id: req.id, file: f.file, text: f.lines?.text, diagnostics: f.diagnostics, documents: f.documents, composed: f.composed, valid };
}

/**
 * Runs this thread below the main thread's priority (nice +10, Linux; elsewhere nothing changes):
 * the main thread meanwhile paginates the SMS listings, and a page answered late delays the whole
 * listing, while the manifests finish well before it (bench/RESULTS.md).
 */
function yieldToMainThread(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isSafeInteger(tid) && tid > 0) setPriority(tid, 10);
  } catch {
    // No /proc (not Linux), or not allowed: the default priority.
  }
}
yieldToMainThread();

parentPort?.on('message', (req: WorkerRequest) => parentPort?.postMessage(answer(req)));
