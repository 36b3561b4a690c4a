/**
 * The dashboard's server side: its static assets (built by scripts/build.mjs into dist/web/, read
 * from there once and kept in memory, never built here), the security headers every response
 * carries, and the --ui-token-file check (an `Authorization: Bearer` header or the cookie the
 * sign-in form sets, compared in constant time).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { packageFile } from '../paths.ts';

/** Where scripts/build.mjs puts the dashboard. */
export const WEB_DIR = packageFile('dist/web');
export const SESSION_COOKIE = 'sms_reconcile_ui';

/** On every response of the listener: no inline script, no sniffing, no referrer. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

export interface Asset {
  readonly body: Buffer;
  readonly contentType: string;
  /** A strong ETag: the content's SHA-256. */
  readonly etag: string;
}

/** URL path -> file under dist/web and its type. */
const ASSETS: Readonly<Record<string, readonly [string, string]>> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/login': ['login.html', 'text/html; charset=utf-8'],
  '/assets/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/assets/app.css': ['app.css', 'text/css; charset=utf-8'],
};

/** Paths served without the token: the sign-in page and its style. */
export const PUBLIC_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/login', '/assets/app.css']);

export class WebAssets {
  readonly #cache = new Map<string, Asset>();
  constructor(private readonly dir: string = WEB_DIR) {}

  has(path: string): boolean {
    return ASSETS[path] !== undefined;
  }

  /** The asset at a URL path; undefined for an unknown path; throws ENOENT when dist/web is not built. */
  get(path: string): Asset | undefined {
    const entry = ASSETS[path];
    if (entry === undefined) return undefined;
    const cached = this.#cache.get(path);
    if (cached) return cached;
    const body = readFileSync(join(this.dir, entry[0]));
    const asset = { body, contentType: entry[1], etag: `"${createHash('sha256').update(body).digest('base64url')}"` };
    this.#cache.set(path, asset);
    return asset;
  }
}

/** Whether an If-None-Match header names this ETag. */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((t) => t.trim() === etag || t.trim() === '*');
}

/** The cookie value a signed-in browser holds: derived from the token, never the token itself. */
export function sessionValue(token: Buffer): string {
  return createHmac('sha256', token).update('sms-reconcile dashboard session v1').digest('base64url');
}

/** Constant-time equality of two strings of any lengths (both hashed first). */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b) && given.length === expected.length;
}

function cookieOf(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Whether a request carries the token: `Authorization: Bearer T` or the session cookie. */
export function authorized(req: IncomingMessage, token: Buffer | undefined): boolean {
  if (token === undefined) return true;
  const auth = req.headers.authorization;
  if (auth !== undefined && /^Bearer /i.test(auth)) return sameSecret(auth.slice('Bearer '.length).trim(), token.toString('utf8'));
  const cookie = cookieOf(req, SESSION_COOKIE);
  return cookie !== undefined && sameSecret(cookie, sessionValue(token));
}

/** The Set-Cookie header of a successful sign-in. */
export function sessionCookie(token: Buffer): string {
  return `${SESSION_COOKIE}=${sessionValue(token)}; HttpOnly; SameSite=Strict; Path=/`;
}

/** Whether a host given to --listen only takes connections from this machine. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
