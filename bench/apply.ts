/**
 * Apply throughput against a rate-limited service (issue 5): 500 creates against the embedded
 * server throttling mutations at 50/s, the CLI's `apply` as a subprocess with its default
 * `--parallelism`. The ideal is 500 / 50 = 10 s; the goal is at most 1.25x that, with no failed
 * operation.
 *
 *   node --import tsx bench/apply.ts [--jobs 500] [--rate 50] [--burst 50] [--parallelism 4] [--runs 1]
 *
 * The server runs in this process (real clock, SQLite in a temp dir, catalog imported up front) and
 * logs every answer at debug level: ThrottlingException answers and retries are counted there, on
 * the server side (the CLI does not log its retries). The bucket's burst defaults to one second's
 * worth (the faults model's default): the first 50 creates pass at once, so the true floor is 9 s;
 * the ratio is still taken against 10 s, as the issue states it.
 *
 * Times: `wall` is the CLI process from spawn to exit (Node + tsx start-up, plan, apply, state
 * compaction); `apply` is the executor's own duration as the CLI prints it ("... in N s"); `creates`
 * is the span from the first to the last CreateReplicationJob answer on the server. The ratio is
 * `apply` / ideal.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { createLogger } from '../src/report/logger.ts';
import { startServer } from '../src/server/server.ts';
import { SdkSmsApi } from '../src/sms/client.ts';
import { decodeState } from '../src/state/codec.ts';
import { requestLineSink, type LoggedRequest } from '../test/helpers/cli.ts';
import { generatedInventory } from '../test/helpers/sms-world.ts';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '500' },
    rate: { type: 'string', default: '50' },
    burst: { type: 'string' },
    parallelism: { type: 'string' },
    runs: { type: 'string', default: '1' },
  },
});
const JOBS = Number(values.jobs);
const RATE = Number(values.rate);
const BURST = values.burst === undefined ? RATE : Number(values.burst);
const RUNS = Number(values.runs);
const BIN = fileURLToPath(new URL('../bin/sms-reconcile.mjs', import.meta.url));

interface Answer extends LoggedRequest {
  readonly at: number;
}

interface RunResult {
  readonly wallS: number;
  readonly applyS: number;
  readonly createsS: number;
  readonly created: number;
  readonly failed: number;
  readonly createCalls: number;
  readonly throttled: number;
  readonly otherErrors: number;
  readonly exit: number | null;
}

async function runOnce(n: number): Promise<RunResult> {
  const dir = await mkdtemp(join(tmpdir(), 'sms-apply-bench-'));
  const answers: Answer[] = [];
  const sink = requestLineSink((r) => answers.push({ ...r, at: performance.now() }));
  const inventory = generatedInventory({ vms: JOBS });
  const server = await startServer({
    dataDir: join(dir, 'server'),
    port: 0,
    clock: 'real',
    inventory: { ...inventory, settings: { catalogImportSeconds: 0, maxConcurrentJobs: JOBS + 100, seed: 7 + n } },
    env: {},
    logger: createLogger({ level: 'debug', format: 'json', stream: sink }),
  });
  const api = new SdkSmsApi({ endpoint: server.url, region: server.region, credentials: server.credentials });
  try {
    await api.importServerCatalog();
    await api.getServers();
    const manifests = join(dir, 'manifests');
    await mkdir(manifests);
    await writeFile(
      join(manifests, 'all.yaml'),
      stringify({
        apiVersion: 'sms-reconcile/v1',
        kind: 'ReplicationJobSet',
        metadata: { name: 'bench' },
        spec: { template: { frequency: 12, description: 'bench' }, match: { vmNameGlob: 'gen-*' } },
      }),
    );
    await writeFile(join(dir, 'aws-config'), '');
    server.faults.set({ throttle: { mutate: { ratePerSecond: RATE, burst: BURST } } });
    answers.length = 0;
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_') && !k.startsWith('SMS_') && k !== 'NODE_OPTIONS') env[k] = v;
    Object.assign(env, {
      NO_COLOR: '1',
      AWS_ACCESS_KEY_ID: server.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: server.credentials.secretAccessKey,
      AWS_REGION: server.region,
      AWS_CONFIG_FILE: join(dir, 'aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'aws-config'),
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    const args = [BIN, 'apply', '-f', manifests, '--auto-approve', '--max-concurrent-jobs', String(JOBS + 100), '--endpoint-url', server.url, '--state', join(dir, 'state.json'), '--log-format', 'json', '--log-level', 'info'];
    if (values.parallelism !== undefined) args.push('--parallelism', values.parallelism);
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    const exit = await new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    const wallS = (performance.now() - t0) / 1000;
    if (exit !== 0) process.stderr.write(`apply exited ${exit}\n${out.slice(-3000)}\n${err.slice(-3000)}\n`);
    const applyS = Number(/Apply (?:complete|failed)[^\n]* in (\d+(?:\.\d+)?)s\./.exec(out)?.[1] ?? /after (\d+(?:\.\d+)?)s[.:]/.exec(out)?.[1] ?? Number.NaN);
    const creates = answers.filter((a) => a.action === 'CreateReplicationJob');
    const state = decodeState(await readFile(join(dir, 'state.json'), 'utf8'));
    const failedLogs = err.split('\n').filter((l) => l.includes('"event":"apply.failed"')).length;
    return {
      wallS,
      applyS,
      createsS: creates.length > 0 ? ((creates.at(-1)?.at ?? 0) - (creates[0]?.at ?? 0)) / 1000 : 0,
      created: Object.keys(state.resources).length,
      failed: failedLogs,
      createCalls: creates.length,
      throttled: creates.filter((a) => a.error === 'ThrottlingException').length,
      otherErrors: answers.filter((a) => a.status !== 200 && a.error !== 'ThrottlingException').length,
      exit,
    };
  } finally {
    api.destroy();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const ideal = JOBS / RATE;
process.stdout.write(
  `bench/apply.ts: ${JOBS} creates, server throttles mutations at ${RATE}/s (burst ${BURST}), CLI apply --parallelism ${values.parallelism ?? '4 (default)'}, node ${process.version}\n`,
);
process.stdout.write('run  exit  wall s  apply s  creates s  ratio  created  failed  Create calls  throttled  retries  other errors\n');
const ratios: number[] = [];
for (let n = 1; n <= RUNS; n++) {
  const r = await runOnce(n);
  const ratio = r.applyS / ideal;
  ratios.push(ratio);
  process.stdout.write(
    `${String(n).padStart(3)}  ${String(r.exit).padStart(4)}  ${r.wallS.toFixed(1).padStart(6)}  ${r.applyS.toFixed(1).padStart(7)}  ${r.createsS.toFixed(1).padStart(9)}  ${ratio.toFixed(2).padStart(5)}  ${String(r.created).padStart(7)}  ${String(r.failed).padStart(6)}  ${String(r.createCalls).padStart(12)}  ${String(r.throttled).padStart(9)}  ${String(r.createCalls - r.created).padStart(7)}  ${String(r.otherErrors).padStart(12)}\n`,
  );
}
const worst = Math.max(...ratios);
process.stdout.write(`ideal ${ideal.toFixed(1)} s; worst apply/ideal ratio ${worst.toFixed(2)} (goal <= 1.25: ${worst <= 1.25 ? 'met' : 'NOT met'})\n`);
