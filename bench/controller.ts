/**
 * The controller at scale (issue 17). Three processes: the embedded SMS server (`sms-reconcile
 * server`, N generated VMs, a latency fault on every answer once the world is set up), the
 * controller (`sms-reconcile controller`, file state, driven by its webhook) and this one (the
 * driver, and the floor). Measures:
 *   (a) a no-change cycle (its durationMs from /status, median over --rounds webhook-driven
 *       cycles) against the floor: the bare SDK paginating GetServers, GetReplicationJobs and
 *       GetConnectors at maxResults 100, in parallel, in this process (goal <= 1.3x);
 *   (b) the controller's RSS after 10 cycles and after --cycles cycles (goal < 10% growth);
 *   (c) the time from a webhook's POST to its cycle's start (the `controller.cycle-start` log
 *       line's time), median over --rounds.
 * With --heap-snapshots, the controller also writes a V8 heap snapshot (after a full GC) after 10
 * cycles and after --cycles, into the bench's directory, and the two are compared with
 * bench/heap-diff.ts: the live heap tells a per-cycle leak from the heap settling.
 *
 *   node --import tsx bench/controller.ts [--servers 10000] [--latency-ms 20] [--cycles 200] [--rounds 10] [--heap-snapshots]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GetConnectorsCommand, GetReplicationJobsCommand, GetServersCommand, SMSClient } from '@aws-sdk/client-sms';
import { ControlClient } from '../src/server/control-client.ts';
import { SdkSmsApi } from '../src/sms/client.ts';
import { freePort } from '../test/helpers/pg.ts';
import { generatedInventory } from '../test/helpers/sms-world.ts';

const { values } = parseArgs({
  options: {
    servers: { type: 'string', default: '10000' },
    'latency-ms': { type: 'string', default: '20' },
    cycles: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '10' },
    'heap-snapshots': { type: 'boolean', default: false },
  },
});
const N = Number(values.servers);
const LATENCY_MS = Number(values['latency-ms']);
const CYCLES = Number(values.cycles);
const ROUNDS = Number(values.rounds);
const SNAPSHOTS = values['heap-snapshots'] === true;
const REPO = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(REPO, 'bin/sms-reconcile.mjs');
const credentials = { accessKeyId: 'AKIDBENCHCONTROLLER0', secretAccessKey: 'bench-controller-secret-key-0000000000000' };
const region = 'us-east-1';

const log = (s: string): void => void process.stderr.write(`${s}\n`);
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function start(args: readonly string[], env: NodeJS.ProcessEnv): { child: ChildProcess; out: () => string; err: () => string } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: dir, env: { ...process.env, ...env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  return { child, out: () => out, err: () => err };
}

async function until<T>(what: string, get: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'bench-controller-'));
const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const inventory = generatedInventory({ vms: N });
writeFileSync(join(dir, 'inventory.json'), JSON.stringify({ apiVersion: 'sms-reconcile/v1', kind: 'Inventory', ...inventory, settings: { ...inventory.settings, maxConcurrentJobs: N + 100 } }));
writeFileSync(
  join(dir, 'jobs.yaml'),
  `apiVersion: sms-reconcile/v1\nkind: ReplicationJobSet\nmetadata: {name: all}\nspec:\n  template: {frequency: 12}\n  match: {vmNameGlob: 'gen-*'}\n`,
);

// The server.
const server = start(['server', '--port', '0', '--data', join(dir, 'server'), '--inventory', join(dir, 'inventory.json'), '--control'], {
  SMS_SERVER_ACCESS_KEY_ID: credentials.accessKeyId,
  SMS_SERVER_SECRET_ACCESS_KEY: credentials.secretAccessKey,
});
children.push(server.child);
const url = await until('the server', () => {
  if (server.child.exitCode !== null) throw new Error(`the server exited: ${server.err()}`);
  return /listening on (\S+)/.exec(server.out())?.[1];
}, 60_000);
const api = new SdkSmsApi({ endpoint: url, region, credentials });
await api.importServerCatalog();
await until('the catalog', async () => ((await api.getServerCatalogStatus()).status === 'AVAILABLE' ? true : undefined), 600_000);
log(`server ${url}: ${N} VMs, catalog imported`);

// The controller: its first cycle creates the N jobs.
const port = await freePort();
const ctl = `http://127.0.0.1:${port}`;
const controller = start(
  ['controller', '-f', 'jobs.yaml', '--endpoint-url', url, '--state', join(dir, 'state.json'), '--listen', `127.0.0.1:${port}`, '--interval', '1h', '--parallelism', '64', '--max-concurrent-jobs', String(N + 100), '--log-level', 'debug'],
  {
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_REGION: region,
    AWS_EC2_METADATA_DISABLED: 'true',
    ...(SNAPSHOTS ? { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --heapsnapshot-signal=SIGUSR2`.trim() } : {}),
  },
);
children.push(controller.child);
interface Status {
  readonly running: boolean;
  readonly lastCycle: { result: string; startedAt: string; durationMs: number; changes: { planned: number } } | null;
  readonly jobs: readonly unknown[];
}
const status = async (): Promise<Status | undefined> => {
  try {
    return (await (await fetch(`${ctl}/status`)).json()) as Status;
  } catch {
    return undefined;
  }
};
const t0 = performance.now();
await until('the first cycle', async () => {
  const s = await status();
  if (s?.lastCycle && s.lastCycle.result !== 'success') throw new Error(`first cycle ${s.lastCycle.result}: ${controller.err().slice(-2000)}`);
  return s?.lastCycle?.result === 'success' && !s.running ? s : undefined;
}, 3_600_000);
log(`controller: first cycle created ${N} jobs in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const control = new ControlClient(url, region, credentials);
await control.setFaults({ latencyMs: LATENCY_MS });

const cycleLines = (): number => controller.err().split('\n').filter((l) => l.includes('"controller.cycle"')).length;

/**
 * Triggers a cycle by webhook; resolves with its status once it has finished, and the POST time.
 * It waits for the cycle's log line, not by polling /status: answering /status (10,000 jobs) while
 * the cycle runs would take CPU from the cycle being measured.
 */
