import { fullCollector } from '../../controller/memory.ts';
import { readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { ControllerMode, CycleOutcome } from '../../controller/cycle.ts';
import { cycleRunner } from '../../controller/cycle-runner.ts';
import { DashboardHistory } from '../../controller/dashboard-data.ts';
import { controllerHandlers, wedgeAfter } from '../../controller/handlers.ts';
import { startControllerHttp, type ControllerHttp } from '../../controller/http.ts';
import { FileLease, LeaderElector, PgLease, type LeaseBackend } from '../../controller/leader.ts';
import { ControllerLoop } from '../../controller/loop.ts';
import { ControllerMetrics, countedApi } from '../../controller/metrics.ts';
import { stopGracefully, watchSignals, type SignalWatch } from '../../controller/shutdown.ts';
import { GitSource } from '../../controller/source.ts';
import { readTheWorld, type ControllerParts } from '../../controller/status.ts';
import { isLoopbackHost, WebAssets } from '../../controller/ui.ts';
import { isSmsReconcileError, userError } from '../../model/errors.ts';
import { ioMessage } from '../../model/messages.ts';
import { systemClock } from '../../reconcile/ports.ts';
import type { Logger } from '../../report/logger.ts';
import { systemTimers } from '../../state/lease.ts';
import { isPostgresLocation, openStateStore, stateFilePath } from '../../state/open.ts';
import type { StateStore } from '../../state/store.ts';
import type { CommandContext, GlobalOptions, RegisterCommand } from '../context.ts';
import { parseDuration } from '../duration.ts';
import { ExitCode, type CliIo } from '../io.ts';
import { errorMessage, type CommandHost } from '../io-host.ts';
import { maxConcurrentJobs } from '../job-limit.ts';
import { openTarget, type Target } from '../target.ts';
import { parseMaxWave } from '../workflow.ts';

interface ControllerFlags {
  filename: string[];
  interval: string;
  retryInterval: string;
  mode: string;
  allowDestroy?: boolean;
  listen: string;
  leaseTtl: string;
  webhookSecretFile?: string;
  uiTokenFile?: string;
  gitUrl?: string;
  gitRef: string;
  gitDir?: string;
  parallelism: string;
  inventory?: string;
  maxWave?: string;
}

/** Bad flags at start exit 2, naming the flag (the issue's contract for the controller). */
const BAD_FLAGS_EXIT = 2;

interface Settings {
  readonly intervalMs: number;
  readonly retryIntervalMs: number;
  readonly mode: ControllerMode;
  readonly host: string;
  readonly port: number;
  readonly leaseTtlMs: number;
  readonly webhookSecret: Buffer | undefined;
  readonly uiToken: Buffer | undefined;
  readonly parallelism: number;
  readonly maxConcurrentJobs: number;
  readonly maxWave: number | undefined;
}

function positiveDuration(text: string, flag: string, minMs: number): number {
  const ms = parseDuration(text, flag);
  if (ms < minMs) throw userError('invalid-duration', `${flag} ${text} is too short`, `give at least ${minMs >= 1000 ? `${minMs / 1000}s` : `${minMs}ms`}`);
  return ms;
}

/** HOST:PORT, [IPv6]:PORT. Port 0 picks a free port (logged). */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw userError('listen-invalid', `--listen "${text}" is not HOST:PORT`, 'write it like 127.0.0.1:9464, 0.0.0.0:9464 or [::1]:9464');
  return { host: m[1] ?? m[2] ?? '127.0.0.1', port };
}

/** A secret (webhook secret, dashboard token): a file only its owner may read, trimmed of trailing whitespace, not empty. */
export function readSecretFile(path: string, flag: string): Buffer {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch {
    throw userError('secret-file-missing', `${flag} ${path}: no such file`, 'write the secret into a file with mode 0600');
  }
  if ((mode & 0o044) !== 0) {
    throw userError('secret-file-readable', `${flag} ${path} is readable by group or others (mode ${(mode & 0o777).toString(8)})`, `run chmod 600 ${path}`);
  }
  const secret = readFileSync(path, 'utf8').replace(/\s+$/, '');
  if (secret === '') {
    throw userError('secret-file-empty', `${flag} ${path} is empty`, flag === '--ui-token-file' ? 'put the dashboard token in it (e.g. openssl rand -hex 32)' : 'put the webhook secret in it (the one configured on the Git host)');
  }
  return Buffer.from(secret, 'utf8');
}

