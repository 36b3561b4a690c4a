// bench/server.ts: GetReplicationJobs throughput of the embedded SMS server (pages of 50 from a store
// of 10,000 jobs, SigV4-verified, on-disk SQLite) against a bare node:http handler that answers the
// same requests with the same bytes.
//   node --import tsx bench/server.ts [--jobs N] [--rounds N] [--seconds S] [--connections N]
// Both servers run in this process; the load generator runs in a child process (this file with
// --loadgen) so it does not share the servers' event loop. Each request is pre-signed (one per page
// token: the listing is walked once to collect them); rounds alternate SMS, bare, SMS, bare, ...
// Prints req/s per round and target, the SMS/bare ratio per round and its median (goal >= 0.5), and
// p50/p99 latency.
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Inventory } from '../src/server/inventory.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}

const PAGE = 50;
const TARGET = 'AWSServerMigrationService_V2016_10_24.GetReplicationJobs';

// ---------------------------------------------------------------------------------------------
// Load generator (child process): N keep-alive connections, one request in flight on each,
// pre-serialized request bytes, a minimal response parser (status line + Content-Length).

interface RunCommand {
  readonly cmd: 'run';
  readonly port: number;
  readonly durationMs: number;
  readonly connections: number;
}

interface RunResult {
  readonly requests: number;
  readonly non200: number;
  readonly errors: number;
  readonly elapsedMs: number;
  /** Latencies in ms, sorted. */
  readonly latencies: number[];
}

function loadGenerator(): void {
  let requests: Buffer[] = [];
  process.on('message', (msg: { cmd: 'init'; requests: string[] } | RunCommand | { cmd: 'exit' }) => {
    if (msg.cmd === 'init') {
      requests = msg.requests.map((r) => Buffer.from(r, 'base64'));
      process.send!({ cmd: 'ready' });
    } else if (msg.cmd === 'run') {
      void run(requests, msg).then((result) => process.send!({ cmd: 'result', result }));
    } else {
      process.exit(0);
    }
  });
}

async function run(requests: readonly Buffer[], cmd: RunCommand): Promise<RunResult> {
  const latencies: number[] = [];
  let non200 = 0;
  let errors = 0;
  let next = 0;
  const started = performance.now();
  const deadline = started + cmd.durationMs;

  const connection = () =>
    new Promise<void>((resolve) => {
      const sock: Socket = connect({ port: cmd.port, host: '127.0.0.1', noDelay: true });
      let buf: Buffer = Buffer.alloc(0);
      let sentAt = 0;
      const send = () => {
        if (performance.now() >= deadline) {
          sock.end();
          return;
        }
        const req = requests[next++ % requests.length]!;
        sentAt = performance.now();
        sock.write(req);
      };
      sock.on('connect', send);
      sock.on('data', (chunk: Buffer) => {
        buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
        for (;;) {
          const headEnd = buf.indexOf('\r\n\r\n');
          if (headEnd < 0) return;
          const head = buf.subarray(0, headEnd).toString('latin1');
          const m = /\r\ncontent-length: *(\d+)/i.exec(head);
          if (!m) {
            errors++;
            sock.destroy();
            return;
          }
          const total = headEnd + 4 + Number(m[1]);
          if (buf.length < total) return;
          latencies.push(performance.now() - sentAt);
          if (!head.startsWith('HTTP/1.1 200')) non200++;
          buf = buf.subarray(total);
          send();
        }
      });
      sock.on('error', () => {
        errors++;
      });
      sock.on('close', () => resolve());
    });

  await Promise.all(Array.from({ length: cmd.connections }, connection));
  const elapsedMs = performance.now() - started;
  latencies.sort((a, b) => a - b);
  return { requests: latencies.length, non200, errors, elapsedMs, latencies };
}

// ---------------------------------------------------------------------------------------------
// Parent: build the store, sign the requests, start both servers, run the rounds.

