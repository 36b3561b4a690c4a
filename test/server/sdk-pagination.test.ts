/**
 * Pagination through the real SDK: maxResults 1 and the default 50 over many pages for the four
 * listing actions, the SDK's own paginators, tokens that must be refused, and listings that stay
 * consistent while other clients write.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateReplicationJobCommand, DeleteReplicationJobCommand, GetConnectorsCommand, GetReplicationJobsCommand, GetReplicationRunsCommand,
  GetServersCommand, paginateGetConnectors, paginateGetReplicationJobs, paginateGetReplicationRuns, paginateGetServers,
} from '@aws-sdk/client-sms';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import {
  alignClock, allJobs, connectorId, date, DAY, expectSmsError, GEN_MANAGER, generatedInventory, HOUR, importCatalog, runsOf,
} from '../helpers/sms-world.ts';

const VMS = 140;
const JOBS = 130;
const CONNECTORS = 120;
const RUN_HOURS = 129;

interface Page<T> {
  readonly items: T[];
  readonly nextToken?: string | undefined;
}

/** Reads every page; checks that only the last page lacks a token and that no page is larger than asked. */
async function readAll<T>(fetch: (nextToken: string | undefined) => Promise<Page<T>>, pageSize: number): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let nextToken: string | undefined;
  let pages = 0;
  do {
    const page = await fetch(nextToken);
    pages += 1;
    expect(page.items.length).toBeLessThanOrEqual(pageSize);
    if (page.nextToken !== undefined) expect(page.items.length).toBe(pageSize);
    items.push(...page.items);
    nextToken = page.nextToken;
    if (pages > 1000) throw new Error('pagination does not end');
  } while (nextToken !== undefined);
  return { items, pages };
}

/** Flips one character of a token to another base64url character. */
function flip(token: string, index: number): string {
  const c = token[index]!;
  const replacement = c === 'A' ? 'B' : 'A';
  return token.slice(0, index) + replacement + token.slice(index + 1);
}

