import { join, resolve } from 'node:path';
import { userError } from '../model/errors.ts';
import { stripUserinfo } from '../model/redact.ts';
import type { Logger } from '../report/logger.ts';
import type { RunningServer } from '../server/server.ts';
import { SdkSmsApi } from '../sms/client.ts';
import type { AdaptiveRateLimiter } from '../sms/retry.ts';
import type { TargetIdentity } from '../state/codec.ts';
import type { GlobalOptions } from './context.ts';
import type { CliIo } from './io.ts';
import { DEFAULT_REGION } from '../server/defaults.ts';

export const DEFAULT_EMBEDDED_DIR = '.sms-reconcile/embedded';

/** The SMS service a command talks to, always through the real SDK client over HTTP. */
export interface Target {
  readonly api: SdkSmsApi;
  readonly identity: TargetIdentity;
  /** One line for the top of every plan and apply: which service this is. */
  readonly description: string;
  /** The in-process server, for the embedded target. */
  readonly embedded: RunningServer | undefined;
  close(): Promise<void>;
}

export interface TargetOptions {
  readonly inventory?: string;
  readonly limiter?: AdaptiveRateLimiter;
  readonly logger?: Logger;
}

/**
 * `--endpoint-url embedded` (the default when no endpoint is configured) starts the SMS server
 * in-process on a free loopback port, with its data under `.sms-reconcile/embedded/` (or
 * `--embedded-dir`); any other URL (or AWS_ENDPOINT_URL_SMS) is used with the standard AWS
 * credential chain.
 */
/** An --inventory file that cannot be read or is invalid: the user's error, with the schema to follow. */
export function badInventory(err: Error): Error {
  return userError('bad-inventory', err.message, 'fix the inventory file; its schema is schemas/inventory.v1.schema.json');
}

export async function openTarget(g: GlobalOptions, io: CliIo, opts: TargetOptions = {}): Promise<Target> {
  const region = g.region ?? DEFAULT_REGION;
  const endpoint = g.endpointUrl;
  if (endpoint === undefined || endpoint === 'embedded') {
    const dataDir = resolve(io.cwd, g.embeddedDir ?? DEFAULT_EMBEDDED_DIR);
    // Loaded only when it is the target: a remote endpoint does not pay for the server's modules.
    const [{ startServer }, { InventoryError }] = await Promise.all([import('../server/server.ts'), import('../server/inventory.ts')]);
    const server = await startServer({
      host: '127.0.0.1',
      port: 0,
      region,
      dataDir,
      inventory: opts.inventory ? resolve(io.cwd, opts.inventory) : undefined,
      env: io.env,
      logger: opts.logger,
    }).catch((err: unknown) => {
      throw err instanceof InventoryError ? badInventory(err) : err;
    });
    const api = new SdkSmsApi({ endpoint: server.url, region, credentials: server.credentials, limiter: opts.limiter });
    const info = server.app.info();
    return {
      api,
      identity: { kind: 'embedded', endpoint: 'embedded', region, id: info.serverId },
      description: `embedded SMS server (${region}, data ${relativeTo(io.cwd, dataDir)})`,
      embedded: server,
      close: async () => {
        api.destroy();
        await server.close();
      },
    };
  }
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw userError('bad-endpoint', `--endpoint-url '${stripUserinfo(endpoint)}' is not a URL`, "give a URL such as http://127.0.0.1:4573, or 'embedded'");
  }
  // Userinfo (http://user:password@host) is never sent (SigV4 signs requests) and never shown or
  // stored: the SDK, the state, the plan file and every message get the URL without it.
  url.username = '';
  url.password = '';
  const bare = stripUserinfo(url.toString().replace(/\/$/, ''));
  // Keys in the command's environment are used as given; otherwise the SDK's standard credential chain.
  const key = io.env['AWS_ACCESS_KEY_ID'];
  const secret = io.env['AWS_SECRET_ACCESS_KEY'];
  const token = io.env['AWS_SESSION_TOKEN'];
  const credentials = key && secret ? { accessKeyId: key, secretAccessKey: secret, ...(token ? { sessionToken: token } : {}) } : undefined;
  const api = new SdkSmsApi({ endpoint: bare, region, limiter: opts.limiter, credentials });
  return {
    api,
    identity: { kind: 'remote', endpoint: bare, region },
    description: `SMS endpoint ${bare} (${region})`,
    embedded: undefined,
    close: async () => api.destroy(),
  };
}

/** True when the options select the in-process server (no endpoint, or 'embedded'). */
export function isEmbeddedTarget(g: Pick<GlobalOptions, 'endpointUrl'>): boolean {
  return g.endpointUrl === undefined || g.endpointUrl === 'embedded';
}

function relativeTo(cwd: string, path: string): string {
  return path.startsWith(cwd + '/') ? path.slice(cwd.length + 1) : path === cwd ? '.' : join(path);
}
