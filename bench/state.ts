/**
 * State store cost per recorded operation (one intent + its result, each durable) at 100 and at
 * 10,000 resources, for the file store and the PostgreSQL store in one run. The claim
 * (ARCHITECTURE.md section 5): a write costs O(size of the change), so the 10,000/100 ratio of
 * median times should be at most 2, for each store.
 *
 *   node --import tsx bench/state.ts [--ops 400] [--dir DIR] [--pg-url postgres://...] [--stores file,pg]
 *
 * File: each size runs in a fresh directory (default: under the OS temp dir, which must be a real
 * disk for fsync to mean anything; this prints the directory). pg: each size runs in a fresh schema
 * of the database at --pg-url (default: SMS_RECONCILE_TEST_PG_URL), dropped afterwards; "bytes/op"
 * is the WAL the server wrote per operation (pg_current_wal_lsn), the whole cluster's. Without a
 * URL, the pg rows are skipped with a message.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { FileStateStore } from '../src/state/file-store.ts';
import { PgStateStore } from '../src/state/pg-store.ts';
import type { StateStore } from '../src/state/store.ts';
import { jobRecord, stateWith } from '../test/helpers/state-fixtures.ts';

interface BenchStore {
  readonly name: string;
  /** Opens a fresh, empty store; `bytesWritten` when the store can tell. */
  open(dir: string): Promise<{ store: StateStore; bytesWritten?: () => Promise<number>; cleanup: () => Promise<void> }>;
}

const { values } = parseArgs({
  options: {
    ops: { type: 'string', default: '400' },
    dir: { type: 'string' },
    'pg-url': { type: 'string' },
    stores: { type: 'string', default: 'file,pg' },
  },
});
const PG_URL = values['pg-url'] ?? process.env['SMS_RECONCILE_TEST_PG_URL'];

/** One statement on a short-lived connection (schema setup, WAL position). */
async function pgQuery<R extends pg.QueryResultRow>(url: string, text: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text)).rows;
  } finally {
    await client.end();
  }
}

const STORES: readonly BenchStore[] = [
  {
    name: 'file',
    open: async (dir) => {
      const store = new FileStateStore(join(dir, 'state.json'));
      return { store, bytesWritten: async () => store.stats.bytesWritten, cleanup: async () => undefined };
    },
  },
  {
    name: 'pg',
    open: async () => {
      if (!PG_URL) throw new Error('no --pg-url');
      const url = PG_URL;
      const schema = `bench_${randomBytes(4).toString('hex')}`;
      const store = new PgStateStore(url, { schema, workspace: 'bench' });
      const wal = async (): Promise<number> => {
        const [row] = await pgQuery<{ b: string }>(url, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::text AS b");
        return Number(row?.b ?? Number.NaN);
      };
      return { store, bytesWritten: wal, cleanup: async () => void (await pgQuery(url, `DROP SCHEMA IF EXISTS "${schema}" CASCADE`)) };
    },
  },
];

const OPS = Number(values.ops);
const WARMUP = 30;
const SIZES = [100, 10_000] as const;

function quantile(sorted: readonly number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))));
  return sorted[i] ?? Number.NaN;
}

interface Result {
  readonly size: number;
  readonly median: number;
  readonly p90: number;
  readonly bytesPerOp: number | undefined;
  readonly setupMs: number;
}

async function run(bench: BenchStore, size: number, base: string): Promise<Result> {
  const dir = await mkdtemp(join(base, `sms-state-bench-${bench.name}-${size}-`));
  const { store, bytesWritten, cleanup } = await bench.open(dir);
  try {
    const t0 = performance.now();
    const lock = await store.lock({ operation: 'bench', timeoutMs: 0 });
    await store.replace(lock, stateWith(size));
    const setupMs = performance.now() - t0;
    const times: number[] = [];
    let bytesBefore = 0;
    for (let i = 0; i < WARMUP + OPS; i++) {
      if (i === WARMUP) bytesBefore = (await bytesWritten?.()) ?? 0;
      const record = jobRecord(i % size, 2 + i);
      const start = performance.now();
      const intent = await store.appendIntent(lock, {
        address: record.address,
        operation: 'UpdateReplicationJob',
        replicationJobId: record.replicationJobId,
        spec: record.appliedSpec,
      });
      await store.appendResult(lock, intent.id, { status: 'succeeded' }, [{ address: record.address, record }]);
      if (i >= WARMUP) times.push(performance.now() - start);
    }
    const bytesPerOp = bytesWritten ? ((await bytesWritten()) - bytesBefore) / OPS : undefined;
    await lock.release();
    times.sort((a, b) => a - b);
    return { size, median: quantile(times, 0.5), p90: quantile(times, 0.9), bytesPerOp, setupMs };
  } finally {
    await store.close();
    await cleanup();
    await rm(dir, { recursive: true, force: true });
  }
}

const base = values.dir ?? tmpdir();
const wanted = new Set((values.stores ?? '').split(',').map((s) => s.trim()));
console.log(`bench/state.ts: ${OPS} operations (intent + result, each durable) per size after ${WARMUP} warm-up, in ${base}, node ${process.version}`);
if (wanted.has('pg')) {
  if (PG_URL) {
    const [v] = await pgQuery<{ v: string }>(PG_URL, "SELECT current_setting('server_version') AS v");
    const where = new URL(PG_URL);
    console.log(`pg: PostgreSQL ${v?.v ?? '?'} at ${where.hostname}:${where.port || '5432'} (bytes/op = WAL bytes)`);
  } else {
    console.log('pg: skipped (no --pg-url and no SMS_RECONCILE_TEST_PG_URL; `eval "$(bash scripts/ci-postgres.sh)"` starts a server)');
  }
}
console.log('store  resources  median ms/op  p90 ms/op  bytes/op  setup ms');
let failed = false;
for (const bench of STORES) {
  if (!wanted.has(bench.name) || (bench.name === 'pg' && !PG_URL)) continue;
  const results: Result[] = [];
  for (const size of SIZES) {
    const r = await run(bench, size, base);
    results.push(r);
    console.log(
      `${bench.name.padEnd(5)}  ${String(size).padStart(9)}  ${r.median.toFixed(3).padStart(12)}  ${r.p90.toFixed(3).padStart(9)}  ${(r.bytesPerOp?.toFixed(0) ?? '-').padStart(8)}  ${r.setupMs.toFixed(0).padStart(8)}`,
    );
  }
  const [small, large] = results;
  if (small && large) {
    const ratio = large.median / small.median;
    const ok = ratio <= 2;
    failed ||= !ok;
    console.log(`${bench.name}: median ratio 10,000/100 = ${ratio.toFixed(2)} (goal <= 2: ${ok ? 'met' : 'NOT met'})`);
  }
}
process.exitCode = failed ? 1 : 0;
