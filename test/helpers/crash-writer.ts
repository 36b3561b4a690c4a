// The loop both crash-test children run: take the lock, resolve a killed predecessor's pending
// intent, then record intent + result pairs forever, printing `ack N` once job N's result is durable.
import type { StateStore } from '../../src/state/store.ts';
import { TARGET, jobRecord } from './state-fixtures.ts';

export async function writeUntilKilled(store: StateStore): Promise<never> {
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
}
