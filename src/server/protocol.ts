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
import { ioMessage } from '../model/messages.ts';
import { logMessage } from '../report/log-message.ts';

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
    const finish = (result: Result): void => {
      send(res, requestId, result, opts.app.clock.mode === 'manual' ? opts.app.clock.now() : undefined);
      if (opts.logger.isLevelEnabled('debug')) {
        logMessage(opts.logger, ioMessage('server.request', 'debug', 'request', { requestId, action: result.action, status: result.status, ms: Math.round(performance.now() - started), error: result.errorCode }));
      }
    };
    let head: Head;
    try {
      head = checkHead(opts, req);
    } catch (err) {
      // Refused on its headers alone: answered at once, the body never read, the connection closed
      // (an unauthenticated client holds no buffer and no connection).
      res.shouldKeepAlive = false;
      req.resume(); // what arrives meanwhile is discarded, not buffered
      finish(toErrorResult(err, opts.logger, requestId));
      return;
    }
    readBody(req, MAX_BODY_BYTES)
      .then((body) => respond(opts, req, head, body))
      .catch((err: unknown) => toErrorResult(err, opts.logger, requestId))
      .then(async (result) => {
        if (result.latencyMs > 0) await new Promise((r) => setTimeout(r, result.latencyMs));
        finish(result);
      })
      .catch((err: unknown) => {
        logMessage(opts.logger, ioMessage('server.response-failed', 'error', 'failed to write a response', { requestId, err }));
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
  logMessage(logger, ioMessage('server.unexpected-error', 'error', 'unexpected error', { requestId, err }));
  return errorResult(new ApiError('InternalError'));
}

interface Head {
  readonly rawPath: string;
  readonly rawQuery: string;
}

/** What can be refused before the body is read: path, method, and the signature's form, key, date and scope. */
function checkHead(opts: ProtocolOptions, req: IncomingMessage): Head {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const rawQuery = q < 0 ? '' : url.slice(q + 1);
  if (rawPath !== '/') throw new ApiError('NotFoundException', `Nothing is served at ${rawPath.slice(0, 100)}: send POST / with an X-Amz-Target header.`);
  if (req.method !== 'POST') throw new ApiError('UnknownOperationException', `Only POST is supported (got ${req.method ?? '?'}).`);
  if (Number(req.headers['content-length'] ?? '0') > MAX_BODY_BYTES) throw tooLarge(MAX_BODY_BYTES);
  const pre = opts.verifier.precheck({ method: 'POST', rawPath, rawQuery, headers: req.headersDistinct });
  if (!pre.ok) throw pre.error;
  return { rawPath, rawQuery };
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function respond(opts: ProtocolOptions, req: IncomingMessage, head: Head, body: Buffer): Result {
  const auth = opts.verifier.verify({ method: 'POST', ...head, headers: req.headersDistinct, body });
  if (!auth.ok) return errorResult(auth.error);

  // The action is the one the signature covers: a signed x-amz-target header, or X-Amz-Target in a
  // presigned query (auth.ts signedTarget).
  const target = auth.target;
  if (target === undefined) throw new ApiError('UnknownOperationException', 'The request has no X-Amz-Target header.');
  let text: string;
  try {
    text = UTF8.decode(body);
  } catch {
    throw new ApiError('SerializationException', 'The request body is not valid UTF-8.');
  }
  let input: Input;
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

/** The response header that carries a manual lifecycle clock's time (epoch seconds): see BEHAVIOR.md. */
export const CLOCK_HEADER = 'x-sms-reconcile-clock';

function send(res: ServerResponse, requestId: string, result: Result, manualNow: number | undefined): void {
  const headers: Record<string, string | number> = {
    'content-type': CONTENT_TYPE,
    'content-length': typeof result.body === 'string' ? Buffer.byteLength(result.body) : result.body.length,
    'x-amzn-requestid': requestId,
  };
  if (manualNow !== undefined) headers[CLOCK_HEADER] = String(manualNow);
  if (result.errorCode) headers['x-amzn-errortype'] = result.errorCode;
  res.writeHead(result.status, headers);
  res.end(result.body);
}

function tooLarge(limit: number): ApiError {
  return new ApiError('RequestEntityTooLargeException', `The request body exceeds the limit of ${limit} bytes.`);
}

/** Reads the whole body, refusing one over `limit` bytes with a 413 that names the limit (a declared length over it is refused by checkHead). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks));
    });
    // The client went away (or was timed out) mid-body: nothing to answer, nothing worth an error log.
    req.on('error', () => {
      if (!failed) reject(new ApiError('SerializationException', 'The request body was cut off.'));
    });
  });
}
