/**
 * `plan` at data-centre scale (issue 4): a server with 10,000 catalog servers and 10,000 live
 * jobs, manifests declaring them (10,000 ReplicationJob documents in 50 files, selecting by
 * vmName) with 1% of them different (frequency), and a state that manages them. In one run,
 * interleaved over several rounds, medians of:
 *   (a) the real CLI as a subprocess: `node bin/sms-reconcile.mjs plan -f DIR --endpoint-url URL
 *       --state FILE --format json` - wall time, peak RSS (/usr/bin/time -v), API calls (from the
 *       JSON); and the same plan in-process (`main()`), without Node start-up;
 *   (b) the floor: the bare SDK paginating GetServers, GetReplicationJobs and GetConnectors at
 *       maxResults 100, in parallel as plan does, in a subprocess (with start-up, and its own time
 *       without it) and in-process;
 *   (c) a per-job baseline: one GetReplicationJobs(replicationJobId) per job, 10 in parallel, the
 *       way a Terraform-style provider refreshes (subprocess).
 * Prints (a)/(b) (goal <= 1.3), (c)/(a), API calls against the minimum ceil(N/100) per list, and
 * RSS (goal < 300 MB at 10,000 jobs, issue 4; < 1.5 GB at 100,000, issue 15).
 *
 *   node --import tsx bench/plan.ts [--servers 10000] [--rounds 5] [--per-job-rounds 2] [--cpu-prof DIR] [--latency-ms 0] [--serve]
 *   node --import tsx bench/plan.ts --sizes [--baseline DIR] [--servers 10000] [--rounds 3] [--files 50]
 *   node --import tsx bench/plan.ts --waves [--servers 10000] [--rounds 5] [--latency-ms 0]
 *
 * --sizes (issue 23) measures, on the same world, the size and time of: the JSON plan, the JSON
 * plan with --omit-unchanged, and the saved plan (--out, text on stdout); with --baseline DIR (a
 * checkout of an earlier version, e.g. `git archive 6b3ed72 | tar -x -C DIR` plus a node_modules
 * symlink) also that version's saved plan, for the ratio against today's. Each output is written
 * to a file by the CLI's own stdout, never held by this process.
 *
 * --waves (issue 19) measures, on the same world, interleaved in each round with the floor, the plan
 * of the same manifests (a) without waves, (l) with each document's wave as a label
 * (`metadata.labels: {wave: "N"}`, what examples/waves wrote before spec.wave existed: the same
 * YAML to read, no gate) and (w) with `spec.wave: N` (four waves of N/4 jobs): the plan/floor ratio
 * of each, and its growth from (l) to (w), the cost of the gate itself (goal: at most 5%), and
 * from (a) to (w). No job has replicated yet (the seed runs are hours ahead), so every gate after
 * wave 1 is closed and the gate counts every member of every wave. And (q) (issue 25): the spec.wave
 * manifests plus N/100 more jobs in wave 1 for catalog servers that have none, with
 * --max-concurrent-jobs leaving room for half of them: half are created, half wait for quota; its
 * growth from (w) (the quota) and from (a) (waves and quota together), goal at most 5%.
 *
 * --serve sets the world up, prints the plan command (with its environment) and keeps the server
 * up until Ctrl-C, for profiling by hand.
 *
 * --latency-ms adds that much to every answer of the server (its latency fault), for a network
 * more like a real region's than loopback.
 * The server runs in this process (real clock, SQLite in memory); every client-side measurement
 * but the in-process ones runs in its own process, so it does not share this event loop. The
 * in-process ones do share it with the server: compare them with each other, not with (a)/(b).
 */
