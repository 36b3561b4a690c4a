/**
 * The controller's leader election on a PostgreSQL state (an advisory lock in the state's
 * database): one leads, the other is healthy, not ready, leader 0; after kill -9 of the leader the
 * standby leads, with one job per server. Each test has its own schema.
 */
import { afterAll, afterEach, beforeEach, expect, it } from 'vitest';
import type { SdkSmsApi } from '../../src/sms/client.ts';
import { closeImportedServer, expectOneJobPerGeneratedServer, removeWorkspaces, startImportedServer, workspace, type Endpoint } from '../helpers/apply-cli.ts';
import { jobsFor } from '../helpers/apply-harness.ts';
import { logEvents, startController } from '../helpers/controller.ts';
import { describePg, dropSchema, uniqueName } from '../helpers/pg.ts';
import type { TestServer } from '../helpers/server.ts';

describePg('controller: leader election on a PostgreSQL state', (pgUrl) => {
  let t: TestServer;
  let endpoint: Endpoint;
  let api: SdkSmsApi;
  const schemas: string[] = [];

  beforeEach(async () => {
    ({ t, endpoint, api } = await startImportedServer(6));
  });
  afterEach(() => closeImportedServer({ t, api }));
  afterAll(async () => {
    await removeWorkspaces();
    for (const s of schemas) await dropSchema(pgUrl, s);
  });

  it('one leads, the other is standby (healthy, not ready, leader 0); after kill -9 of the leader the standby leads, one job per server', { timeout: 180_000 }, async () => {
    const schema = uniqueName('ctl');
    schemas.push(schema);
    const url = new URL(pgUrl);
    url.searchParams.set('schema', schema);
    const state = url.toString();
    const ws = await workspace(endpoint);
    const m = await ws.writeManifests(jobsFor(1, 3, { frequency: 12 }));
    const a = await startController(ws, m, [], { state });
    const sa = await a.waitForStatus((s) => s.leader && s.lastCycle?.result === 'success' && s.jobs.length === 3);
    const b = await startController(ws, m, [], { state });
    const sb = await b.waitForStatus((s) => s.holder === sa.identity);
    expect(sb.leader).toBe(false);
    expect((await b.get('/healthz')).status).toBe(200);
    expect((await b.get('/readyz')).status).toBe(503);
    expect((await b.get('/metrics')).text).toMatch(/^sms_reconcile_leader 0$/m);
    expect((await a.get('/readyz')).status).toBe(200);

    a.proc.kill('SIGKILL');
    await a.proc.exited;
    await ws.writeManifests(jobsFor(1, 5, { frequency: 12 }));
    const taken = await b.waitForStatus((s) => s.leader && s.lastCycle?.result === 'success' && s.jobs.length === 5, 90_000);
    expect(taken.holder).toBe(taken.identity);
    await expectOneJobPerGeneratedServer(api, 5);
    expect(logEvents(b.proc.stderr(), 'controller.leadership').at(-1)).toMatchObject({ leader: true, previousHolder: sa.identity });
  });
});
