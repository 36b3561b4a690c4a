import type { RegisterCommand } from '../context.ts';
import { registerForceUnlock } from './force-unlock.ts';
import { registerServer } from './server.ts';
import { registerState } from './state.ts';

/** Every command of the CLI, in the order `--help` lists them. */
export const commands: readonly RegisterCommand[] = [registerState, registerForceUnlock, registerServer];
