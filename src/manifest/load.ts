/**
 * `-f PATH...` -> manifest files in memory. The only module of manifest/ that touches the file
 * system, and only to read.
 *
 * Invariants:
 * - Order is stable: paths in the order given; inside a directory, entries in code-unit order of
 *   their names, depth first. A file reached twice (named twice, or inside a named directory and
 *   named again, or through a symlink) is read once, at its first place.
 * - Directories are walked recursively for `*.yaml` and `*.yml` (lowercase), skipping entries whose
 *   name starts with '.' (.git, .github, editor backups); a file named explicitly is read whatever
 *   its extension.
 * - Problems are diagnostics, not exceptions: a missing path (SMSR-M001), an unreadable one or one
 *   that is neither a regular file nor a directory (SMSR-M002; FIFOs and devices are never opened),
 *   a directory without manifests (SMSR-M003), a file over the size limit (SMSR-M004, not read).
 * - Display names are relative to `cwd` when the file is under it, with '/' separators.
 * - `-` is standard input: a YAML stream (documents separated by `---`) read whole, once, in its
 *   place among the paths, and named `<stdin>` in diagnostics. A terminal on stdin is refused at
 *   once, without reading; an empty stream is an error (SMSR-M006 both).
 */
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { runSteps } from '../model/steps.ts';
import { checkManifestsStepwise, type ManifestCheckResult } from './check.ts';
import { diagnostic, type Diagnostic } from './diagnostics.ts';
import { checkInWorkers, poolSize } from './load-pool.ts';
import { DEFAULT_PARSE_LIMITS, type ManifestSource, type ParseLimits } from './parse.ts';

export interface LoadOptions {
  /** Directory relative paths are resolved against, and display names are relative to. */
  readonly cwd: string;
  readonly limits?: Partial<ParseLimits>;
  /** What `-` reads; without it, `-` is an error. */
  readonly stdin?: StdinStream;
  /** Worker threads to parse in (load-pool.ts); by default, none for small sets, else one per core (at most 4). */
  readonly workers?: number;
}

export type StdinStream = NodeJS.ReadableStream & { readonly isTTY?: boolean };

/** The path that means standard input, and the name diagnostics give it. */
export const STDIN_PATH = '-';
export const STDIN_NAME = '<stdin>';

export interface LoadedSources {
  readonly sources: readonly ManifestSource[];
  readonly diagnostics: readonly Diagnostic[];
}

const MANIFEST_FILE = /\.ya?ml$/;

function displayName(cwd: string, absolute: string): string {
  const rel = path.relative(cwd, absolute);
  const shown = rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : absolute;
  return shown.split(path.sep).join('/');
}

function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

function ioMessage(err: unknown): string {
  const code = errnoCode(err);
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ELOOP') return 'too many levels of symbolic links';
  if (code === 'EISDIR') return 'is a directory';
  return err instanceof Error ? err.message : String(err);
}

interface Candidate {
  /** Absent for standard input. */
  readonly absolute?: string;
  readonly display: string;
}

class Loader {
  readonly diagnostics: Diagnostic[] = [];
  readonly files: Candidate[] = [];
  private readonly seenFiles = new Set<string>();
  private readonly seenDirs = new Set<string>();

  private stdinTaken = false;

  constructor(
    private readonly cwd: string,
    private readonly maxFileBytes: number,
    private readonly stdin: StdinStream | undefined,
  ) {}

  private problem(code: 'SMSR-M001' | 'SMSR-M002' | 'SMSR-M003' | 'SMSR-M006', file: string, summary: string, hint?: string): void {
    this.diagnostics.push(diagnostic(code, summary, { file }, { hint }));
  }

