import { SMSClient } from '@aws-sdk/client-sms';
import { ControlClient } from '../../src/server/control-client.ts';
import type { Inventory, ServerSettings } from '../../src/server/inventory.ts';
import { startServer, type RunningServer, type ServerOptions } from '../../src/server/server.ts';
import type { FaultSpec } from '../../src/server/faults.ts';

export interface TestServer {
  readonly server: RunningServer;
  /** The real SDK client, over HTTP, signed with the server's key. */
  readonly sms: SMSClient;
  readonly control: ControlClient;
  /** Moves the manual lifecycle clock forward. */
  advance(seconds: number): Promise<number>;
  close(): Promise<void>;
}

export interface TestServerOptions {
  readonly inventory?: Inventory | string;
  readonly settings?: Partial<ServerSettings>;
  readonly faults?: FaultSpec;
  readonly dataDir?: string;
  readonly clock?: 'real' | 'manual';
  readonly extra?: Partial<ServerOptions>;
}

/** An in-memory server on a free loopback port with a manual clock, and the real SDK client for it. */
export async function startTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const server = await startServer({
    dataDir: opts.dataDir ?? ':memory:',
    port: 0,
    clock: opts.clock ?? 'manual',
    control: true,
    inventory: opts.inventory,
    settings: { seed: 42, ...opts.settings },
    faults: opts.faults,
    env: {},
    ...opts.extra,
  });
  const sms = new SMSClient({ endpoint: server.url, region: server.region, credentials: server.credentials, maxAttempts: 1 });
  const control = new ControlClient(server.url, server.region, server.credentials);
  return {
    server,
    sms,
    control,
    advance: (seconds) => control.advanceClock(seconds),
    close: async () => {
      sms.destroy();
      await server.close();
    },
  };
}
