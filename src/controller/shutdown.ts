/**
 * Stopping the controller. The first SIGTERM/SIGINT stops it gracefully: the running cycle finishes
 * its operations, the lease and the lock are released, exit 0, all within SHUTDOWN_DEADLINE_MS or
 * exit 1. A second signal exits 130 at once (the journal lets the next run finish the work).
 */
import type { Logger } from '../report/logger.ts';
import type { LeaderElector } from './leader.ts';
import type { ControllerLoop } from './loop.ts';
import { ioMessage } from '../model/messages.ts';
import { logMessage } from '../report/log-message.ts';

/** After the first signal the controller exits within this, whatever the cycle is doing. */
export const SHUTDOWN_DEADLINE_MS = 25_000;
/** The exit code of a second signal. */
const EXIT_NOW = 130;
/** The exit code when the graceful stop outlasts its deadline. */
const EXIT_DEADLINE = 1;

export interface SignalWatch {
  /** The first signal's name. */
  readonly first: Promise<string>;
  /** Stop listening for signals and let the process end. */
  dispose(): void;
}

/** Listens for SIGINT and SIGTERM, and keeps the process alive until dispose (its timers are unref'd). */
export function watchSignals(logger: Logger): SignalWatch {
  let signals = 0;
  let resolveFirst: (signal: string) => void = () => undefined;
  const first = new Promise<string>((r) => (resolveFirst = r));
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      logMessage(logger, ioMessage('controller.exit-now', 'warn', 'second signal: exiting at once; the journal lets the next run finish the work', { signal }));
      process.exit(EXIT_NOW);
    }
    resolveFirst(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const keepAlive = setInterval(() => undefined, 60_000);
  return {
    first,
    dispose: () => {
      clearInterval(keepAlive);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** After the first signal: let the loop finish its cycle, then give up the lease; past the deadline, exit 1. */
export async function stopGracefully(signal: string, loop: ControllerLoop, elector: LeaderElector, logger: Logger): Promise<void> {
  logMessage(logger, ioMessage('controller.stopping', 'info', `${signal}: finishing the running cycle, then exiting`, { signal }));
  const deadline = setTimeout(() => {
    logMessage(logger, ioMessage('controller.exit-deadline', 'error', `still stopping after ${SHUTDOWN_DEADLINE_MS / 1000}s: exiting; the journal lets the next run finish the work`, {}));
    process.exit(EXIT_DEADLINE);
  }, SHUTDOWN_DEADLINE_MS);
  deadline.unref();
  await loop.stop();
  await elector.stop();
  clearTimeout(deadline);
  logMessage(logger, ioMessage('controller.stopped', 'info', 'controller stopped: lease and lock released', {}));
}
