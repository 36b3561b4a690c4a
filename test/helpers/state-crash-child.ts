/**
 * The writer of the crash test (test/contract/state-store-crash.test.ts): opens the file store at
 * argv[2], takes the lock (a killed predecessor's lock is taken over at once: its pid is dead),
 * resolves the predecessor's pending intent, then records intent + result pairs forever, printing
 * `ack N` once the result for job N is durable. The parent kills it with SIGKILL at random.
 */
import { FileStateStore } from '../../src/state/file-store.ts';
import { writeUntilKilled } from './crash-writer.ts';

const path = process.argv[2];
if (!path) throw new Error('usage: state-crash-child.ts STATE_PATH');
// A small threshold, so that kills land in compactions too.
await writeUntilKilled(new FileStateStore(path, { compactThresholdBytes: 16 * 1024 }));
