/**
 * `node bin/sms-reconcile.mjs` as a subprocess for the apply end-to-end and crash tests: a work
 * directory per test (manifests, state, empty AWS config files), an environment that carries only
 * the test server's credentials (nothing from the developer's shell or ~/.aws), and tracking of
 * every process started, so afterEach/afterAll can SIGKILL whatever still runs. The entry point and
 * the environment come from test/helpers/cli.ts; this adds what its one-shot `runCli` does not
 * do: watching a running apply's output, stdin, and kill -9 at a chosen instant.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { createLogger, type Logger } from '../../src/report/logger.ts';
import type { Credential } from '../../src/server/auth.ts';
import type { ServerOptions } from '../../src/server/server.ts';
import type { ReplicationJobInfo } from '../../src/sms/api.ts';
import { SdkSmsApi } from '../../src/sms/client.ts';
import { genVm, manifests, type ManifestDoc } from './apply-harness.ts';
import { awsEnv, cleanCliEnv, CLI_ENTRY, collector, requestLineSink, type LoggedRequest } from './cli.ts';
import { trackProcess, type Finished, type Proc } from './process.ts';
import { startTestServer, type TestServer } from './server.ts';
import { generatedInventory, type GeneratedInventoryOptions } from './sms-world.ts';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const LOCK_HOLDER = fileURLToPath(new URL('./apply-lock-holder.ts', import.meta.url));

/** What a CLI needs to reach a server. */
export interface Endpoint {
  readonly url: string;
  readonly region: string;
  readonly credentials: Credential;
}

export type { Exit, Finished, Proc } from './process.ts';

const running = new Set<Proc>();

function track(proc: ChildProcess, what: string): Proc {
  return trackProcess(proc, what, { registry: running });
}

/** A work directory: manifests, `state.json`, and empty AWS config files. */
export interface Workspace {
  readonly dir: string;
  readonly statePath: string;
  readonly endpoint: Endpoint;
  /** The CLI's environment: the endpoint's key pair, nothing else from AWS. */
  readonly env: NodeJS.ProcessEnv;
  /** Writes manifests to `<dir>/<name>` (a directory holding one file per document group). */
  writeManifests(docs: readonly ManifestDoc[], name?: string): Promise<string>;
  /** Spawns the CLI with `--endpoint-url` and `--state` of this workspace appended. */
  spawn(args: readonly string[], opts?: { stdin?: string; env?: NodeJS.ProcessEnv; endpointUrl?: string }): Proc;
  /**
   * Runs the CLI's `main` in this process (no Node + tsx start-up: ~2 s less per run), with the
   * workspace's cwd and environment. The SDK's credential chain reads process.env, not the injected
   * environment, so the workspace's AWS_* variables are set on process.env for the run.
   */
  runInProcess(args: readonly string[]): Promise<Finished>;
  /** Runs the CLI to completion. */
  run(args: readonly string[], opts?: { stdin?: string; env?: NodeJS.ProcessEnv; endpointUrl?: string; timeoutMs?: number }): Promise<Finished>;
}

let root: string | undefined;

export async function workspace(endpoint: Endpoint, name = 'ws'): Promise<Workspace> {
  root ??= await mkdtemp(join(tmpdir(), 'sms-apply-e2e-'));
  const dir = await mkdtemp(join(root, `${name}-`));
  const env = cliEnv(endpoint, dir);
  const statePath = join(dir, 'state.json');
  const spawnIn: Workspace['spawn'] = (args, opts = {}) =>
    spawnCli([...args, '--endpoint-url', opts.endpointUrl ?? endpoint.url, '--state', statePath], { cwd: dir, env: { ...env, ...opts.env }, stdin: opts.stdin });
  return {
    dir,
    statePath,
    endpoint,
    env,
    writeManifests: async (docs, sub = 'manifests') => {
      const path = join(dir, sub);
      await mkdir(path, { recursive: true });
      // One file per document, so that removing a document is removing a file.
      for (const f of await readdir(path)) await rm(join(path, f));
      await Promise.all(docs.map((d, i) => writeFile(join(path, `${String(i).padStart(4, '0')}.yaml`), manifests([d]))));
      return sub;
    },
    spawn: spawnIn,
    runInProcess: async (args) => {
      const out = collector();
      const err = collector();
      const saved = Object.fromEntries(Object.keys(env).filter((k) => k.startsWith('AWS_')).map((k) => [k, process.env[k]]));
      for (const k of Object.keys(saved)) process.env[k] = env[k];
      try {
        const code = await main([...args, '--endpoint-url', endpoint.url, '--state', statePath], {
          stdout: out.stream,
          stderr: err.stream,
          stdin: Readable.from([]),
          env,
          cwd: dir,
        });
        return { code, signal: null, stdout: out.text(), stderr: err.text() };
      } finally {
        for (const [k, v] of Object.entries(saved)) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
      }
    },
    run: async (args, opts = {}) => {
      const p = spawnIn(args, opts);
      try {
        return await p.waitForExit(opts.timeoutMs ?? 120_000);
      } finally {
        p.kill('SIGKILL');
      }
    },
  };
}

/** The CLI's environment: the clean one of cli.ts, with the endpoint's key pair and region only. */
export function cliEnv(endpoint: Endpoint, dir: string): NodeJS.ProcessEnv {
  return cleanCliEnv({
    ...awsEnv(dir, endpoint.credentials),
    ...(endpoint.credentials.sessionToken ? { AWS_SESSION_TOKEN: endpoint.credentials.sessionToken } : {}),
    AWS_REGION: endpoint.region,
  });
}

