/**
 * Runs the real CLI entry point (`node bin/sms-reconcile.mjs ...`) as a subprocess with a given
 * working directory and a clean environment, and collects stdout, stderr and the exit code.
 * (test/helpers/subprocess.ts does the same for the long-running `server` command; this one is for
 * one-shot commands that target an endpoint with AWS credentials from the environment.)
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

export const CLI_ENTRY = fileURLToPath(new URL('../../bin/sms-reconcile.mjs', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

export interface CliOptions {
  readonly cwd: string;
  /** Added to the clean environment. */
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
  /** Written to the CLI's stdin (a pipe), which is then closed; without it the pipe is closed at once. */
  readonly input?: string;
}

/**
 * The parent's environment without anything that could steer the CLI (AWS_*, SMS_*, the state
 * location, NODE_OPTIONS, vitest's variables), with NO_COLOR set.
 */
export function cleanCliEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('AWS_') || k.startsWith('SMS_') || k === 'NODE_OPTIONS' || k.startsWith('VITEST') || k === 'NO_COLOR' || k === 'FORCE_COLOR') continue;
    env[k] = v;
  }
  return { ...env, NO_COLOR: '1', ...extra };
}

/**
 * The standard AWS credential chain pointed at these keys only: AWS_ACCESS_KEY_ID /
 * AWS_SECRET_ACCESS_KEY, empty config and credentials files in `dir`, no instance metadata
 * (`undefined`: no credentials anywhere).
 */
export function awsEnv(dir: string, credentials: { accessKeyId: string; secretAccessKey: string } | undefined): NodeJS.ProcessEnv {
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'aws-config');
  const shared = join(dir, 'aws-credentials');
  writeFileSync(config, '');
  writeFileSync(shared, '');
  return {
    ...(credentials ? { AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey } : {}),
    AWS_CONFIG_FILE: config,
    AWS_SHARED_CREDENTIALS_FILE: shared,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

/** Runs `node bin/sms-reconcile.mjs ...args` to completion (SIGKILL after `timeoutMs`). */
export function runCli(args: readonly string[], opts: CliOptions): Promise<CliResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_ENTRY, ...args], { cwd: opts.cwd, env: cleanCliEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.on('error', () => undefined); // a CLI that exits before reading it all
    child.stdin.end(opts.input ?? '');
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sms-reconcile ${args.join(' ')} did not exit within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}

/** The text of a result, for assertion messages. */
export function show(r: CliResult): string {
  return `exit ${String(r.code)}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

/** A request the embedded server logged (its debug log has one `request` line per answer). */
export interface LoggedRequest {
  readonly action: string;
  readonly status: number;
  readonly error?: string;
}

/**
 * A writable stream for the embedded server's JSON log: calls `onRequest` for each `request`
 * line, whole lines only (a line may arrive in several chunks); other lines are passed over.
 */
export function requestLineSink(onRequest: (r: LoggedRequest) => void): Writable {
  let partial = '';
  return new Writable({
    write(chunk: Buffer | string, _enc, done) {
      partial += chunk.toString();
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        const line = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        try {
          const o = JSON.parse(line) as { msg?: string; action?: string; status?: number; error?: string };
          if (o.msg === 'request' && typeof o.action === 'string' && typeof o.status === 'number') onRequest({ action: o.action, status: o.status, ...(o.error ? { error: o.error } : {}) });
        } catch {
          // not a log line
        }
      }
      done();
    },
  });
}

/** A writable stream that keeps what is written to it, for the CLI's `main` run in-process; `text()` reads it as UTF-8. */
export function collector(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      done();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

/** What a reader of the CLI's stdout printed, and how the CLI ended. */
export interface ReaderResult {
  /** The CLI's exit status (from the shell: 128 + n when a signal n ended it). */
  readonly code: number;
  /** The reader's output. */
  readonly stdout: string;
  /** The CLI's stderr. */
  readonly stderr: string;
}

const shellQuote = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;

/**
 * Runs `node bin/sms-reconcile.mjs ...args | READER` in bash, READER a shell command reading the
 * CLI's stdout (`head -1`; `(sleep 3; cat)`: a reader busy elsewhere, the pipe fills and the CLI
 * must wait), and returns what the reader printed and the CLI's own exit status.
 */
export function runCliPiped(args: readonly string[], reader: string, opts: CliOptions): Promise<ReaderResult> {
  const cli = [process.execPath, CLI_ENTRY, ...args].map(shellQuote).join(' ');
  const script = `${cli} 2>"$CLI_STDERR" | ${reader}; echo "$` + `{PIPESTATUS[0]}" >"$CLI_STATUS"`;
  const dir = mkdtempSync(join(tmpdir(), 'smsr-pipe-'));
  const files = { CLI_STDERR: join(dir, 'stderr'), CLI_STATUS: join(dir, 'status') };
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { cwd: opts.cwd, env: { ...cleanCliEnv(opts.env), ...files }, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sms-reconcile ${args.join(' ')} | ${reader} did not exit within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', () => {
      clearTimeout(timer);
      try {
        resolve({ code: Number(readFileSync(files.CLI_STATUS, 'utf8').trim()), stdout, stderr: readFileSync(files.CLI_STDERR, 'utf8') });
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
