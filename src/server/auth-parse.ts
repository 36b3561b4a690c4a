/**
 * The two forms of a SigV4 request reduced to one ParsedAuth: the Authorization header (with the
 * request's X-Amz-Date or Date) and the presigned query string; the query's pairs decoded and
 * re-encoded as the canonical request needs them. Only the form is checked here, not the key, the
 * scope or the signature.
 */
import { headerValue, type AuthHeaders } from './auth-headers.ts';
import { ALGORITHM, incomplete, Q_ALGORITHM, Q_CREDENTIAL, Q_DATE, Q_EXPIRES, Q_SIGNATURE, Q_SIGNED_HEADERS, TERMINATOR } from './auth-wire.ts';

const MAX_PRESIGN_EXPIRES_S = 7 * 24 * 60 * 60;
const ISO_BASIC = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const HTTP_DATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} (?:GMT|UTC|[+-]\d{4})$/;

export interface QueryPair {
  readonly key: string;
  readonly value: string;
  readonly encKey: string;
  readonly encValue: string;
}

/** What both forms reduce to before the signature is checked. */
export interface ParsedAuth {
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

export function parseAuthorizationHeader(authorization: string, headers: AuthHeaders): ParsedAuth {
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

export function parsePresigned(query: readonly QueryPair[]): ParsedAuth {
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

export function assemble(
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

/** X-Amz-Date overrides Date; Date may be ISO 8601 basic or an HTTP date (botocore sends the latter). */
export function requestDate(headers: AuthHeaders): { longDate: string; ms: number } | undefined {
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

export function parseIsoBasic(text: string): { longDate: string; ms: number } | undefined {
  const m = ISO_BASIC.exec(text);
  if (m === null) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  // Reject out-of-range fields (month 13, 25:00, ...) that Date.UTC would roll over.
  return isoBasic(ms) === text ? { longDate: text, ms } : undefined;
}

export function isoBasic(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

export function parseQuery(rawQuery: string): QueryPair[] {
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
export function decode(text: string): string {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** RFC 3986 unreserved characters stay, everything else is %XX (UTF-8), like smithy's escapeUri. */
export function escapeUri(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