export function spawnCli(args: readonly string[], opts: { cwd: string; env: NodeJS.ProcessEnv; stdin?: string }): Proc {
  const proc = spawn(process.execPath, [CLI_ENTRY, ...args], { cwd: opts.cwd, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
  proc.stdin?.end(opts.stdin ?? '');
  return track(proc, `sms-reconcile ${args.slice(0, 3).join(' ')}`);
}

/** A process that takes the file state lock at `statePath` and holds it until killed. */
export async function holdLock(statePath: string): Promise<{ proc: Proc; info: { id: string; holder: { pid: number; host: string }; created: string } }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', LOCK_HOLDER, statePath], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const p = track(proc, 'lock holder');
  const line = (await p.waitForStdout(/^locked (.*)$/m, 30_000))[1] ?? '{}';
  return { proc: p, info: JSON.parse(line) as { id: string; holder: { pid: number; host: string }; created: string } };
}

/** Removes every workspace made by this process (call from afterAll). */
export async function removeWorkspaces(): Promise<void> {
  if (root) await rm(root, { recursive: true, force: true });
  root = undefined;
}

/** SIGKILLs every process started here that still runs, and waits for them. */
export async function killAll(): Promise<void> {
  const all = [...running];
  for (const p of all) p.kill('SIGKILL');
  await Promise.all(all.map((p) => p.exited));
}

process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

/** The real SDK adapter for checks from the test (not the CLI's). */
export function apiFor(endpoint: Endpoint): SdkSmsApi {
  return new SdkSmsApi({ endpoint: endpoint.url, region: endpoint.region, credentials: endpoint.credentials });
}

/** The endpoint of a running server (embedded or subprocess). */
export function endpointOf(server: Endpoint): Endpoint {
  return { url: server.url, region: server.region, credentials: server.credentials };
}

/** An embedded server the tests apply against, its endpoint, and the SDK adapter for checks. */
export interface ImportedServer {
  readonly t: TestServer;
  readonly endpoint: Endpoint;
  readonly api: SdkSmsApi;
}

/**
 * Starts an embedded server (manual clock) on `vms` generated VMs with maxConcurrentJobs 1000 (or
 * the `settings` given in `extra`, merged over it), and imports its catalog. `vm` sets per-VM inventory fields (e.g. `volumes: 30`, which SMS refuses).
 */
export async function startImportedServer(vms: number, extra?: Partial<ServerOptions>, vm?: GeneratedInventoryOptions['vm']): Promise<ImportedServer> {
  // Settings given are merged over the defaults (a quota of 1000 unless the test sets one).
  const { settings, ...rest } = extra ?? {};
  const t = await startTestServer({ inventory: generatedInventory({ vms, vm }), settings: { maxConcurrentJobs: 1000, ...settings }, extra: rest });
  const endpoint = endpointOf(t.server);
  const api = apiFor(endpoint);
  await api.importServerCatalog();
  await t.advance(5);
  return { t, endpoint, api };
}

/** SIGKILLs every CLI started here, then closes the SDK adapter and the server (call from afterEach). */
export async function closeImportedServer(s: Pick<ImportedServer, 't' | 'api'>): Promise<void> {
  await killAll();
  s.api.destroy();
  await s.t.close();
}

/** Live jobs (not DELETED) grouped by serverId. */
export async function liveJobsByServer(api: SdkSmsApi): Promise<Map<string, ReplicationJobInfo[]>> {
  const out = new Map<string, ReplicationJobInfo[]>();
  for (const j of await api.getReplicationJobs()) {
    if (j.state === 'DELETED') continue;
    out.set(j.serverId, [...(out.get(j.serverId) ?? []), j]);
  }
  return out;
}

/**
 * Asserts that each live job is alone on its server and that the servers with a job are exactly
 * gen-0001..gen-`count`: the live jobs' ids, one per server.
 */
export async function expectOneJobPerGeneratedServer(api: SdkSmsApi, count: number): Promise<string[]> {
  const byServer = await liveJobsByServer(api);
  const names = [...byServer.values()].map((jobs) => {
    expect(jobs.length, `server ${jobs[0]?.serverId ?? ''} has ${jobs.length} jobs`).toBe(1);
    return jobs[0]?.vmServer?.vmName ?? '';
  });
  expect(names.sort()).toEqual(Array.from({ length: count }, (_, i) => genVm(i + 1)));
  return [...byServer.values()].map((jobs) => jobs[0]?.replicationJobId ?? '');
}

/** Counts the embedded server's answers, from its debug log (one line per request). */
export interface RequestLog {
  readonly logger: Logger;
  /** Answers by `action status errorCode`. */
  count(action: string, filter?: { status?: number; error?: string }): number;
  reset(): void;
  readonly entries: LoggedRequest[];
}

export function requestLog(): RequestLog {
  const entries: LoggedRequest[] = [];
  const stream = requestLineSink((r) => entries.push(r));
  return {
    logger: createLogger({ level: 'debug', format: 'json', stream }),
    entries,
    count: (action, filter = {}) =>
      entries.filter((e) => e.action === action && (filter.status === undefined || e.status === filter.status) && (filter.error === undefined || e.error === filter.error)).length,
    reset: () => {
      entries.length = 0;
    },
  };
}
