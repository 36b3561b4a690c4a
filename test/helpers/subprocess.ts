/**
 * The `sms-reconcile server` command as a subprocess, for tests that need a real process boundary
 * (kill -9, signals, exit codes, the AWS CLI). Every process started here is tracked, so a test's
 * afterEach/afterAll can kill whatever is still running with `killAllCliProcesses()`, even when the
 * test failed half-way.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Credential } from '../../src/server/auth.ts';
import { trackProcess, withTimeout, type Exit, type Proc } from './process.ts';

export const CLI_BIN = fileURLToPath(new URL('../../bin/sms-reconcile.mjs', import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

const LISTENING = /^listening on (http:\/\/(\S+?):(\d+))$/m;

export type { Exit } from './process.ts';
export type CliProcess = Proc;

export interface CliServer extends CliProcess {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  /** The key pair the server accepts: from the env given, else `<dataDir>/credentials.json`. */
  readonly credentials: Credential;
  readonly region: string;
  /** SIGTERM, then wait for the exit. */
  stop(timeoutMs?: number): Promise<Exit>;
}

export interface SpawnOptions {
  /** Added to a clean environment (PATH and HOME kept; SMS_SERVER_* and AWS_* dropped). */
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

const running = new Set<CliProcess>();

/** A clean environment: nothing from the developer's shell leaks into the server's credentials or region. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('SMS_SERVER_') || k.startsWith('AWS_') || k === 'NODE_OPTIONS' || k.startsWith('VITEST')) continue;
    env[k] = v;
  }
  return { ...env, NO_COLOR: '1', ...extra };
}

/** Runs `node bin/sms-reconcile.mjs ...args`. */
export function spawnCli(args: readonly string[], opts: SpawnOptions = {}): CliProcess {
  const proc = spawn(process.execPath, [CLI_BIN, ...args], {
    cwd: opts.cwd ?? REPO_ROOT,
    env: cleanEnv(opts.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return trackProcess(proc, `sms-reconcile ${args.join(' ')}`, { exitTimeoutMs: 15_000, registry: running });
}

/** Runs the CLI to completion. */
export async function runCli(args: readonly string[], opts: SpawnOptions & { timeoutMs?: number } = {}) {
  const p = spawnCli(args, opts);
  try {
    return await p.waitForExit(opts.timeoutMs);
  } finally {
    p.kill('SIGKILL');
  }
}

export interface ServerSpawnOptions extends SpawnOptions {
  readonly dataDir: string;
  /** Extra flags after `server --port 0 --data DIR`. */
  readonly args?: readonly string[];
  readonly port?: number;
  readonly timeoutMs?: number;
}

/** Starts `sms-reconcile server` and waits for its `listening on` line. */
export async function startCliServer(opts: ServerSpawnOptions): Promise<CliServer> {
  const args = ['server', '--port', String(opts.port ?? 0), '--data', opts.dataDir, ...(opts.args ?? [])];
  const p = spawnCli(args, opts);
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const match = await withTimeout(
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const m = LISTENING.exec(p.stdout());
        if (m) resolve(m);
      };
      p.proc.stdout!.on('data', check);
      check();
      void p.exited.then((exit) =>
        reject(new Error(`sms-reconcile server exited (${exit.code ?? exit.signal}) before listening\nstdout: ${p.stdout()}\nstderr: ${p.stderr()}`)),
      );
    }),
    timeoutMs,
    () => `sms-reconcile server did not print 'listening on' within ${timeoutMs} ms\nstdout: ${p.stdout()}\nstderr: ${p.stderr()}`,
  ).catch((err: unknown) => {
    p.kill('SIGKILL');
    throw err;
  });
  const env = opts.env ?? {};
  const fromEnv = env['SMS_SERVER_ACCESS_KEY_ID'] && env['SMS_SERVER_SECRET_ACCESS_KEY'];
  const credentials: Credential = fromEnv
    ? {
        accessKeyId: env['SMS_SERVER_ACCESS_KEY_ID']!,
        secretAccessKey: env['SMS_SERVER_SECRET_ACCESS_KEY']!,
        ...(env['SMS_SERVER_SESSION_TOKEN'] ? { sessionToken: env['SMS_SERVER_SESSION_TOKEN'] } : {}),
      }
    : readCredentialsFile(opts.dataDir);
  return {
    ...p,
    url: match[1]!,
    host: match[2]!,
    port: Number(match[3]),
    dataDir: opts.dataDir,
    credentials,
    region: 'us-east-1',
    stop: async (stopTimeoutMs = 10_000) => {
      p.kill('SIGTERM');
      const { code, signal } = await p.waitForExit(stopTimeoutMs);
      return { code, signal };
    },
  };
}

/** `<dataDir>/credentials.json`, as the server writes it. */
export function readCredentialsFile(dataDir: string): Credential {
  const parsed = JSON.parse(readFileSync(`${dataDir}/credentials.json`, 'utf8')) as { accessKeyId: string; secretAccessKey: string };
  return { accessKeyId: parsed.accessKeyId, secretAccessKey: parsed.secretAccessKey };
}

/** SIGKILLs every process started through this module that is still running, and waits for them. */
export async function killAllCliProcesses(): Promise<void> {
  const all = [...running];
  for (const p of all) p.kill('SIGKILL');
  await Promise.all(all.map((p) => p.exited));
}


// Last resort: a test runner that exits without running afterAll leaves no server behind.
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});
