/**
 * The controller's HTTP face on --listen: /healthz, /readyz, /status (JSON), /metrics
 * (Prometheus text), the dashboard (/, /assets/*, /api/dashboard, /api/job, /login; see ui.ts) and
 * the POST /reconcile webhook. Everything else is 404.
 *
 * With --ui-token-file everything but /healthz, /readyz and the sign-in page needs the token
 * (`Authorization: Bearer T` or the sign-in cookie); the webhook keeps its own signature rule.
 *
 * Webhook rules: with a secret, GitHub's `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`
 * is required and compared in constant time; unsigned or wrong requests get 401 and trigger
 * nothing. Without a secret only loopback clients may trigger. Bodies over WEBHOOK_BODY_LIMIT get 413.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { userError } from '../model/errors.ts';
import type { Logger } from '../report/logger.ts';
import { authorized, etagMatches, PUBLIC_PATHS, SECURITY_HEADERS, sameSecret, sessionCookie, type WebAssets } from './ui.ts';
import { ioMessage } from '../model/messages.ts';
import { logMessage } from '../report/log-message.ts';

export const WEBHOOK_BODY_LIMIT = 1024 * 1024;

export interface HttpHandlers {
  /** 200 while alive and not wedged. */
  healthy(): { ok: boolean; reason?: string };
  /** 200 only on the leader after its first finished cycle. */
  ready(): { ok: boolean; reason?: string };
  status(): unknown;
  /** The dashboard's data: the estate, the plan, the cycles. */
  dashboard(): unknown;
  /** One job's detail by address, or undefined. */
  job(address: string): unknown;
  metrics(): Promise<{ contentType: string; text: string }>;
  /** The webhook: run a cycle now (coalesced with a running one). */
  trigger(reason: string): void;
}

export interface HttpOptions {
  readonly host: string;
  readonly port: number;
  /** --webhook-secret-file's content (trimmed); without it the webhook accepts loopback only. */
  readonly webhookSecret: Buffer | undefined;
  /** --ui-token-file's content (trimmed); without it only a loopback --listen is allowed (see controller.ts). */
  readonly uiToken: Buffer | undefined;
  readonly assets: WebAssets;
  readonly logger: Logger;
}

