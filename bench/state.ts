/**
 * State store cost per recorded operation (one intent + its result, each durable) at 100 and at
 * 10,000 resources. The claim (ARCHITECTURE.md section 5): a write costs O(size of the change),
 * so the 10,000/100 ratio of median times should be at most 2.
 *
 *   node --import tsx bench/state.ts [--ops 400] [--dir DIR]
 *
 * Each size runs in a fresh directory (default: under the OS temp dir, which must be a real disk
 * for fsync to mean anything; this prints the directory). Stores are listed in STORES; the pg store
 * joins there with issue 6.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { FileStateStore } from '../src/state/file-store.ts';
import type { StateStore } from '../src/state/store.ts';
import { jobRecord, stateWith } from '../test/helpers/state-fixtures.ts';

interface BenchStore {
  readonly name: string;
  /** Opens a fresh, empty store; `bytesWritten` when the store can tell. */
  open(dir: string): Promise<{ store: StateStore; bytesWritten?: () => number; cleanup: () => Promise<void> }>;
}

const STORES: readonly BenchStore[] = [
  {
    name: 'file',
    open: async (dir) => {
      const store = new FileStateStore(join(dir, 'state.json'));
      return { store, bytesWritten: () => store.stats.bytesWritten, cleanup: async () => undefined };
    },
  },
];

const { values } = parseArgs({ options: { ops: { type: 'string', default: '400' }, dir: { type: 'string' } } });
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
      if (i === WARMUP) bytesBefore = bytesWritten?.() ?? 0;
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
    const bytesPerOp = bytesWritten ? (bytesWritten() - bytesBefore) / OPS : undefined;
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
console.log(`bench/state.ts: ${OPS} operations (intent + result, each durable) per size after ${WARMUP} warm-up, in ${base}, node ${process.version}`);
console.log('store  resources  median ms/op  p90 ms/op  bytes/op  setup ms');
let failed = false;
for (const bench of STORES) {
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
