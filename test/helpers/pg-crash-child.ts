/**
 * The writer of the pg crash test (test/contract/state-store-pg-crash.test.ts): opens the pg store
 * (argv: URL SCHEMA WORKSPACE), takes the lock (a killed predecessor's lock is freed by the server
 * with its session, or taken over at once: its pid is dead), resolves the predecessor's pending
 * intent, then records intent + result pairs forever, printing `ack N` once the result for job N
 * is committed. The parent kills it with SIGKILL at random.
 */
import { PgStateStore } from '../../src/state/pg-store.ts';
import { TARGET, jobRecord } from './state-fixtures.ts';

const [url, schema, workspace] = process.argv.slice(2);
if (!url || !schema || !workspace) throw new Error('usage: pg-crash-child.ts URL SCHEMA WORKSPACE');
const store = new PgStateStore(url, { schema, workspace });
const lock = await store.lock({ operation: 'crash test', timeoutMs: 10_000 });
const doc = (await store.read()) ?? (await store.initialize(lock, TARGET));
for (const intent of await store.pendingIntents()) {
  await store.appendResult(lock, intent.id, { status: 'recovered', happened: false, note: 'predecessor was killed' }, []);
}
let n = Object.keys(doc.resources).length;
process.stdout.write(`ready ${n}\n`);
for (;;) {
  const record = jobRecord(n);
  const intent = await store.appendIntent(lock, { address: record.address, operation: 'CreateReplicationJob', serverId: record.serverId, spec: record.appliedSpec });
  await store.appendResult(lock, intent.id, { status: 'succeeded', replicationJobId: record.replicationJobId }, [{ address: record.address, record }]);
  process.stdout.write(`ack ${n}\n`);
  n++;
}
