#!/usr/bin/env node
/**
 * Builds the CLI that `bin/sms-reconcile.mjs` runs: src/cli/main.ts and everything it imports from
 * src/, schemas/ and node_modules, bundled by esbuild into ES modules under dist/. Plain JavaScript, so it runs before anything is built.
 *
 * Why: running the TypeScript sources through tsx costs ~0.4 s at every start (a loader thread
 * resolving and transpiling ~130 modules); the bundle loads in a fraction of that, which matters to
 * a command run a hundred times per apply and to `plan` at scale (bench/plan.ts).
 *
 * - `npm ci` builds it (the `prepare` script), and the bin rebuilds it when any source file it was
 *   built from is newer than it (build-info.json lists them), so an edited checkout never runs stale
 *   code. When it cannot be built (a read-only install, esbuild missing), the bin runs the sources
 *   through tsx, as before.
 * - Dynamic imports (the embedded server, the PostgreSQL store) become chunks of their own, loaded
 *   only by the commands that need them.
 * - Every output file sits directly in dist/, one level below the root like src/paths.ts, so the
 *   package-relative paths of src/paths.ts hold in the bundle too.
 * - The output is written to a temporary directory and renamed into place, so concurrent builds (a
 *   test suite starting many CLIs on a fresh clone) never expose a half-written bundle.
 *
 *   node scripts/build.mjs          # build dist/
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const DIST = join(ROOT, 'dist');
export const ENTRY = join(DIST, 'sms-reconcile.mjs');
const INFO = join(DIST, 'build-info.json');
/** Loaded from node_modules at run time (see build()). */
const EXTERNAL = ['better-sqlite3', 'pg-native', 'pino', 'pino-pretty', 'esbuild', 'tsx'];

/**
 * True when dist/ holds a bundle built from the sources as they are now: every input (source,
 * schema) that esbuild read exists and is not newer than the bundle.
 */
export function bundleIsFresh() {
  let built;
  let inputs;
  try {
    built = statSync(ENTRY).mtimeMs;
    inputs = JSON.parse(readFileSync(INFO, 'utf8')).inputs;
  } catch {
    return false;
  }
  if (!Array.isArray(inputs) || inputs.length === 0) return false;
  for (const input of inputs) {
    try {
      if (statSync(join(ROOT, input)).mtimeMs > built) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/** Builds dist/ (see the module comment). Throws when esbuild fails. */
export async function build() {
  const { build: esbuild } = await import('esbuild');
  const staging = mkdtempSync(join(ROOT, '.dist-'));
  try {
    const result = await esbuild({
      entryPoints: { 'sms-reconcile': join(ROOT, 'src/cli/main.ts') },
      outdir: staging,
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      // Packages are bundled too (resolving and loading ~200 CommonJS files cost ~0.15 s per start),
      // except those that find files of their own at run time: native addons, and pino's workers.
      external: EXTERNAL,
      // CommonJS packages inside an ES module call require() for Node built-ins.
      banner: { js: "import { createRequire as __smsrCreateRequire } from 'node:module'; const require = __smsrCreateRequire(import.meta.url);" },
      outExtension: { '.js': '.mjs' },
      chunkNames: 'chunk-[hash]',
      metafile: true,
      logLevel: 'warning',
      legalComments: 'none',
    });
    const inputs = Object.keys(result.metafile.inputs)
      .map((p) => relative(ROOT, join(ROOT, p)))
      .filter((p) => !p.startsWith('node_modules'))
      .concat(['package-lock.json'])
      .sort();
    writeFileSync(join(staging, 'build-info.json'), `${JSON.stringify({ builtBy: 'scripts/build.mjs', inputs }, null, 2)}\n`);
    // Chunks are named by content hash: put them in place first, the entry (and its stamp) last.
    mkdirSync(DIST, { recursive: true });
    const chunks = new Set(readdirSync(staging).filter((f) => f.startsWith('chunk-')));
    for (const f of chunks) renameSync(join(staging, f), join(DIST, f));
    renameSync(join(staging, 'build-info.json'), INFO);
    renameSync(join(staging, 'sms-reconcile.mjs'), ENTRY);
    // Chunks of earlier builds: removed once no process started before this build can still need them.
    for (const f of readdirSync(DIST)) {
      if (!f.startsWith('chunk-') || chunks.has(f)) continue;
      try {
        if (Date.now() - statSync(join(DIST, f)).mtimeMs > 10 * 60_000) rmSync(join(DIST, f), { force: true });
      } catch {
        // removed by a concurrent build
      }
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * The URL of a fresh bundle, building it first when needed; undefined when it cannot be built
 * (the caller then runs the sources). SMS_RECONCILE_FROM_SOURCE=1 skips the bundle.
 */
export async function freshBundle() {
  if (process.env.SMS_RECONCILE_FROM_SOURCE === '1') return undefined;
  if (!bundleIsFresh()) {
    try {
      await build();
    } catch {
      return undefined;
    }
  }
  return existsSync(ENTRY) ? pathToFileURL(ENTRY).href : undefined;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await build();
  process.stdout.write(`built ${relative(process.cwd(), ENTRY) || ENTRY}\n`);
}
