/**
 * AWS Signature Version 4 verification for the embedded server, in both the Authorization-header and
 * the query-string (presigned) forms. The canonical request is built the way @smithy/signature-v4
 * (the JS SDK) and botocore (the AWS CLI) build it from what they put on the wire.
 * Error messages never carry a secret, a computed signature or the request's signature.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { ApiError } from './errors.ts';

export interface Credential {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly readOnly?: boolean;
  /** Actions this key may not call (an IAM deny, for tests): UnauthorizedOperationException. */
  readonly deniedActions?: readonly string[];
}

/** What is known of a request before its body is read: enough to check the signature's form, key, date and scope. */
export interface AuthHead {
  readonly method: string;
  /** Path part of req.url, undecoded. */
  readonly rawPath: string;
  /** Query part of req.url after '?', undecoded; '' if none. */
  readonly rawQuery: string;
  /** Lowercase names (node IncomingHttpHeaders). Pass req.headersDistinct to keep repeated headers apart. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

export interface AuthRequest extends AuthHead {
  readonly body: Buffer;
}

export type AuthResult =
  | {
      readonly ok: true;
      readonly credential: Credential;
      /** The X-Amz-Target the signature covers (signed header or presigned query); undefined when there is none. */
      readonly target: string | undefined;
    }
  | { readonly ok: false; readonly error: ApiError };

/** A request that passed every check but the signature itself. */
interface Prechecked {
  readonly auth: ParsedAuth;
  readonly query: readonly QueryPair[];
  readonly credential: Credential;
  readonly target: string | undefined;
}

export interface VerifierOptions {
  readonly service: string;
  readonly region: string;
  readonly lookup: (accessKeyId: string) => Credential | undefined;
  /** Epoch ms of the real wall clock (request dates are checked against it). */
  readonly now: () => number;
  /** Allowed distance between the request date and now(); default 15 minutes. */
  readonly maxSkewMs?: number;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const TERMINATOR = 'aws4_request';
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
const DEFAULT_MAX_SKEW_MS = 15 * 60 * 1000;
const MAX_PRESIGN_EXPIRES_S = 7 * 24 * 60 * 60;
const KEY_CACHE_MAX = 128;

const Q_ALGORITHM = 'X-Amz-Algorithm';
const Q_CREDENTIAL = 'X-Amz-Credential';
const Q_DATE = 'X-Amz-Date';
const Q_EXPIRES = 'X-Amz-Expires';
const Q_SIGNED_HEADERS = 'X-Amz-SignedHeaders';
const Q_SIGNATURE = 'X-Amz-Signature';
const Q_TOKEN = 'X-Amz-Security-Token';

const MSG_INVALID_TOKEN = 'The security token included in the request is invalid.';
const MSG_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.';

const ISO_BASIC = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const HTTP_DATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} (?:GMT|UTC|[+-]\d{4})$/;
const HEX_SIGNATURE = /^[0-9a-f]{64}$/;

interface QueryPair {
  readonly key: string;
  readonly value: string;
  readonly encKey: string;
  readonly encValue: string;
}

/** What both forms reduce to before the signature is checked. */
interface ParsedAuth {
  readonly presigned: boolean;
  readonly accessKeyId: string;
  readonly scopeDate: string;
  readonly scopeRegion: string;
  readonly scopeService: string;
  readonly signedHeaders: readonly string[];
  readonly signedHeadersLine: string;
  readonly signature: string;
  /** ISO 8601 basic, as it enters the string to sign. */
  readonly longDate: string;
  readonly dateMs: number;
  /** Presigned only: validity in seconds from longDate. */
  readonly expiresS: number | undefined;
}

const incomplete = (message: string): ApiError => new ApiError('IncompleteSignature', message);
const mismatch = (message = MSG_MISMATCH): ApiError => new ApiError('SignatureDoesNotMatch', message);

export class SigV4Verifier {
  readonly #opts: VerifierOptions;
  readonly #maxSkewMs: number;
  readonly #keyCache = new Map<string, Buffer>();