function inventory(vms: number): Inventory {
  const managers = 4;
  const per = Math.ceil(vms / managers);
  return {
    vmManagers: Array.from({ length: managers }, (_, m) => ({
      vmManagerId: `00000000-0000-4000-8000-00000000000${m}`,
      vmManagerName: `vcenter-${m}.bench.example.com`,
      vmManagerType: 'VSPHERE' as const,
      vms: Array.from({ length: Math.min(per, vms - m * per) }, (_, i) => ({
        vmId: `vm-${m * per + i}`,
        vmName: `bench-${String(m * per + i).padStart(5, '0')}`,
        vmPath: `/Datacenters/DC${m}/vm/bench/bench-${m * per + i}`,
      })),
    })),
    connectors: Array.from({ length: managers }, (_, m) => ({
      connectorId: `c-0000000000000000${m}`,
      vmManagerId: `00000000-0000-4000-8000-00000000000${m}`,
      status: 'HEALTHY' as const,
      capabilityList: ['VSPHERE' as const],
    })),
    settings: { maxConcurrentJobs: 2 * vms, seed: 1 },
  };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** One request over node:http, for the capture and the check. */
function httpOnce(port: number, raw: Buffer): Promise<{ status: number; body: Buffer }> {
  // Parse the pre-serialized request back into method, headers and body.
  const headEnd = raw.indexOf('\r\n\r\n');
  const lines = raw.subarray(0, headEnd).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  const body = raw.subarray(headEnd + 4);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function main(): Promise<void> {
  const JOBS = arg('jobs', 10_000);
  const ROUNDS = arg('rounds', 8);
  const SECONDS = arg('seconds', 3);
  const CONNECTIONS = arg('connections', 8);

  const { startServer } = await import('../src/server/server.ts');
  const { silentLogger } = await import('../src/report/logger.ts');
  const { SignatureV4 } = await import('@smithy/signature-v4');
  const { HttpRequest } = await import('@smithy/protocol-http');
  const { Hash } = await import('@smithy/hash-node');

  const load0 = loadavg()[0]!;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'sms-bench-server-'));
  const credentials = { accessKeyId: 'AKIABENCHSERVER00001', secretAccessKey: 'bench-secret-0000000000000000000000000000' };
  const sms = await startServer({
    dataDir,
    port: 0,
    clock: 'manual',
    inventory: inventory(JOBS),
    env: { SMS_SERVER_ACCESS_KEY_ID: credentials.accessKeyId, SMS_SERVER_SECRET_ACCESS_KEY: credentials.secretAccessKey },
    logger: silentLogger,
  });
  let bare: Server | undefined;
  let child: ReturnType<typeof fork> | undefined;
  try {
    // Seed: import the catalog, then one job per server, in-process (each its own transaction).
    const t0 = performance.now();
    const app = sms.app;
    app.handle('ImportServerCatalog', {}, undefined);
    app.advanceClock(5);
    const serverIds: string[] = [];
    let token: string | undefined;
    do {
      const page = app.handle('GetServers', { maxResults: 100, ...(token ? { nextToken: token } : {}) }, undefined) as {
        serverList: { serverId: string }[];
        nextToken?: string;
      };
      serverIds.push(...page.serverList.map((s) => s.serverId));
      token = page.nextToken;
    } while (token);
    if (serverIds.length !== JOBS) throw new Error(`expected ${JOBS} servers, got ${serverIds.length}`);
    const seed = Math.floor(app.clock.now()) + 7 * 86_400;
    for (const [i, serverId] of serverIds.entries()) {
      app.handle(
        'CreateReplicationJob',
        { serverId, seedReplicationTime: seed, frequency: 1 + (i % 24), description: `bench job ${i}`, licenseType: 'AWS', roleName: 'sms' },
        undefined,
      );
    }
    const seedMs = performance.now() - t0;

    // Walk the listing once: the page tokens, then one signed request per page.
    const bodies: string[] = [];
    token = undefined;
    do {
      const input: Record<string, unknown> = { maxResults: PAGE, ...(token ? { nextToken: token } : {}) };
      bodies.push(JSON.stringify(input));
      token = (app.handle('GetReplicationJobs', input, undefined) as { nextToken?: string }).nextToken;
    } while (token);
    const signer = new SignatureV4({ service: 'sms', region: sms.region, credentials, sha256: Hash.bind(null, 'sha256') });
    const host = `127.0.0.1:${sms.port}`;
    const raws: Buffer[] = [];
    for (const body of bodies) {
      const signed = await signer.sign(
        new HttpRequest({
          method: 'POST',
          protocol: 'http:',
          hostname: '127.0.0.1',
          port: sms.port,
          path: '/',
          headers: { host, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': TARGET },
          body,
        }),
      );
      const head = Object.entries({ ...signed.headers, 'content-length': String(Buffer.byteLength(body)) })
        .map(([k, v]) => `${k}: ${v}`)
        .join('\r\n');
      raws.push(Buffer.from(`POST / HTTP/1.1\r\n${head}\r\n\r\n${body}`, 'latin1'));
    }
    const signedAt = Date.now();

    // What the SMS server answers to each request: the bare handler's canned bytes.
    const canned = new Map<string, Buffer>();
    let pageBytes = 0;
    for (const [i, raw] of raws.entries()) {
      const res = await httpOnce(sms.port, raw);
      if (res.status !== 200) throw new Error(`capture: page ${i} answered ${res.status}: ${res.body.toString('utf8').slice(0, 300)}`);
      const jobs = (JSON.parse(res.body.toString('utf8')) as { replicationJobList: unknown[] }).replicationJobList;
      if (jobs.length !== PAGE) throw new Error(`capture: page ${i} has ${jobs.length} jobs`);
      canned.set(bodies[i]!, res.body);
      pageBytes += res.body.length;
    }

    bare = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const bytes = canned.get(Buffer.concat(chunks).toString('utf8'));
        if (!bytes) {
          res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1', 'content-length': 2 }).end('{}');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'content-length': bytes.length, 'x-amzn-requestid': randomUUID() });
        res.end(bytes);
      });
    });
    await new Promise<void>((resolve) => bare!.listen(0, '127.0.0.1', resolve));
    const barePort = (bare.address() as { port: number }).port;

    // The load generator.
    child = fork(fileURLToPath(import.meta.url), ['--loadgen'], { stdio: 'inherit' });
    const gen = child;
    const reply = <T>(cmd: string) =>
      new Promise<T>((resolve) => {
        const on = (m: { cmd: string; result?: T }) => {
          if (m.cmd === cmd) {
            gen.off('message', on);
            resolve(m.result as T);
          }
        };
        gen.on('message', on);
      });
    const ready = reply<void>('ready');
    gen.send({ cmd: 'init', requests: raws.map((r) => r.toString('base64')) });
    await ready;
    const measure = async (port: number, seconds: number): Promise<RunResult> => {
      const done = reply<RunResult>('result');
      gen.send({ cmd: 'run', port, durationMs: seconds * 1000, connections: CONNECTIONS });
      const r = await done;
      if (r.non200 > 0 || r.errors > 0) throw new Error(`port ${port}: ${r.non200} non-200 answers, ${r.errors} connection errors`);
      return r;
    };

    console.log(
      `bench/server.ts: GetReplicationJobs, pages of ${PAGE} from ${JOBS} jobs (${raws.length} pre-signed requests, ` +
        `${Math.round(pageBytes / raws.length)} bytes/page), ${CONNECTIONS} keep-alive connections, ${ROUNDS} rounds x ${SECONDS} s per target`,
    );
    console.log(`node ${process.version}, ${cpus().length} CPUs, load average ${load0.toFixed(2)} at start; store seeded in ${(seedMs / 1000).toFixed(1)} s`);
    // Warm-up (JIT, SQLite page cache), not counted.
    await measure(sms.port, 1);
    await measure(barePort, 1);

    const rows: { sms: RunResult; bare: RunResult }[] = [];
    console.log('round   sms req/s  bare req/s  ratio   sms p50/p99 ms   bare p50/p99 ms');
    for (let round = 1; round <= ROUNDS; round++) {
      if (Date.now() - signedAt > 13 * 60_000) throw new Error('the pre-signed requests are about to expire (15 min): use fewer rounds');
      const a = await measure(sms.port, SECONDS);
      const b = await measure(barePort, SECONDS);
      rows.push({ sms: a, bare: b });
      const rps = (r: RunResult) => (r.requests / r.elapsedMs) * 1000;
      console.log(
        `${String(round).padStart(5)}  ${rps(a).toFixed(0).padStart(10)}  ${rps(b).toFixed(0).padStart(10)}  ${(rps(a) / rps(b)).toFixed(3)}` +
          `   ${percentile(a.latencies, 50).toFixed(2).padStart(6)}/${percentile(a.latencies, 99).toFixed(2).padEnd(7)}` +
          `  ${percentile(b.latencies, 50).toFixed(2).padStart(6)}/${percentile(b.latencies, 99).toFixed(2)}`,
      );
    }
    const rps = (r: RunResult) => (r.requests / r.elapsedMs) * 1000;
    const ratio = median(rows.map((r) => rps(r.sms) / rps(r.bare)));
    const all = (pick: (r: { sms: RunResult; bare: RunResult }) => RunResult) => rows.flatMap((r) => pick(r).latencies).sort((x, y) => x - y);
    const smsLat = all((r) => r.sms);
    const bareLat = all((r) => r.bare);
    console.log(
      `median    ${median(rows.map((r) => rps(r.sms))).toFixed(0).padStart(10)}  ${median(rows.map((r) => rps(r.bare))).toFixed(0).padStart(10)}  ${ratio.toFixed(3)}` +
        `   ${percentile(smsLat, 50).toFixed(2).padStart(6)}/${percentile(smsLat, 99).toFixed(2).padEnd(7)}  ${percentile(bareLat, 50).toFixed(2).padStart(6)}/${percentile(bareLat, 99).toFixed(2)}`,
    );
    console.log(`sms/bare median ratio = ${ratio.toFixed(3)} (goal >= 0.5: ${ratio >= 0.5 ? 'met' : 'NOT met'}); load average ${loadavg()[0]!.toFixed(2)} at end`);
  } finally {
    child?.send({ cmd: 'exit' });
    await new Promise<void>((resolve) => {
      if (!bare) return resolve();
      bare.close(() => resolve());
      bare.closeAllConnections();
    });
    await sms.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--loadgen')) {
  loadGenerator();
} else {
  await main();
}
