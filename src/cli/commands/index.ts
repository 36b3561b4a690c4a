import type { RegisterCommand } from '../context.ts';
import { registerServer } from './server.ts';

/** Every command of the CLI, in the order `--help` lists them. */
export const commands: readonly RegisterCommand[] = [registerServer];