function settingsOf(flags: ControllerFlags, cwd: string, globals: GlobalOptions): Settings {
  const mode = flags.mode;
  if (mode !== 'apply' && mode !== 'observe') throw userError('bad-mode', `--mode ${mode} is not apply or observe`, 'observe only reports drift and pending changes; apply (the default) also applies');
  const parallelism = Number(flags.parallelism);
  if (!Number.isInteger(parallelism) || parallelism < 1 || parallelism > 64) throw userError('bad-parallelism', `--parallelism ${flags.parallelism} is not a whole number from 1 to 64`, 'the default is 4');
  const { host, port } = parseListen(flags.listen);
  const uiToken = flags.uiTokenFile !== undefined ? readSecretFile(resolve(cwd, flags.uiTokenFile), '--ui-token-file') : undefined;
  if (uiToken === undefined && !isLoopbackHost(host)) {
    throw userError('ui-token-required', `--listen ${flags.listen} is not a loopback address: the dashboard, /status and /metrics need --ui-token-file`, 'write a token into a file with mode 0600 and pass --ui-token-file FILE, or listen on 127.0.0.1');
  }
  return {
    intervalMs: positiveDuration(flags.interval, '--interval', 1000),
    retryIntervalMs: positiveDuration(flags.retryInterval, '--retry-interval', 100),
    mode,
    host,
    port,
    leaseTtlMs: positiveDuration(flags.leaseTtl, '--lease-ttl', 1000),
    webhookSecret: flags.webhookSecretFile !== undefined ? readSecretFile(resolve(cwd, flags.webhookSecretFile), '--webhook-secret-file') : undefined,
    uiToken,
    parallelism,
    maxConcurrentJobs: maxConcurrentJobs(globals),
    maxWave: parseMaxWave(flags.maxWave),
  };
}

export const CONTROLLER_EXAMPLES = `
Examples:
  $ sms-reconcile controller -f manifests/ --state postgres://... --endpoint-url https://sms.us-east-1.amazonaws.com
  $ sms-reconcile controller -f manifests/ --mode observe --interval 10m
  $ sms-reconcile controller --git-url https://git.example.com/migration.git --git-ref main -f manifests/ \\
      --webhook-secret-file /etc/sms-reconcile/webhook-secret --ui-token-file /etc/sms-reconcile/ui-token --listen 0.0.0.0:9464

Endpoints on --listen: GET / (the dashboard) /healthz /readyz /status /metrics, POST /reconcile (the
webhook). Off loopback, --ui-token-file is required: then everything but /healthz and /readyz takes
\`Authorization: Bearer <token>\` or the cookie of the dashboard's sign-in form.
Deletes and replaces are pending, not done, without --allow-destroy. Two controllers on one state
elect a leader (a lease beside a file state, an advisory lock on PostgreSQL); only the leader
reconciles. SIGTERM/SIGINT finish the running cycle's operations and exit 0; a second one exits at once.
Bad flags, an unreadable secret file or a port in use exit 2.`;

