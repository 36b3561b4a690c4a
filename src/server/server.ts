import { randomUUID } from 'node:crypto';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { silentLogger, type Logger } from '../report/logger.ts';
import { SmsApp } from './app.ts';
import { SigV4Verifier, type Credential } from './auth.ts';
import { credentialLookup, loadServerCredentials } from './credentials.ts';
import { ApiError } from './errors.ts';
import { checkFaultSpec, Faults, type FaultSpec } from './faults.ts';
import type { Input } from './handlers/input.ts';
import { loadInventoryFile, type Inventory, type ServerSettings } from './inventory.ts';
import { CONTROL_PREFIX, createRequestListener, type ControlHandler } from './protocol.ts';
import { Rng, seedRng } from './random.ts';
import { DEFAULT_PORT, DEFAULT_REGION } from './defaults.ts';
import { ioMessage } from '../model/messages.ts';
import { logMessage } from '../report/log-message.ts';

export interface ServerOptions {
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  readonly region?: string;
  /** A directory, or ':memory:'. */
  readonly dataDir: string;
  /** An inventory, or the path of one; the built-in demo inventory when absent. */
  readonly inventory?: Inventory | string;
  readonly clock?: 'real' | 'manual';
  /** Serve the control endpoint even with a real clock. */
  readonly control?: boolean;
  readonly faults?: FaultSpec;
  readonly settings?: Partial<ServerSettings>;
  readonly env?: NodeJS.ProcessEnv;
  readonly logger?: Logger;
  readonly wallMs?: () => number;
  /** Connections served at once; more are closed on arrival (default 1,000). */
  readonly maxConnections?: number;
}

export const DEFAULT_MAX_CONNECTIONS = 1000;
/** A client has this long to send its headers, and this long for the whole request (1 MiB at ~35 KB/s). */
export const HEADERS_TIMEOUT_MS = 10_000;
export const REQUEST_TIMEOUT_MS = 30_000;
/** Control operations that change something: refused to read-only keys, like the mutating actions. */
const MUTATING_CONTROL_OPS = new Set(['AdvanceClock', 'SetFaults', 'SetConnectorStatus', 'AddCredentials', 'Reset']);

export interface RunningServer {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly region: string;
  /** The first accepted key pair: what a client in the same process signs with. */
  readonly credentials: Credential;
  readonly credentialsOrigin: 'env' | 'file' | 'generated';
  readonly credentialsFile: string | undefined;
  readonly app: SmsApp;
  readonly faults: Faults;
  close(): Promise<void>;
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const region = opts.region ?? DEFAULT_REGION;
  const logger = opts.logger ?? silentLogger;
  const inventory = typeof opts.inventory === 'object' ? opts.inventory : loadInventoryFile(opts.inventory);
  const clockMode = opts.clock ?? 'real';
  const app = new SmsApp({ dataDir: opts.dataDir, inventory, clock: clockMode, settings: opts.settings, wallMs: opts.wallMs });
  const loaded = loadServerCredentials(opts.dataDir, opts.env ?? process.env);
  const credentials: Credential[] = [...loaded.credentials];
  const keys = acceptedKeys(credentials);
  const verifier = new SigV4Verifier({ service: 'sms', region, lookup: (id) => keys.lookup(id), now: opts.wallMs ?? Date.now });
  const faultRng = new Rng(seedRng(app.settings.seed ?? Math.floor(Math.random() * 2 ** 32)));
  const faults = new Faults(() => performance.now(), () => faultRng.next());
  if (opts.faults) faults.set(checkFaultSpec(opts.faults));

  const control = controlHandler(app, faults, region, keys);
  const controlEnabled = clockMode === 'manual' || opts.control === true;
  const listener = createRequestListener({ app, verifier, faults, logger, control: controlEnabled ? control : undefined });
  const server = createHttpServer(listener, opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS);
  const host = opts.host ?? '127.0.0.1';
  await listen(server, opts.port ?? DEFAULT_PORT, host);
  const port = (server.address() as AddressInfo).port;
  if (!isLoopback(host)) {
    logMessage(logger, ioMessage('server.non-loopback', 'warn', `listening on ${host}, which is not a loopback address: other machines can reach this server, which is meant for tests and demos only`, { host }));
  }
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closed = false;
  return {
    url: `http://${urlHost}:${port}`,
    host,
    port,
    region,
    credentials: credentials[0] as Credential,
    credentialsOrigin: loaded.origin,
    credentialsFile: loaded.file,
    app,
    faults,
    close: async () => {
      if (closed) return;
      closed = true;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      app.close();
    },
  };
}

/** The keys the server accepts: those loaded at start, then any added through the control endpoint. */
interface AcceptedKeys {
  /** The accepted key with this id, if any. */
  lookup(accessKeyId: string): Credential | undefined;
  /** Accepts one more key, appended to `credentials`; its id must be new. */
  add(credential: Credential): void;
}

/** Keys over `credentials`, which grows as keys are added (its first entry stays the first accepted key). */
function acceptedKeys(credentials: Credential[]): AcceptedKeys {
  let lookup = credentialLookup(credentials);
  return {
    lookup: (id) => lookup(id),
    add: (c) => {
      lookup = credentialLookup([...credentials, c]);
      credentials.push(c);
    },
  };
}

