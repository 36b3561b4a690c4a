/**
 * observe() and ObservedIndex (reconcile/observed.ts): the indexes diff uses, built from the whole
 * listing or page by page as it arrives; both give the same ObservedSet, whatever pages were shown.
 */
import { describe, expect, it } from 'vitest';
import { observe, ObservedIndex, type ObservedSet } from '../../src/reconcile/observed.ts';
import type { ReplicationJobInfo, ServerCatalog } from '../../src/sms/api.ts';
import { connector, liveJob, MANAGER_A, server, T0 } from '../helpers/desired.ts';

const servers = Array.from({ length: 7 }, (_, i) => server(i + 1, { vmName: `vm-${i + 1}` }));
const catalog: ServerCatalog = { status: 'AVAILABLE', lastModifiedOn: T0, servers };
// Server 1: a FAILED job, then a running one (the running one replicates it), then a DELETED one.
// Server 2: a running job, then a COMPLETED one (the running one stays). Server 3: DELETED only.
const jobs: ReplicationJobInfo[] = [
  liveJob(servers[0]!, {}, { n: 1, state: 'FAILED' }),
  liveJob(servers[1]!, {}, { n: 2 }),
  liveJob(servers[0]!, {}, { n: 3 }),
  liveJob(servers[2]!, {}, { n: 4, state: 'DELETED' }),
  liveJob(servers[1]!, {}, { n: 5, state: 'COMPLETED' }),
  liveJob(servers[0]!, {}, { n: 6, state: 'DELETED' }),
  liveJob(servers[3]!, {}, { n: 7 }),
];
const connectors = [connector(1, MANAGER_A)];

const pagesOf = <T>(xs: readonly T[], size: number): T[][] => Array.from({ length: Math.ceil(xs.length / size) }, (_, i) => xs.slice(i * size, (i + 1) * size));

/** The indexes as plain data, to compare two ObservedSets. */
const shape = (o: ObservedSet) => ({
  servers: [...o.servers.entries()],
  jobs: [...o.jobs.entries()],
  jobByServer: [...o.jobByServer.entries()].map(([s, j]) => [s, j.replicationJobId]),
  catalog: o.catalog,
  allJobs: o.allJobs,
  connectors: o.connectors,
});

describe('observe', () => {
  it('indexes the jobs not DELETED by id, and by server the one that still runs', () => {
    const o = observe(catalog, jobs, connectors);
    expect([...o.jobs.keys()]).toEqual(['sms-job-00000001', 'sms-job-00000002', 'sms-job-00000003', 'sms-job-00000005', 'sms-job-00000007']);
    expect(Object.fromEntries([...o.jobByServer].map(([s, j]) => [s, j.replicationJobId]))).toEqual({
      [servers[0]!.serverId]: 'sms-job-00000003',
      [servers[1]!.serverId]: 'sms-job-00000002',
      [servers[3]!.serverId]: 'sms-job-00000007',
    });
    expect(o.servers.get(servers[6]!.serverId)).toBe(servers[6]);
  });
});

describe('ObservedIndex', () => {
  const whole = shape(observe(catalog, jobs, connectors));

  it('fed page by page, in listing order, gives what observe gives for the whole listing', () => {
    for (const size of [1, 2, 3, 100]) {
      const index = new ObservedIndex();
      for (const page of pagesOf(servers, size)) index.addServers(page);
      for (const page of pagesOf(jobs, size)) index.addJobs(page);
      expect(shape(index.finish(catalog, jobs, connectors)), `pages of ${size}`).toEqual(whole);
    }
  });

  it('pages never shown, some missing, or shown twice: finish indexes the listing itself', () => {
    expect(shape(new ObservedIndex().finish(catalog, jobs, connectors))).toEqual(whole);

    const missing = new ObservedIndex();
    missing.addServers(servers.slice(0, 3));
    missing.addJobs(jobs.slice(0, 2));
    expect(shape(missing.finish(catalog, jobs, connectors))).toEqual(whole);

    // Pages from a reading the listing does not end with (a job seen then, not in the list): it is
    // not indexed.
    const extra = new ObservedIndex();
    extra.addServers(servers);
    extra.addServers(servers.slice(0, 1));
    extra.addJobs([liveJob(servers[4]!, {}, { n: 99 })]);
    extra.addJobs(jobs);
    const o = extra.finish(catalog, jobs, connectors);
    expect(o.jobs.has('sms-job-00000063')).toBe(false);
    expect(shape(o)).toEqual(whole);
  });
});