import { spawn } from 'node:child_process';
import { closeSync, cpSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { GetConnectorsCommand, GetReplicationJobsCommand, GetServersCommand, SMSClient } from '@aws-sdk/client-sms';
import { main } from '../src/cli/main.ts';
import type { ResourceRecord, StateDocument } from '../src/state/codec.ts';
import { FileStateStore } from '../src/state/file-store.ts';
import { startServer } from '../src/server/server.ts';
import { generatedInventory } from '../test/helpers/sms-world.ts';

const { values } = parseArgs({
  options: {
    servers: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '5' },
    'per-job-rounds': { type: 'string', default: '2' },
    files: { type: 'string', default: '50' },
    'cpu-prof': { type: 'string' },
    'latency-ms': { type: 'string', default: '0' },
    serve: { type: 'boolean', default: false },
    sizes: { type: 'boolean', default: false },
    baseline: { type: 'string' },
    waves: { type: 'boolean', default: false },
  },
});
const N = Number(values.servers);
const ROUNDS = Number(values.rounds);
const PER_JOB_ROUNDS = Number(values['per-job-rounds']);
const FILES = Number(values.files);
/** --waves: servers without a job, declared in wave 1 by the quota variant (q): 1% of N. */
const EXTRA = values.waves ? Math.max(2, Math.floor(N / 100)) : 0;
const LATENCY_MS = Number(values['latency-ms']);
const PAGE = 100;
/** Peak RSS goal of the plan: 300 MB at 10,000 jobs (issue 4), 1.5 GB at 100,000 (issue 15). */
const RSS_GOAL_MB = N >= 100_000 ? 1536 : 300;
const REPO = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(REPO, 'bin/sms-reconcile.mjs');
const TIME = '/usr/bin/time';

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const fmt = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const log = (s: string): void => void process.stderr.write(`${s}\n`);

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
  /** Peak RSS in MB (from /usr/bin/time -v). */
  readonly rssMb: number;
  /** When the last byte of stdout arrived (ms after the spawn). */
  readonly lastOutMs: number;
  /** User + system CPU time of the process (from /usr/bin/time -v), ms. */
  readonly cpuMs: number;
}

setFlagsFromString('--expose-gc');
/**
 * A full collection of this process's heap, before each measurement. This process serves the API:
 * the garbage of the measurement before (an in-process plan leaves ~1 GB, a 150 MB output read as
 * a string) was otherwise collected while serving the next one, in pauses of the server the floor,
 * run later, did not have: plans right after an in-process plan took 3 to 4 s longer (bench/RESULTS.md,
 * "Session 8").
 */
const collectGarbage = runInNewContext('gc') as () => void;

/** Runs `node ...args` under /usr/bin/time -v; wall time measured here around the spawn. */
function timed(args: readonly string[], env: NodeJS.ProcessEnv): Promise<Run> {
  collectGarbage();
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(TIME, ['-v', process.execPath, ...args], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let lastOutMs = 0;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      lastOutMs = performance.now() - t0;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => {
      const ms = performance.now() - t0;
      const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
      const user = /User time \(seconds\): ([\d.]+)/.exec(stderr);
      const sys = /System time \(seconds\): ([\d.]+)/.exec(stderr);
      const cpuMs = user && sys ? (Number(user[1]) + Number(sys[1])) * 1000 : Number.NaN;
      resolve({ code, stdout, stderr, ms, rssMb: rss ? Number(rss[1]) / 1024 : Number.NaN, lastOutMs, cpuMs });
    });
  });
}

const FLOOR_SRC = `
import { SMSClient, GetServersCommand, GetReplicationJobsCommand, GetConnectorsCommand } from '@aws-sdk/client-sms';
const t0 = performance.now();
const c = new SMSClient({ endpoint: process.env.BENCH_URL, region: 'us-east-1', maxAttempts: 1,
  credentials: { accessKeyId: process.env.BENCH_AK, secretAccessKey: process.env.BENCH_SK } });
async function all(Cmd, key) {
  let nextToken, n = 0, calls = 0;
  do { const out = await c.send(new Cmd({ maxResults: ${PAGE}, nextToken })); calls++; n += (out[key] ?? []).length; nextToken = out.nextToken; } while (nextToken);
  return { n, calls };
}
const [servers, jobs, connectors] = await Promise.all([all(GetServersCommand, 'serverList'), all(GetReplicationJobsCommand, 'replicationJobList'), all(GetConnectorsCommand, 'connectorList')]);
console.log(JSON.stringify({ ms: performance.now() - t0, servers, jobs, connectors }));
c.destroy();
`;

const PER_JOB_SRC = `
import { SMSClient, GetReplicationJobsCommand } from '@aws-sdk/client-sms';
import { readFileSync } from 'node:fs';
const ids = JSON.parse(readFileSync(process.env.BENCH_IDS, 'utf8'));
const t0 = performance.now();
const c = new SMSClient({ endpoint: process.env.BENCH_URL, region: 'us-east-1', maxAttempts: 1,
  credentials: { accessKeyId: process.env.BENCH_AK, secretAccessKey: process.env.BENCH_SK } });
let next = 0, calls = 0;
async function worker() {
  while (next < ids.length) {
    const id = ids[next++];
    const out = await c.send(new GetReplicationJobsCommand({ replicationJobId: id }));
    calls++;
    if (out.replicationJobList?.[0]?.replicationJobId !== id) throw new Error('no job ' + id);
  }
}
await Promise.all(Array.from({ length: 10 }, worker));
console.log(JSON.stringify({ ms: performance.now() - t0, calls }));
c.destroy();
`;

