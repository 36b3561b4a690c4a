import { describeLock } from '../../state/lease.ts';
import { output } from '../../model/messages.ts';
import type { RegisterCommand } from '../context.ts';
import { withStore } from './state.ts';

const HELP = `
Breaks the state lock whose id is LOCK_ID (the lock error names it). Use it only when you are sure
the holder is gone: a run on another machine, or one that hung. A holder that is still alive
notices at its next write and stops; the journal lets the next run finish its work.
(A lock whose holder died on this machine, or whose lease ran out, is taken over by itself.)

Examples:
  $ sms-reconcile force-unlock 8d1f9c2a-3b4e-4f5a-9b6c-7d8e9f0a1b2c
`;

/** `sms-reconcile force-unlock LOCK_ID`. */
export const registerForceUnlock: RegisterCommand = (program, ctx) => {
  program
    .command('force-unlock')
    .description('break the state lock with the given id')
    .argument('<lock-id>', 'the id of the lock, as the lock error shows it')
    .addHelpText('after', HELP)
    .action(async (lockId: string) => {
      await withStore(ctx, async (store) => {
        const removed = await store.forceUnlock(lockId);
        ctx.host.notify(output('lock.removed', `Removed ${describeLock(removed, Date.now())}.\n`));
      });
    });
};
