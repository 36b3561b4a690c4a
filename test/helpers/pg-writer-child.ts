/**
 * One of the concurrent writers of test/contract/state-store-pg-concurrency.test.ts. Argv: URL
 * SCHEMA WORKSPACE NAME ROUNDS PER_ROUND ADDRESSES. Each round takes the lock (waiting up to 60 s),
 * records PER_ROUND intent + result pairs for addresses drawn from a set of ADDRESSES shared by all
 * writers (so they overlap), then releases it. Prints `done CHANGES` at the end.
 */
import type { ResourceRecord } from '../../src/state/codec.ts';
import { PgStateStore } from '../../src/state/pg-store.ts';
import { jobRecord } from './state-fixtures.ts';

const [url, schema, workspace, name, roundsText, perRoundText, addressesText] = process.argv.slice(2);
if (!url || !schema || !workspace || !name || !roundsText || !perRoundText || !addressesText) {
  throw new Error('usage: pg-writer-child.ts URL SCHEMA WORKSPACE NAME ROUNDS PER_ROUND ADDRESSES');
}
const rounds = Number(roundsText);
const perRound = Number(perRoundText);
const addresses = Number(addressesText);
const store = new PgStateStore(url, { schema, workspace });
let changes = 0;
for (let round = 0; round < rounds; round++) {
  const lock = await store.lock({ operation: `writer ${name} round ${round}`, timeoutMs: 60_000 });
  try {
    for (let k = 0; k < perRound; k++) {
      const i = round * perRound + k;
      const base = jobRecord((i * 3 + name.length) % addresses);
      const record: ResourceRecord = { ...base, appliedSpec: { ...base.appliedSpec, description: `${name} ${i}` } };
      const intent = await store.appendIntent(lock, { address: record.address, operation: 'UpdateReplicationJob', replicationJobId: record.replicationJobId, spec: record.appliedSpec });
      await store.appendResult(lock, intent.id, { status: 'succeeded' }, [{ address: record.address, record }]);
      changes += 2;
    }
  } finally {
    await lock.release();
  }
}
await store.close();
process.stdout.write(`done ${changes}\n`);
