/**
 * A temporary copy of the repository, as a new user has it after `git clone`: the files git knows
 * (working-tree contents, so uncommitted edits are tested too; ignored files left out) plus a
 * SYMLINK to the real node_modules, so that `npm ci` is not repeated for every copy. Commands run in the copy with an
 * environment that carries nothing from the developer's shell that could change the CLI's target
 * or state (AWS_*, SMS_*, NO_COLOR, ...), and with npm's cache inside the copy, offline (so `npx
 * sms-reconcile` resolves the copy's own bin and never reaches a registry).
 *
 * The embedded server reads the copy's `examples/inventory.yaml` (it is the built-in inventory of
 * the copy's sources); `timings` writes a `settings:` block into it, so a replication run takes
 * seconds instead of 45 s while every README and example command still runs verbatim.
 *
 * Every process started here runs in its own process group and is tracked: `killCopyProcesses()`
 * (in afterEach/afterAll) SIGKILLs each group, children included (npx -> node, bash -> node).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { trackProcess, type Finished, type Proc } from './process.ts';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

/** Server timings short enough for tests (seconds); see `settings` in schemas/inventory.v1.schema.json. */
export interface Timings {
  readonly runSeconds?: number;
  readonly catalogImportSeconds?: number;
  readonly deleteSeconds?: number;
  readonly retryDelaySeconds?: number;
}

export const FAST_TIMINGS: Timings = { runSeconds: 2, catalogImportSeconds: 1, deleteSeconds: 1 };

export type { Exit, Finished, Proc } from './process.ts';

export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
  /** Working directory relative to the copy (default: the copy's root). */
  readonly cwd?: string;
}

