import type { RegisterCommand } from '../context.ts';
import { registerApply } from './apply.ts';
import { registerController } from './controller.ts';
import { registerExport } from './export.ts';
import { registerForceUnlock } from './force-unlock.ts';
import { registerImport } from './import.ts';
import { registerPlan } from './plan.ts';
import { registerServer } from './server.ts';
import { registerState } from './state.ts';
import { registerStatus } from './status.ts';
import { registerValidate } from './validate.ts';

/** Every command of the CLI, in the order `--help` lists them. */
export const commands: readonly RegisterCommand[] = [registerValidate, registerPlan, registerApply, registerStatus, registerImport, registerExport, registerState, registerForceUnlock, registerServer, registerController];
