/**
 * The standalone server of the apply crash tests (test/crash/apply-crash.test.ts and its pg twin):
 * `sms-reconcile server --control` as a subprocess (SQLite on disk, real clock) on a generated
 * inventory whose catalog import and deletes take 0 s, with the SDK adapter and the control client
 * the tests drive it with.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ControlClient } from '../../src/server/control-client.ts';
import type { SdkSmsApi } from '../../src/sms/client.ts';
import { apiFor, endpointOf, type Endpoint } from './apply-cli.ts';
import { generatedInventory } from './sms-world.ts';
import { startCliServer, type CliServer } from './subprocess.ts';

/** The server subprocess, its endpoint, an SDK adapter for checks and its control client. */
export interface CrashServer {
  readonly server: CliServer;
  readonly endpoint: Endpoint;
  readonly api: SdkSmsApi;
  readonly control: ControlClient;
}

export interface CrashServerOptions {
  /** How many generated VMs the inventory has. */
  readonly vms: number;
  /** The server's seed (settings.seed). */
  readonly seed: number;
  /** The server's environment (its key pair). */
  readonly env: NodeJS.ProcessEnv;
}

/** Writes `<root>/inventory.yaml` and starts the server on it with its data in `<root>/server`. */
export async function startCrashServer(root: string, opts: CrashServerOptions): Promise<CrashServer> {
  const inventory = generatedInventory({ vms: opts.vms });
  const inventoryFile = join(root, 'inventory.yaml');
  await writeFile(
    inventoryFile,
    stringify({
      apiVersion: 'sms-reconcile/v1',
      kind: 'Inventory',
      vmManagers: inventory.vmManagers,
      connectors: inventory.connectors,
      settings: { catalogImportSeconds: 0, deleteSeconds: 0, maxConcurrentJobs: 1000, seed: opts.seed },
    }),
  );
  const server = await startCliServer({ dataDir: join(root, 'server'), args: ['--inventory', inventoryFile, '--control'], env: opts.env });
  const endpoint = endpointOf(server);
  return { server, endpoint, api: apiFor(endpoint), control: new ControlClient(server.url, server.region, server.credentials) };
}
