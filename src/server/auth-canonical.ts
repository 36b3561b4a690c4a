/**
 * The canonical request, built the way @smithy/signature-v4 (the JS SDK) and botocore (the AWS CLI)
 * build it from what they put on the wire: the URI, the query (both sort orders where they differ),
 * the signed headers, and the payload hash candidates.
 */
import { createHash } from 'node:crypto';
import type { AuthRequest } from './auth.ts';
import { headerRaw, headerValue, type AuthHeaders } from './auth-headers.ts';
import { escapeUri, type QueryPair } from './auth-parse.ts';
import { mismatch, UNSIGNED_PAYLOAD } from './auth-wire.ts';

/**
 * The payload hash as the signer used it: x-amz-content-sha256 when sent (checked against the body unless
 * UNSIGNED-PAYLOAD on a presigned request; the precheck refuses it on a header-signed one), else the body's sha256; a presigned request may also have been signed over
 * UNSIGNED-PAYLOAD (smithy does that for stream bodies), which only matches if it was.
 */
export function payloadHashCandidates(presigned: boolean, req: AuthRequest, query: readonly QueryPair[]): readonly string[] {
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

/**
 * Smithy sorts by the decoded key, botocore and the SigV4 spec by the encoded key (then the encoded value,
 * both); the two differ only for unusual keys, and then both are tried. X-Amz-Signature is left out.
 */
export function canonicalQueryCandidates(query: readonly QueryPair[]): readonly string[] {
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
export function canonicalUri(rawPath: string): string {
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

export function canonicalHeaders(headers: AuthHeaders, names: readonly string[]): string {
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

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