/** `sms-reconcile controller`: the pull-based loop that keeps the estate converged. */
export const registerController: RegisterCommand = (program, ctx) => {
  program
    .command('controller')
    .description('keep the live jobs converged: plan (and apply) every interval, with leader election, metrics and a webhook')
    .requiredOption('-f, --filename <path...>', 'manifest files or directories (relative to the checkout with --git-url)')
    .option('--interval <duration>', 'time between cycles (+-10% jitter)', '5m')
    .option('--retry-interval <duration>', 'after a failed cycle: the first retry delay, doubling up to --interval', '1m')
    .option('--mode <mode>', 'apply (default) or observe (report drift and pending changes, never mutate)', 'apply')
    .option('--allow-destroy', 'carry out deletes and replaces (default: report them as pending)')
    .option('--listen <host:port>', 'HTTP address for the dashboard, /healthz /readyz /status /metrics and the webhook', '127.0.0.1:9464')
    .option('--lease-ttl <duration>', 'leader lease lifetime, renewed every third of it', '30s')
    .option('--webhook-secret-file <file>', 'require GitHub-style X-Hub-Signature-256 on POST /reconcile with this secret (mode 0600)')
    .option('--ui-token-file <file>', 'require this token (mode 0600) for the dashboard, /status and /metrics; required off loopback')
    .option('--git-url <url>', 'read the manifests from this Git repository (fetched before each cycle)')
    .option('--git-ref <ref>', 'the branch or tag to follow with --git-url', 'main')
    .option('--git-dir <dir>', 'where to keep the checkout (default .sms-reconcile/controller/checkout)')
    .option('--parallelism <n>', 'operations at once in an apply (at most one per server)', '4')
    .option('--max-wave <n>', 'hold every change of the jobs of waves after N (spec.wave); the waves up to N advance by themselves as their gates open')
    .option('--inventory <file>', 'inventory of the embedded server')
    .addHelpText('after', CONTROLLER_EXAMPLES)
    .action(async (flags: ControllerFlags) => {
      ctx.setExit(await runController(ctx, flags));
    });
};

function startError(ctx: CommandContext, err: unknown): number {
  if (!isSmsReconcileError(err) || err.source !== 'user') throw err;
  ctx.host.notify(errorMessage(err));
  return BAD_FLAGS_EXIT;
}

function identityOf(listenUrl: string): string {
  return `${hostname()}:${process.pid} (${listenUrl})`;
}

function logCycle(host: CommandHost, o: CycleOutcome): void {
  const fields = {
    result: o.result,
    revision: o.revision ?? null,
    durationMs: o.durationMs,
    changes: o.changes,
    drift: o.drift.length,
    driftOpen: o.driftOpen,
    errors: o.errors.length,
  };
  host.notify(ioMessage('controller.cycle', o.result === 'success' ? 'info' : 'warn', `cycle ${o.result}`, fields));
  for (const e of o.errors) {
    if (e.address !== undefined) continue; // operation failures were logged as they happened
    host.notify(ioMessage('controller.cycle-error', 'warn', e.message, { code: e.code, message: e.message, detail: e.detail }));
  }
}

/** A git source for --git-url, checked out in --git-dir. */
function gitSourceOf(flags: ControllerFlags, cwd: string): GitSource | undefined {
  if (flags.gitUrl === undefined) return undefined;
  return new GitSource({ url: flags.gitUrl, ref: flags.gitRef, dir: resolve(cwd, flags.gitDir ?? '.sms-reconcile/controller/checkout') });
}

/** The leader lease: an advisory lock on a PostgreSQL state, else a lease file beside the state file. */
function leaseBackendOf(state: string | undefined, cwd: string, identity: string, ttlMs: number): LeaseBackend {
  const location = state ?? '';
  if (isPostgresLocation(location)) return new PgLease(location, identity);
  return new FileLease(`${stateFilePath(state, cwd) ?? resolve(cwd, '.sms-reconcile/state.json')}.leader`, identity, ttlMs, systemTimers);
}

/** Opens the target; if that fails, closes what was opened before it and rethrows. */
async function openTargetOrClose(g: GlobalOptions, io: CliIo, inventory: string | undefined, logger: Logger, opened: readonly { close(): Promise<void> }[]): Promise<Target> {
  try {
    return await openTarget(g, io, { inventory, logger });
  } catch (err) {
    for (const o of opened) await o.close();
    throw err;
  }
}

/** What runController made and opened, for the functions that wire and run the controller. */
interface Running {
  readonly ctx: CommandContext;
  readonly flags: ControllerFlags;
  readonly settings: Settings;
  readonly logger: Logger;
  readonly identity: string;
  readonly git: GitSource | undefined;
  readonly parts: ControllerParts;
  readonly metrics: ControllerMetrics;
  readonly history: DashboardHistory;
  readonly http: ControllerHttp;
  readonly store: StateStore;
  readonly target: Target;
}