export interface ControllerHttp {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Whether a signature header is the HMAC-SHA256 of `body` under `secret` (constant-time compare). */
export function validSignature(secret: Buffer, body: Buffer, header: string | undefined): boolean {
  if (header === undefined || !header.startsWith('sha256=')) return false;
  const given = Buffer.from(header.slice('sha256='.length), 'hex');
  const expected = createHmac('sha256', secret).update(body).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

function send(res: ServerResponse, status: number, body: unknown, contentType = 'application/json; charset=utf-8'): void {
  // Compact: /status of 10,000 jobs is served often (dashboards, probes); `jq` pretty-prints it.
  const text = typeof body === 'string' ? body : `${JSON.stringify(body)}\n`;
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': contentType, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      resolve('too-large');
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) over = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(over ? 'too-large' : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function handleWebhook(req: IncomingMessage, res: ServerResponse, h: HttpHandlers, opts: HttpOptions): Promise<void> {
  if (req.method !== 'POST') {
    res.setHeader('allow', 'POST');
    send(res, 405, { error: 'use POST' });
    return;
  }
  if (opts.webhookSecret === undefined && !isLoopback(req.socket.remoteAddress)) {
    send(res, 403, { error: 'without --webhook-secret-file the webhook accepts loopback clients only' });
    return;
  }
  const body = await readBody(req, WEBHOOK_BODY_LIMIT);
  if (body === 'too-large') {
    send(res, 413, { error: `the body is larger than ${WEBHOOK_BODY_LIMIT} bytes` });
    return;
  }
  if (opts.webhookSecret !== undefined) {
    const header = req.headers['x-hub-signature-256'];
    if (!validSignature(opts.webhookSecret, body, Array.isArray(header) ? header[0] : header)) {
      logMessage(opts.logger, ioMessage('controller.webhook-refused', 'warn', 'webhook refused: missing or wrong X-Hub-Signature-256', { remote: req.socket.remoteAddress }));
      send(res, 401, { error: 'missing or wrong X-Hub-Signature-256' });
      return;
    }
  }
  const delivery = req.headers['x-github-delivery'];
  logMessage(opts.logger, ioMessage('controller.webhook', 'info', 'webhook: cycle triggered', { delivery: typeof delivery === 'string' ? delivery : undefined }));
  h.trigger('webhook');
  send(res, 202, { triggered: true });
}

/** A static asset with its ETag (304 when the browser has it); 503 when dist/web was not built. */
function sendAsset(req: IncomingMessage, res: ServerResponse, path: string, opts: HttpOptions, status = 200): void {
  let asset;
  try {
    asset = opts.assets.get(path);
  } catch {
    send(res, 503, 'the dashboard is not built (dist/web is missing): run `npm run build`\n', 'text/plain; charset=utf-8');
    return;
  }
  if (asset === undefined) {
    send(res, 404, { error: `no such path: ${path}` });
    return;
  }
  const headers = { ...SECURITY_HEADERS, 'content-type': asset.contentType, 'cache-control': 'no-cache', etag: asset.etag };
  if (status === 200 && etagMatches(req.headers['if-none-match'], asset.etag)) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(status, { ...headers, 'content-length': asset.body.length });
  res.end(req.method === 'HEAD' ? undefined : asset.body);
}

/** POST /login: the sign-in form's token; right, a session cookie and back to /; wrong, 401. */
async function handleLogin(req: IncomingMessage, res: ServerResponse, opts: HttpOptions): Promise<void> {
  const body = await readBody(req, 8192);
  const token = body === 'too-large' ? undefined : new URLSearchParams(body.toString('utf8')).get('token');
  if (opts.uiToken === undefined || token === null || token === undefined || !sameSecret(token.trim(), opts.uiToken.toString('utf8'))) {
    logMessage(opts.logger, ioMessage('controller.ui-signin-refused', 'warn', 'dashboard sign-in refused: wrong token', { remote: req.socket.remoteAddress }));
    sendAsset(req, res, '/login', opts, 401);
    return;
  }
  res.writeHead(303, { ...SECURITY_HEADERS, location: '/', 'set-cookie': sessionCookie(opts.uiToken), 'cache-control': 'no-store', 'content-length': 0 });
  res.end();
}

async function handleGet(req: IncomingMessage, res: ServerResponse, url: URL, h: HttpHandlers, opts: HttpOptions): Promise<void> {
  switch (url.pathname) {
    case '/healthz': {
      const r = h.healthy();
      send(res, r.ok ? 200 : 503, r.ok ? 'ok\n' : `${r.reason ?? 'unhealthy'}\n`, 'text/plain; charset=utf-8');
      return;
    }
    case '/readyz': {
      const r = h.ready();
      send(res, r.ok ? 200 : 503, r.ok ? 'ready\n' : `${r.reason ?? 'not ready'}\n`, 'text/plain; charset=utf-8');
      return;
    }
    case '/status':
      send(res, 200, h.status());
      return;
    case '/api/dashboard':
      // Compact: at 10,000 jobs the indentation alone would be a third of the body.
      send(res, 200, JSON.stringify(h.dashboard()), 'application/json; charset=utf-8');
      return;
    case '/api/job': {
      const detail = h.job(url.searchParams.get('address') ?? '');
      if (detail === undefined) send(res, 404, { error: 'no such job in the last cycle' });
      else send(res, 200, detail);
      return;
    }
    case '/metrics': {
      const m = await h.metrics();
      send(res, 200, m.text, m.contentType);
      return;
    }
    default:
      if (opts.assets.has(url.pathname)) sendAsset(req, res, url.pathname, opts);
      else send(res, 404, { error: `no such path: ${url.pathname}` });
  }
}

async function handle(req: IncomingMessage, res: ServerResponse, h: HttpHandlers, opts: HttpOptions): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://controller');
  const method = req.method ?? 'GET';
  if (url.pathname === '/reconcile') return handleWebhook(req, res, h, opts);
  if (url.pathname === '/login' && method === 'POST') return handleLogin(req, res, opts);
  if (method !== 'GET' && method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    send(res, 405, { error: 'use GET' });
    return;
  }
  if (!PUBLIC_PATHS.has(url.pathname) && !authorized(req, opts.uiToken)) {
    res.setHeader('www-authenticate', 'Bearer realm="sms-reconcile"');
    const wantsHtml = (req.headers.accept ?? '').includes('text/html');
    if (wantsHtml && (url.pathname === '/' || opts.assets.has(url.pathname))) sendAsset(req, res, '/login', opts, 401);
    else send(res, 401, { error: 'this needs the dashboard token: Authorization: Bearer <token>, or sign in at /login' });
    return;
  }
  return handleGet(req, res, url, h, opts);
}

/** Listens on host:port; a port in use is a user error naming --listen. */
export async function startControllerHttp(h: HttpHandlers, opts: HttpOptions): Promise<ControllerHttp> {
  const server: Server = createServer((req, res) => {
    handle(req, res, h, opts).catch((err: unknown) => {
      logMessage(opts.logger, ioMessage('controller.http-error', 'error', 'HTTP handler failed', { err: (err as Error).message }));
      if (!res.headersSent) send(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(userError('listen-in-use', `--listen ${opts.host}:${opts.port}: the port is in use`, 'stop what listens there, or pick another port'));
      else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND' || err.code === 'EACCES') reject(userError('listen-invalid', `--listen ${opts.host}:${opts.port}: ${err.code}`, 'give an address of this host, such as 127.0.0.1:9464 or 0.0.0.0:9464'));
      else reject(err);
    });
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const hostForUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${hostForUrl}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