export interface RepoCopy {
  readonly dir: string;
  /** `<dir>/bin/sms-reconcile.mjs` */
  readonly bin: string;
  /** The environment commands in the copy get (plus `extra`). */
  env(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  path(...rel: string[]): string;
  read(rel: string): string;
  write(rel: string, text: string): void;
  /** `node bin/sms-reconcile.mjs ...args` in the copy, to completion. */
  cli(args: readonly string[], opts?: RunOptions): Promise<Finished>;
  /** `bash -c COMMAND` in the copy, to completion. */
  sh(command: string, opts?: RunOptions): Promise<Finished>;
  /** Starts `file args` in the copy (tracked; stdin closed). */
  spawn(file: string, args: readonly string[], opts?: RunOptions): Proc;
  /** Kills what still runs in the copy and removes it. */
  remove(): Promise<void>;
}

const running = new Set<Proc>();
const copies = new Set<string>();

/**
 * The files of the repository as git sees them: tracked, plus untracked ones that are not ignored
 * (in CI's clean checkout that is the same list; on a developer's machine it is the working tree the
 * other tests see too, new source files included). Undefined without git.
 */
function trackedFiles(): string[] | undefined {
  try {
    const out = execFileSync('git', ['-C', REPO_ROOT, 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 * 1024 * 1024 });
    const files = out.split('\0').filter((f) => f !== '');
    return files.length > 0 ? files : undefined;
  } catch {
    return undefined;
  }
}

const NOT_COPIED = new Set(['node_modules', '.git', '.sms-reconcile', 'coverage', 'scratch', 'tmp']);

/** Copies the repository into a new temporary directory; see the module comment. */
export async function copyRepo(opts: { timings?: Timings | false; prefix?: string } = {}): Promise<RepoCopy> {
  const dir = await mkdtemp(join(tmpdir(), `${opts.prefix ?? 'smsr-copy'}-`));
  copies.add(dir);
  const files = trackedFiles();
  if (files) {
    for (const f of files) {
      // A node_modules that is a symlink is not matched by the `node_modules/` ignore rule.
      if (NOT_COPIED.has(f.split('/')[0] ?? '')) continue;
      const from = join(REPO_ROOT, f);
      let st;
      try {
        st = lstatSync(from);
      } catch {
        continue; // tracked, but deleted in the working tree
      }
      if (!st.isFile() && !st.isSymbolicLink()) continue;
      mkdirSync(dirname(join(dir, f)), { recursive: true });
      cpSync(from, join(dir, f), { verbatimSymlinks: true });
    }
  } else {
    // No git (an exported tarball): everything but the local-only directories.
    cpSync(REPO_ROOT, dir, { recursive: true, verbatimSymlinks: true, filter: (src) => !NOT_COPIED.has(src.slice(REPO_ROOT.length + 1).split('/')[0] ?? '') });
  }
  if (!existsSync(join(REPO_ROOT, 'node_modules'))) throw new Error(`${REPO_ROOT}/node_modules is missing: run npm ci first`);
  // Instead of `npm ci` in every copy: the real node_modules, shared read-only.
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const timings = opts.timings === undefined ? FAST_TIMINGS : opts.timings;
  if (timings) setInventoryTimings(join(dir, 'examples', 'inventory.yaml'), timings);

  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => copyEnv(dir, extra);
  const run = async (file: string, args: readonly string[], o: RunOptions = {}): Promise<Finished> => {
    const p = spawnIn(dir, file, args, { ...o, env: env(o.env) });
    try {
      return await p.waitForExit(o.timeoutMs ?? 120_000);
    } finally {
      p.kill('SIGKILL');
    }
  };
  const bin = join(dir, 'bin', 'sms-reconcile.mjs');
  return {
    dir,
    bin,
    env,
    path: (...rel) => join(dir, ...rel),
    read: (rel) => readFileSync(join(dir, rel), 'utf8'),
    write: (rel, text) => {
      mkdirSync(dirname(join(dir, rel)), { recursive: true });
      writeFileSync(join(dir, rel), text);
    },
    cli: (args, o) => run(process.execPath, [bin, ...args], o),
    sh: (command, o) => run('bash', ['-c', command], o),
    spawn: (file, args, o = {}) => spawnIn(dir, file, args, { ...o, env: env(o.env) }),
    remove: async () => {
      const mine = [...running].filter((p) => (p as ProcInternal).cwd.startsWith(dir));
      for (const p of mine) p.kill('SIGKILL');
      await Promise.all(mine.map((p) => p.exited));
      copies.delete(dir);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Writes (or merges into) the `settings:` block of an inventory file, keeping its comments. */
export function setInventoryTimings(file: string, timings: Timings): void {
  const doc = parseDocument(readFileSync(file, 'utf8'));
  for (const [k, v] of Object.entries(timings)) if (v !== undefined) doc.setIn(['settings', k], v);
  writeFileSync(file, doc.toString());
}

/** PATH, HOME, locale and the like are kept; anything that could change the CLI's behaviour is not. */
export function copyEnv(dir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(AWS_|SMS_|SMSR|VITEST|npm_|NPM_)/i.test(k) || ['NODE_OPTIONS', 'NO_COLOR', 'FORCE_COLOR', 'MANIFESTS', 'OUT', 'ALLOW_DESTROY', 'NODE_ENV'].includes(k)) continue;
    env[k] = v;
  }
  return {
    ...env,
    // npx: the copy's own bin, with a cache inside the copy (removed with it), never the registry.
    npm_config_cache: join(dir, '.npm-cache'),
    npm_config_offline: 'true',
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
    AWS_CONFIG_FILE: join(dir, '.aws-config-none'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, '.aws-credentials-none'),
    AWS_EC2_METADATA_DISABLED: 'true',
    ...extra,
  };
}

interface ProcInternal extends Proc {
  readonly cwd: string;
}

function spawnIn(dir: string, file: string, args: readonly string[], opts: RunOptions & { env: NodeJS.ProcessEnv }): Proc {
  const cwd = opts.cwd ? join(dir, opts.cwd) : dir;
  // detached: a process group of its own, so a kill reaches its children too.
  const proc = spawn(file, [...args], { cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  return track(proc, `${file.endsWith('node') ? 'node' : file} ${args.slice(0, 4).join(' ')}`, cwd);
}

function track(proc: ChildProcess, what: string, cwd: string): ProcInternal {
  return { ...trackProcess(proc, what, { group: true, exitTimeoutMs: 120_000, registry: running }), cwd };
}

/** SIGKILLs every process (group) started through this module that still runs, and waits for them. */
export async function killCopyProcesses(): Promise<void> {
  const all = [...running];
  for (const p of all) p.kill('SIGKILL');
  await Promise.all(all.map((p) => p.exited));
}

/** Kills what still runs and removes every copy made in this process. */
export async function removeAllCopies(): Promise<void> {
  await killCopyProcesses();
  await Promise.all([...copies].map((d) => rm(d, { recursive: true, force: true })));
  copies.clear();
}


// Last resort: a runner that exits without afterAll leaves no process group behind.
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});