  constructor(opts: VerifierOptions) {
    this.#opts = opts;
    this.#maxSkewMs = opts.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  }

  /**
   * Every check that needs no body: the form of the Authorization header or presigned query, the
   * x-amz-* headers signed, the key id known, the session token, the scope and the date. The server
   * runs it before reading the body, so an unauthenticated request costs no buffering.
   */
  precheck(req: AuthHead): AuthResult {
    return this.#result(() => this.#precheck(req));
  }

  /** The whole check: precheck, then the payload hash and the signature over the body. */
  verify(req: AuthRequest): AuthResult {
    return this.#result(() => this.#verify(req));
  }

  #result(check: () => Prechecked): AuthResult {
    try {
      const { credential, target } = check();
      return { ok: true, credential, target };
    } catch (err) {
      if (err instanceof ApiError) return { ok: false, error: err };
      throw err;
    }
  }

  #precheck(req: AuthHead): Prechecked {
    const query = parseQuery(req.rawQuery);
    const authorization = nonEmpty(headerValue(req.headers, 'authorization'));
    const queryAuth = query.some((p) => p.key === Q_ALGORITHM || p.key === Q_SIGNATURE);
    if (authorization === undefined && !queryAuth) {
      throw new ApiError('MissingAuthenticationToken', 'Missing Authentication Token');
    }
    if (authorization !== undefined && queryAuth) {
      throw incomplete('Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified.');
    }
    const auth = authorization !== undefined ? parseAuthorizationHeader(authorization, req.headers) : parsePresigned(query);
    for (const name of auth.signedHeaders) {
      if (headerRaw(req.headers, name) === undefined) {
        throw incomplete(`Signed header '${name}' is not present in the request.`);
      }
    }
    checkAmzHeadersSigned(auth, req.headers);
    const target = signedTarget(req.headers, query);
    if (!auth.presigned && headerValue(req.headers, 'x-amz-content-sha256')?.trim() === UNSIGNED_PAYLOAD) {
      // The body carries the parameters: a header-signed request must sign it (AWS JSON services
      // do not take unsigned payloads; only S3 does). A presigned request may (smithy presigns
      // stream bodies that way); its query says so and is signed.
      throw incomplete(`'x-amz-content-sha256: ${UNSIGNED_PAYLOAD}' is not accepted: sign the request body.`);
    }

    const credential = this.#opts.lookup(auth.accessKeyId);
    if (credential === undefined) throw new ApiError('InvalidClientTokenId', MSG_INVALID_TOKEN);
    checkSessionToken(credential, req.headers, query);

