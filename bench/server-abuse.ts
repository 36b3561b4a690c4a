// bench/server-abuse.ts: what unauthenticated clients cost the embedded server (issue #21).
//   node --import tsx bench/server-abuse.ts [--connections N] [--cli PATH]
// Starts `sms-reconcile server --port 0 --data :memory:` as a child process on loopback, then opens
// N (default 500) connections that each send the headers of an unsigned request promising a 1 MiB
// body and then start sending it, 64 KiB at a time. Meanwhile a signed GetConnectors is sent every
// 50 ms. Prints the server's RSS before, its peak RSS during the storm (VmHWM after resetting it
// through /proc/PID/clear_refs, and the highest VmRSS sampled every 10 ms), how the abusive
// connections ended, and the signed requests' latency. The storm runs in a child process (this file
// with --storm), so the signed requests' latency is the server's, not the load generator's. Goals: peak RSS growth < 30 MB, every
// signed request answered within 1 s. Loopback only; every loop is bounded (N connections, 16
// chunks each, one storm, a 60 s cap on the whole run).
import { fork, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { send, signedHeaders } from '../test/helpers/sms-raw.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : (process.argv[i + 1] ?? fallback);
}

const CONNECTIONS = Number(arg('connections', '500'));
const CLI = arg('cli', fileURLToPath(new URL('../bin/sms-reconcile.mjs', import.meta.url)));
const MIB = 1024 * 1024;
const CHUNK = 64 * 1024;
const KEY = { accessKeyId: 'AKIABENCHABUSE000001', secretAccessKey: 'bench-abuse-secret-000000000000000000000' };
const REGION = 'us-east-1';
const TARGET = 'AWSServerMigrationService_V2016_10_24.GetConnectors';

const hardStop = setTimeout(() => {
  console.error('server-abuse: gave up after 60 s');
  process.exit(2);
}, 60_000);

function kib(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : Number.NaN;
}

async function signedCall(url: URL): Promise<{ status: number; ms: number }> {
  const base = url.toString().replace(/\/$/, '');
  const headers = await signedHeaders({ url: base, region: REGION, credentials: KEY }, { target: 'GetConnectors' });
  const started = performance.now();
  const res = await send(base, { method: 'POST', path: '/', headers, body: '{}' });
  return { status: res.status, ms: performance.now() - started };
}

type Ending = 'answered 4xx' | 'answered other' | 'closed, no answer' | 'reset' | 'open at end';

/** One abusive connection: unsigned headers promising 1 MiB, then the body in chunks until the server answers or closes. */
function abuse(url: URL): { ended: Promise<Ending>; socket: Socket } {
  const socket = connect({ host: url.hostname, port: Number(url.port) });
  const ended = new Promise<Ending>((resolve) => {
    let answer = '';
    let chunks = 0;
    socket.setNoDelay(true);
    socket.on('connect', () => {
      socket.write(
        `POST / HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/x-amz-json-1.1\r\nx-amz-target: ${TARGET}\r\ncontent-length: ${MIB}\r\n\r\n`,
      );
      const next = () => {
        if (answer !== '' || socket.destroyed || chunks >= MIB / CHUNK) return;
        chunks += 1;
        socket.write(Buffer.alloc(CHUNK, 0x78), () => setTimeout(next, 20));
      };
      setTimeout(next, 20);
    });
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    socket.on('error', () => resolve(answer ? (/^HTTP\/1\.1 4/.test(answer) ? 'answered 4xx' : 'answered other') : 'reset'));
    socket.on('close', () => resolve(answer ? (/^HTTP\/1\.1 4/.test(answer) ? 'answered 4xx' : 'answered other') : 'closed, no answer'));
  });
  return { ended, socket };
}

