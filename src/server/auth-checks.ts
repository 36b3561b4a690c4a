/**
 * The checks on a parsed SigV4 request beyond its form: every x-amz-* header signed, the action the
 * signature covers, and the session token against the credential's.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Credential } from './auth.ts';
import { headerRaw, headerValue, type AuthHeaders } from './auth-headers.ts';
import type { ParsedAuth, QueryPair } from './auth-parse.ts';
import { incomplete, MSG_INVALID_TOKEN, Q_SIGNED_HEADERS, Q_TOKEN } from './auth-wire.ts';
import { ApiError } from './errors.ts';

/**
 * A header-signed request must sign every x-amz-* header it carries, x-amz-target (the action)
 * always: an unsigned one could be added or changed by whoever replays the request. AWS answers
 * the same for an unsigned x-amz-* header ("... must be signed"). A presigned request carries its
 * x-amz-* values in the (signed) query; an x-amz-* header beside it must be listed in
 * X-Amz-SignedHeaders too.
 */
export function checkAmzHeadersSigned(auth: ParsedAuth, headers: AuthHeaders): void {
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
export function signedTarget(headers: AuthHeaders, query: readonly QueryPair[]): string | undefined {
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

/** Every token the request presents (header and query) must be the credential's; none if it has none. */
export function checkSessionToken(credential: Credential, headers: AuthHeaders, query: readonly QueryPair[]): void {
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

export function constantTimeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}