async function cycle(): Promise<{ status: Status; postedAt: number }> {
  const before = cycleLines();
  const postedAt = Date.now();
  const r = await fetch(`${ctl}/reconcile`, { method: 'POST', body: '{}' });
  if (r.status !== 202) throw new Error(`webhook answered ${r.status}`);
  await until('the cycle', () => (cycleLines() > before ? true : undefined), 600_000);
  const s = await status();
  if (!s?.lastCycle) throw new Error('no status after the cycle');
  return { status: s, postedAt };
}

const rss = (): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${controller.child.pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;

// (a) and (c): no-change cycles against the floor, interleaved.
const client = new SMSClient({ endpoint: url, region, maxAttempts: 1, credentials });
async function floor(): Promise<number> {
  const t = performance.now();
  const pages = async (send: (token: string | undefined) => Promise<string | undefined>) => {
    let token: string | undefined;
    do token = await send(token);
    while (token);
  };
  await Promise.all([
    pages(async (nextToken) => (await client.send(new GetServersCommand({ maxResults: 100, nextToken }))).nextToken),
    pages(async (nextToken) => (await client.send(new GetReplicationJobsCommand({ maxResults: 100, nextToken }))).nextToken),
    pages(async (nextToken) => (await client.send(new GetConnectorsCommand({ maxResults: 100, nextToken }))).nextToken),
  ]);
  return performance.now() - t;
}
const cycleMs: number[] = [];
const floorMs: number[] = [];
const startDelays: number[] = [];
let done = 0;
for (let i = 0; i < ROUNDS; i++) {
  const starts = controller.err().split('\n').filter((l) => l.includes('"controller.cycle-start"')).length;
  const { status: s, postedAt } = await cycle();
  done += 1;
  if (s.lastCycle?.changes.planned !== 0) throw new Error(`cycle ${i} planned ${s.lastCycle?.changes.planned} changes`);
  cycleMs.push(s.lastCycle.durationMs);
  const line = controller.err().split('\n').filter((l) => l.includes('"controller.cycle-start"'))[starts];
  startDelays.push((JSON.parse(line ?? '{}') as { time: number }).time - postedAt);
  floorMs.push(await floor());
}
log(`(a) no-change cycle: median ${median(cycleMs).toFixed(0)} ms; floor (bare SDK listings): median ${median(floorMs).toFixed(0)} ms; ratio ${(median(cycleMs) / median(floorMs)).toFixed(2)} (goal <= 1.3) [${N} jobs, ${LATENCY_MS} ms latency, ${ROUNDS} rounds]`);
log(`(c) webhook -> cycle start: median ${median(startDelays).toFixed(0)} ms, max ${Math.max(...startDelays).toFixed(0)} ms`);

// (b) RSS after 10 cycles and after CYCLES, no latency (only the count of cycles matters).
if (CYCLES <= 10) {
  log('(b) skipped: --cycles must be more than 10');
  process.exit(0);
}
await control.setFaults({});
while (done < 10) {
  await cycle();
  done += 1;
}
/** Has the controller write a heap snapshot; resolves with its path once written (the write blocks its event loop). */
async function snapshot(): Promise<string> {
  const before = new Set(readdirSync(dir));
  controller.child.kill('SIGUSR2');
  const file = await until('the heap snapshot', () => readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f)), 600_000);
  await until('the controller after its snapshot', status, 600_000);
  return join(dir, file);
}
/** The controller's memory as it reports it on /metrics (prom-client's default metrics), in MB. */
async function memory(): Promise<string> {
  const text = await (await fetch(`${ctl}/metrics`)).text();
  const get = (name: string): string => (Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text)?.[1] ?? NaN) / 1048576).toFixed(0);
  return `RSS ${get('process_resident_memory_bytes')} MB = V8 heap ${get('nodejs_heap_size_total_bytes')} MB (used ${get('nodejs_heap_size_used_bytes')}) + external ${get('nodejs_external_memory_bytes')} MB + the rest`;
}
const rss10 = rss();
const mem10 = await memory();
const snap10 = SNAPSHOTS ? await snapshot() : undefined;
const curve: string[] = [];
while (done < CYCLES) {
  await cycle();
  done += 1;
  if (done % 50 === 0) curve.push(`${done}: ${rss().toFixed(0)} MB`);
}
const rssN = rss();
const memN = await memory();
log(`    after 10 cycles: ${mem10}`);
log(`    after ${CYCLES} cycles: ${memN}`);
log(`(b) controller RSS after 10 cycles ${rss10.toFixed(0)} MB, after ${CYCLES}: ${rssN.toFixed(0)} MB; growth ${(((rssN - rss10) / rss10) * 100).toFixed(1)}% (goal < 10%)`);
log(`    RSS by cycle: ${curve.join(', ')}`);
if (snap10) {
  const snapN = await snapshot();
  const diff = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'bench/heap-diff.ts'), snap10, snapN], { stdio: ['ignore', 'inherit', 'inherit'] });
  await new Promise((r) => diff.on('exit', r));
}
client.destroy();
api.destroy();
process.exit(0);
