/**
 * AWS Signature Version 4 verification for the embedded server, in both the Authorization-header and
 * the query-string (presigned) forms. The canonical request is built the way @smithy/signature-v4
 * (the JS SDK) and botocore (the AWS CLI) build it from what they put on the wire.
 * Error messages never carry a secret, a computed signature or the request's signature.
 *
 * The rooms: auth-wire.ts (names and answers), auth-headers.ts, auth-parse.ts (the two forms),
 * auth-checks.ts (signed x-amz-* headers, the action, the session token), auth-canonical.ts (the
 * canonical request); this file holds the verifier, its key cache and the time checks.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { canonicalHeaders, canonicalQueryCandidates, canonicalUri, payloadHashCandidates, sha256Hex } from './auth-canonical.ts';
import { checkAmzHeadersSigned, checkSessionToken, signedTarget } from './auth-checks.ts';
import { headerRaw, headerValue, nonEmpty, type AuthHeaders } from './auth-headers.ts';
import { isoBasic, parseAuthorizationHeader, parsePresigned, parseQuery, type ParsedAuth, type QueryPair } from './auth-parse.ts';
import { ALGORITHM, incomplete, mismatch, MSG_INVALID_TOKEN, Q_ALGORITHM, Q_SIGNATURE, TERMINATOR, UNSIGNED_PAYLOAD } from './auth-wire.ts';
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
  readonly headers: AuthHeaders;
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

const DEFAULT_MAX_SKEW_MS = 15 * 60 * 1000;
const KEY_CACHE_MAX = 128;
const HEX_SIGNATURE = /^[0-9a-f]{64}$/;

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

function skewText(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000} min.` : `${ms / 1000} s`;
}
