/**
 * Holds the file state lock at argv[2] until killed, for the apply tests' "lock held by another
 * process" case. Prints `locked <LockInfo JSON>` once the lock is taken.
 */
import { FileStateStore } from '../../src/state/file-store.ts';

const path = process.argv[2];
if (!path) throw new Error('usage: apply-lock-holder.ts STATE_PATH');
const store = new FileStateStore(path);
const lock = await store.lock({ operation: 'a test holding the lock' });
process.stdout.write(`locked ${JSON.stringify(lock.info)}\n`);
// The lease heartbeat's timers do not keep the process alive: this does, until the parent kills it.
setInterval(() => undefined, 60_000);
