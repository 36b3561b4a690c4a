import { Option } from 'commander';
import { userError } from '../../model/errors.ts';
import { ioMessage, output } from '../../model/messages.ts';
import { DEFAULT_PORT, DEFAULT_REGION } from '../../server/defaults.ts';
import type { RegisterCommand } from '../context.ts';
import { ExitCode } from '../io.ts';
import { badInventory } from '../target.ts';

export const DEFAULT_SERVER_DATA_DIR = '.sms-reconcile/server';

interface ServerFlags {
  host: string;
  port: string;
  data: string;
  inventory?: string;
  clock: 'real' | 'manual';
  faults?: string;
  control?: boolean;
  maxConnections: string;
}

export const registerServer: RegisterCommand = (program, ctx) => {
  program
    .command('server')
    .description('run the embedded SMS API server standalone (AWS JSON 1.1 + SigV4, for the AWS CLI and SDKs)')
    .option('--host <host>', 'address to bind (loopback unless told otherwise)', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0 picks a free one)', String(DEFAULT_PORT))
    .option('--data <dir>', "data directory (SQLite database, generated credentials), or ':memory:'", DEFAULT_SERVER_DATA_DIR)
    .option('--inventory <file>', 'on-premises inventory (schemas/inventory.v1.schema.json); default: examples/inventory.yaml')
    .addOption(new Option('--clock <mode>', 'lifecycle clock: real, or manual (advanced through the control endpoint)').choices(['real', 'manual']).default('real'))
    .option('--faults <file>', 'fault injection file (throttling, 5xx, latency), YAML or JSON')
    .option('--control', 'serve the control endpoint with a real clock too')
    .option('--max-connections <n>', 'connections served at once; more are closed on arrival', '1000')
    .addHelpText('after', `
The region is the global --region (default ${DEFAULT_REGION}). Credentials: SMS_SERVER_ACCESS_KEY_ID and
SMS_SERVER_SECRET_ACCESS_KEY, or a pair generated once into <data>/credentials.json (mode 0600).

Examples:
  $ sms-reconcile server
  $ sms-reconcile server --port 0 --data :memory: --clock manual
  $ AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... aws sms get-connectors --endpoint-url http://127.0.0.1:${DEFAULT_PORT} --region ${DEFAULT_REGION}`)
    .action(async (flags: ServerFlags) => {
      const g = ctx.globals();
      const port = Number(flags.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw userError('bad-port', `--port ${flags.port} is not a port number`, 'use 0..65535');
      const maxConnections = Number(flags.maxConnections);
      if (!/^\d+$/.test(flags.maxConnections) || maxConnections < 1) {
        throw userError('bad-max-connections', `--max-connections ${flags.maxConnections} is not a positive whole number`, 'the default is 1000');
      }
      // The server says more by default (info: its credentials, each start and stop); a --log-level
      // given is obeyed from the first line. `listening on` is not a log record: it always prints.
      const level = program.getOptionValueSource('logLevel') === 'default' ? 'info' : g.logLevel;
      const logger = ctx.host.logger({ level, format: g.logFormat });
      // The server's modules (SQLite, handlers) are loaded by this command only.
      const [{ loadFaultsFile, startServer }, { InventoryError }] = await Promise.all([import('../../server/server.ts'), import('../../server/inventory.ts')]);
      let server;
      try {
        server = await startServer({
          host: flags.host,
          port,
          region: g.region ?? DEFAULT_REGION,
          dataDir: flags.data,
          inventory: flags.inventory,
          clock: flags.clock,
          control: flags.control,
          maxConnections,
          faults: flags.faults ? loadFaultsFile(flags.faults) : undefined,
          env: ctx.io.env,
          logger,
        });
      } catch (err) {
        if (err instanceof InventoryError) throw badInventory(err);
        const e = err as NodeJS.ErrnoException;
        if (e.code === 'EADDRINUSE') throw userError('port-in-use', `port ${port} on ${flags.host} is already in use`, 'pick another with --port, or --port 0 for a free one');
        if (e instanceof Error && e.message.startsWith('invalid faults')) throw userError('bad-faults', e.message, 'see "Faults" in src/server/BEHAVIOR.md');
        throw err;
      }
      const where = server.credentialsOrigin === 'env' ? 'from the environment' : server.credentialsFile ? `in ${server.credentialsFile}` : 'generated for this run';
      ctx.host.notify(ioMessage('server.started', 'info', `credentials ${where}`, { region: server.region, dataDir: flags.data, clock: flags.clock, accessKeyId: server.credentials.accessKeyId }));
      ctx.host.notify(output('server.listening', `listening on ${server.url}\n`));
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          ctx.host.notify(ioMessage('server.stopping', 'info', 'shutting down', { signal }));
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void server.close().then(resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      ctx.setExit(ExitCode.ok);
    });
};