    if (auth.scopeRegion !== this.#opts.region) {
      throw mismatch(`Credential should be scoped to a valid region, not '${auth.scopeRegion}'.`);
    }
    if (auth.scopeService !== this.#opts.service) {
      throw mismatch(`Credential should be scoped to correct service: '${this.#opts.service}'.`);
    }
    if (auth.scopeDate !== auth.longDate.slice(0, 8)) {
      throw mismatch(
        `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.scopeDate}' != '${auth.longDate.slice(0, 8)}', from '${auth.longDate}'.`,
      );
    }
    this.#checkTime(auth);
    return { auth, query, credential, target };
  }

  #verify(req: AuthRequest): Prechecked {
    const checked = this.#precheck(req);
    const { auth, query, credential } = checked;
    const payloadHashes = payloadHashCandidates(auth.presigned, req, query);
    const canonicalQueries = canonicalQueryCandidates(query);
    const head = `${req.method}\n${canonicalUri(req.rawPath)}\n`;
    const tail = `\n${canonicalHeaders(req.headers, auth.signedHeaders)}\n\n${auth.signedHeadersLine}\n`;
    const scope = `${auth.scopeDate}/${auth.scopeRegion}/${auth.scopeService}/${TERMINATOR}`;
    const key = this.#signingKey(credential.secretAccessKey, auth.scopeDate, auth.scopeRegion, auth.scopeService);
    const provided = Buffer.from(auth.signature, 'latin1');
    const wellFormed = HEX_SIGNATURE.test(auth.signature);
    let matched = false;
    for (const canonicalQuery of canonicalQueries) {
      for (const payloadHash of payloadHashes) {
        const canonicalRequest = head + canonicalQuery + tail + payloadHash;
        const stringToSign = `${ALGORITHM}\n${auth.longDate}\n${scope}\n${sha256Hex(canonicalRequest)}`;
        const expected = Buffer.from(createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex'), 'latin1');
        if (wellFormed && timingSafeEqual(expected, provided)) matched = true;
      }
    }
    if (!matched) throw mismatch();
    return checked;
  }

  #checkTime(auth: ParsedAuth): void {
    const now = this.#opts.now();
    if (auth.dateMs > now + this.#maxSkewMs) {
      throw new ApiError(
        'RequestExpired',
        `Signature not yet current: ${auth.longDate} is still later than ${isoBasic(now + this.#maxSkewMs)} (${isoBasic(now)} + ${skewText(this.#maxSkewMs)}).`,
      );
    }
    if (auth.expiresS !== undefined) {
      const expiresAt = auth.dateMs + auth.expiresS * 1000;
      if (now > expiresAt) {
        throw new ApiError('RequestExpired', `Request has expired: the presigned request expired at ${isoBasic(expiresAt)}, it is now ${isoBasic(now)}.`);
      }
    } else if (auth.dateMs < now - this.#maxSkewMs) {
      throw new ApiError(
        'RequestExpired',
        `Request has expired: ${auth.longDate} is now earlier than ${isoBasic(now - this.#maxSkewMs)} (${isoBasic(now)} - ${skewText(this.#maxSkewMs)}).`,
      );
    }
  }

  /** kSigning = HMAC chain over date, region, service, terminator; cached FIFO, bounded. */
  #signingKey(secret: string, date: string, region: string, service: string): Buffer {
    const cacheKey = `${date}\n${region}\n${service}\n${secret}`;
    const cached = this.#keyCache.get(cacheKey);
    if (cached !== undefined) return cached;
    let key = createHmac('sha256', `AWS4${secret}`).update(date, 'utf8').digest();
    for (const part of [region, service, TERMINATOR]) key = createHmac('sha256', key).update(part, 'utf8').digest();
    if (this.#keyCache.size >= KEY_CACHE_MAX) {
      const oldest = this.#keyCache.keys().next();
      if (oldest.done !== true) this.#keyCache.delete(oldest.value);
    }
    this.#keyCache.set(cacheKey, key);
    return key;
  }
}

function parseAuthorizationHeader(authorization: string, headers: AuthRequest['headers']): ParsedAuth {
  const trimmed = authorization.trim();
  const space = trimmed.search(/\s/);
  const algorithm = space < 0 ? trimmed : trimmed.slice(0, space);
  if (algorithm !== ALGORITHM) {
    const shown = /^[A-Za-z0-9-]{1,32}$/.test(algorithm) ? ` '${algorithm}'` : '';
    throw incomplete(`Unsupported AWS 'algorithm'${shown}: the Authorization header must use '${ALGORITHM}'.`);
  }
  const fields = new Map<string, string>();
  for (const part of (space < 0 ? '' : trimmed.slice(space + 1)).split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0) throw incomplete(`Authorization header is malformed: expected 'Name=Value' elements separated by ','.`);
    const name = item.slice(0, eq).trim();
    if (fields.has(name)) throw incomplete(`Authorization header has more than one '${name}' parameter.`);
    fields.set(name, item.slice(eq + 1).trim());
  }
  const missing = ['Credential', 'SignedHeaders', 'Signature'].filter((name) => !fields.get(name));
  const date = requestDate(headers);
  if (missing.length > 0 || date === undefined) {
    const parts = missing.map((name) => `Authorization header requires '${name}' parameter.`);
    if (date === undefined) parts.push("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
    throw incomplete(parts.join(' '));
  }
  return assemble(false, fields.get('Credential')!, fields.get('SignedHeaders')!, fields.get('Signature')!, date, undefined);
}

