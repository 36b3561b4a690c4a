/**
 * SigV4 through the real SDK client and raw requests: each auth failure has its own code and status,
 * the presigned (query-string) form works, and no answer ever carries a secret or a signature.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetConnectorsCommand, SMSClient } from '@aws-sdk/client-sms';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Credential } from '../../src/server/auth.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { rawCall, send, signedHeaders, TARGET_PREFIX, type RawResponse } from '../helpers/sms-raw.ts';
import { expectSmsError, type SmsErrorLike } from '../helpers/sms-world.ts';

const TEMP: Credential = {
  accessKeyId: 'ASIATEMPORARY0000001',
  secretAccessKey: 'temporary/secret+key0000000000000000000',
  sessionToken: 'FwoGZXIvYXdzEXAMPLE//session+token=',
};

describe('SigV4 auth', () => {
  let t: TestServer;
  const clients: SMSClient[] = [];
  /** Every answer and error seen, checked at the end for secrets. */
  const seen: string[] = [];

  beforeAll(async () => {
    t = await startTestServer();
    await t.control.addCredentials(TEMP);
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await t.close();
  });

  function client(opts: { credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }; region?: string; systemClockOffset?: number }): SMSClient {
    const c = new SMSClient({
      endpoint: t.server.url,
      region: opts.region ?? t.server.region,
      credentials: opts.credentials ?? t.server.credentials,
      maxAttempts: 1,
      ...(opts.systemClockOffset === undefined ? {} : { systemClockOffset: opts.systemClockOffset }),
    });
    clients.push(c);
    return c;
  }

  async function sdkError(c: SMSClient, name: string, status: number, message?: RegExp): Promise<SmsErrorLike> {
    const err = await expectSmsError(c.send(new GetConnectorsCommand({})), name, status, message);
    seen.push(err.message, JSON.stringify(err));
    return err;
  }

  function raw(res: RawResponse, code: string, status: number, message?: RegExp): void {
    seen.push(res.text, JSON.stringify(res.headers));
    expect(res.status).toBe(status);
    expect(res.json['__type']).toBe(code);
    expect(res.headers['x-amzn-errortype']).toBe(code);
    if (message) expect(res.json['message']).toMatch(message);
  }

  it('the server key works', async () => {
    const out = await client({}).send(new GetConnectorsCommand({}));
    expect(out.connectorList).toHaveLength(3);
  });

  it('an unknown access key: InvalidClientTokenId 403', async () => {
    await sdkError(client({ credentials: { accessKeyId: 'AKIAUNKNOWN000000001', secretAccessKey: 'whatever-secret' } }), 'InvalidClientTokenId', 403, /security token included in the request is invalid/);
  });

  it('a wrong secret: SignatureDoesNotMatch 403', async () => {
    const wrong = { accessKeyId: t.server.credentials.accessKeyId, secretAccessKey: `${t.server.credentials.secretAccessKey}x` };
    const err = await sdkError(client({ credentials: wrong }), 'SignatureDoesNotMatch', 403, /signature we calculated does not match/);
    expect(err.message).not.toContain(wrong.secretAccessKey);
  });

  it('a client in another region: SignatureDoesNotMatch 403 naming the region', async () => {
    await sdkError(client({ region: 'us-west-2' }), 'SignatureDoesNotMatch', 403, /scoped to a valid region, not 'us-west-2'/);
  });

  it('another service in the credential scope: SignatureDoesNotMatch 403', async () => {
    raw(await rawCall(t.server, { target: 'GetConnectors', service: 'ec2' }), 'SignatureDoesNotMatch', 403, /scoped to correct service: 'sms'/);
  });

  it('a session token: required for the key that has one, refused for a key without one', async () => {
    const out = await client({ credentials: TEMP }).send(new GetConnectorsCommand({}));
    expect(out.connectorList).toHaveLength(3);
    const { sessionToken: _omit, ...withoutToken } = TEMP;
    await sdkError(client({ credentials: withoutToken }), 'InvalidClientTokenId', 403);
    await sdkError(client({ credentials: { ...TEMP, sessionToken: `${TEMP.sessionToken}x` } }), 'InvalidClientTokenId', 403);
    await sdkError(client({ credentials: { ...t.server.credentials, sessionToken: 'unexpected-token' } }), 'InvalidClientTokenId', 403);
  });

  for (const minutes of [16, -16]) {
    it(`a client clock ${minutes} minutes off: RequestExpired 400; the SDK then corrects its clock from the Date header`, async () => {
      const c = client({ systemClockOffset: minutes * 60 * 1000 });
      await sdkError(c, 'RequestExpired', 400, minutes > 0 ? /Signature not yet current/ : /Request has expired/);
      // With maxAttempts 1 the error surfaces, but the SDK has learnt the server's time: the next call is signed right.
      expect(Math.abs(c.config.systemClockOffset)).toBeLessThan(5_000);
      expect((await c.send(new GetConnectorsCommand({}))).connectorList).toHaveLength(3);
    });
  }

  it('a client clock 14 minutes off is accepted', async () => {
    const out = await client({ systemClockOffset: -14 * 60 * 1000 }).send(new GetConnectorsCommand({}));
    expect(out.connectorList).toHaveLength(3);
  });

  it('an unsigned request: MissingAuthenticationToken 403', async () => {
    raw(await rawCall(t.server, { target: 'GetConnectors', unsigned: true }), 'MissingAuthenticationToken', 403, /Missing Authentication Token/);
  });

  it('a malformed Authorization header: IncompleteSignature 400', async () => {
    const headers = await signedHeaders(t.server, { target: 'GetConnectors' });
    const auth = headers['authorization']!;
    const key = t.server.credentials.accessKeyId;
    const variants: [string, RegExp][] = [
      ['AWS4-HMAC-SHA256 Credential=abc', /requires 'SignedHeaders' parameter.*requires 'Signature' parameter/],
      ['Bearer abc', /Unsupported AWS 'algorithm'/],
      ['AWS4-HMAC-SHA256 garbage', /malformed/],
      [auth.replace(/Credential=[^,]+/, `Credential=${key}/20240101/us-east-1/sms`), /exactly 5 slash-delimited elements/],
      [auth.replace(/SignedHeaders=[^,]+/, 'SignedHeaders=content-type;x-amz-date'), /'Host' or ':authority' must be a 'SignedHeader'/],
      [auth.replace(/SignedHeaders=([^,]+)/, 'SignedHeaders=$1;x-custom'), /Signed header 'x-custom' is not present/],
    ];
    for (const [authorization, message] of variants) {
      raw(await send(t.server.url, { method: 'POST', path: '/', headers: { ...headers, authorization }, body: '{}' }), 'IncompleteSignature', 400, message);
    }
    // No date at all.
    const { 'x-amz-date': _date, ...noDate } = headers;
    raw(await send(t.server.url, { method: 'POST', path: '/', headers: noDate, body: '{}' }), 'IncompleteSignature', 400, /'X-Amz-Date' or a 'Date' header/);
  });

  it('a body or signature changed after signing: SignatureDoesNotMatch 403', async () => {
    const headers = await signedHeaders(t.server, { target: 'GetReplicationJobs', body: '{"maxResults":5}' });
    raw(await send(t.server.url, { method: 'POST', path: '/', headers, body: '{"maxResults":6}' }), 'SignatureDoesNotMatch', 403);
    const sig = /Signature=([0-9a-f]{64})/.exec(headers['authorization']!)![1]!;
    const flipped = sig.slice(0, -1) + (sig.endsWith('0') ? '1' : '0');
    raw(
      await send(t.server.url, { method: 'POST', path: '/', headers: { ...headers, authorization: headers['authorization']!.replace(sig, flipped) }, body: '{"maxResults":5}' }),
      'SignatureDoesNotMatch',
      403,
    );
    // The untouched request goes through.
    expect((await send(t.server.url, { method: 'POST', path: '/', headers, body: '{"maxResults":5}' })).status).toBe(200);
  });

  describe('presigned (query-string) requests', () => {
    async function presigned(opts: { expiresIn?: number; signingDate?: Date; target?: string } = {}): Promise<string> {
      const url = new URL(t.server.url);
      const signer = new SignatureV4({ service: 'sms', region: t.server.region, credentials: t.server.credentials, sha256: Hash.bind(null, 'sha256') });
      const req = await signer.presign(
        new HttpRequest({
          method: 'POST',
          protocol: 'http:',
          hostname: url.hostname,
          port: Number(url.port),
          path: '/',
          headers: { host: url.host, 'x-amz-target': TARGET_PREFIX + (opts.target ?? 'GetReplicationJobs') },
          body: '{}',
        }),
        { expiresIn: opts.expiresIn ?? 300, ...(opts.signingDate ? { signingDate: opts.signingDate } : {}) },
      );
      const query = new URLSearchParams(req.query as Record<string, string>).toString();
      return `${t.server.url}/?${query}`;
    }

    it('are accepted, with X-Amz-Target in the query string (sent with fetch)', async () => {
      const url = await presigned();
      expect(url).toContain('X-Amz-Signature=');
      expect(url).toContain('x-amz-target=');
      const res = await fetch(url, { method: 'POST', body: '{}' });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
      expect(await res.json()).toEqual({ replicationJobList: [] });
    });

    it('are refused once expired (RequestExpired) or when the signature is altered (SignatureDoesNotMatch)', async () => {
      const old = await presigned({ expiresIn: 60, signingDate: new Date(Date.now() - 10 * 60 * 1000) });
      const expired = await fetch(old, { method: 'POST', body: '{}' });
      const expiredText = await expired.text();
      seen.push(expiredText);
      expect(expired.status).toBe(400);
      expect(JSON.parse(expiredText)).toMatchObject({ __type: 'RequestExpired', message: expect.stringMatching(/presigned request expired/) });

      const url = await presigned();
      const altered = url.replace(/X-Amz-Signature=([0-9a-f])/, (_m, c: string) => `X-Amz-Signature=${c === '0' ? '1' : '0'}`);
      const res = await fetch(altered, { method: 'POST', body: '{}' });
      const text = await res.text();
      seen.push(text);
      expect(res.status).toBe(403);
      expect(JSON.parse(text)).toMatchObject({ __type: 'SignatureDoesNotMatch' });
      // The signature sent is not echoed back.
      expect(text).not.toContain(/X-Amz-Signature=([0-9a-f]{64})/.exec(altered)![1]!);
    });
  });

  it('no answer or error message carries a secret or a signature', async () => {
    // Successful answers too.
    const ok = await rawCall(t.server, { target: 'GetReplicationJobs' });
    seen.push(ok.text, JSON.stringify(ok.headers));
    const control = JSON.stringify(await t.control.info());
    seen.push(control);
    expect(seen.length).toBeGreaterThan(15);
    const everything = seen.join('\n');
    for (const secret of [t.server.credentials.secretAccessKey, TEMP.secretAccessKey, `${t.server.credentials.secretAccessKey}x`]) {
      expect(everything).not.toContain(secret);
    }
    expect(everything).not.toMatch(/Signature=[0-9a-f]{64}/);
    expect(everything).not.toMatch(/\b[0-9a-f]{64}\b/);
  });
});
