import { Command, CommanderError, Option } from 'commander';
import { isSmsReconcileError } from '../model/errors.ts';
import { output } from '../model/messages.ts';
import type { withStateScope as WithStateScope } from '../state/open.ts';
import type { CommandContext, GlobalOptions } from './context.ts';
import { ExitCode, processIo, type CliIo } from './io.ts';
import { CliIoHost, errorMessage } from './io-host.ts';
import { VERSION } from './version.ts';

/**
 * Parses argv, runs one command and returns the process exit code. This is the one place where
 * errors become exit codes: typed errors print their code, message and hint; anything else is a bug
 * and prints its stack.
 */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  if (io === processIo) ignoreClosedPipes(io);
  // The commands (and all they import) load only when one may run: `--version` alone is the CLI's
  // cold start (bench/startup.ts), and loading every command's modules would be most of it.
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    new CliIoHost(io, () => ({ level: 'silent', format: undefined, color: false })).notify(output('cli.version', `${VERSION}\n`));
    return ExitCode.ok;
  }
  const [{ commands }, { withStateScope }, { createLogger }] = await Promise.all([import('./commands/index.ts'), import('../state/open.ts'), import('../report/logger.ts')]);
  let exit: number = ExitCode.ok;
  const program = new Command('sms-reconcile');
  const globals = () => readGlobals(program, io, withStateScope);
  const host = new CliIoHost(
    io,
    () => {
      const g = globals();
      return { level: g.logLevel, format: g.logFormat, color: g.color };
    },
    createLogger,
  );
  const ctx: CommandContext = {
    io,
    globals,
    setExit: (code) => {
      exit = code;
    },
    host,
  };
  program
    .description('Declarative management of AWS Server Migration Service replication jobs, with an embedded SMS API server.')
    .version(VERSION, '-V, --version')
    .option('--state <path|url>', 'state location: a file path or postgres://... (default .sms-reconcile/state.json)')
    .option('--endpoint-url <url>', "SMS endpoint URL, or 'embedded' for the in-process server (default)")
    .option('--region <region>', 'AWS region (default from AWS_REGION, else us-east-1)')
    .option('--log-level <level>', 'log level: trace|debug|info|warn|error|silent', 'warn')
    .addOption(new Option('--log-format <format>', 'log format').choices(['pretty', 'json']))
    .option('--no-color', 'disable colour (also NO_COLOR)')
    .option('--embedded-dir <dir>', 'data directory of the embedded server (default .sms-reconcile/embedded)')
    .option('--state-schema <name>', 'PostgreSQL state: the schema holding the state tables, so projects can share a database (default sms_reconcile)')
    .option('--workspace <name>', 'PostgreSQL state: which of several states in the schema (default "default")')
    .option('--max-concurrent-jobs <n>', "the account's concurrent-job limit, for plan, apply, status and controller (default 50, or SMS_RECONCILE_MAX_CONCURRENT_JOBS)")
    .showSuggestionAfterError(true)
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', `
Examples:
  $ sms-reconcile validate -f examples/quickstart
  $ sms-reconcile plan -f examples/quickstart
  $ sms-reconcile apply -f examples/quickstart --auto-approve --wait
  $ sms-reconcile <command> --help`)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => host.notify(output('cli.usage', s)),
      writeErr: (s) => host.notify(output('cli.usage-error', s, 'error')),
    });
  for (const register of commands) register(program, ctx);
  // A fixed help width: the same --help everywhere, and the README's CLI reference stays checkable.
  program.configureHelp({ helpWidth: 100 });
  for (const sub of program.commands) sub.exitOverride().showSuggestionAfterError(true).configureHelp({ helpWidth: 100 });

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exit;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through here with exitCode 0.
      return err.exitCode === 0 ? ExitCode.ok : ExitCode.error;
    }
    if (isSmsReconcileError(err)) {
      host.notify(errorMessage(err));
      return ExitCode.error;
    }
    const e = err instanceof Error ? err : new Error(String(err));
    host.notify(output('cli.internal-error', `Internal error (a bug in sms-reconcile, please report it): ${e.stack ?? e.message}\n`, 'error'));
    return ExitCode.error;
  }
}

/**
 * `sms-reconcile ... | head`: once the reader has gone, the rest of the output is dropped (EPIPE,
 * then writes to the closed stream) instead of crashing with an unhandled 'error' event and a
 * stack trace; the command itself runs to its end (an apply is never cut short by its reader) and
 * exits with its own code (0 for a plan). bin/sms-reconcile.mjs waits for the output to drain.
 */
function ignoreClosedPipes(io: CliIo): void {
  for (const stream of [io.stdout, io.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
    });
  }
}

function readGlobals(program: Command, io: CliIo, withStateScope: typeof WithStateScope): GlobalOptions {
  const o = program.opts<{
    state?: string;
    endpointUrl?: string;
    region?: string;
    logLevel: string;
    logFormat?: 'pretty' | 'json';
    color: boolean;
    embeddedDir?: string;
    stateSchema?: string;
    workspace?: string;
    maxConcurrentJobs?: string;
  }>();
  const jobLimitEnv = io.env['SMS_RECONCILE_MAX_CONCURRENT_JOBS'];
  return {
    // --state-schema and --workspace travel inside a postgres:// location, so every command gets them.
    state: withStateScope(o.state ?? io.env['SMS_RECONCILE_STATE'], { schema: o.stateSchema, workspace: o.workspace }),
    endpointUrl: o.endpointUrl ?? io.env['AWS_ENDPOINT_URL_SMS'],
    region: o.region ?? io.env['AWS_REGION'] ?? io.env['AWS_DEFAULT_REGION'],
    logLevel: o.logLevel,
    logFormat: o.logFormat,
    color: o.color && io.env['NO_COLOR'] === undefined,
    embeddedDir: o.embeddedDir,
    stateSchema: o.stateSchema,
    workspace: o.workspace,
    maxConcurrentJobs:
      o.maxConcurrentJobs !== undefined
        ? { value: o.maxConcurrentJobs, from: '--max-concurrent-jobs' }
        : jobLimitEnv !== undefined && jobLimitEnv !== ''
          ? { value: jobLimitEnv, from: 'SMS_RECONCILE_MAX_CONCURRENT_JOBS' }
          : undefined,
  };
}