function parsePresigned(query: readonly QueryPair[]): ParsedAuth {
  const params = new Map<string, string>();
  for (const name of [Q_ALGORITHM, Q_CREDENTIAL, Q_DATE, Q_EXPIRES, Q_SIGNED_HEADERS, Q_SIGNATURE]) {
    const values = query.filter((p) => p.key === name);
    if (values.length > 1) throw incomplete(`AWS query-string parameter '${name}' must appear only once.`);
    if (values[0] !== undefined && values[0].value !== '') params.set(name, values[0].value);
  }
  const missing = [Q_ALGORITHM, Q_CREDENTIAL, Q_DATE, Q_SIGNED_HEADERS, Q_SIGNATURE].filter((name) => !params.has(name));
  if (missing.length > 0) {
    throw incomplete(`${missing.map((name) => `AWS query-string parameters must include '${name}'.`).join(' ')} Re-examine the query-string parameters.`);
  }
  if (params.get(Q_ALGORITHM) !== ALGORITHM) {
    throw incomplete(`Unsupported AWS 'algorithm': '${Q_ALGORITHM}' must be '${ALGORITHM}'.`);
  }
  const date = parseIsoBasic(params.get(Q_DATE)!);
  if (date === undefined) throw incomplete(`'${Q_DATE}' must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'".`);
  const expiresText = params.get(Q_EXPIRES);
  let expiresS: number | undefined;
  if (expiresText !== undefined) {
    expiresS = /^\d{1,7}$/.test(expiresText) ? Number(expiresText) : Number.NaN;
    if (!(expiresS <= MAX_PRESIGN_EXPIRES_S)) {
      throw incomplete(`'${Q_EXPIRES}' must be a whole number of seconds no greater than ${MAX_PRESIGN_EXPIRES_S} (one week).`);
    }
  }
  return assemble(true, params.get(Q_CREDENTIAL)!, params.get(Q_SIGNED_HEADERS)!, params.get(Q_SIGNATURE)!, date, expiresS);
}

function assemble(
  presigned: boolean,
  credential: string,
  signedHeadersLine: string,
  signature: string,
  date: { readonly longDate: string; readonly ms: number },
  expiresS: number | undefined,
): ParsedAuth {
  const scope = credential.split('/');
  if (scope.length !== 5) {
    throw incomplete(`Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${credential}'.`);
  }
  const [accessKeyId, scopeDate, scopeRegion, scopeService, terminator] = scope as [string, string, string, string, string];
  if (terminator !== TERMINATOR) {
    throw incomplete(`Credential should be scoped with a valid terminator: '${TERMINATOR}', not '${terminator}'.`);
  }
  const signedHeaders = signedHeadersLine.split(';');
  if (signedHeaders.some((name) => name === '' || name !== name.toLowerCase())) {
    throw incomplete(`SignedHeaders must be a ';'-separated list of lowercase header names, got '${signedHeadersLine}'.`);
  }
  if (!signedHeaders.includes('host')) {
    throw incomplete(`'Host' or ':authority' must be a 'SignedHeader' in the AWS ${presigned ? 'query-string parameters' : 'Authorization'}.`);
  }
  return {
    presigned,
    accessKeyId,
    scopeDate,
    scopeRegion,
    scopeService,
    signedHeaders,
    signedHeadersLine,
    signature,
    longDate: date.longDate,
    dateMs: date.ms,
    expiresS,
  };
}

/**
 * A header-signed request must sign every x-amz-* header it carries, x-amz-target (the action)
 * always: an unsigned one could be added or changed by whoever replays the request. AWS answers
 * the same for an unsigned x-amz-* header ("... must be signed"). A presigned request carries its
 * x-amz-* values in the (signed) query; an x-amz-* header beside it must be listed in
 * X-Amz-SignedHeaders too.
 */
