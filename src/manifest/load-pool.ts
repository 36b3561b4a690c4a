/**
 * Parses and validates manifest files in worker threads (load-worker.ts), so that a large manifest
 * set costs the main thread only the cross-document stage: parsing YAML is most of a plan's CPU
 * time at 10,000 documents and more, and on the main thread it also holds up the SMS listings
 * that plan reads meanwhile (each page waits for the parse step before it). See bench/RESULTS.md.
 *
 * Invariants:
 * - The result equals checkManifests over the same sources (test/unit/manifest-pool.test.ts): the
 *   same diagnostics, and the same desired set with the same positions (TableLocator answers as
 *   DocumentLocator does).
 * - Files are assembled in their order, each as soon as it and every file before it are back; at
 *   most two files per worker are in flight.
 * - Workers are ended when the check ends, failed or not; a worker that fails fails the check.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { runSteps } from '../model/steps.ts';
import { ManifestAssembler, type FileCheck, type ManifestCheckResult } from './check.ts';
import type { Diagnostic } from './diagnostics.ts';
import type { WorkerAnswer, WorkerRequest } from './load-worker.ts';
import type { ManifestSource, ParseLimits } from './parse.ts';
import { TableLocator } from './position-table.ts';
import { LineIndex } from './source.ts';

/** Below this many bytes of manifests, starting workers (~50 ms) costs more than it saves. */
export const POOL_MIN_BYTES = 256 * 1024;
const MAX_WORKERS = 4;
const IN_FLIGHT_PER_WORKER = 2;

/** How many workers to check `sources` with: 0 (on this thread) for small sets, unless `requested`. */
export function poolSize(sources: readonly ManifestSource[], requested?: number): number {
  if (requested !== undefined) return Math.max(0, Math.min(requested, sources.length));
  let bytes = 0;
  for (const s of sources) bytes += s.content.length;
  if (bytes < POOL_MIN_BYTES) return 0;
  return Math.min(availableParallelism(), MAX_WORKERS, sources.length);
}

/**
 * A worker running the bundle's manifest-worker.mjs, or, in development (running from source), the
 * TypeScript module through tsx's loader (a worker's `--import` is not honoured by Node 20).
 */
function startWorker(): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./manifest-worker.mjs', import.meta.url));
  const module = new URL('./load-worker.ts', import.meta.url).href;
  // tsx is resolved from here, not from the working directory an eval'd script resolves from.
  // require.resolve finds its CommonJS build, which cannot register in a worker; the ES build is beside it.
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const boot = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(module)}); })`;
  return new Worker(boot, { eval: true });
}

function fileCheckOf(a: WorkerAnswer): FileCheck {
  const lines = a.text === undefined ? undefined : new LineIndex(a.text);
  const valid = a.valid.map((d) => {
    if (lines === undefined) throw new Error(`${a.file}: a valid document without its text`);
    return { file: a.file, index: d.index, document: d.document, locator: new TableLocator(a.file, d.table, lines) };
  });
  return { file: a.file, lines, diagnostics: a.diagnostics, documents: a.documents, composed: a.composed, valid };
}

/** checkManifests over `sources` with `workers` worker threads (at least 1). */
export async function checkInWorkers(sources: readonly ManifestSource[], limits: ParseLimits, prior: readonly Diagnostic[], workers: number): Promise<ManifestCheckResult> {
  const pool = Array.from({ length: Math.max(1, workers) }, startWorker);
  const answers = new Map<number, WorkerAnswer>();
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  let next = 0;
  const send = (w: Worker): void => {
    if (next >= sources.length) return;
    const req: WorkerRequest = { id: next, source: sources[next] as ManifestSource, limits };
    next += 1;
    w.postMessage(req);
  };
  for (const w of pool) {
    w.on('message', (a: WorkerAnswer) => {
      answers.set(a.id, a);
      send(w);
      wake?.();
    });
    w.on('error', (err: Error) => {
      failure ??= new Error(`manifest worker failed: ${err.message}`, { cause: err });
      wake?.();
    });
    w.on('exit', (code) => {
      if (code !== 0) failure ??= new Error(`manifest worker exited with code ${code}`);
      wake?.();
    });
    for (let i = 0; i < IN_FLIGHT_PER_WORKER; i++) send(w);
  }
  try {
    const assembler = new ManifestAssembler(prior);
    for (let i = 0; i < sources.length; i++) {
      let a: WorkerAnswer | undefined;
      while ((a = answers.get(i)) === undefined) {
        if (failure !== undefined) throw failure;
        await new Promise<void>((resolve) => (wake = resolve));
      }
      answers.delete(i);
      await runSteps(assembler.add(fileCheckOf(a)));
    }
    return await runSteps(assembler.finish());
  } finally {
    for (const w of pool) w.removeAllListeners('exit');
    await Promise.all(pool.map((w) => w.terminate()));
  }
}