/**
 * The control endpoint's operations (GetInfo, AdvanceClock, SetFaults, SetConnectorStatus,
 * AddCredentials, Reset). A read-only key may only read; a key's denied actions are refused.
 */
function controlHandler(app: SmsApp, faults: Faults, region: string, keys: AcceptedKeys): ControlHandler {
  return (op, input, credential) => {
    if ((MUTATING_CONTROL_OPS.has(op) && credential.readOnly) || credential.deniedActions?.some((a) => a === op || a === `${CONTROL_PREFIX}${op}`)) {
      throw new ApiError('UnauthorizedOperationException', `This user does not have permissions to perform ${CONTROL_PREFIX}${op.slice(0, 100)}.`);
    }
    switch (op) {
      case 'GetInfo':
        return { ...app.info(), region, faults: faults.current() };
      case 'AdvanceClock':
        return { now: app.advanceClock(Number(input['seconds'])) };
      case 'SetFaults':
        try {
          faults.set(checkFaultSpec(input['faults'] ?? {}));
        } catch (e) {
          throw new ApiError('InvalidParameterException', e instanceof Error ? e.message : String(e));
        }
        return {};
      case 'SetConnectorStatus': {
        const status = input['status'];
        if (status !== 'HEALTHY' && status !== 'UNHEALTHY') throw new ApiError('InvalidParameterException', 'status must be HEALTHY or UNHEALTHY.');
        app.setConnectorStatus(String(input['connectorId']), status);
        return {};
      }
      case 'AddCredentials': {
        const c = parseCredential(input);
        if (keys.lookup(c.accessKeyId) !== undefined) {
          throw new ApiError('InvalidParameterException', `Access key id ${c.accessKeyId.slice(0, 128)} exists already; pick another id.`);
        }
        keys.add(c);
        return {};
      }
      case 'Reset':
        app.reset();
        faults.set({});
        return {};
      default:
        throw new ApiError('UnknownOperationException', `Unknown control operation ${op.slice(0, 100)}.`);
    }
  };
}

/**
 * The HTTP server around `listener`. A request without Host reaches the handler (and fails SigV4
 * there, in the JSON error shape). Bounded cost per client: headers within 10 s, the whole request
 * within 30 s (checked every second), at most maxConnections at once; the signature is checked
 * before the body is read (protocol.ts).
 */
function createHttpServer(listener: RequestListener, maxConnections: number): Server {
  const server: Server = createServer(
    { keepAliveTimeout: 65_000, requireHostHeader: false, headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, connectionsCheckingInterval: 1_000 },
    listener,
  );
  server.maxConnections = maxConnections;
  server.on('clientError', answerClientError);
  return server;
}

/** Requests too malformed for node:http to parse (or too slow) still get the service's error shape. */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (!socket.writable || err.code === 'ECONNRESET' || inFlight?.headersSent === true) {
    socket.destroy();
    return;
  }
  const timedOut = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
  const body = JSON.stringify(
    timedOut
      ? { __type: 'RequestTimeoutException', message: `The request was not received within ${REQUEST_TIMEOUT_MS / 1000} s.` }
      : { __type: 'SerializationException', message: 'The request is not a well-formed HTTP request.' },
  );
  socket.end(
    `HTTP/1.1 ${timedOut ? '408 Request Timeout' : '400 Bad Request'}\r\ncontent-type: application/x-amz-json-1.1\r\n` +
      `x-amzn-errortype: ${timedOut ? 'RequestTimeoutException' : 'SerializationException'}\r\n` +
      `x-amzn-requestid: ${randomUUID()}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** Starts listening; rejects if the port cannot be bound. */
function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** 127.0.0.0/8, ::1 and localhost; anything else (0.0.0.0, ::, a LAN address) can be reached from elsewhere. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || /^::ffff:127\./.test(h);
}

function parseCredential(input: Input): Credential {
  const { accessKeyId, secretAccessKey, sessionToken, readOnly, deniedActions } = input;
  if (typeof accessKeyId !== 'string' || typeof secretAccessKey !== 'string' || accessKeyId === '' || secretAccessKey === '') {
    throw new ApiError('InvalidParameterException', 'accessKeyId and secretAccessKey are required strings.');
  }
  return {
    accessKeyId,
    secretAccessKey,
    ...(typeof sessionToken === 'string' ? { sessionToken } : {}),
    ...(readOnly === true ? { readOnly: true } : {}),
    ...(Array.isArray(deniedActions) ? { deniedActions: deniedActions.filter((a): a is string => typeof a === 'string') } : {}),
  };
}

/** Reads a faults file (YAML or JSON). */
/** Reads a faults file (YAML or JSON); every problem is an Error whose message starts 'invalid faults'. */
export function loadFaultsFile(file: string): FaultSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`invalid faults: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (e) {
    throw new Error(`invalid faults: ${file} is not YAML or JSON: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
  }
  try {
    return checkFaultSpec(value);
  } catch (e) {
    throw new Error(`${e instanceof Error ? e.message : String(e)} (in ${file})`);
  }
}