function checkAmzHeadersSigned(auth: ParsedAuth, headers: AuthHead['headers']): void {
  const signed = new Set(auth.signedHeaders);
  const where = auth.presigned ? `'${Q_SIGNED_HEADERS}'` : "the Authorization header's SignedHeaders";
  for (const name of Object.keys(headers)) {
    if (!name.startsWith('x-amz-') || headerRaw(headers, name) === undefined) continue;
    if (!signed.has(name)) throw incomplete(`Header '${name}' is not signed: every x-amz-* header must be listed in ${where}.`);
  }
}

/**
 * The action the signature covers: the x-amz-target header (signed, see checkAmzHeadersSigned) or
 * X-Amz-Target in the query (the presigner hoists it there; the query is always signed). Both
 * present and different: IncompleteSignature, since one of them is not what was meant.
 */
function signedTarget(headers: AuthHead['headers'], query: readonly QueryPair[]): string | undefined {
  const fromQuery = query.filter((p) => p.key.toLowerCase() === 'x-amz-target');
  if (fromQuery.length > 1) throw incomplete("AWS query-string parameter 'X-Amz-Target' must appear only once.");
  const raw = headerRaw(headers, 'x-amz-target');
  if (Array.isArray(raw) && raw.length > 1) throw incomplete("The request has more than one 'x-amz-target' header.");
  const fromHeader = raw === undefined ? undefined : (Array.isArray(raw) ? raw.join(',') : raw).trim();
  const q = fromQuery[0]?.value;
  if (fromHeader !== undefined && q !== undefined && fromHeader !== q) {
    throw incomplete("The 'x-amz-target' header and the 'X-Amz-Target' query parameter disagree; send the action once, signed.");
  }
  return fromHeader ?? q;
}

/** X-Amz-Date overrides Date; Date may be ISO 8601 basic or an HTTP date (botocore sends the latter). */
function requestDate(headers: AuthRequest['headers']): { longDate: string; ms: number } | undefined {
  const amzDate = headerValue(headers, 'x-amz-date');
  if (amzDate !== undefined) {
    const parsed = parseIsoBasic(amzDate.trim());
    if (parsed === undefined) throw incomplete(`X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'".`);
    return parsed;
  }
  const date = headerValue(headers, 'date')?.trim();
  if (date === undefined) return undefined;
  const iso = parseIsoBasic(date);
  if (iso !== undefined) return iso;
  if (!HTTP_DATE.test(date)) return undefined;
  const ms = Date.parse(date);
  return Number.isNaN(ms) ? undefined : { longDate: isoBasic(ms), ms };
}

function parseIsoBasic(text: string): { longDate: string; ms: number } | undefined {
  const m = ISO_BASIC.exec(text);
  if (m === null) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  // Reject out-of-range fields (month 13, 25:00, ...) that Date.UTC would roll over.
  return isoBasic(ms) === text ? { longDate: text, ms } : undefined;
}

