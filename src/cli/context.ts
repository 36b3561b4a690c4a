import type { Command } from 'commander';
import type { CliIo } from './io.ts';
import type { CommandHost } from './io-host.ts';

/** Options that every command accepts, before or after the command name. */
export interface GlobalOptions {
  readonly state: string | undefined;
  readonly endpointUrl: string | undefined;
  readonly region: string | undefined;
  readonly logLevel: string;
  readonly logFormat: 'pretty' | 'json' | undefined;
  readonly color: boolean;
  readonly embeddedDir: string | undefined;
  /** --state-schema (already folded into `state` when that is a postgres:// URL). */
  readonly stateSchema: string | undefined;
  /** --workspace (already folded into `state` when that is a postgres:// URL). */
  readonly workspace: string | undefined;
  /** --max-concurrent-jobs as given (or SMS_RECONCILE_MAX_CONCURRENT_JOBS), with where it came from; cli/job-limit.ts checks it. */
  readonly maxConcurrentJobs: { readonly value: string; readonly from: string } | undefined;
}

export interface CommandContext {
  readonly io: CliIo;
  /** The global options as parsed for this invocation. */
  globals(): GlobalOptions;
  /** Records the process exit code of the command that ran. */
  setExit(code: number): void;
  /**
   * Where every message of the command goes (model/messages.ts): commands never write to the
   * streams themselves; the CLI's host (io-host.ts) renders what they tell it.
   */
  readonly host: CommandHost;
}

/** Each file in cli/commands exports one of these. It adds its command to the program. */
export type RegisterCommand = (program: Command, ctx: CommandContext) => void;