/** The loop (runs cycles while leader) and the elector (tells it when it leads), wired to the metrics and the dashboard. */
function makeLoopAndElector(r: Running, backend: LeaseBackend): { loop: ControllerLoop; elector: LeaderElector } {
  const { ctx, flags, settings, logger, identity, git, parts, metrics, history } = r;
  const collect = fullCollector();
  const loop = new ControllerLoop({
    intervalMs: settings.intervalMs,
    retryIntervalMs: settings.retryIntervalMs,
    timers: systemTimers,
    logger,
    isLeader: () => parts.elector?.view.leader === true,
    runCycle: cycleRunner({
      ctx,
      git,
      files: flags.filename,
      store: r.store,
      target: r.target,
      api: countedApi(r.target.api, metrics),
      mode: settings.mode,
      allowDestroy: flags.allowDestroy === true,
      parallelism: settings.parallelism,
      maxConcurrentJobs: settings.maxConcurrentJobs,
      ...(settings.maxWave === undefined ? {} : { maxWave: settings.maxWave }),
      clock: systemClock,
      logger,
    }),
    onOutcome: (o) => {
      if (readTheWorld(o)) parts.lastWorld = o;
      metrics.recordCycle(o, systemClock.now());
      history.recordCycle(o);
      logCycle(ctx.host, o);
      if (collect !== undefined) setImmediate(collect);
    },
  });
  const elector = new LeaderElector(backend, {
    ttlMs: settings.leaseTtlMs,
    timers: systemTimers,
    logger,
    identity,
    onChange: (view) => {
      metrics.setLeader(view.leader);
      history.recordLeadership(new Date(systemClock.now()), view.leader, view.holder);
      loop.leadershipChanged(view.leader);
    },
  });
  return { loop, elector };
}

/** Leads or stands by until the first signal, then stops gracefully; whatever happens, closes all it opened. */
async function serveUntilSignal(r: Running, loop: ControllerLoop, elector: LeaderElector, signals: SignalWatch): Promise<number> {
  try {
    await elector.start();
    await stopGracefully(await signals.first, loop, elector, r.logger);
    return ExitCode.ok;
  } finally {
    signals.dispose();
    await loop.stop();
    await elector.stop().catch(() => undefined);
    await r.store.close();
    await r.target.close();
    await r.http.close();
  }
}

async function runController(ctx: CommandContext, flags: ControllerFlags): Promise<number> {
  const g = ctx.globals();
  // The controller logs more by default (info), and JSON lines even at a terminal.
  const logger = ctx.host.logger({ level: g.logLevel === 'warn' ? 'info' : g.logLevel, format: g.logFormat ?? 'json' });
  let settings: Settings;
  try {
    settings = settingsOf(flags, ctx.io.cwd, ctx.globals());
  } catch (err) {
    return startError(ctx, err);
  }
  const metrics = new ControllerMetrics();
  const git = gitSourceOf(flags, ctx.io.cwd);
  // Filled in once the HTTP port is ours; the handlers see them through this (a request may come first).
  const parts: ControllerParts = {};
  const history = new DashboardHistory();
  const http = await startControllerHttp(
    controllerHandlers({ parts, history, metrics, wedgeMs: wedgeAfter(settings.intervalMs) }),
    { host: settings.host, port: settings.port, webhookSecret: settings.webhookSecret, uiToken: settings.uiToken, assets: new WebAssets(), logger },
  ).catch((err: unknown) => startError(ctx, err));
  if (typeof http === 'number') return http;

  const identity = identityOf(http.url);
  const store = openStateStore(g.state, ctx.io.cwd);
  const target = await openTargetOrClose(g, ctx.io, flags.inventory, logger, [store, http]);
  const backend = leaseBackendOf(g.state, ctx.io.cwd, identity, settings.leaseTtlMs);
  parts.facts = { identity, mode: settings.mode, allowDestroy: flags.allowDestroy === true, git, files: flags.filename };

  const running: Running = { ctx, flags, settings, logger, identity, git, parts, metrics, history, http, store, target };
  const { loop, elector } = makeLoopAndElector(running, backend);
  parts.loop = loop;
  parts.elector = elector;
  // From here a signal stops the controller (a test may send one as soon as it reads controller.started).
  const signals = watchSignals(logger);
  ctx.host.notify(ioMessage('controller.started', 'info', `controller listening on ${http.url}`, { listen: http.url, identity, mode: settings.mode, intervalMs: settings.intervalMs, lease: backend.kind, state: store.location }));
  return serveUntilSignal(running, loop, elector, signals);
}