function isoBasic(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

function skewText(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000} min.` : `${ms / 1000} s`;
}

/** Every token the request presents (header and query) must be the credential's; none if it has none. */
function checkSessionToken(credential: Credential, headers: AuthRequest['headers'], query: readonly QueryPair[]): void {
  const presented: string[] = query.filter((p) => p.key === Q_TOKEN).map((p) => p.value);
  const header = headerValue(headers, 'x-amz-security-token');
  if (header !== undefined) presented.push(header.trim());
  const expected = credential.sessionToken;
  const ok =
    expected === undefined || expected === ''
      ? presented.length === 0
      : presented.length > 0 && presented.every((token) => constantTimeEqual(token, expected));
  if (!ok) throw new ApiError('InvalidClientTokenId', MSG_INVALID_TOKEN);
}

function constantTimeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}

/**
 * The payload hash as the signer used it: x-amz-content-sha256 when sent (checked against the body unless
 * UNSIGNED-PAYLOAD on a presigned request; the precheck refuses it on a header-signed one), else the body's sha256; a presigned request may also have been signed over
 * UNSIGNED-PAYLOAD (smithy does that for stream bodies), which only matches if it was.
 */
function payloadHashCandidates(presigned: boolean, req: AuthRequest, query: readonly QueryPair[]): readonly string[] {
  const declared = presigned
    ? query.find((p) => p.key.toLowerCase() === 'x-amz-content-sha256')?.value
    : headerValue(req.headers, 'x-amz-content-sha256')?.trim();
  if (declared === UNSIGNED_PAYLOAD && presigned) return [UNSIGNED_PAYLOAD];
  const bodyHash = createHash('sha256').update(req.body).digest('hex');
  if (declared !== undefined) {
    if (declared !== bodyHash) {
      throw mismatch("The provided 'x-amz-content-sha256' header does not match what was computed.");
    }
    return [bodyHash];
  }
  return presigned ? [bodyHash, UNSIGNED_PAYLOAD] : [bodyHash];
}

function parseQuery(rawQuery: string): QueryPair[] {
  const pairs: QueryPair[] = [];
  if (rawQuery === '') return pairs;
  for (const item of rawQuery.split('&')) {
    if (item === '') continue;
    const eq = item.indexOf('=');
    const key = decode(eq < 0 ? item : item.slice(0, eq));
    const value = eq < 0 ? '' : decode(item.slice(eq + 1));
    pairs.push({ key, value, encKey: escapeUri(key), encValue: escapeUri(value) });
  }
  return pairs;
}

/** RFC 3986 percent-decoding ('+' stays '+'); undecodable text is kept as sent. */
function decode(text: string): string {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** RFC 3986 unreserved characters stay, everything else is %XX (UTF-8), like smithy's escapeUri. */
function escapeUri(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Smithy sorts by the decoded key, botocore and the SigV4 spec by the encoded key (then the encoded value,
 * both); the two differ only for unusual keys, and then both are tried. X-Amz-Signature is left out.
 */
function canonicalQueryCandidates(query: readonly QueryPair[]): readonly string[] {
  if (query.length === 0) return [''];
  const pairs = query.filter((p) => p.key.toLowerCase() !== 'x-amz-signature');
  const bySmithy = [...pairs].sort((a, b) => compare(a.key, b.key) || compare(a.encValue, b.encValue));
  const bySpec = [...pairs].sort((a, b) => compare(a.encKey, b.encKey) || compare(a.encValue, b.encValue));
  const smithy = bySmithy.map((p) => `${p.encKey}=${p.encValue}`).join('&');
  const spec = bySpec.map((p) => `${p.encKey}=${p.encValue}`).join('&');
  return smithy === spec ? [smithy] : [smithy, spec];
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Non-S3 rule: drop empty and '.' segments, resolve '..', keep leading/trailing '/', then encode (again) per segment. */
function canonicalUri(rawPath: string): string {
  if (rawPath === '/') return '/';
  const segments: string[] = [];
  for (const segment of rawPath.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(escapeUri(segment));
  }
  const lead = rawPath.startsWith('/') ? '/' : '';
  const trail = segments.length > 0 && rawPath.endsWith('/') ? '/' : '';
  return `${lead}${segments.join('/')}${trail}`;
}

function canonicalHeaders(headers: AuthRequest['headers'], names: readonly string[]): string {
  return names
    .map((name) => {
      const raw = headerRaw(headers, name)!;
      const value = Array.isArray(raw) ? raw.map(trimAll).join(',') : trimAll(raw);
      return `${name}:${value}`;
    })
    .join('\n');
}

function trimAll(value: string): string {
  return value.trim().replace(/\s+/g, ' ');
}

function headerRaw(headers: AuthRequest['headers'], name: string): string | string[] | undefined {
  if (!Object.hasOwn(headers, name)) return undefined;
  const value = headers[name];
  return typeof value === 'string' || Array.isArray(value) ? value : undefined;
}

function headerValue(headers: AuthRequest['headers'], name: string): string | undefined {
  const raw = headerRaw(headers, name);
  return Array.isArray(raw) ? raw.join(',') : raw;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
