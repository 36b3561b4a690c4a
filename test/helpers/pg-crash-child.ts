/**
 * The writer of the pg crash test (test/contract/state-store-pg-crash.test.ts): opens the pg store
 * (argv: URL SCHEMA WORKSPACE), takes the lock (a killed predecessor's lock is freed by the server
 * with its session, or taken over at once: its pid is dead), resolves the predecessor's pending
 * intent, then records intent + result pairs forever, printing `ack N` once the result for job N
 * is committed. The parent kills it with SIGKILL at random.
 */
import { PgStateStore } from '../../src/state/pg-store.ts';
import { writeUntilKilled } from './crash-writer.ts';

const [url, schema, workspace] = process.argv.slice(2);
if (!url || !schema || !workspace) throw new Error('usage: pg-crash-child.ts URL SCHEMA WORKSPACE');
await writeUntilKilled(new PgStateStore(url, { schema, workspace }));
