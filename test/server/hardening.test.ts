/**
 * Issue #21: the signature covers the action, control obeys the key, an unauthenticated request
 * costs nothing before it is refused, and the body must be UTF-8. Real HTTP against the embedded
 * server; requests signed with the SDK's own signer (test/helpers/sms-raw.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { CreateReplicationJobCommand, GetReplicationJobsCommand, GetServersCommand, SMSClient } from '@aws-sdk/client-sms';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Credential } from '../../src/server/auth.ts';
import { ControlClient } from '../../src/server/control-client.ts';
import { createLogger } from '../../src/report/logger.ts';
import { startServer } from '../../src/server/server.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { promiseBody, rawCall, send, signedHeaders, TARGET_PREFIX, type RawResponse } from '../helpers/sms-raw.ts';
import { expectSmsError, importCatalog } from '../helpers/sms-world.ts';

const READ_ONLY: Credential = { accessKeyId: 'AKIAREADONLY00000001', secretAccessKey: 'read-only-secret-0000000000000000000000', readOnly: true };
const DENIED: Credential = { accessKeyId: 'AKIADENIED0000000001', secretAccessKey: 'denied-secret-000000000000000000000000', deniedActions: ['AdvanceClock'] };

function expectError(res: RawResponse, code: string, status: number, message?: RegExp): void {
  expect(res.status, res.text).toBe(status);
  expect(res.json['__type']).toBe(code);
  expect(res.headers['x-amzn-errortype']).toBe(code);
  if (message) expect(res.json['message']).toMatch(message);
}

describe('the signature covers the action', () => {
  let t: TestServer;
  let jobId: string;

  beforeAll(async () => {
    t = await startTestServer();
    const servers = await importCatalog(t);
    const out = await t.sms.send(new CreateReplicationJobCommand({ serverId: servers[0]!.serverId!, seedReplicationTime: new Date(Date.now() + 3_600_000) }));
    jobId = out.replicationJobId!;
  });
  afterAll(async () => t.close());

  async function presignedQuery(target: string, headerSigned: boolean): Promise<string> {
    const url = new URL(t.server.url);
    const signer = new SignatureV4({ service: 'sms', region: t.server.region, credentials: t.server.credentials, sha256: Hash.bind(null, 'sha256') });
    const req = await signer.presign(
      new HttpRequest({ method: 'POST', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: '/', headers: { host: url.host, 'x-amz-target': TARGET_PREFIX + target }, body: '{}' }),
      { expiresIn: 300, ...(headerSigned ? { unhoistableHeaders: new Set(['x-amz-target']) } : {}) },
    );
    return new URLSearchParams(req.query as Record<string, string>).toString();
  }

  it('a presigned GetServers replayed with an added X-Amz-Target header is refused, and no import starts', async () => {
    const query = await presignedQuery('GetServers', false);
    const host = new URL(t.server.url).host;
    const swapped = await send(t.server.url, { method: 'POST', path: `/?${query}`, headers: { host, 'x-amz-target': `${TARGET_PREFIX}ImportServerCatalog` }, body: '{}' });
    expectError(swapped, 'IncompleteSignature', 400, /x-amz-target/);
    // Even with the same value, an unsigned target header beside a presigned query is refused.
    const same = await send(t.server.url, { method: 'POST', path: `/?${query}`, headers: { host, 'x-amz-target': `${TARGET_PREFIX}GetServers` }, body: '{}' });
    expectError(same, 'IncompleteSignature', 400, /x-amz-target/);
    // The URL as presigned still works.
    const ok = await send(t.server.url, { method: 'POST', path: `/?${query}`, headers: { host }, body: '{}' });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.json['serverCatalogStatus']).toBe('AVAILABLE');
    const catalog = await t.sms.send(new GetServersCommand({}));
    expect(catalog.serverCatalogStatus).toBe('AVAILABLE'); // not IMPORTING: nothing was started
  });

  it('a presigned request whose target header is signed takes the action from it', async () => {
    const query = await presignedQuery('GetReplicationJobs', true);
    expect(query).not.toContain('x-amz-target=');
    expect(query).toContain('X-Amz-SignedHeaders=host%3Bx-amz-target');
    const host = new URL(t.server.url).host;
    const ok = await send(t.server.url, { method: 'POST', path: `/?${query}`, headers: { host, 'x-amz-target': `${TARGET_PREFIX}GetReplicationJobs` }, body: '{}' });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.json['replicationJobList']).toHaveLength(1);
    const swapped = await send(t.server.url, { method: 'POST', path: `/?${query}`, headers: { host, 'x-amz-target': `${TARGET_PREFIX}DeleteServerCatalog` }, body: '{}' });
    expectError(swapped, 'SignatureDoesNotMatch', 403);
  });

  it('a header-signed GetReplicationJobs with x-amz-target left out of SignedHeaders cannot become DeleteReplicationJob', async () => {
    const body = JSON.stringify({ replicationJobId: jobId });
    const headers = await signedHeaders(t.server, { target: 'GetReplicationJobs', body, unsignedHeaders: ['x-amz-target'] });
    expect(headers['authorization']).not.toContain('x-amz-target');
    const switched = await send(t.server.url, { method: 'POST', path: '/', headers: { ...headers, 'x-amz-target': `${TARGET_PREFIX}DeleteReplicationJob` }, body });
    expectError(switched, 'IncompleteSignature', 400, /'x-amz-target' is not signed/);
    const asSigned = await send(t.server.url, { method: 'POST', path: '/', headers, body });
    expectError(asSigned, 'IncompleteSignature', 400, /'x-amz-target' is not signed/);
    const jobs = await t.sms.send(new GetReplicationJobsCommand({ replicationJobId: jobId }));
    expect(jobs.replicationJobList?.[0]?.state).toBe('PENDING');
  });

  it('any other unsigned x-amz-* header is refused, naming it', async () => {
    const headers = await signedHeaders(t.server, { target: 'GetConnectors' });
    const res = await send(t.server.url, { method: 'POST', path: '/', headers: { ...headers, 'x-amz-extra': 'added' }, body: '{}' });
    expectError(res, 'IncompleteSignature', 400, /'x-amz-extra' is not signed/);
  });

  it('UNSIGNED-PAYLOAD is refused for a header-signed request', async () => {
    const res = await rawCall(t.server, { target: 'GetConnectors', headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } });
    expectError(res, 'IncompleteSignature', 400, /UNSIGNED-PAYLOAD/);
  });

  it('a body that is not valid UTF-8 is a SerializationException', async () => {
    const body = Buffer.concat([Buffer.from('{"description":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')]);
    const res = await rawCall(t.server, { target: 'GetConnectors', body });
    expectError(res, 'SerializationException', 400, /UTF-8/);
  });
});

describe('control obeys the key', () => {
  let t: TestServer;
  let readOnly: ControlClient;
  let denied: ControlClient;

  beforeAll(async () => {
    t = await startTestServer();
    await importCatalog(t);
    await t.control.addCredentials(READ_ONLY);
    await t.control.addCredentials(DENIED);
    readOnly = new ControlClient(t.server.url, t.server.region, READ_ONLY);
    denied = new ControlClient(t.server.url, t.server.region, DENIED);
  });
  afterAll(async () => t.close());

  it('a read-only key cannot AddCredentials, Reset or change anything else; it may GetInfo', async () => {
    const before = await t.control.info();
    const minted: Credential = { accessKeyId: 'AKIAMINTED0000000001', secretAccessKey: 'minted-secret-00000000000000000000000000' };
    const attempts: Array<[string, () => Promise<unknown>]> = [
      ['AddCredentials', () => readOnly.addCredentials(minted)],
      ['Reset', () => readOnly.reset()],
      ['AdvanceClock', () => readOnly.advanceClock(60)],
      ['SetFaults', () => readOnly.setFaults({ errors: { InternalError: 1 } })],
      ['SetConnectorStatus', () => readOnly.setConnectorStatus('c-00000000000000001', 'UNHEALTHY')],
    ];
    for (const [op, attempt] of attempts) {
      await expect(attempt(), op).rejects.toThrow(/UnauthorizedOperationException|does not have permissions/);
    }
    expect(await readOnly.info()).toMatchObject({ serverId: before.serverId, now: before.now, faults: {} });
    // The minted key does not exist; the catalog was not reset.
    const minter = new SMSClient({ endpoint: t.server.url, region: t.server.region, credentials: minted, maxAttempts: 1 });
    await expectSmsError(minter.send(new GetServersCommand({})), 'InvalidClientTokenId', 403);
    minter.destroy();
    expect((await t.sms.send(new GetServersCommand({}))).serverCatalogStatus).toBe('AVAILABLE');
  });

  it('deniedActions names control operations too', async () => {
    await expect(denied.advanceClock(60)).rejects.toThrow(/UnauthorizedOperationException|does not have permissions/);
    expect((await denied.info()).serverId).toBe((await t.control.info()).serverId);
  });

  it('adding a key id that exists already is InvalidParameterException, and every key keeps working', async () => {
    const call = (c: Credential) => rawCall(t.server, { target: 'SmsReconcileControl.AddCredentials', body: JSON.stringify({ ...c, secretAccessKey: 'another-secret-000000000000000000000' }) });
    expectError(await call(READ_ONLY), 'InvalidParameterException', 400, /exists already/);
    expectError(await call(t.server.credentials), 'InvalidParameterException', 400, /exists already/);
    expect((await rawCall(t.server, { target: 'GetConnectors' })).status).toBe(200);
    expect((await rawCall(t.server, { target: 'GetConnectors', credentials: READ_ONLY })).status).toBe(200);
    expect((await rawCall(t.server, { target: 'GetConnectors', credentials: DENIED })).status).toBe(200);
  });
});

describe('bounded cost before authentication', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => t.close());

  it('1 MiB promised without a signature is answered before any of the body, and the connection is closed', async () => {
    const host = new URL(t.server.url).host;
    const res = await promiseBody(t.server.url, { host, 'x-amz-target': `${TARGET_PREFIX}GetConnectors`, 'content-type': 'application/x-amz-json-1.1' }, 1024 * 1024);
    expectError(res, 'MissingAuthenticationToken', 403);
    expect(res.headers['connection']).toBe('close');
    await res.closed;
  });

  it('1 MiB promised by an unknown key is answered before any of the body too', async () => {
    const headers = await signedHeaders(t.server, {
      target: 'GetConnectors',
      body: 'x'.repeat(16),
      credentials: { accessKeyId: 'AKIAUNKNOWN000000001', secretAccessKey: 'unknown-secret-0000000000000000000000' },
    });
    const res = await promiseBody(t.server.url, headers, 1024 * 1024);
    expectError(res, 'InvalidClientTokenId', 403);
    await res.closed;
  });
});

describe('binding a non-loopback address', () => {
  it('logs a warning naming the address', async () => {
    let logged = '';
    const stream = new Writable({
      write(chunk: Buffer, _enc, done) {
        logged += chunk.toString();
        done();
      },
    });
    const server = await startServer({ host: '0.0.0.0', port: 0, dataDir: ':memory:', env: {}, logger: createLogger({ level: 'info', format: 'json', stream }) });
    await server.close();
    const warning = logged.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: number; msg: string; host?: string }).find((l) => l.level === 40);
    expect(warning?.host).toBe('0.0.0.0');
    expect(warning?.msg).toMatch(/0\.0\.0\.0.*not a loopback address.*tests and demos/);
  });
});