interface CpuProfile {
  readonly nodes: readonly { id: number; callFrame: { functionName: string; url: string }; children?: number[] }[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Where the main thread of a profiled plan spent its time, by phase (the first src/ module on the stack decides). */
function profilePhases(file: string): [string, number][] {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const phaseOf = new Map<number, string>();
  const phase = (id: number): string => {
    const known = phaseOf.get(id);
    if (known) return known;
    const leaf = byId.get(id)!.callFrame.functionName;
    const urls: string[] = [];
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const u = byId.get(cur)!.callFrame.url;
      if (u) urls.push(u);
    }
    const src = urls.find((u) => u.includes('/src/'))?.replace(/.*\/src\//, '');
    const out =
      leaf === '(idle)' ? 'idle (waiting: network, disk)'
      : leaf === '(garbage collector)' ? 'garbage collection'
      : urls.some((u) => /modules\/(esm|cjs)\/|esm\/hooks/.test(u)) ? 'module loading (tsx transpile, imports)'
      : src?.startsWith('manifest/') ? 'manifests: read, parse YAML, validate, normalize'
      : src?.startsWith('state/') ? 'state: read and decode'
      : /^reconcile\/(resolve|diff|diff-[a-z]+|drift|ownership|preflight|live-spec|change-make|observed)\.ts$/.test(src ?? '') ? 'diff (selector resolution, changes)'
      : src?.startsWith('report/') ? 'render JSON'
      : src?.startsWith('sms/') || urls.some((u) => u.includes('@aws-sdk') || u.includes('@smithy')) ? 'SDK: requests, responses'
      : src?.startsWith('server/') ? 'server modules (loaded though unused)'
      : src ? `other src/${src.split('/')[0]!}`
      : 'other';
    phaseOf.set(id, out);
    return out;
  };
  const total = new Map<string, number>();
  p.samples.forEach((id, i) => total.set(phase(id), (total.get(phase(id)) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000));
  return [...total].sort((a, b) => b[1] - a[1]);
}

/** The floor in this process: the same three lists with the same SDK. */
async function floorInProcess(url: string, credentials: { accessKeyId: string; secretAccessKey: string }): Promise<number> {
  collectGarbage();
  const t0 = performance.now();
  const c = new SMSClient({ endpoint: url, region: 'us-east-1', maxAttempts: 1, credentials });
  const all = async (page: (token: string | undefined) => Promise<string | undefined>) => {
    let token: string | undefined;
    do token = await page(token);
    while (token);
  };
  await Promise.all([
    all(async (nextToken) => (await c.send(new GetServersCommand({ maxResults: PAGE, nextToken }))).nextToken),
    all(async (nextToken) => (await c.send(new GetReplicationJobsCommand({ maxResults: PAGE, nextToken }))).nextToken),
    all(async (nextToken) => (await c.send(new GetConnectorsCommand({ maxResults: PAGE, nextToken }))).nextToken),
  ]);
  c.destroy();
  return performance.now() - t0;
}

/** `plan` in this process through the CLI's main(), output captured. */
async function planInProcess(args: readonly string[], cwd: string): Promise<{ ms: number; code: number; stdout: string }> {
  let out = '';
  const sink = (collect: boolean) =>
    new Writable({
      write(chunk: Buffer | string, _enc, done) {
        if (collect) out += String(chunk);
        done();
      },
    });
  collectGarbage();
  const t0 = performance.now();
  const code = await main(args, { stdout: sink(true), stderr: sink(false), stdin: process.stdin, env: process.env, cwd });
  return { ms: performance.now() - t0, code, stdout: out };
}

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'sms-bench-plan-'));
  // --waves: EXTRA more catalog servers, without jobs, for the quota variant (q).
  const inventory = { ...generatedInventory({ vms: N + EXTRA }), settings: { maxConcurrentJobs: 2 * N, catalogImportSeconds: 0, seed: 7 } };
  const t0 = performance.now();
  const server = await startServer({ dataDir: ':memory:', port: 0, clock: 'real', inventory, env: {} });
  const app = server.app;
  app.handle('ImportServerCatalog', {}, undefined);
  await new Promise((resolve) => setTimeout(resolve, 20));
  const servers: { serverId: string; vmName: string }[] = [];
  let token: string | undefined;
  do {
    const page = app.handle('GetServers', { maxResults: PAGE, nextToken: token }, undefined) as { serverList: { serverId: string; vmServer: { vmName: string } }[]; nextToken?: string; serverCatalogStatus: string };
    if (page.serverCatalogStatus !== 'AVAILABLE') throw new Error(`catalog is ${page.serverCatalogStatus}`);
    for (const s of page.serverList) servers.push({ serverId: s.serverId, vmName: s.vmServer.vmName });
    token = page.nextToken;
  } while (token);
  const seed = Math.floor(Date.now() / 1000) + 6 * 3600; // no run starts during the bench
  const jobIds: string[] = [];
  const extra = servers.splice(N);
  for (const [i, s] of servers.entries()) {
    const out = app.handle('CreateReplicationJob', { serverId: s.serverId, seedReplicationTime: seed, frequency: 12, licenseType: 'AWS', description: `job ${i}` }, undefined) as { replicationJobId: string };
    jobIds.push(out.replicationJobId);
  }
  log(`setup: ${N} servers and ${N} jobs in ${fmt(performance.now() - t0)}`);