/** The storm process: opens the connections, reports how each ended. */
async function storm(url: URL): Promise<void> {
  const all = Array.from({ length: CONNECTIONS }, () => abuse(url));
  process.send?.({ opened: all.length });
  const settle = setTimeout(() => {
    for (const s of all) s.socket.destroy();
  }, 20_000);
  const endings = await Promise.all(all.map((s) => s.ended));
  clearTimeout(settle);
  process.send?.({ endings }, () => process.exit(0));
}

async function main(): Promise<void> {
  const child = spawn(process.execPath, [CLI, 'server', '--port', '0', '--data', ':memory:', '--host', '127.0.0.1'], {
    env: { ...process.env, SMS_SERVER_ACCESS_KEY_ID: KEY.accessKeyId, SMS_SERVER_SECRET_ACCESS_KEY: KEY.secretAccessKey, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const pid = child.pid!;
  const url = await new Promise<URL>((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(new URL(m[1]!));
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code})`)));
  });
  try {
    // Warm up: the first signed requests load the handlers.
    for (let i = 0; i < 20; i++) await signedCall(url);
    await new Promise((r) => setTimeout(r, 500));
    const rssBefore = kib(pid, 'VmRSS');
    let hwmReset = true;
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
    } catch {
      hwmReset = false;
    }
    let rssMax = rssBefore;
    const sampler = setInterval(() => (rssMax = Math.max(rssMax, kib(pid, 'VmRSS'))), 10);

    const child2 = fork(fileURLToPath(import.meta.url), ['--storm', url.toString(), '--connections', String(CONNECTIONS)], { execArgv: ['--import', 'tsx'] });
    const endingsP = new Promise<Ending[]>((resolve) => child2.on('message', (m: { endings?: Ending[] }) => m.endings && resolve(m.endings)));
    const latencies: number[] = [];
    const statuses = new Map<number, number>();
    let storming = true;
    const prober = (async () => {
      for (let i = 0; i < 400 && (storming || i < 5); i++) {
        const r = await signedCall(url);
        latencies.push(r.ms);
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        await new Promise((res) => setTimeout(res, 20));
      }
    })();
    const endings = await endingsP;
    storming = false;
    await prober;
    clearInterval(sampler);
    const hwm = kib(pid, 'VmHWM');
    const rssAfter = kib(pid, 'VmRSS');

    const counts = new Map<Ending, number>();
    for (const e of endings) counts.set(e, (counts.get(e) ?? 0) + 1);
    latencies.sort((a, b) => a - b);
    const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? Number.NaN;
    const mb = (k: number) => (k / 1024).toFixed(1);
    const peak = hwmReset ? Math.max(hwm, rssMax) : rssMax;
    console.log(`server: ${CLI} (pid ${pid}), ${CONNECTIONS} unsigned connections each promising 1 MiB`);
    console.log(`RSS before ${mb(rssBefore)} MB, peak ${mb(peak)} MB (VmHWM ${hwmReset ? `${mb(hwm)} MB after clear_refs` : 'not resettable'}, sampled max ${mb(rssMax)} MB), after ${mb(rssAfter)} MB`);
    console.log(`peak RSS growth: ${mb(peak - rssBefore)} MB (goal < 30 MB)`);
    console.log(`abusive connections: ${[...counts].map(([k, v]) => `${v} ${k}`).join(', ')}`);
    console.log(
      `signed GetConnectors meanwhile: ${latencies.length} requests, statuses ${[...statuses].map(([k, v]) => `${k}x${v}`).join(' ')}, ` +
        `p50 ${pct(50).toFixed(1)} ms, p99 ${pct(99).toFixed(1)} ms, max ${(latencies.at(-1) ?? Number.NaN).toFixed(1)} ms (goal: every one < 1000 ms)`,
    );
  } finally {
    child.kill('SIGTERM');
    clearTimeout(hardStop);
  }
}

const stormAt = process.argv.indexOf('--storm');
if (stormAt !== -1) {
  clearTimeout(hardStop);
  await storm(new URL(process.argv[stormAt + 1]!));
} else {
  await main();
}
