import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SMSClient, GetConnectorsCommand } from '@aws-sdk/client-sms';
import { SigV4Verifier, type AuthRequest, type AuthResult, type Credential } from '../../src/server/auth.ts';
import { credentialLookup } from '../../src/server/credentials.ts';

const REGION = 'us-east-1';
const SERVICE = 'sms';
const TARGET = 'AWSServerMigrationService_V2016_10_24.GetConnectors';
const SIGNING_DATE = new Date('2024-03-01T12:00:00Z');
const NOW = SIGNING_DATE.getTime();
const MIN = 60_000;

const KEY: Credential = { accessKeyId: 'AKIAEXAMPLEKEY000001', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
const TEMP: Credential = {
  accessKeyId: 'ASIAEXAMPLETEMP00001',
  secretAccessKey: 'tempSecret+With/Slashes0000000000000000',
  sessionToken: 'FwoGZXIvYXdzEXAMPLE//token+with=chars',
};
const SECRETS = [KEY.secretAccessKey, TEMP.secretAccessKey];

type SignerCredential = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

function verifier(now = NOW, creds: readonly Credential[] = [KEY, TEMP], service = SERVICE): SigV4Verifier {
  return new SigV4Verifier({ service, region: REGION, lookup: credentialLookup(creds), now: () => now });
}

function signer(credentials: SignerCredential = KEY, region = REGION, service = SERVICE): SignatureV4 {
  return new SignatureV4({ service, region, credentials, sha256: Hash.bind(null, 'sha256') });
}

function smsRequest(opts: { body?: unknown; headers?: Record<string, string>; query?: Record<string, string | string[]> } = {}): HttpRequest {
  return new HttpRequest({
    method: 'POST',
    protocol: 'http:',
    hostname: '127.0.0.1',
    port: 4573,
    path: '/',
    query: opts.query ?? {},
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': TARGET,
      host: '127.0.0.1:4573',
      ...opts.headers,
    },
    body: opts.body ?? '{}',
  });
}