  // Manifests: N ReplicationJob documents in FILES files; 1% ask for another frequency.
  const manifests = join(dir, 'manifests');
  const wavesManifests = join(dir, 'manifests-waves');
  const labelManifests = join(dir, 'manifests-labels');
  mkdirSync(manifests);
  const perFile = Math.ceil(N / FILES);
  const changed = new Set<number>();
  for (let f = 0; f < FILES; f++) {
    const docs: string[] = [];
    for (let i = f * perFile; i < Math.min(N, (f + 1) * perFile); i++) {
      const frequency = i % 100 === 42 ? 6 : 12;
      if (frequency !== 12) changed.add(i);
      docs.push(
        `apiVersion: sms-reconcile/v1\nkind: ReplicationJob\nmetadata:\n  name: job-${i}\nspec:\n  server:\n    vmName: ${servers[i]!.vmName}\n  frequency: ${frequency}\n  licenseType: AWS\n  description: job ${i}\n`,
      );
    }
    writeFileSync(join(manifests, `jobs-${String(f).padStart(2, '0')}.yaml`), docs.join('---\n'));
    // --waves: the same documents, each in one of four waves of N/4 jobs: as spec.wave, and as a label.
    if (values.waves) {
      mkdirSync(wavesManifests, { recursive: true });
      mkdirSync(labelManifests, { recursive: true });
      const waveOf = (k: number) => 1 + Math.floor(((f * perFile + k) * 4) / N);
      const name = `jobs-${String(f).padStart(2, '0')}.yaml`;
      writeFileSync(join(wavesManifests, name), docs.map((d, k) => `${d}  wave: ${waveOf(k)}\n`).join('---\n'));
      writeFileSync(join(labelManifests, name), docs.map((d, k) => d.replace(/^( {2}name: job-\d+\n)/m, `$1  labels: {wave: "${waveOf(k)}"}\n`)).join('---\n'));
    }
  }
  // --waves, (q): the spec.wave manifests and EXTRA more jobs in wave 1, for the servers without one.
  const quotaManifests = join(dir, 'manifests-quota');
  if (values.waves) {
    cpSync(wavesManifests, quotaManifests, { recursive: true });
    const extraDocs = extra.map((s, k) => `apiVersion: sms-reconcile/v1\nkind: ReplicationJob\nmetadata:\n  name: extra-${k}\nspec:\n  server:\n    vmName: ${s.vmName}\n  frequency: 12\n  wave: 1\n`);
    writeFileSync(join(quotaManifests, 'extra.yaml'), extraDocs.join('---\n'));
  }

  // The state that manages them, as an apply would have left it.
  const stateFile = join(dir, 'state.json');
  const resources: Record<string, ResourceRecord> = {};
  for (const [i, s] of servers.entries()) {
    const address = `ReplicationJob/job-${i}`;
    resources[address] = {
      address,
      kind: 'ReplicationJob',
      replicationJobId: jobIds[i]!,
      serverId: s.serverId,
      appliedSpec: { frequency: 12, licenseType: 'AWS', description: `job ${i}`, seedReplicationTime: seed },
      preventDestroy: false,
      updatedAt: new Date().toISOString(),
    };
  }
  const doc: StateDocument = {
    formatVersion: 1,
    lineage: '7d0c2f4e-1b3a-4c5d-8e6f-9a0b1c2d3e4f',
    serial: 1,
    target: { kind: 'remote', endpoint: server.url, region: 'us-east-1' },
    resources,
    pending: [],
  };
  const store = new FileStateStore(stateFile);
  const lock = await store.lock({ operation: 'bench' });
  await store.replace(lock, doc);
  await lock.release();
  await store.close();

