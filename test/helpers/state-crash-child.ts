/**
 * The writer of the crash test (test/contract/state-store-crash.test.ts): opens the file store at
 * argv[2], takes the lock (a killed predecessor's lock is taken over at once: its pid is dead),
 * resolves the predecessor's pending intent, then records intent + result pairs forever, printing
 * `ack N` once the result for job N is durable. The parent kills it with SIGKILL at random.
 */
import { FileStateStore } from '../../src/state/file-store.ts';
import { TARGET, jobRecord } from './state-fixtures.ts';

const path = process.argv[2];
if (!path) throw new Error('usage: state-crash-child.ts STATE_PATH');
// A small threshold, so that kills land in compactions too.
const store = new FileStateStore(path, { compactThresholdBytes: 16 * 1024 });
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