describe('pagination over many pages', () => {
  let t: TestServer;
  let other: TestServer;
  let serverIds: string[];
  let jobIds: string[];
  let runsJobId: string;

  beforeAll(async () => {
    const inventory = generatedInventory({ vms: VMS, connectors: CONNECTORS, connectorStatus: (i) => (i % 3 === 2 ? 'UNHEALTHY' : 'HEALTHY') });
    t = await startTestServer({ inventory, settings: { maxConcurrentJobs: 1000 } });
    // A second server with the very same inventory and seed (so the same ids), but its own data directory.
    other = await startTestServer({ inventory, settings: { maxConcurrentJobs: 1000 } });
    const servers = await importCatalog(t);
    await importCatalog(other);
    serverIds = servers.map((s) => s.serverId!);
    const now = await alignClock(t);
    jobIds = [];
    // One job replicates every hour from now; the others wait 29 days, so they have one run each.
    for (let i = 0; i < JOBS; i++) {
      const hourly = i === JOBS - 1;
      const out = await t.sms.send(
        new CreateReplicationJobCommand({ serverId: serverIds[i], seedReplicationTime: date(hourly ? now : now + 29 * DAY), frequency: hourly ? 1 : 24 }),
      );
      jobIds.push(out.replicationJobId!);
    }
    runsJobId = jobIds[JOBS - 1]!;
    await t.advance(RUN_HOURS * HOUR + 100);
  });
  afterAll(async () => {
    await t.close();
    await other.close();
  });

  it('the setup has what the listings need', async () => {
    expect(serverIds).toHaveLength(VMS);
    expect(new Set(serverIds).size).toBe(VMS);
    const runs = await runsOf(t, runsJobId);
    // RUN_HOURS + 1 completed runs, newest first, then the next pending one on top.
    expect(runs).toHaveLength(RUN_HOURS + 2);
    expect(runs[0]!.state).toBe('PENDING');
    expect(runs.slice(1).every((r) => r.state === 'COMPLETED')).toBe(true);
  });

  for (const pageSize of [1, 50]) {
    const input = pageSize === 50 ? {} : { maxResults: pageSize };
    const pagesFor = (n: number) => Math.max(1, Math.ceil(n / pageSize));

    it(`GetServers, maxResults ${pageSize === 50 ? 'default (50)' : pageSize}: every server once, in catalog order`, async () => {
      const { items, pages } = await readAll(async (nextToken) => {
        const out = await t.sms.send(new GetServersCommand({ ...input, nextToken }));
        expect(out.serverCatalogStatus).toBe('AVAILABLE');
        return { items: out.serverList ?? [], nextToken: out.nextToken };
      }, pageSize);
      expect(items.map((s) => s.serverId)).toEqual(serverIds);
      expect(items.map((s) => s.vmServer?.vmName)).toEqual(Array.from({ length: VMS }, (_, i) => `gen-${String(i + 1).padStart(4, '0')}`));
      expect(pages).toBe(pagesFor(VMS));
    });

    it(`GetReplicationJobs, maxResults ${pageSize === 50 ? 'default (50)' : pageSize}: every job once, in creation order`, async () => {
      const { items, pages } = await readAll(async (nextToken) => {
        const out = await t.sms.send(new GetReplicationJobsCommand({ ...input, nextToken }));
        return { items: out.replicationJobList ?? [], nextToken: out.nextToken };
      }, pageSize);
      expect(items.map((j) => j.replicationJobId)).toEqual(jobIds);
      expect(items.map((j) => j.serverId)).toEqual(serverIds.slice(0, JOBS));
      expect(pages).toBe(pagesFor(JOBS));
    });

    it(`GetReplicationRuns, maxResults ${pageSize === 50 ? 'default (50)' : pageSize}: every run once, newest first`, async () => {
      const { items, pages } = await readAll(async (nextToken) => {
        const out = await t.sms.send(new GetReplicationRunsCommand({ replicationJobId: runsJobId, ...input, nextToken }));
        expect(out.replicationJob?.replicationJobId).toBe(runsJobId);
        return { items: out.replicationRunList ?? [], nextToken: out.nextToken };
      }, pageSize);
      expect(items).toHaveLength(RUN_HOURS + 2);
      expect(new Set(items.map((r) => r.replicationRunId)).size).toBe(items.length);
      const times = items.map((r) => r.scheduledStartTime!.getTime());
      expect(times).toEqual([...times].sort((a, b) => b - a));
      // Hourly, exactly.
      for (let i = 1; i < times.length; i++) expect(times[i - 1]! - times[i]!).toBe(HOUR * 1000);
      expect(pages).toBe(pagesFor(RUN_HOURS + 2));
    });

    it(`GetConnectors, maxResults ${pageSize === 50 ? 'default (50)' : pageSize}: every connector once, in order`, async () => {
      const { items, pages } = await readAll(async (nextToken) => {
        const out = await t.sms.send(new GetConnectorsCommand({ ...input, nextToken }));
        return { items: out.connectorList ?? [], nextToken: out.nextToken };
      }, pageSize);
      expect(items.map((c) => c.connectorId)).toEqual(Array.from({ length: CONNECTORS }, (_, i) => connectorId(i + 1)));
      expect(items.filter((c) => c.status === 'UNHEALTHY')).toHaveLength(CONNECTORS / 3);
      expect(pages).toBe(pagesFor(CONNECTORS));
    });
  }

  it('maxResults may change from page to page', async () => {
    const sizes = [3, 100, 1, 7];
    const seen: string[] = [];
    let nextToken: string | undefined;
    let i = 0;
    do {
      const maxResults = sizes[i++ % sizes.length]!;
      const out = await t.sms.send(new GetReplicationJobsCommand({ maxResults, nextToken }));
      expect(out.replicationJobList!.length).toBeLessThanOrEqual(maxResults);
      seen.push(...out.replicationJobList!.map((j) => j.replicationJobId!));
      nextToken = out.nextToken;
    } while (nextToken);
    expect(seen).toEqual(jobIds);
  });

  it('a vmServerAddressList filter holds across pages', async () => {
    const wanted = [5, 17, 18, 60, 99, 100, 101, 139].map((i) => ({ vmManagerId: GEN_MANAGER, vmId: `vm-${String(i + 1).padStart(4, '0')}` }));
    const { items } = await readAll(async (nextToken) => {
      const out = await t.sms.send(new GetServersCommand({ maxResults: 3, nextToken, vmServerAddressList: wanted }));
      return { items: out.serverList ?? [], nextToken: out.nextToken };
    }, 3);
    expect(items.map((s) => s.serverId)).toEqual([5, 17, 18, 60, 99, 100, 101, 139].map((i) => serverIds[i]));
  });

  it("the SDK's own paginators walk every page", async () => {
    const servers: string[] = [];
    for await (const page of paginateGetServers({ client: t.sms, pageSize: 9 }, {})) servers.push(...page.serverList!.map((s) => s.serverId!));
    expect(servers).toEqual(serverIds);

    const jobs: string[] = [];
    for await (const page of paginateGetReplicationJobs({ client: t.sms, pageSize: 11 }, {})) jobs.push(...page.replicationJobList!.map((j) => j.replicationJobId!));
    expect(jobs).toEqual(jobIds);

    const runs: string[] = [];
    for await (const page of paginateGetReplicationRuns({ client: t.sms, pageSize: 13 }, { replicationJobId: runsJobId })) {
      runs.push(...page.replicationRunList!.map((r) => r.replicationRunId!));
    }
    expect(runs).toEqual((await runsOf(t, runsJobId)).map((r) => r.replicationRunId));

    const connectors: string[] = [];
    let pages = 0;
    for await (const page of paginateGetConnectors({ client: t.sms }, {})) {
      pages += 1;
      connectors.push(...page.connectorList!.map((c) => c.connectorId!));
    }
    expect(pages).toBe(3);
    expect(connectors).toHaveLength(CONNECTORS);
  });

  describe('tokens that are refused with InvalidParameterException', () => {
    const re = /nextToken is not valid/;
    let jobsToken: string;
    beforeAll(async () => {
      jobsToken = (await t.sms.send(new GetReplicationJobsCommand({ maxResults: 2 }))).nextToken!;
      expect(jobsToken).toBeTruthy();
    });

    it('garbage', async () => {
      for (const nextToken of ['garbage', 'a.b', '.', 'x'.repeat(600), `${'eyJ2IjoxfQ'}.AAAAAAAAAAAAAAAAAAAAAA`]) {
        await expectSmsError(t.sms.send(new GetReplicationJobsCommand({ nextToken })), 'InvalidParameterException', 400, re);
      }
    });

    it('edited: any one character changed, or characters added', async () => {
      const payloadEnd = jobsToken.indexOf('.');
      const indexes = [0, Math.floor(payloadEnd / 2), payloadEnd - 1, payloadEnd + 1, jobsToken.length - 2, jobsToken.length - 1];
      for (const i of indexes) {
        await expectSmsError(t.sms.send(new GetReplicationJobsCommand({ nextToken: flip(jobsToken, i) })), 'InvalidParameterException', 400, re);
      }
      // The last character of the MAC carries 2 bits of data and 4 of padding: changing only the padding is still an edit.
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const last = alphabet.indexOf(jobsToken[jobsToken.length - 1]!);
      const samePrefixBits = alphabet[last ^ 1]!;
      await expectSmsError(
        t.sms.send(new GetReplicationJobsCommand({ nextToken: jobsToken.slice(0, -1) + samePrefixBits })),
        'InvalidParameterException',
        400,
        re,
      );
      for (const nextToken of [`${jobsToken}!`, `${jobsToken}A`, jobsToken.replace('.', '.!'), `${jobsToken}.`]) {
        await expectSmsError(t.sms.send(new GetReplicationJobsCommand({ nextToken })), 'InvalidParameterException', 400, re);
      }
    });

    it('forged: a payload of our own, whatever MAC it carries', async () => {
      const [payload, mac] = jobsToken.split('.') as [string, string];
      const body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
      const forged = Buffer.from(JSON.stringify({ ...body, k: 0 })).toString('base64url');
      await expectSmsError(t.sms.send(new GetReplicationJobsCommand({ nextToken: `${forged}.${mac}` })), 'InvalidParameterException', 400, re);
    });

    it('from another action', async () => {
      const serversToken = (await t.sms.send(new GetServersCommand({ maxResults: 1 }))).nextToken!;
      await expectSmsError(t.sms.send(new GetConnectorsCommand({ nextToken: serversToken })), 'InvalidParameterException', 400, /another action \(GetServers\)/);
      await expectSmsError(t.sms.send(new GetServersCommand({ nextToken: jobsToken })), 'InvalidParameterException', 400, /another action/);
      await expectSmsError(t.sms.send(new GetReplicationRunsCommand({ replicationJobId: runsJobId, nextToken: jobsToken })), 'InvalidParameterException', 400, re);
    });

    it('with a different vmServerAddressList', async () => {
      const a = [{ vmManagerId: GEN_MANAGER }];
      const tokenA = (await t.sms.send(new GetServersCommand({ maxResults: 1, vmServerAddressList: a }))).nextToken!;
      const unfiltered = (await t.sms.send(new GetServersCommand({ maxResults: 1 }))).nextToken!;
      const other = /other parameters/;
      await expectSmsError(t.sms.send(new GetServersCommand({ nextToken: tokenA })), 'InvalidParameterException', 400, other);
      await expectSmsError(t.sms.send(new GetServersCommand({ nextToken: unfiltered, vmServerAddressList: a })), 'InvalidParameterException', 400, other);
      await expectSmsError(
        t.sms.send(new GetServersCommand({ nextToken: tokenA, vmServerAddressList: [{ vmManagerId: GEN_MANAGER, vmId: 'vm-0001' }] })),
        'InvalidParameterException',
        400,
        other,
      );
      // The same filter again is fine.
      const page2 = await t.sms.send(new GetServersCommand({ maxResults: 1, nextToken: tokenA, vmServerAddressList: a }));
      expect(page2.serverList?.[0]?.serverId).toBe(serverIds[1]);
    });

    it('with a different replicationJobId', async () => {
      const runsToken = (await t.sms.send(new GetReplicationRunsCommand({ replicationJobId: runsJobId, maxResults: 1 }))).nextToken!;
      await expectSmsError(
        t.sms.send(new GetReplicationRunsCommand({ replicationJobId: jobIds[0], nextToken: runsToken })),
        'InvalidParameterException',
        400,
        /other parameters/,
      );
      // GetReplicationJobs: a token of the full listing does not go with a replicationJobId.
      await expectSmsError(
        t.sms.send(new GetReplicationJobsCommand({ replicationJobId: jobIds[3], nextToken: jobsToken })),
        'InvalidParameterException',
        400,
        /other parameters/,
      );
    });

    it("from another server's data directory, even with identical data", async () => {
      const foreign = (await other.sms.send(new GetServersCommand({ maxResults: 1 }))).nextToken!;
      const ours = (await t.sms.send(new GetServersCommand({ maxResults: 1 }))).nextToken!;
      expect(foreign).not.toBe(ours);
      await expectSmsError(t.sms.send(new GetServersCommand({ maxResults: 1, nextToken: foreign })), 'InvalidParameterException', 400, re);
      await expectSmsError(other.sms.send(new GetServersCommand({ maxResults: 1, nextToken: ours })), 'InvalidParameterException', 400, re);
    });
  });

  describe('consistency while other clients write', () => {
    it('GetReplicationJobs: jobs created during the listing are left out, none that existed is repeated or skipped', async () => {
      const before = (await allJobs(t)).map((j) => j.replicationJobId!);
      expect(before).toEqual(jobIds);
      const seen: string[] = [];
      const created: string[] = [];
      let nextToken: string | undefined;
      let spare = JOBS;
      const seed = date((await alignClock(t)) + 20 * DAY);
      do {
        const out = await t.sms.send(new GetReplicationJobsCommand({ maxResults: 13, nextToken }));
        seen.push(...out.replicationJobList!.map((j) => j.replicationJobId!));
        nextToken = out.nextToken;
        if (spare < VMS) {
          // Another client creates a job and deletes an old one between our pages.
          const made = await t.sms.send(new CreateReplicationJobCommand({ serverId: serverIds[spare++], seedReplicationTime: seed }));
          created.push(made.replicationJobId!);
          await t.sms.send(new DeleteReplicationJobCommand({ replicationJobId: jobIds[spare - JOBS] }));
        }
      } while (nextToken);
      expect(created.length).toBeGreaterThan(5);
      expect(seen).toEqual(before);
      // A new listing has them, at the end.
      expect((await allJobs(t)).map((j) => j.replicationJobId)).toEqual([...before, ...created]);
    });

    it('GetReplicationRuns: runs created during the listing are left out', async () => {
      const before = (await runsOf(t, runsJobId)).map((r) => r.replicationRunId!);
      const seen: string[] = [];
      let nextToken: string | undefined;
      do {
        const out = await t.sms.send(new GetReplicationRunsCommand({ replicationJobId: runsJobId, maxResults: 20, nextToken }));
        seen.push(...out.replicationRunList!.map((r) => r.replicationRunId!));
        nextToken = out.nextToken;
        await t.advance(HOUR); // a run completes and the next pending one is created
      } while (nextToken);
      expect(seen).toEqual(before);
      const after = (await runsOf(t, runsJobId)).map((r) => r.replicationRunId!);
      expect(after.length).toBeGreaterThan(before.length);
      expect(after.slice(after.length - before.length)).toEqual(before);
    });

    it('GetServers and GetConnectors: a listing is not disturbed by writes elsewhere', async () => {
      const servers: string[] = [];
      const connectors: string[] = [];
      let st: string | undefined;
      let ct: string | undefined;
      let sDone = false;
      let cDone = false;
      let k = 0;
      while (!sDone || !cDone) {
        if (!sDone) {
          const s = await t.sms.send(new GetServersCommand({ maxResults: 25, nextToken: st }));
          servers.push(...s.serverList!.map((x) => x.serverId!));
          st = s.nextToken;
          sDone = st === undefined;
        }
        if (!cDone) {
          const c = await t.sms.send(new GetConnectorsCommand({ maxResults: 25, nextToken: ct }));
          connectors.push(...c.connectorList!.map((x) => x.connectorId!));
          ct = c.nextToken;
          cDone = ct === undefined;
        }
        // Another client changes connectors between our pages.
        await t.control.setConnectorStatus(connectorId(++k * 3), 'HEALTHY');
      }
      expect(servers).toEqual(serverIds);
      expect(connectors).toHaveLength(CONNECTORS);
    });
  });
});