/** Same encoding as @smithy/util-uri-escape (what the SDK's HTTP handler puts on the wire). */
function escapeUri(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** What the SDK's node-http-handler sends: keys sorted, each value escaped. */
function wireQuery(query: HttpRequest['query']): string {
  const parts: string[] = [];
  for (const key of Object.keys(query).sort()) {
    const value = query[key];
    for (const v of Array.isArray(value) ? value : [value]) parts.push(v === null || v === undefined ? escapeUri(key) : `${escapeUri(key)}=${escapeUri(v)}`);
  }
  return parts.join('&');
}

/** The request as the server sees it: lowercase header names, raw path and query. */
function toWire(req: HttpRequest, body?: string): AuthRequest {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = v;
  return {
    method: req.method,
    rawPath: req.path,
    rawQuery: wireQuery(req.query),
    headers,
    body: Buffer.from(body ?? (typeof req.body === 'string' ? req.body : '')),
  };
}

async function signed(opts: { cred?: SignerCredential; region?: string; service?: string; date?: Date; req?: HttpRequest } = {}): Promise<AuthRequest> {
  const req = await signer(opts.cred, opts.region, opts.service).sign(opts.req ?? smsRequest(), { signingDate: opts.date ?? SIGNING_DATE });
  return toWire(req as HttpRequest);
}

async function presigned(opts: { cred?: SignerCredential; expiresIn?: number; date?: Date; req?: HttpRequest; body?: string } = {}): Promise<AuthRequest> {
  const req = await signer(opts.cred).presign(opts.req ?? smsRequest(), { signingDate: opts.date ?? SIGNING_DATE, expiresIn: opts.expiresIn ?? 900 });
  return toWire(req as HttpRequest, opts.body);
}

function withHeaders(req: AuthRequest, changes: Record<string, string | string[] | undefined>): AuthRequest {
  const headers: Record<string, string | string[] | undefined> = { ...req.headers, ...changes };
  for (const [k, v] of Object.entries(headers)) if (v === undefined) delete headers[k];
  return { ...req, headers };
}

function withAuthorization(req: AuthRequest, edit: (auth: string) => string): AuthRequest {
  return withHeaders(req, { authorization: edit(String(req.headers.authorization)) });
}

function signatureOf(req: AuthRequest): string {
  const fromHeader = /Signature=([0-9a-f]+)/.exec(String(req.headers.authorization ?? ''));
  const fromQuery = /X-Amz-Signature=([0-9a-f]+)/.exec(req.rawQuery);
  return (fromHeader ?? fromQuery)?.[1] ?? '<none>';
}

function expectOk(result: AuthResult, cred: Credential): void {
  if (!result.ok) expect.fail(`expected success, got ${result.error.code}: ${result.error.message}`);
  expect(result.credential).toBe(cred);
}

function expectError(result: AuthResult, req: AuthRequest, code: string, status: number, message?: string | RegExp): string {
  if (result.ok) return expect.fail(`expected ${code}, but the request was accepted`);
  expect(result.error.code).toBe(code);
  expect(result.error.status).toBe(status);
  if (message !== undefined) expect(result.error.message).toMatch(message);
  for (const secret of SECRETS) expect(result.error.message).not.toContain(secret);
  const signature = signatureOf(req);
  if (signature !== '<none>') expect(result.error.message).not.toContain(signature);
  return result.error.message;
}

const MISMATCH = /^The request signature we calculated does not match the signature you provided\. Check your AWS Secret Access Key and signing method\.$/;

describe('SigV4Verifier accepts what the real signers produce', () => {
  it('header form (SignatureV4.sign), long-term key', async () => {
    const req = await signed();
    expect(req.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIAEXAMPLEKEY000001\/20240301\/us-east-1\/sms\/aws4_request, /);
    expect(req.headers['x-amz-content-sha256']).toBe(createHash('sha256').update('{}').digest('hex'));
    expectOk(verifier().verify(req), KEY);
  });

  it('header form with a session token', async () => {
    const req = await signed({ cred: TEMP });
    expect(req.headers['x-amz-security-token']).toBe(TEMP.sessionToken);
    expectOk(verifier().verify(req), TEMP);
  });

  it('query-string form (SignatureV4.presign), long-term key', async () => {
    const req = await presigned();
    expect(req.headers.authorization).toBeUndefined();
    expect(req.rawQuery).toContain('X-Amz-Algorithm=AWS4-HMAC-SHA256');
    expect(req.rawQuery).toContain(`x-amz-target=${TARGET}`); // presign hoists x-amz-* headers into the query, name as given
    expectOk(verifier().verify(req), KEY);
  });

  it('returns the target the signature covers: the signed header, or X-Amz-Target in a presigned query', async () => {
    const header = verifier().verify(await signed());
    expect(header.ok && header.target).toBe(TARGET);
    const query = verifier().verify(await presigned());
    expect(query.ok && query.target).toBe(TARGET);
    const hoistless = toWire(
      (await signer().presign(smsRequest(), { signingDate: SIGNING_DATE, expiresIn: 900, unhoistableHeaders: new Set(['x-amz-target']) })) as HttpRequest,
    );
    expect(hoistless.rawQuery).not.toContain('x-amz-target=');
    const fromHeader = verifier().verify(hoistless);
    expect(fromHeader.ok && fromHeader.target).toBe(TARGET);
    // precheck needs no body, and agrees.
    const { body: _body, ...head } = await signed();
    const pre = verifier().precheck(head);
    expect(pre.ok && pre.target).toBe(TARGET);
  });

  it('query-string form with a session token', async () => {
    const req = await presigned({ cred: TEMP });
    expect(req.rawQuery).toContain('X-Amz-Security-Token=');
    expectOk(verifier().verify(req), TEMP);
  });

  it('presigned request whose body the signer could not hash (UNSIGNED-PAYLOAD)', async () => {
    const req = await presigned({ req: smsRequest({ body: Readable.from(['{}']) }), body: '{"any":"body"}' });
    expectOk(verifier().verify(req), KEY);
  });


  it('extra headers added after signing (proxies, user agents) are ignored', async () => {
    const req = withHeaders(await signed(), {
      'user-agent': 'aws-cli/2',
      'x-forwarded-for': '10.0.0.1',
      'x-amzn-trace-id': 'Root=1-abc',
      'content-length': '2',
      connection: 'keep-alive',
    });
    expectOk(verifier().verify(req), KEY);
  });

  it('header values are trimmed and whitespace runs collapsed; repeated headers join with ","', async () => {
    const req = await signed({ req: smsRequest({ headers: { 'x-custom': '  "a   b \t c"  ', 'x-multi': 'one,two' } }) });
    expectOk(verifier().verify(withHeaders(req, { 'x-custom': '"a b c"', 'x-multi': [' one ', 'two'] })), KEY);
  });

  it('query string with repeated and unsorted keys and reserved characters (header form)', async () => {
    const query = { b: '2', a: ['z', 'y', 'x y'], '@#$%^': '', '+': '/,?><`";:\\|][{}', ሴ: 'bar', Param2: 'v', Param1: 'v' };
    const req = await signed({ req: smsRequest({ query }) });
    const shuffled = req.rawQuery.split('&').reverse().join('&');
    expect(shuffled).not.toBe(req.rawQuery);
    expectOk(verifier().verify({ ...req, rawQuery: shuffled }), KEY);
  });

  it('query string with repeated and unsorted keys (query-string form)', async () => {
    const req = await presigned({ req: smsRequest({ query: { z: ['2', '1'], a: 'x' } }) });
    const shuffled = req.rawQuery.split('&').reverse().join('&');
    expectOk(verifier().verify({ ...req, rawQuery: shuffled }), KEY);
  });

  it('keys whose decoded and encoded sort orders differ (smithy sorts decoded keys)', async () => {
    const req = await signed({ req: smsRequest({ query: { aZ: '1', 'a^': '2' } }) });
    expectOk(verifier().verify(req), KEY);
  });

  it('path is normalised and segment-encoded like the signers do', async () => {
    const req = await signed({ req: Object.assign(smsRequest(), { path: '/a/./b//c/../d%20e/' }) });
    expectOk(verifier().verify(req), KEY);
  });

  it('matches the AWS General Reference worked example (IAM ListUsers)', () => {
    const req: AuthRequest = {
      method: 'GET',
      rawPath: '/',
      rawQuery: 'Action=ListUsers&Version=2010-05-08',
      headers: {
        'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
        host: 'iam.amazonaws.com',
        'x-amz-date': '20150830T123600Z',
        authorization:
          'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7',
      },
      body: Buffer.alloc(0),
    };
    const example: Credential = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
    expectOk(verifier(Date.UTC(2015, 7, 30, 12, 36), [example], 'iam').verify(req), example);
  });

  it('a request date exactly 15 minutes away is still accepted, both ways', async () => {
    const req = await signed();
    expectOk(verifier(NOW + 15 * MIN).verify(req), KEY);
    expectOk(verifier(NOW - 15 * MIN).verify(req), KEY);
  });

  it('a presigned request stays valid past the 15-minute skew until X-Amz-Expires', async () => {
    const req = await presigned({ expiresIn: 3600 });
    expectOk(verifier(NOW + 59 * MIN).verify(req), KEY);
  });
});

describe('SigV4Verifier rejects', () => {
  it('header form with x-amz-content-sha256: UNSIGNED-PAYLOAD (the body would not be covered): IncompleteSignature', async () => {
    const req = await signed({ req: smsRequest({ headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } }) });
    expectError(verifier().verify({ ...req, body: Buffer.from('{"other":1}') }), req, 'IncompleteSignature', 400, /UNSIGNED-PAYLOAD/);
    expectError(verifier().precheck(req), req, 'IncompleteSignature', 400, /UNSIGNED-PAYLOAD/);
  });

  it('an x-amz-* header left out of SignedHeaders, x-amz-target included: IncompleteSignature naming it', async () => {
    const req = toWire(
      (await signer().sign(smsRequest(), { signingDate: SIGNING_DATE, unsignableHeaders: new Set(['x-amz-target']) })) as HttpRequest,
    );
    expect(String(req.headers.authorization)).not.toContain('x-amz-target');
    expectError(verifier().verify(req), req, 'IncompleteSignature', 400, /'x-amz-target' is not signed/);
    const added = withHeaders(await signed(), { 'x-amz-meta': 'added' });
    expectError(verifier().verify(added), added, 'IncompleteSignature', 400, /'x-amz-meta' is not signed/);
  });

  it('a presigned request with a target header beside its query, unsigned or different: IncompleteSignature', async () => {
    const req = await presigned();
    const other = 'AWSServerMigrationService_V2016_10_24.ImportServerCatalog';
    for (const target of [other, TARGET]) {
      const swapped = withHeaders(req, { 'x-amz-target': target });
      expectError(verifier().verify(swapped), swapped, 'IncompleteSignature', 400, /x-amz-target/);
    }
  });
  it('a request with no authentication at all: MissingAuthenticationToken', async () => {
    const req = withHeaders(await signed(), { authorization: undefined });
    expectError(verifier().verify(req), req, 'MissingAuthenticationToken', 403, /^Missing Authentication Token$/);
    const unsigned = toWire(smsRequest());
    expectError(verifier().verify(unsigned), unsigned, 'MissingAuthenticationToken', 403);
  });

  const incompleteHeaderCases: Array<[string, (a: string) => string, RegExp]> = [
    ['not parseable', () => 'AWS4-HMAC-SHA256 garbage', /malformed/],
    ['no parameters at all', () => 'AWS4-HMAC-SHA256', /requires 'Credential'.*requires 'SignedHeaders'.*requires 'Signature'/],
    ['missing Credential', (a) => a.replace(/Credential=[^,]*, /, ''), /requires 'Credential' parameter/],
    ['missing SignedHeaders', (a) => a.replace(/SignedHeaders=[^,]*, /, ''), /requires 'SignedHeaders' parameter/],
    ['missing Signature', (a) => a.replace(/, Signature=.*$/, ''), /requires 'Signature' parameter/],
    ['another algorithm', (a) => a.replace('AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA1'), /Unsupported AWS 'algorithm' 'AWS4-HMAC-SHA1'/],
    ['a SigV2-style header', () => 'AWS AKIAEXAMPLEKEY000001:c2lnbmF0dXJl', /Unsupported AWS 'algorithm'/],
    ['a credential scope of 4 parts', (a) => a.replace('/sms/aws4_request', '/aws4_request'), /exactly 5 slash-delimited elements/],
    ['a credential scope of 6 parts', (a) => a.replace('/aws4_request', '/aws4_request/x'), /exactly 5 slash-delimited elements/],
    ['a wrong scope terminator', (a) => a.replace('/aws4_request', '/aws5_request'), /valid terminator: 'aws4_request', not 'aws5_request'/],
    ['host not signed', (a) => a.replace('host;', ''), /'Host' or ':authority' must be a 'SignedHeader'/],
    ['a signed header absent from the request', (a) => a.replace('host;', 'host;x-not-sent;'), /Signed header 'x-not-sent' is not present/],
  ];
  it.each(incompleteHeaderCases)('an Authorization header with %s: IncompleteSignature', async (_name, edit, message) => {
    const req = withAuthorization(await signed(), edit);
    expectError(verifier().verify(req), req, 'IncompleteSignature', 400, message);
  });

  it('an Authorization header without x-amz-date or date: IncompleteSignature', async () => {
    const req = withHeaders(await signed(), { 'x-amz-date': undefined });
    expectError(verifier().verify(req), req, 'IncompleteSignature', 400, /either a 'X-Amz-Date' or a 'Date' header/);
  });

  it('a malformed x-amz-date: IncompleteSignature', async () => {
    const req = withHeaders(await signed(), { 'x-amz-date': '2024-03-01T12:00:00Z' });
    expectError(verifier().verify(req), req, 'IncompleteSignature', 400, /ISO8601 Long Format/);
  });

  it('both an Authorization header and X-Amz-Algorithm in the query: IncompleteSignature', async () => {
    const req = { ...(await signed()), rawQuery: 'X-Amz-Algorithm=AWS4-HMAC-SHA256' };
    expectError(verifier().verify(req), req, 'IncompleteSignature', 400, /Only one auth mechanism/);
  });

  const incompleteQueryCases: Array<[string, RegExp]> = [
    ['X-Amz-Credential', /must include 'X-Amz-Credential'/],
    ['X-Amz-Date', /must include 'X-Amz-Date'/],
    ['X-Amz-SignedHeaders', /must include 'X-Amz-SignedHeaders'/],
    ['X-Amz-Algorithm', /must include 'X-Amz-Algorithm'/],
  ];
  it.each(incompleteQueryCases)('a presigned request without %s: IncompleteSignature', async (param, message) => {
    const base = await presigned();
    const req = { ...base, rawQuery: base.rawQuery.split('&').filter((p) => !p.startsWith(`${param}=`)).join('&') };
    expectError(verifier().verify(req), req, 'IncompleteSignature', 400, message);
  });

  it('a presigned request without X-Amz-Signature (only X-Amz-Algorithm): IncompleteSignature', async () => {
    const base = await presigned();
    const req = { ...base, rawQuery: base.rawQuery.replace(/&?X-Amz-Signature=[0-9a-f]+/, '') };
    expectError(verifier().verify(req), req, 'IncompleteSignature', 400, /must include 'X-Amz-Signature'/);
  });

  it('a presigned request with another algorithm, host unsigned, or a bad X-Amz-Expires: IncompleteSignature', async () => {
    const base = await presigned();
    const edits: Array<[string, string, RegExp]> = [
      ['X-Amz-Algorithm=AWS4-HMAC-SHA256', 'X-Amz-Algorithm=AWS4-HMAC-SHA1', /Unsupported AWS 'algorithm'/],
      ['X-Amz-SignedHeaders=content-type%3Bhost', 'X-Amz-SignedHeaders=content-type', /'Host' or ':authority' must be a 'SignedHeader'/],
      ['X-Amz-Expires=900', 'X-Amz-Expires=604801', /X-Amz-Expires/],
      ['X-Amz-Expires=900', 'X-Amz-Expires=-1', /X-Amz-Expires/],
    ];
    for (const [from, to, message] of edits) {
      expect(base.rawQuery).toContain(from);
      const req = { ...base, rawQuery: base.rawQuery.replace(from, to) };
      expectError(verifier().verify(req), req, 'IncompleteSignature', 400, message);
    }
  });

  it('an unknown access key: InvalidClientTokenId', async () => {
    const stranger = { accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: 'not-a-known-secret-00000000000000000000' };
    for (const req of [await signed({ cred: stranger }), await presigned({ cred: stranger })]) {
      expectError(verifier().verify(req), req, 'InvalidClientTokenId', 403, /^The security token included in the request is invalid\.$/);
    }
  });

  it('a temporary key pair used without its session token: InvalidClientTokenId', async () => {
    const noToken = { accessKeyId: TEMP.accessKeyId, secretAccessKey: TEMP.secretAccessKey };
    for (const req of [await signed({ cred: noToken }), await presigned({ cred: noToken })]) {
      expectError(verifier().verify(req), req, 'InvalidClientTokenId', 403);
    }
  });

  it('a temporary key pair with the wrong session token: InvalidClientTokenId', async () => {
    const wrongToken = { ...TEMP, sessionToken: 'some-other-token' };
    for (const req of [await signed({ cred: wrongToken }), await presigned({ cred: wrongToken })]) {
      expectError(verifier().verify(req), req, 'InvalidClientTokenId', 403);
    }
  });

  it('a session token sent with a key pair that has none: InvalidClientTokenId', async () => {
    const withToken = { ...KEY, sessionToken: 'unexpected-token' };
    for (const req of [await signed({ cred: withToken }), await presigned({ cred: withToken })]) {
      expectError(verifier().verify(req), req, 'InvalidClientTokenId', 403);
    }
  });

  it('a credential scoped to another region: SignatureDoesNotMatch', async () => {
    const req = await signed({ region: 'us-west-2' });
    expectError(verifier().verify(req), req, 'SignatureDoesNotMatch', 403, /^Credential should be scoped to a valid region, not 'us-west-2'\.$/);
  });

  it('a credential scoped to another service: SignatureDoesNotMatch', async () => {
    const req = await signed({ service: 'ec2' });
    expectError(verifier().verify(req), req, 'SignatureDoesNotMatch', 403, /^Credential should be scoped to correct service: 'sms'\.$/);
  });

  it('a scope date that is not the request date: SignatureDoesNotMatch', async () => {
    const req = withHeaders(await signed({ date: new Date('2024-03-01T23:59:00Z') }), { 'x-amz-date': '20240302T000100Z' });
    const message = expectError(
      verifier(Date.UTC(2024, 2, 2, 0, 1)).verify(req),
      req,
      'SignatureDoesNotMatch',
      403,
      /Date in Credential scope does not match/,
    );
    expect(message).toContain("'20240301' != '20240302'");
  });

  it('a request signed 16 minutes ago: RequestExpired', async () => {
    const req = await signed();
    expectError(verifier(NOW + 16 * MIN).verify(req), req, 'RequestExpired', 400, /^Request has expired/);
  });

  it('a request signed 16 minutes in the future: RequestExpired (not yet current)', async () => {
    const req = await signed();
    expectError(verifier(NOW - 16 * MIN).verify(req), req, 'RequestExpired', 400, /^Signature not yet current/);
    const pre = await presigned();
    expectError(verifier(NOW - 16 * MIN).verify(pre), pre, 'RequestExpired', 400, /^Signature not yet current/);
  });

  it('a presigned request used after X-Amz-Date + X-Amz-Expires: RequestExpired', async () => {
    const req = await presigned({ expiresIn: 300 });
    expectOk(verifier(NOW + 300_000).verify(req), KEY);
    expectError(verifier(NOW + 301_000).verify(req), req, 'RequestExpired', 400, /^Request has expired/);
  });

  it('a tampered body (x-amz-content-sha256 kept): SignatureDoesNotMatch', async () => {
    const req = { ...(await signed()), body: Buffer.from('{"nextToken":"x"}') };
    expectError(verifier().verify(req), req, 'SignatureDoesNotMatch', 403, /x-amz-content-sha256/);
  });

  it('a tampered body with a recomputed x-amz-content-sha256: SignatureDoesNotMatch', async () => {
    const body = Buffer.from('{"nextToken":"x"}');
    const req = withHeaders({ ...(await signed()), body }, { 'x-amz-content-sha256': createHash('sha256').update(body).digest('hex') });
    expectError(verifier().verify(req), req, 'SignatureDoesNotMatch', 403, MISMATCH);
  });

  it('a tampered body on a presigned request: SignatureDoesNotMatch', async () => {
    const req = await presigned({ body: '{"nextToken":"x"}' });
    expectError(verifier().verify(req), req, 'SignatureDoesNotMatch', 403, MISMATCH);
  });

  it('a tampered signed header: SignatureDoesNotMatch', async () => {
    const req = withHeaders(await signed(), { 'x-amz-target': 'AWSServerMigrationService_V2016_10_24.DeleteReplicationJob' });
    expectError(verifier().verify(req), req, 'SignatureDoesNotMatch', 403, MISMATCH);
  });

  it('a tampered query parameter on a presigned request: SignatureDoesNotMatch', async () => {
    const base = await presigned();
    const req = { ...base, rawQuery: base.rawQuery.replace('GetConnectors', 'DeleteReplicationJob') };
    expect(req.rawQuery).not.toBe(base.rawQuery);
    expectError(verifier().verify(req), req, 'SignatureDoesNotMatch', 403, MISMATCH);
  });

  it('an added query parameter on a header-signed request: SignatureDoesNotMatch', async () => {
    const req = { ...(await signed()), rawQuery: 'extra=1' };
    expectError(verifier().verify(req), req, 'SignatureDoesNotMatch', 403, MISMATCH);
  });

  it('a different path or method: SignatureDoesNotMatch', async () => {
    const base = await signed();
    for (const req of [{ ...base, rawPath: '/other' }, { ...base, method: 'PUT' }]) {
      expectError(verifier().verify(req), req, 'SignatureDoesNotMatch', 403, MISMATCH);
    }
  });

  it('the wrong secret: SignatureDoesNotMatch', async () => {
    const wrong = { accessKeyId: KEY.accessKeyId, secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYWRONGKEY00' };
    for (const req of [await signed({ cred: wrong }), await presigned({ cred: wrong })]) {
      expectError(verifier().verify(req), req, 'SignatureDoesNotMatch', 403, MISMATCH);
    }
  });

  it('an altered, truncated or non-hex signature: SignatureDoesNotMatch', async () => {
    const base = await signed();
    const sig = signatureOf(base);
    const flipped = `${sig.slice(0, -1)}${sig.endsWith('0') ? '1' : '0'}`;
    for (const replacement of [flipped, sig.slice(0, 32), sig.toUpperCase(), 'z'.repeat(64)]) {
      const req = withAuthorization(base, (a) => a.replace(sig, replacement));
      expectError(verifier().verify(req), req, 'SignatureDoesNotMatch', 403, MISMATCH);
    }
  });
});

describe('SigV4Verifier against the real SDK client over HTTP', () => {
  let server: http.Server;
  let endpoint = '';
  const seen: AuthResult[] = [];
  const serverVerifier = new SigV4Verifier({ service: SERVICE, region: REGION, lookup: credentialLookup([KEY, TEMP]), now: Date.now });

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const url = req.url ?? '/';
        const q = url.indexOf('?');
        const result = serverVerifier.verify({
          method: req.method ?? 'GET',
          rawPath: q < 0 ? url : url.slice(0, q),
          rawQuery: q < 0 ? '' : url.slice(q + 1),
          headers: req.headersDistinct,
          body: Buffer.concat(chunks),
        });
        seen.push(result);
        const [status, payload] = result.ok ? [200, {}] : [result.error.status, { __type: result.error.code, message: result.error.message }];
        res.writeHead(status, {
          'content-type': 'application/x-amz-json-1.1',
          ...(result.ok ? {} : { 'x-amzn-errortype': result.error.code }),
        });
        res.end(JSON.stringify(payload));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const client = (credentials: SignerCredential) => new SMSClient({ region: REGION, endpoint, credentials, maxAttempts: 1 });

  it('accepts GetConnectors from SMSClient with a long-term key and with a session token', async () => {
    for (const cred of [KEY, TEMP]) {
      const out = await client(cred).send(new GetConnectorsCommand({}));
      expect(out.$metadata.httpStatusCode).toBe(200);
      const last = seen.at(-1)!;
      expect(last.ok && last.credential).toBe(cred);
    }
  });

  it('the SDK sees SignatureDoesNotMatch (403) for a wrong secret and InvalidClientTokenId for an unknown key', async () => {
    const wrongSecret = client({ accessKeyId: KEY.accessKeyId, secretAccessKey: 'x'.repeat(40) });
    await expect(wrongSecret.send(new GetConnectorsCommand({}))).rejects.toMatchObject({
      name: 'SignatureDoesNotMatch',
      $metadata: { httpStatusCode: 403 },
    });
    const unknown = client({ accessKeyId: 'AKIANOBODY0000000000', secretAccessKey: 'x'.repeat(40) });
    await expect(unknown.send(new GetConnectorsCommand({}))).rejects.toMatchObject({ name: 'InvalidClientTokenId' });
  });
});

/** botocore (the AWS CLI's signer) signs requests for the verifier; skipped where Python/botocore is absent. */
const hasBotocore = spawnSync('python3', ['-c', 'import botocore'], { stdio: 'ignore' }).status === 0;

const BOTOCORE_SCRIPT = String.raw`
import json, sys
from botocore.awsrequest import AWSRequest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.credentials import Credentials
out = []
for case in json.loads(sys.argv[1]):
    creds = Credentials(case['akid'], case['secret'], case.get('token'))
    headers = {'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': case['target']}
    if case.get('dateHeader'):
        headers['Date'] = 'placeholder'
    req = AWSRequest(method='POST', url=case['url'], data=b'{}', headers=headers)
    if case['presign']:
        SigV4QueryAuth(creds, 'sms', case['region'], expires=300).add_auth(req)
    else:
        SigV4Auth(creds, 'sms', case['region']).add_auth(req)
    p = req.prepare()
    body = p.body or b''
    out.append({'url': p.url, 'headers': dict(p.headers.items()), 'body': body.decode() if isinstance(body, bytes) else body})
print(json.dumps(out))
`;

describe.skipIf(!hasBotocore)('SigV4Verifier against botocore (AWS CLI signer)', () => {
  type Case = { akid: string; secret: string; token?: string; presign: boolean; dateHeader?: boolean; url: string; region: string; target: string };
  function botocoreSign(cases: Case[]): AuthRequest[] {
    const run = spawnSync('python3', ['-c', BOTOCORE_SCRIPT, JSON.stringify(cases)], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(run.stderr);
    const results = JSON.parse(run.stdout) as Array<{ url: string; headers: Record<string, string>; body: string }>;
    return results.map((r) => {
      const url = new URL(r.url);
      const headers: Record<string, string> = { host: url.host };
      for (const [k, v] of Object.entries(r.headers)) headers[k.toLowerCase()] = v;
      return { method: 'POST', rawPath: url.pathname, rawQuery: url.search.slice(1), headers, body: Buffer.from(r.body) };
    });
  }
  const base = { akid: KEY.accessKeyId, secret: KEY.secretAccessKey, url: 'http://127.0.0.1:4573/', region: REGION, target: TARGET };

  it('accepts header-signed, Date-header, query-parameter and presigned requests, with and without a token', () => {
    const reqs = botocoreSign([
      { ...base, presign: false },
      { ...base, presign: false, dateHeader: true },
      { ...base, presign: false, url: 'http://127.0.0.1:4573/?aZ=1&a%5E=2&b=%20x&b=y' },
      { ...base, presign: true },
      { ...base, akid: TEMP.accessKeyId, secret: TEMP.secretAccessKey, token: TEMP.sessionToken, presign: false },
      { ...base, akid: TEMP.accessKeyId, secret: TEMP.secretAccessKey, token: TEMP.sessionToken, presign: true },
    ]);
    expect(reqs[1]!.headers.date).toMatch(/^[A-Z][a-z]{2}, \d{2} /); // botocore sends an HTTP date, not X-Amz-Date
    expect(reqs[1]!.headers['x-amz-date']).toBeUndefined();
    const v = new SigV4Verifier({ service: SERVICE, region: REGION, lookup: credentialLookup([KEY, TEMP]), now: Date.now });
    expect(reqs.map((r) => v.verify(r)).map((r) => (r.ok ? r.credential.accessKeyId : r.error.message))).toEqual([
      KEY.accessKeyId,
      KEY.accessKeyId,
      KEY.accessKeyId,
      KEY.accessKeyId,
      TEMP.accessKeyId,
      TEMP.accessKeyId,
    ]);
  });

  it('rejects a botocore request signed for another region or with a wrong secret', () => {
    const [otherRegion, wrongSecret] = botocoreSign([
      { ...base, presign: false, region: 'eu-west-1' },
      { ...base, presign: false, secret: 'y'.repeat(40) },
    ]);
    const v = new SigV4Verifier({ service: SERVICE, region: REGION, lookup: credentialLookup([KEY]), now: Date.now });
    expectError(v.verify(otherRegion!), otherRegion!, 'SignatureDoesNotMatch', 403, /valid region/);
    expectError(v.verify(wrongSecret!), wrongSecret!, 'SignatureDoesNotMatch', 403, MISMATCH);
  });
});
