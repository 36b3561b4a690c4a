import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../report/logger.ts';
import type { SmsApp } from './app.ts';
import type { SigV4Verifier} from './auth.ts';
import { type Credential } from './auth.ts';
import { ApiError } from './errors.ts';
import type { Faults } from './faults.ts';
import { ACTION_SPECS, isAction } from './handlers/index.ts';
import type { Input } from './handlers/input.ts';

/**
 * AWS JSON 1.1 over HTTP: `POST /`, `X-Amz-Target: <prefix>.<Action>`, a JSON object body, SigV4.
 * Every answer carries `x-amzn-requestid`; errors are `{"__type","message"}` with the code in
 * `x-amzn-errortype` too. Nothing a client sends can crash the server: an unexpected exception is
 * logged and answered as InternalError (500) with the transaction rolled back.
 */

export const TARGET_PREFIX = 'AWSServerMigrationService_V2016_10_24.';
export const CONTROL_PREFIX = 'SmsReconcileControl.';
export const MAX_BODY_BYTES = 1024 * 1024;
const CONTENT_TYPE = 'application/x-amz-json-1.1';

export type ControlHandler = (op: string, input: Input, credential: Credential) => Record<string, unknown>;

export interface ProtocolOptions {
  readonly app: SmsApp;
  readonly verifier: SigV4Verifier;
  readonly faults: Faults;
  readonly logger: Logger;
  /** When set, `SmsReconcileControl.*` targets reach it (signed like any request). */
  readonly control?: ControlHandler;
}

export function createRequestListener(opts: ProtocolOptions): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const requestId = randomUUID();
    const started = performance.now();
    readBody(req, MAX_BODY_BYTES)
      .then((body) => respond(opts, req, body))
      .catch((err: unknown) => toErrorResult(err, opts.logger, requestId))
      .then(async (result) => {
        if (result.latencyMs > 0) await new Promise((r) => setTimeout(r, result.latencyMs));
        send(res, requestId, result);
        if (opts.logger.isLevelEnabled('debug')) opts.logger.debug(
          { requestId, action: result.action, status: result.status, ms: Math.round(performance.now() - started), error: result.errorCode },
          'request',
        );
      })
      .catch((err: unknown) => {
        opts.logger.error({ requestId, err }, 'failed to write a response');
        res.destroy();
      });
  };
}

interface Result {
  readonly status: number;
  readonly body: string | Buffer;
  readonly errorCode?: string;
  readonly action?: string;
  readonly latencyMs: number;
}

function errorResult(e: ApiError, action?: string, latencyMs = 0): Result {
  return { status: e.status, body: JSON.stringify({ __type: e.code, message: e.message }), errorCode: e.code, action, latencyMs };
}

function toErrorResult(err: unknown, logger: Logger, requestId: string): Result {
  if (err instanceof ApiError) return errorResult(err);
  logger.error({ requestId, err }, 'unexpected error');
  return errorResult(new ApiError('InternalError'));
}

function respond(opts: ProtocolOptions, req: IncomingMessage, body: Buffer): Result {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const rawQuery = q < 0 ? '' : url.slice(q + 1);
  if (rawPath !== '/') throw new ApiError('NotFoundException', `Nothing is served at ${rawPath.slice(0, 100)}: send POST / with an X-Amz-Target header.`);
  if (req.method !== 'POST') throw new ApiError('UnknownOperationException', `Only POST is supported (got ${req.method ?? '?'}).`);

  const auth = opts.verifier.verify({ method: 'POST', rawPath, rawQuery, headers: req.headersDistinct, body });
  if (!auth.ok) return errorResult(auth.error);

  // A presigned request carries its x-amz-* headers in the query string (as the SDK's presign does).
  const target = header(req, 'x-amz-target') ?? queryParam(rawQuery, 'x-amz-target');
  if (target === undefined) throw new ApiError('UnknownOperationException', 'The request has no X-Amz-Target header.');
  let input: Input;
  const text = body.toString('utf8');
  if (text.trim() === '') {
    input = {};
  } else {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new ApiError('SerializationException', 'The request body is not valid JSON.');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new ApiError('SerializationException', 'The request body must be a JSON object.');
    }
    input = parsed as Input;
  }

  if (target.startsWith(CONTROL_PREFIX) && opts.control) {
    const op = target.slice(CONTROL_PREFIX.length);
    return { status: 200, body: JSON.stringify(opts.control(op, input, auth.credential)), action: target, latencyMs: 0 };
  }
  const action = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : undefined;
  if (action === undefined || !isAction(action)) {
    throw new ApiError('UnknownOperationException', `Unknown operation ${target.slice(0, 200)}.`);
  }
  const latencyMs = opts.faults.latencyMs(action);
  const fault = opts.faults.check(action, ACTION_SPECS[action].mutating);
  if (fault) return errorResult(fault, action, latencyMs);
  try {
    return { status: 200, body: opts.app.handleJson(action, input, auth.credential, text), action, latencyMs };
  } catch (err) {
    if (err instanceof ApiError) return errorResult(err, action, latencyMs);
    throw err;
  }
}

function queryParam(rawQuery: string, name: string): string | undefined {
  for (const pair of rawQuery.split('&')) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq);
    if (key.toLowerCase() !== name) continue;
    try {
      return decodeURIComponent(eq < 0 ? '' : pair.slice(eq + 1));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function send(res: ServerResponse, requestId: string, result: Result): void {
  const headers: Record<string, string | number> = {
    'content-type': CONTENT_TYPE,
    'content-length': typeof result.body === 'string' ? Buffer.byteLength(result.body) : result.body.length,
    'x-amzn-requestid': requestId,
  };
  if (result.errorCode) headers['x-amzn-errortype'] = result.errorCode;
  res.writeHead(result.status, headers);
  res.end(result.body);
}

/** Reads the whole body, refusing one over `limit` bytes with a 413 that names the limit. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const tooLarge = () => new ApiError('RequestEntityTooLargeException', `The request body exceeds the limit of ${limit} bytes.`);
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > limit) {
    req.resume();
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks));
    });
    req.on('error', (err) => {
      if (!failed) reject(err);
    });
  });
}
