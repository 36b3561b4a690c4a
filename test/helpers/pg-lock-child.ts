/**
 * A lock holder in another process, for the pg lock tests. Argv: URL SCHEMA WORKSPACE HOST. Takes
 * the lock as holder {HOST, its pid} with a 10-minute lease, prints `locked ID`, then for each
 * line on stdin tries one resource write and prints `wrote SERIAL` or `error CODE`. It never
 * releases the lock by itself: it is killed, or its backend is terminated by force-unlock.
 */
import { createInterface } from 'node:readline';
import { PgStateStore } from '../../src/state/pg-store.ts';
import { namedJob } from './state-fixtures.ts';

const [url, schema, workspace, host] = process.argv.slice(2);
if (!url || !schema || !workspace || !host) throw new Error('usage: pg-lock-child.ts URL SCHEMA WORKSPACE HOST');
const store = new PgStateStore(url, { schema, workspace, holder: { host, pid: process.pid }, leaseMs: 600_000 });
const lock = await store.lock({ operation: 'held by a child', timeoutMs: 10_000 });
process.stdout.write(`locked ${lock.info.id}\n`);
let n = 0;
for await (const _line of createInterface({ input: process.stdin })) {
  try {
    const { serial } = await store.writeResources(lock, [{ address: `ReplicationJob/child-${n++}`, record: namedJob(`child-${n - 1}`) }]);
    process.stdout.write(`wrote ${serial}\n`);
  } catch (err) {
    process.stdout.write(`error ${(err as { code?: string }).code ?? String(err)}\n`);
  }
}
