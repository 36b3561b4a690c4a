/**
 * Raw HTTP requests to the embedded server, for what the SDK cannot send (wrong JSON types, bad
 * bodies, unknown targets, broken signatures). Signed with the SDK's own signer, sent with node:http.
 */
import { request } from 'node:http';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Credential } from '../../src/server/auth.ts';

export const TARGET_PREFIX = 'AWSServerMigrationService_V2016_10_24.';

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  /** The parsed JSON body ({} when empty). */
  readonly json: Record<string, unknown>;
}

export interface RawRequest {
  /** A full X-Amz-Target, or an action name (the SMS prefix is added). */
  readonly target?: string;
  readonly body?: string | Buffer;
  readonly method?: string;
  readonly path?: string;
  readonly headers?: Record<string, string>;
  /** Leave the request unsigned. */
  readonly unsigned?: boolean;
  readonly credentials?: Credential;
  readonly region?: string;
  readonly service?: string;
  /** Send without content-length (chunked). */
  readonly chunked?: boolean;
  /** Headers sent but left out of SignedHeaders. */
  readonly unsignedHeaders?: readonly string[];
}

export interface RawTarget {
  readonly url: string;
  readonly region: string;
  readonly credentials: Credential;
}

export function targetOf(name: string): string {
  return name.includes('.') ? name : TARGET_PREFIX + name;
}

/** Builds the request, signs it with SigV4 (unless `unsigned`) and returns the headers that go on the wire. */
export async function signedHeaders(server: RawTarget, req: RawRequest): Promise<Record<string, string>> {
  const url = new URL(server.url);
  const body = req.body ?? '{}';
  const headers: Record<string, string> = {
    host: url.host,
    'content-type': 'application/x-amz-json-1.1',
    ...(req.target === undefined ? {} : { 'x-amz-target': targetOf(req.target) }),
    ...req.headers,
  };
  if (req.unsigned) return headers;
  const signer = new SignatureV4({
    service: req.service ?? 'sms',
    region: req.region ?? server.region,
    credentials: req.credentials ?? server.credentials,
    sha256: Hash.bind(null, 'sha256'),
  });
  const signed = await signer.sign(
    new HttpRequest({ method: req.method ?? 'POST', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: req.path ?? '/', headers, body }),
    req.unsignedHeaders ? { unsignableHeaders: new Set(req.unsignedHeaders) } : {},
  );
  return signed.headers;
}

export async function rawCall(server: RawTarget, req: RawRequest): Promise<RawResponse> {
  const headers = await signedHeaders(server, req);
  return send(server.url, { method: req.method ?? 'POST', path: req.path ?? '/', headers, body: req.body ?? '{}', chunked: req.chunked });
}

export function send(
  base: string,
  opts: { method: string; path: string; headers: Record<string, string>; body: string | Buffer; chunked?: boolean | undefined },
): Promise<RawResponse> {
  const url = new URL(base);
  const body = typeof opts.body === 'string' ? Buffer.from(opts.body) : opts.body;
  const headers: Record<string, string> = { ...opts.headers };
  if (!opts.chunked) headers['content-length'] = String(body.length);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method: opts.method, path: opts.path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: Record<string, unknown> = {};
        try {
          json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
        } catch {
          json = { unparsable: text };
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    // The server may answer (413) before it has read the whole body; the answer is what counts.
    req.on('error', reject);
    if (opts.chunked) {
      for (let i = 0; i < body.length; i += 64 * 1024) req.write(body.subarray(i, i + 64 * 1024));
      req.end();
    } else {
      req.end(body);
    }
  });
}

export interface PromisedBodyResponse extends RawResponse {
  /** Settles when the server has closed the connection. */
  readonly closed: Promise<void>;
}

/**
 * Sends the headers of a request that declares `declaredBytes` of body, and none of the body: the
 * answer arrives only if the server decides on the headers alone.
 */
export function promiseBody(base: string, headers: Record<string, string>, declaredBytes: number): Promise<PromisedBodyResponse> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method: 'POST', path: '/', headers: { ...headers, 'content-length': String(declaredBytes) }, agent: false });
    req.on('socket', (socket) => {
      const closed = new Promise<void>((done) => socket.once('close', () => done()));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: text ? (JSON.parse(text) as Record<string, unknown>) : {}, closed });
        });
      });
    });
    req.on('error', reject);
    req.flushHeaders();
  });
}
