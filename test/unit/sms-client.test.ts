/**
 * The SDK adapter (src/sms/client.ts) against the embedded server over HTTP with the real SDK:
 * pagination to completion at page size 100 with one call per page, retries of throttling and 5xx
 * (on injected fake time: nothing sleeps for real), and typed errors for an unreachable endpoint,
 * bad credentials and a target that answers something that is not SMS.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Credential } from '../../src/server/auth.ts';
import { observeAll } from '../../src/cli/workflow.ts';
import { observe } from '../../src/reconcile/observed.ts';
import type { ReplicationJobInfo, ServerInfo } from '../../src/sms/api.ts';
import { SdkSmsApi } from '../../src/sms/client.ts';
import { isSmsApiError, SmsApiError } from '../../src/sms/errors.ts';
import { AdaptiveRateLimiter, type RetryPolicy, type Timing } from '../../src/sms/retry.ts';
import { fakeTiming } from '../helpers/fake-timing.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { allJobs, allServers, generatedInventory, importCatalog } from '../helpers/sms-world.ts';

const SERVERS = 250;
const JOBS = 230;
const CONNECTORS = 120;

const POLICY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1_000, budgetMs: 60_000 };

async function caught(p: Promise<unknown>): Promise<SmsApiError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, 'expected an SmsApiError').toBeInstanceOf(SmsApiError);
  return e as SmsApiError;
}

const only = (calls: Readonly<Record<string, number>>) => Object.fromEntries(Object.entries(calls).filter(([, n]) => n > 0));

let t: TestServer;
let seed = 0;
const clients: SdkSmsApi[] = [];

function client(opts: { credentials?: Credential; timing?: Timing; retry?: RetryPolicy; endpoint?: string } = {}): SdkSmsApi {
  const api = new SdkSmsApi({
    endpoint: opts.endpoint ?? t.server.url,
    region: 'us-east-1',
    credentials: opts.credentials ?? t.server.credentials,
    retry: opts.retry ?? POLICY,
    timing: opts.timing,
    // Its own limiter on separate fake time, so the sleeps seen are the backoff's.
    limiter: new AdaptiveRateLimiter(fakeTiming().timing),
  });
  clients.push(api);
  return api;
}

beforeAll(async () => {
  t = await startTestServer({ inventory: { ...generatedInventory({ vms: SERVERS, connectors: CONNECTORS }), settings: { maxConcurrentJobs: 1000 } } });
  const servers = await importCatalog(t);
  seed = Math.floor(t.server.app.info().now) + 3600;
  for (const s of servers.slice(0, JOBS)) {
    t.server.app.handle('CreateReplicationJob', { serverId: s.serverId, seedReplicationTime: seed, frequency: 12 }, undefined);
  }
});

afterEach(async () => {
  await t.control.setFaults({});
  for (const c of clients.splice(0)) c.destroy();
});

afterAll(async () => {
  await t.close();
});

describe('pagination', () => {
  it('reads each list to completion at page size 100: ceil(N/100) calls per list, nothing lost or repeated', async () => {
    const api = client();
    const serverPages: (readonly ServerInfo[])[] = [];
    const jobPages: (readonly ReplicationJobInfo[])[] = [];
    const [catalog, jobs, connectors] = await Promise.all([api.getServers((p) => serverPages.push(p)), api.getReplicationJobs((p) => jobPages.push(p)), api.getConnectors()]);
    // Each page is shown as it arrives; together they are the list.
    expect(serverPages.map((p) => p.length)).toEqual([100, 100, 50]);
    expect(serverPages.flat()).toEqual(catalog.servers);
    expect(jobPages.map((p) => p.length)).toEqual([100, 100, 30]);
    expect(jobPages.flat()).toEqual(jobs);
    expect(catalog.status).toBe('AVAILABLE');
    expect(catalog.servers).toHaveLength(SERVERS);
    expect(new Set(catalog.servers.map((s) => s.serverId)).size).toBe(SERVERS);
    expect(catalog.servers.map((s) => s.serverId)).toEqual((await allServers(t)).map((s) => s.serverId));
    expect(jobs).toHaveLength(JOBS);
    expect(jobs.map((j) => j.replicationJobId)).toEqual((await allJobs(t)).map((j) => j.replicationJobId));
    expect(jobs[0]).toMatchObject({ frequency: 12, runOnce: false, encrypted: false, numberOfRecentAmisToKeep: 0, seedReplicationTime: seed });
    expect(connectors).toHaveLength(CONNECTORS);
    expect(only(api.calls())).toEqual({ GetServers: Math.ceil(SERVERS / 100), GetReplicationJobs: Math.ceil(JOBS / 100), GetConnectors: Math.ceil(CONNECTORS / 100) });
  });

  it('observeAll, indexing each page as it arrives, gives what observe gives for the whole listing', async () => {
    const api = client();
    const paged = await observeAll(api);
    const whole = observe(await api.getServers(), await api.getReplicationJobs(), await api.getConnectors());
    expect(paged.jobs.size).toBe(JOBS);
    expect([...paged.servers]).toEqual([...whole.servers]);
    expect([...paged.jobs]).toEqual([...whole.jobs]);
    expect([...paged.jobByServer]).toEqual([...whole.jobByServer]);
    expect(paged.catalog).toEqual(whole.catalog);
  });

  it('a list that is an exact multiple of the page size costs no extra call', async () => {
    const t2 = await startTestServer({ inventory: generatedInventory({ vms: 200, connectors: 100 }) });
    try {
      await importCatalog(t2);
      const api = new SdkSmsApi({ endpoint: t2.server.url, region: 'us-east-1', credentials: t2.server.credentials });
      clients.push(api);
      expect((await api.getServers()).servers).toHaveLength(200);
      expect(await api.getConnectors()).toHaveLength(100);
      expect(await api.getReplicationJobs()).toEqual([]);
      expect(only(api.calls())).toEqual({ GetServers: 2, GetConnectors: 1, GetReplicationJobs: 1 });
    } finally {
      await t2.close();
    }
  });

  it('getServerCatalogStatus is one small call; getReplicationJob of an unknown id is undefined', async () => {
    const api = client();
    expect(await api.getServerCatalogStatus()).toMatchObject({ status: 'AVAILABLE' });
    expect(await api.getReplicationJob('sms-job-ffffffff')).toBeUndefined();
    expect(only(api.calls())).toEqual({ GetServers: 1, GetReplicationJobs: 1 });
  });
});

describe('retries (fake time)', () => {
  it('throttling is retried with backoff, then succeeds', async () => {
    // One token, never refilled: the first list call drains it, the next ones are throttled until the storm ends.
    await t.control.setFaults({ throttle: { read: { ratePerSecond: 0.001, burst: 1 } }, actions: ['GetConnectors'] });
    const f = fakeTiming({
      onSleep: async (n) => {
        if (n === 2) await t.control.setFaults({});
      },
    });
    const api = client({ timing: f.timing });
    expect(await api.getConnectors()).toHaveLength(CONNECTORS); // page 1 takes the token, page 2 is throttled twice
    expect(f.sleeps).toEqual([0.5 * 100, 0.5 * 200]);
    expect(api.stats).toEqual({ retries: 2, throttles: 2 });
    expect(only(api.calls())).toEqual({ GetConnectors: 4 });
  });

  it('a throttling storm past the retry budget is a typed SmsApiError with the code and a hint', async () => {
    await t.control.setFaults({ throttle: { read: { ratePerSecond: 0.001, burst: 1 } } });
    const f = fakeTiming();
    const api = client({ timing: f.timing });
    await api.getServerCatalogStatus(); // drains the one token
    const e = await caught(api.getReplicationJobs());
    expect(e.apiCode).toBe('ThrottlingException');
    expect(e.code).toBe('sms-ThrottlingException');
    expect(e.action).toBe('GetReplicationJobs');
    expect(e.retryable).toBe(false);
    expect(e.message).toBe('GetReplicationJobs failed: ThrottlingException: Rate exceeded (gave up after 4 attempts)');
    expect(e.hint).toMatch(/throttling past the retry budget/);
    expect(f.sleeps).toEqual([50, 100, 200]);
    expect(only(api.calls())).toEqual({ GetServers: 1, GetReplicationJobs: 4 });
  });

  it('500s are retried; past the budget they are a typed error too', async () => {
    await t.control.setFaults({ errors: { InternalError: 1 } });
    const f = fakeTiming({
      onSleep: async (n) => {
        if (n === 1) await t.control.setFaults({});
      },
    });
    const api = client({ timing: f.timing });
    expect((await api.getServers()).servers).toHaveLength(SERVERS);
    expect(api.stats).toEqual({ retries: 1, throttles: 0 });
    expect(only(api.calls())).toEqual({ GetServers: 1 + Math.ceil(SERVERS / 100) });

    await t.control.setFaults({ errors: { TemporarilyUnavailableException: 1 } });
    const api2 = client({ timing: fakeTiming().timing });
    const e = await caught(api2.getConnectors());
    expect({ apiCode: e.apiCode, httpStatus: e.httpStatus, retryable: e.retryable }).toEqual({ apiCode: 'TemporarilyUnavailableException', httpStatus: 500, retryable: false });
    expect(e.hint).toMatch(/kept failing past the retry budget/);
    expect(only(api2.calls())).toEqual({ GetConnectors: 4 });
  });
});

describe('typed errors', () => {
  it('an unreachable endpoint (a closed port) is endpoint-unreachable at once, without retries', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const f = fakeTiming();
    const api = client({ endpoint: `http://127.0.0.1:${port}`, timing: f.timing });
    const e = await caught(api.getServers());
    expect(e.apiCode).toBe('endpoint-unreachable');
    expect(e.message).toBe(`GetServers failed: endpoint-unreachable: cannot reach http://127.0.0.1:${port} (ECONNREFUSED)`);
    expect(e.hint).toMatch(/--endpoint-url/);
    expect(f.sleeps).toEqual([]);
    expect(only(api.calls())).toEqual({ GetServers: 1 });
  });

  it('bad credentials are the service auth code with a hint, not retried', async () => {
    const f = fakeTiming();
    const unknownKey = client({ credentials: { accessKeyId: 'AKIDUNKNOWN0000000000', secretAccessKey: 'x' }, timing: f.timing });
    const e1 = await caught(unknownKey.getServers());
    expect({ apiCode: e1.apiCode, httpStatus: e1.httpStatus, retryable: e1.retryable }).toEqual({ apiCode: 'InvalidClientTokenId', httpStatus: 403, retryable: false });
    expect(e1.hint).toMatch(/check the AWS credentials/);
    const wrongSecret = client({ credentials: { accessKeyId: t.server.credentials.accessKeyId, secretAccessKey: 'not-the-secret' }, timing: f.timing });
    const e2 = await caught(wrongSecret.getReplicationJobs());
    expect(e2.apiCode).toBe('SignatureDoesNotMatch');
    expect(e2.hint).toMatch(/check the AWS credentials/);
    expect(f.sleeps).toEqual([]);
    expect(only(wrongSecret.calls())).toEqual({ GetReplicationJobs: 1 });
  });

  it('no credentials from the provider chain is credentials-missing with a hint, not a malformed response', async () => {
    const api = new SdkSmsApi({
      endpoint: t.server.url,
      region: 'us-east-1',
      // What the SDK's default chain throws when it finds nothing.
      credentials: async () => {
        throw Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
      },
      retry: POLICY,
      timing: fakeTiming().timing,
    });
    clients.push(api);
    const e = await caught(api.getServers());
    expect({ apiCode: e.apiCode, code: e.code, retryable: e.retryable }).toEqual({ apiCode: 'credentials-missing', code: 'sms-credentials-missing', retryable: false });
    expect(e.message).toBe(`GetServers failed: credentials-missing: no AWS credentials for ${t.server.url} (Could not load credentials from any providers)`);
    expect(e.hint).toMatch(/AWS_ACCESS_KEY_ID/);
  });

  it('service errors keep their code and are not retried', async () => {
    const api = client({ timing: fakeTiming().timing });
    const e = await caught(api.deleteReplicationJob('sms-job-ffffffff'));
    expect({ apiCode: e.apiCode, httpStatus: e.httpStatus, retryable: e.retryable, source: e.source }).toEqual({
      apiCode: 'ReplicationJobNotFoundException', httpStatus: 400, retryable: false, source: 'remote',
    });
    expect(only(api.calls())).toEqual({ DeleteReplicationJob: 1 });
  });
});

describe('a target that is not SMS', () => {
  let fake: Server;
  let url: string;
  let answer: (body: Record<string, unknown>, target: string) => { status: number; body: string };

  beforeAll(async () => {
    fake = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const out = answer(text ? (JSON.parse(text) as Record<string, unknown>) : {}, String(req.headers['x-amz-target'] ?? ''));
        res.writeHead(out.status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(out.body);
      });
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => fake.close(resolve));
  });

  it('a job without its id is malformed-response, not retried', async () => {
    answer = () => ({ status: 200, body: '{"replicationJobList":[{"foo":1}]}' });
    const api = client({ endpoint: url, timing: fakeTiming().timing });
    const e = await caught(api.getReplicationJobs());
    expect(e.apiCode).toBe('malformed-response');
    expect(e.message).toBe('GetReplicationJobs failed: malformed-response: the response is malformed: a job has no replicationJobId or serverId');
    expect(e.retryable).toBe(false);
    const e2 = await caught(api.getServers());
    expect(e2.message).toBe('GetServers failed: malformed-response: the response is malformed: serverCatalogStatus is missing');
    expect(only(api.calls())).toEqual({ GetReplicationJobs: 1, GetServers: 1 });
  });

  it('a body that is not JSON is malformed-response with a hint, not retried', async () => {
    answer = () => ({ status: 200, body: '<html>Welcome to nginx!</html>' });
    const f = fakeTiming();
    const api = client({ endpoint: url, timing: f.timing });
    const e = await caught(api.getConnectors());
    expect(e.apiCode).toBe('malformed-response');
    expect(e.message).toMatch(/^GetConnectors failed: malformed-response: the endpoint answered something that is not an SMS response/);
    expect(e.hint).toBe(`check that ${url} is an SMS endpoint`);
    expect(f.sleeps).toEqual([]);
    expect(only(api.calls())).toEqual({ GetConnectors: 1 });
  });

  it('a target refusing maxResults 100 is read at 50, and keeps that page size', async () => {
    const seen: unknown[] = [];
    answer = (body) => {
      seen.push(body['maxResults']);
      if (Number(body['maxResults']) > 50) return { status: 400, body: '{"__type":"InvalidParameterException","message":"maxResults must be at most 50"}' };
      return { status: 200, body: '{"connectorList":[{"connectorId":"c-00000000000000001","status":"HEALTHY"}]}' };
    };
    const api = client({ endpoint: url, timing: fakeTiming().timing });
    expect(await api.getConnectors()).toHaveLength(1);
    expect(await api.getConnectors()).toHaveLength(1);
    expect(seen).toEqual([100, 50, 50]);
    expect(only(api.calls())).toEqual({ GetConnectors: 3 });
  });

  it('other refusals are not taken for a page-size problem', async () => {
    answer = () => ({ status: 400, body: '{"__type":"InvalidParameterException","message":"nextToken is invalid"}' });
    const api = client({ endpoint: url, timing: fakeTiming().timing });
    const e = await caught(api.getConnectors());
    expect(isSmsApiError(e, 'InvalidParameterException')).toBe(true);
    expect(only(api.calls())).toEqual({ GetConnectors: 1 });
  });
});