  const idsFile = join(dir, 'job-ids.json');
  writeFileSync(idsFile, JSON.stringify(jobIds));
  return { dir, server, manifests, wavesManifests, labelManifests, quotaManifests, stateFile, idsFile, changed };
}

/** Runs `node CLI ...args` with stdout into `outFile`; wall time and the size of what it wrote. */
function toFile(cli: string, args: readonly string[], env: NodeJS.ProcessEnv, outFile: string): Promise<{ ms: number; bytes: number }> {
  collectGarbage();
  return new Promise((resolve, reject) => {
    const fd = openSync(outFile, 'w');
    const t0 = performance.now();
    const child = spawn(process.execPath, [cli, ...args], { cwd: REPO, env, stdio: ['ignore', fd, 'pipe'] });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => {
      const ms = performance.now() - t0;
      closeSync(fd);
      if (code !== 0) reject(new Error(`${args.join(' ')} exited ${code}: ${stderr}`));
      else resolve({ ms, bytes: statSync(outFile).size });
    });
  });
}

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(2)} MB`;

/** --sizes: what the JSON plan, the JSON plan without no-ops, and the saved plan weigh and take. */
async function runSizes(w: Awaited<ReturnType<typeof setup>>, env: NodeJS.ProcessEnv): Promise<void> {
  const planArgs = ['plan', '-f', w.manifests, '--endpoint-url', w.server.url, '--state', w.stateFile, '--max-concurrent-jobs', String(2 * N)];
  const out = (name: string) => join(w.dir, name);
  const cases: { name: string; cli: string; args: string[]; size: () => number }[] = [
    { name: 'JSON (--format json)', cli: CLI, args: [...planArgs, '--format', 'json'], size: () => statSync(out('full.json')).size },
    { name: 'JSON --omit-unchanged', cli: CLI, args: [...planArgs, '--format', 'json', '--omit-unchanged'], size: () => statSync(out('short.json')).size },
    { name: 'saved plan (--out)', cli: CLI, args: [...planArgs, '--out', out('saved.plan')], size: () => statSync(out('saved.plan')).size },
  ];
  const files = ['full.json', 'short.json', 'saved.txt'];
  if (values.baseline) {
    cases.push({ name: 'saved plan, baseline', cli: join(values.baseline, 'bin/sms-reconcile.mjs'), args: [...planArgs, '--out', out('baseline.plan')], size: () => statSync(out('baseline.plan')).size });
    files.push('baseline.txt');
  }
  const times: number[][] = cases.map(() => []);
  const sizes: number[] = cases.map(() => 0);
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, c] of cases.entries()) {
      const t = await toFile(c.cli, c.args, env, out(files[i]!));
      times[i]!.push(t.ms);
      sizes[i] = c.size();
    }
    log(`round ${r + 1}/${ROUNDS}: ${cases.map((c, i) => `${c.name} ${fmt(times[i]!.at(-1)!)}`).join(', ')}`);
  }
  const full = JSON.parse(readFileSync(out('full.json'), 'utf8')) as { summary: Record<string, number> };
  const lines = [
    `bench/plan.ts --sizes: ${N} catalog servers, ${N} live jobs, ${N} ReplicationJob documents in ${FILES} files, ${w.changed.size} differing (${full.summary['update']} updates, ${full.summary['no-op']} no-ops); ${ROUNDS} rounds, median wall time of the CLI subprocess; node ${process.version}`,
    `${'output'.padEnd(24)} ${'size'.padStart(10)} ${'of JSON'.padStart(8)} ${'time'.padStart(8)}`,
    ...cases.map((c, i) => `${c.name.padEnd(24)} ${mb(sizes[i]!).padStart(10)} ${`${((100 * sizes[i]!) / sizes[0]!).toFixed(1)}%`.padStart(8)} ${fmt(median(times[i]!)).padStart(8)}`),
    `--omit-unchanged / JSON = ${(sizes[1]! / sizes[0]!).toFixed(3)} (goal <= 0.05 at 10k jobs: ${sizes[1]! / sizes[0]! <= 0.05 ? 'met' : 'NOT met'})`,
  ];
  if (values.baseline) lines.push(`saved plan / baseline saved plan = ${(sizes[2]! / sizes[3]!).toFixed(3)} (goal <= 0.15 at 100k jobs: ${sizes[2]! / sizes[3]! <= 0.15 ? 'met' : 'NOT met'})`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** --waves: the plan without and with waves, and the floor, interleaved in each round (see the module doc). */
async function runWaves(w: Awaited<ReturnType<typeof setup>>, env: NodeJS.ProcessEnv): Promise<void> {
  const args = (m: string, limit = 2 * N) => [CLI, 'plan', '-f', m, '--endpoint-url', w.server.url, '--state', w.stateFile, '--format', 'json', '--max-concurrent-jobs', String(limit)];
  // (q): N live jobs and EXTRA creates, with room for half of them: the other half wait for quota.
  const quotaArgs = () => args(w.quotaManifests, N + EXTRA / 2);
  const check = (r: Run, waves: number, quota = false) => {
    if (r.code !== 0) throw new Error(`plan failed: ${r.stderr}`);
    const p = JSON.parse(r.stdout) as { summary: Record<string, number>; waves: unknown[]; quota?: unknown; changes: { action: string; gatedBy?: { kind: string } }[] };
    const held = p.changes.filter((c) => c.gatedBy?.kind === 'quota').length;
    const creates = p.changes.filter((c) => c.action === 'create').length;
    const expected = quota ? { creates: EXTRA, held: EXTRA / 2 } : { creates: 0, held: 0 };
    if (p.summary['update'] !== w.changed.size || p.summary['no-op'] !== N - w.changed.size || p.waves.length !== waves || creates !== expected.creates || held !== expected.held) {
      throw new Error(`unexpected plan: ${JSON.stringify(p.summary)}, ${p.waves.length} waves, ${creates} creates, ${held} waiting for quota, quota ${JSON.stringify(p.quota)}`);
    }
  };
  check(await timed(args(w.manifests), env), 0); // warm-up, and the plans are the ones meant
  check(await timed(args(w.labelManifests), env), 0);
  check(await timed(args(w.wavesManifests), env), 4);
  check(await timed(quotaArgs(), env), 4, true);
  const plain: Run[] = [];
  const labelled: Run[] = [];
  const waved: Run[] = [];
  const quota: Run[] = [];
  const floor: Run[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const a = await timed(args(w.manifests), env);
    check(a, 0);
    const al = await timed(args(w.labelManifests), env);
    check(al, 0);
    const aw = await timed(args(w.wavesManifests), env);
    check(aw, 4);
    const aq = await timed(quotaArgs(), env);
    check(aq, 4, true);
    const b = await timed(['--input-type=module', '-e', FLOOR_SRC], env);
    plain.push(a);
    labelled.push(al);
    waved.push(aw);
    quota.push(aq);
    floor.push(b);
    log(`round ${r + 1}/${ROUNDS}: plan ${fmt(a.ms)}, with wave labels ${fmt(al.ms)}, with spec.wave ${fmt(aw.ms)}, with waves and quota ${fmt(aq.ms)}, floor ${fmt(b.ms)}`);
  }
  const wall = (rs: readonly Run[]) => median(rs.map((r) => r.ms));
  // CPU time (user + sys) moves less than wall time on a shared machine: the same ratios in it.
  const cpu = (rs: readonly Run[]) => median(rs.map((r) => r.cpuMs));
  const B = wall(floor);
  const CB = cpu(floor);
  const row = (name: string, rs: readonly Run[]) => `${name.padEnd(28)} ${fmt(wall(rs)).padStart(8)}  plan/floor ${(wall(rs) / B).toFixed(3)}   CPU ${fmt(cpu(rs)).padStart(8)}  CPU plan/floor ${(cpu(rs) / CB).toFixed(3)}`;
  const growth = (from: readonly Run[], to: readonly Run[], of: (rs: readonly Run[]) => number) => `${(100 * (of(to) / of(from) - 1)).toFixed(1)}%`;
  const verdict = (from: readonly Run[], to: readonly Run[]) => (wall(to) / wall(from) - 1 <= 0.05 ? 'met' : 'NOT met');
  const lines = [
    `bench/plan.ts --waves: ${N} catalog servers (and ${EXTRA} without a job), ${N} live jobs (none replicated yet), ${N} ReplicationJob documents in ${FILES} files, ${w.changed.size} differing; waves: 4 of ${N / 4}; (q): ${EXTRA} more documents in wave 1, room for ${EXTRA / 2}; server latency ${LATENCY_MS} ms; ${ROUNDS} rounds, medians; node ${process.version}`,
    row('(a) plan, no waves', plain),
    row('(l) plan, wave as a label', labelled),
    row('(w) plan, spec.wave', waved),
    row('(q) plan, waves and quota', quota),
    `(b) floor, bare SDK          ${fmt(B).padStart(8)}                      CPU ${fmt(CB).padStart(8)}`,
    `growth of plan/floor from (l) to (w), the gate: wall ${growth(labelled, waved, wall)}, CPU ${growth(labelled, waved, cpu)} (goal <= 5%: ${verdict(labelled, waved)} on wall time)`,
    `growth of plan/floor from (a) to (w), the gate and one more YAML line per document: wall ${growth(plain, waved, wall)}, CPU ${growth(plain, waved, cpu)}`,
    `growth of plan/floor from (w) to (q), the quota (${EXTRA} creates, ${EXTRA / 2} held): wall ${growth(waved, quota, wall)}, CPU ${growth(waved, quota, cpu)} (goal <= 5%: ${verdict(waved, quota)} on wall time)`,
    `growth of plan/floor from (a) to (q), waves and quota together: wall ${growth(plain, quota, wall)}, CPU ${growth(plain, quota, cpu)} (goal <= 5%: ${verdict(plain, quota)} on wall time)`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function run(): Promise<void> {
  const world = await setup();
  const { dir, server, manifests, stateFile, idsFile, changed } = world;
  if (LATENCY_MS > 0) server.faults.set({ latencyMs: LATENCY_MS });
  const creds = server.credentials;
  const childEnv: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    NO_COLOR: '1',
    AWS_ACCESS_KEY_ID: creds.accessKeyId,
    AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
    BENCH_URL: server.url,
    BENCH_AK: creds.accessKeyId,
    BENCH_SK: creds.secretAccessKey,
    BENCH_IDS: idsFile,
  };
  // The in-process runs read credentials the way the CLI does: from the environment.
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: creds.accessKeyId, AWS_SECRET_ACCESS_KEY: creds.secretAccessKey, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_EC2_METADATA_DISABLED: 'true' });
  if (values.waves) {
    await runWaves(world, childEnv);
    await server.close();
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  if (values.sizes) {
    await runSizes(world, childEnv);
    await server.close();
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  const planArgs = ['plan', '-f', manifests, '--endpoint-url', server.url, '--state', stateFile, '--format', 'json', '--max-concurrent-jobs', String(2 * N)];
  if (values.serve) {
    // Keep the world up for profiling by hand; Ctrl-C ends it.
    const envLine = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_EC2_METADATA_DISABLED', 'BENCH_URL', 'BENCH_AK', 'BENCH_SK', 'BENCH_IDS'].map((k) => `${k}=${childEnv[k]}`).join(' ');
    process.stdout.write(`env ${envLine} node bin/sms-reconcile.mjs ${planArgs.join(' ')}\n`);
    process.once('SIGINT', () => void server.close().then(() => rmSync(dir, { recursive: true, force: true })));
    return;
  }

  // Warm-up, and a check that the plan is the one meant.
  const warm = await timed([CLI, ...planArgs], childEnv);
  if (warm.code !== 0) throw new Error(`plan failed: ${warm.stderr}`);
  const plan = JSON.parse(warm.stdout) as { apiCalls: Record<string, number>; summary: Record<string, number>; changes: { action: string; fields: { field: string }[] }[] };
  const updates = plan.changes.filter((c) => c.action === 'update');
  if (updates.length !== changed.size || plan.summary['no-op'] !== N - changed.size || updates.some((u) => u.fields.map((f) => f.field).join() !== 'frequency')) {
    throw new Error(`unexpected plan: ${JSON.stringify(plan.summary)}`);
  }
  await timed(['--input-type=module', '-e', FLOOR_SRC], childEnv);

  const a: Run[] = [];
  const b: { run: Run; inside: number }[] = [];
  const aIn: number[] = [];
  const bIn: number[] = [];
  const c: { run: Run; inside: number }[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const ra = await timed([CLI, ...planArgs], childEnv);
    if (ra.code !== 0) throw new Error(`plan failed: ${ra.stderr}`);
    a.push(ra);
    const rb = await timed(['--input-type=module', '-e', FLOOR_SRC], childEnv);
    const floor = JSON.parse(rb.stdout) as { ms: number; servers: { n: number }; jobs: { n: number } };
    if (floor.servers.n !== N || floor.jobs.n !== N) throw new Error(`floor read ${rb.stdout}`);
    b.push({ run: rb, inside: floor.ms });
    const pin = await planInProcess(planArgs, dir);
    if (pin.code !== 0) throw new Error('in-process plan failed');
    aIn.push(pin.ms);
    bIn.push(await floorInProcess(server.url, creds));
    if (r < PER_JOB_ROUNDS) {
      const rc = await timed(['--input-type=module', '-e', PER_JOB_SRC], childEnv);
      const per = JSON.parse(rc.stdout) as { ms: number; calls: number };
      if (per.calls !== N) throw new Error(`per-job made ${per.calls} calls`);
      c.push({ run: rc, inside: per.ms });
    }
    log(`round ${r + 1}/${ROUNDS}: plan ${fmt(ra.ms)} (output done at ${fmt(ra.lastOutMs)}, ${ra.rssMb.toFixed(0)} MB), floor ${fmt(rb.ms)}, in-process plan ${fmt(pin.ms)} floor ${fmt(bIn.at(-1)!)}${c[r] ? `, per-job ${fmt(c[r]!.run.ms)}` : ''}`);
  }

  let phases: [string, number][] = [];
  if (values['cpu-prof']) {
    const profDir = values['cpu-prof'];
    mkdirSync(profDir, { recursive: true });
    const before = new Set(readdirSync(profDir));
    await timed(['--cpu-prof', '--cpu-prof-dir', profDir, CLI, ...planArgs], childEnv);
    const mainThread = readdirSync(profDir).filter((f) => !before.has(f) && f.endsWith('.cpuprofile')).sort()[0];
    if (mainThread) phases = profilePhases(join(profDir, mainThread));
    log(`cpu profile of one plan written to ${profDir}`);
  }

  const A = median(a.map((x) => x.ms));
  const B = median(b.map((x) => x.run.ms));
  const Bin = median(b.map((x) => x.inside));
  const C = median(c.map((x) => x.run.ms));
  const AinP = median(aIn);
  const BinP = median(bIn);
  const rss = median(a.map((x) => x.rssMb));
  const rssFloor = median(b.map((x) => x.run.rssMb));
  const cpuA = median(a.map((x) => x.cpuMs));
  const cpuB = median(b.map((x) => x.run.cpuMs));
  const calls = plan.apiCalls;
  const minimum = { GetServers: Math.ceil(N / PAGE), GetReplicationJobs: Math.ceil(N / PAGE), GetConnectors: 1 };
  const lines = [
    `bench/plan.ts: ${N} catalog servers, ${N} live jobs, ${N} ReplicationJob documents in ${FILES} files (vmName selectors), ${changed.size} differing (frequency); server latency ${LATENCY_MS} ms per request; ${ROUNDS} rounds (per-job ${PER_JOB_ROUNDS}), medians; node ${process.version}`,
    `(a) plan, CLI subprocess:          ${fmt(A)}   peak RSS ${rss.toFixed(0)} MB`,
    `(b) floor, bare SDK subprocess:    ${fmt(B)}   peak RSS ${rssFloor.toFixed(0)} MB   (of which the three listings: ${fmt(Bin)})`,
    `(c) per-job refresh, subprocess:   ${fmt(C)}   (10 in parallel, ${N} calls; the calls alone: ${fmt(median(c.map((x) => x.inside)))})`,
    `in-process (no Node start-up, sharing the server's event loop): plan ${fmt(AinP)}, floor ${fmt(BinP)}, ratio ${(AinP / BinP).toFixed(2)}`,
    `(a)/(b) = ${(A / B).toFixed(2)} (goal <= 1.3: ${A / B <= 1.3 ? 'met' : 'NOT met'}); CPU time (user+sys) ${fmt(cpuA)} vs ${fmt(cpuB)}: ${(cpuA / cpuB).toFixed(2)}`,
    `(c)/(a) = ${(C / A).toFixed(1)}`,
    `API calls: ${Object.entries(minimum).map(([k, min]) => `${k} ${calls[k] ?? 0} (minimum ${min})`).join(', ')}; others: ${JSON.stringify(Object.fromEntries(Object.entries(calls).filter(([k]) => !(k in minimum))))}`,
    `RSS: ${rss.toFixed(0)} MB (goal < ${RSS_GOAL_MB} MB: ${rss < RSS_GOAL_MB ? 'met' : 'NOT met'})`,
  ];
  if (phases.length > 0) {
    const sum = phases.reduce((n, [, ms]) => n + ms, 0);
    lines.push(`profile of one plan (main thread, ${fmt(sum)} sampled):`);
    for (const [name, ms] of phases) if (ms >= 10) lines.push(`  ${fmt(ms).padStart(8)}  ${((100 * ms) / sum).toFixed(0).padStart(3)}%  ${name}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}

await run();