  async expand(arg: string): Promise<void> {
    if (arg === STDIN_PATH) {
      if (this.stdinTaken) return;
      this.stdinTaken = true;
      if (this.stdin === undefined) this.problem('SMSR-M006', STDIN_NAME, '-f - reads standard input, which this command does not have');
      else if (this.stdin.isTTY === true) this.problem('SMSR-M006', STDIN_NAME, '-f - reads a pipe, but stdin is a terminal', 'pipe the manifests in, e.g. `kustomize build overlays/prod | sms-reconcile plan -f -`');
      else this.files.push({ display: STDIN_NAME });
      return;
    }
    const absolute = path.resolve(this.cwd, arg);
    const display = displayName(this.cwd, absolute);
    let info;
    try {
      info = await stat(absolute);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') {
        this.problem('SMSR-M001', display, `no such file or directory: ${arg}`, 'check the path given with -f');
      } else {
        this.problem('SMSR-M002', display, `cannot read ${arg}: ${ioMessage(err)}`);
      }
      return;
    }
    if (info.isDirectory()) {
      const filesBefore = this.files.length;
      const problemsBefore = this.diagnostics.length;
      await this.walk(absolute);
      if (this.files.length === filesBefore && this.diagnostics.length === problemsBefore) {
        this.problem('SMSR-M003', display, `directory ${arg} holds no *.yaml or *.yml file`, 'manifests are found recursively by extension (.yaml or .yml)');
      }
      return;
    }
    if (!info.isFile()) {
      this.problem('SMSR-M002', display, `${arg} is neither a regular file nor a directory`);
      return;
    }
    await this.addFile(absolute);
  }

  private async addFile(absolute: string): Promise<void> {
    let real: string;
    try {
      real = await realpath(absolute);
    } catch (err) {
      this.problem('SMSR-M002', displayName(this.cwd, absolute), `cannot read: ${ioMessage(err)}`);
      return;
    }
    if (this.seenFiles.has(real)) return;
    this.seenFiles.add(real);
    this.files.push({ absolute, display: displayName(this.cwd, absolute) });
  }

  private async walk(dir: string): Promise<void> {
    let real: string;
    try {
      real = await realpath(dir);
    } catch (err) {
      this.problem('SMSR-M002', displayName(this.cwd, dir), `cannot read directory: ${ioMessage(err)}`);
      return;
    }
    if (this.seenDirs.has(real)) return;
    this.seenDirs.add(real);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      this.problem('SMSR-M002', displayName(this.cwd, dir), `cannot read directory: ${ioMessage(err)}`);
      return;
    }
    names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const name of names) {
      if (name.startsWith('.')) continue;
      const child = path.join(dir, name);
      let info;
      try {
        info = await stat(child);
      } catch (err) {
        // A dangling symlink is skipped only when it would not have been a manifest.
        if (MANIFEST_FILE.test(name)) this.problem('SMSR-M002', displayName(this.cwd, child), `cannot read: ${ioMessage(err)}`);
        continue;
      }
      if (info.isDirectory()) await this.walk(child);
      else if (info.isFile() && MANIFEST_FILE.test(name)) await this.addFile(child);
    }
  }

  /** Reads the collected files (a bounded number at a time), keeping their order. */
  async read(): Promise<ManifestSource[]> {
    const out: (ManifestSource | undefined)[] = new Array<ManifestSource | undefined>(this.files.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < this.files.length) {
        const i = next++;
        const f = this.files[i] as Candidate;
        out[i] = await this.readOne(f);
      }
    };
    await Promise.all(Array.from({ length: Math.min(16, this.files.length) }, worker));
    return out.filter((s): s is ManifestSource => s !== undefined);
  }

  private async readOne(f: Candidate): Promise<ManifestSource | undefined> {
    if (f.absolute === undefined) return this.readStdin();
    try {
      const info = await stat(f.absolute);
      if (info.size > this.maxFileBytes) {
        // Not read: parse reports the size without decoding anything.
        return { file: f.display, content: new Uint8Array(0), byteLength: info.size };
      }
      return { file: f.display, content: await readFile(f.absolute) };
    } catch (err) {
      this.problem('SMSR-M002', f.display, `cannot read: ${ioMessage(err)}`);
      return undefined;
    }
  }

  /** Reads stdin to its end; past the size limit the bytes are counted, not kept. */
  private async readStdin(): Promise<ManifestSource | undefined> {
    const stream = this.stdin as StdinStream;
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of stream) {
        const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
        size += b.length;
        if (size <= this.maxFileBytes) chunks.push(b);
      }
    } catch (err) {
      this.problem('SMSR-M002', STDIN_NAME, `cannot read standard input: ${ioMessage(err)}`);
      return undefined;
    }
    if (size > this.maxFileBytes) return { file: STDIN_NAME, content: new Uint8Array(0), byteLength: size };
    const content = Buffer.concat(chunks);
    if (content.toString('utf8').trim() === '') {
      this.problem('SMSR-M006', STDIN_NAME, '-f - read an empty stream: nothing was piped in', 'check the command before the pipe (its errors are on its own stderr)');
      return undefined;
    }
    return { file: STDIN_NAME, content };
  }
}

/** Expands and reads `paths`. Never throws for a bad path: problems come back as diagnostics. */
export async function readManifestSources(paths: readonly string[], options: LoadOptions): Promise<LoadedSources> {
  const limits = { ...DEFAULT_PARSE_LIMITS, ...options.limits };
  const loader = new Loader(options.cwd, limits.maxFileBytes, options.stdin);
  for (const p of paths) await loader.expand(p);
  const sources = await loader.read();
  return { sources, diagnostics: loader.diagnostics };
}

/**
 * Reads `paths` and runs the manifest pipeline over them, letting other work of the process (the
 * SMS listings plan starts first) run meanwhile: a large set is parsed in worker threads, a small
 * one here, a step at a time.
 */
export async function loadManifests(paths: readonly string[], options: LoadOptions): Promise<ManifestCheckResult> {
  const { sources, diagnostics } = await readManifestSources(paths, options);
  const workers = poolSize(sources, options.workers);
  if (workers > 0) return checkInWorkers(sources, { ...DEFAULT_PARSE_LIMITS, ...options.limits }, diagnostics, workers);
  return runSteps(checkManifestsStepwise(sources, { limits: options.limits, priorDiagnostics: diagnostics }));
}
