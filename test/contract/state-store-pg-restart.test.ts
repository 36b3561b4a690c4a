/**
 * PostgreSQL restarts (`pg_ctl restart -m fast`: every session is ended) while a run holds the
 * lock and writes. The next operation fails with a clear, typed error, nothing committed is lost,
 * and a later run converges. On a private cluster, so that the restart disturbs no other test.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { PgStateStore } from '../../src/state/pg-store.ts';
import { cliEnv, killAll, liveJobsByServer, apiFor, spawnCli, workspace, type Endpoint } from '../helpers/apply-cli.ts';
import { genVm, jobsFor } from '../helpers/apply-harness.ts';
import { describePrivatePg, passwordOf, startPrivateCluster, type PrivateCluster } from '../helpers/pg.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { generatedInventory } from '../helpers/sms-world.ts';
import { TARGET, jobRecord } from '../helpers/state-fixtures.ts';

describePrivatePg('pg store: the server restarts mid-run', () => {
  let cluster: PrivateCluster;
  beforeAll(async () => {
    const started = await startPrivateCluster();
    if (!started) throw new Error('no PostgreSQL binaries');
    cluster = started;
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('store: the next write fails with state-db-connection-lost; a new run resumes from the journal', { timeout: 60_000 }, async () => {
    const a = new PgStateStore(cluster.url, { workspace: 'store' });
    const lock = await a.lock({ operation: 'apply' });
    await a.initialize(lock, TARGET);
    const done = jobRecord(1);
    const i1 = await a.appendIntent(lock, { address: done.address, operation: 'CreateReplicationJob', serverId: done.serverId, spec: done.appliedSpec });
    await a.appendResult(lock, i1.id, { status: 'succeeded', replicationJobId: done.replicationJobId }, [{ address: done.address, record: done }]);
    const inFlight = jobRecord(2);
    const i2 = await a.appendIntent(lock, { address: inFlight.address, operation: 'CreateReplicationJob', serverId: inFlight.serverId, spec: inFlight.appliedSpec });

    await cluster.restart(); // ... while the "API call" for i2 runs

    const err = await a.appendResult(lock, i2.id, { status: 'succeeded', replicationJobId: inFlight.replicationJobId }, [{ address: inFlight.address, record: inFlight }]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'state-db-connection-lost' });
    expect((err as Error).message).toContain('was lost');
    expect((err as { hint: string }).hint).toContain('run the command again');
    const secret = passwordOf(cluster.url) ?? '';
    expect(`${(err as Error).message} ${(err as { hint: string }).hint}`).not.toContain(secret);
    // It stays refused (the lock went with the session), while reads reconnect.
    await expect(a.writeResources(lock, [])).rejects.toMatchObject({ code: 'state-db-connection-lost' });
    expect(await a.pendingIntents()).toEqual([i2]);
    await lock.release(); // resolves: the server already freed the lock
    await a.close();

    // The next run: takes the lock at once, finds the pending intent, resolves it by observation.
    const b = new PgStateStore(cluster.url, { workspace: 'store' });
    try {
      const lb = await b.lock({ operation: 'apply' });
      expect(await b.pendingIntents()).toEqual([i2]);
      await b.appendResult(lb, i2.id, { status: 'recovered', happened: true, note: 'job found by serverId' }, [{ address: inFlight.address, record: inFlight }]);
      const doc = await b.read();
      expect(doc?.pending).toEqual([]);
      expect(doc?.resources).toEqual({ [done.address]: done, [inFlight.address]: inFlight });
      expect(doc?.serial).toBe(4);
      await lb.release();
    } finally {
      await b.close();
    }
  });

  describePrivatePg('apply through the CLI', () => {
    let t: TestServer;
    let endpoint: Endpoint;
    beforeAll(async () => {
      t = await startTestServer({ inventory: generatedInventory({ vms: 48 }), settings: { maxConcurrentJobs: 1000 } });
      endpoint = { url: t.server.url, region: t.server.region, credentials: t.server.credentials };
      const api = apiFor(endpoint);
      await api.importServerCatalog();
      await t.advance(5);
      api.destroy();
    });
    afterEach(async () => {
      await killAll();
    });
    afterAll(async () => {
      await t?.close();
    });

    it('fails clearly when PostgreSQL restarts under it; the next apply converges: one job per server', { timeout: 120_000 }, async () => {
      const ws = await workspace(endpoint, 'pg-restart');
      const m = await ws.writeManifests(jobsFor(1, 48));
      const state = `${cluster.url}?workspace=cli`;
      const args = ['apply', '-f', m, '--auto-approve', '--endpoint-url', endpoint.url, '--state', state];
      // 48 creates at 300 ms each, 4 at a time: the apply runs for ~4 s.
      await t.control.setFaults({ actions: ['CreateReplicationJob'], latencyMs: 300 });
      const first = spawnCli(args, { cwd: ws.dir, env: cliEnv(endpoint, ws.dir) });
      await first.waitForStdout(/: created \(sms-job-/);
      await cluster.restart();
      const r1 = await first.waitForExit(60_000);
      expect(r1.code, r1.stdout + r1.stderr).toBe(1);
      expect(r1.stdout + r1.stderr).toMatch(/state-db-connection-lost|connection to PostgreSQL .* was lost/);
      expect(r1.stdout + r1.stderr).not.toContain(passwordOf(cluster.url) ?? '\u0000');
      const createdBefore = (r1.stdout.match(/: created \(sms-job-/g) ?? []).length;
      expect(createdBefore).toBeLessThan(48);

      await t.control.setFaults({});
      const r2 = await spawnCli(args, { cwd: ws.dir, env: cliEnv(endpoint, ws.dir) }).waitForExit(60_000);
      expect(r2.code, r2.stdout + r2.stderr).toBe(0);

      const api = apiFor(endpoint);
      try {
        const live = await liveJobsByServer(api);
        for (const [serverId, list] of live) expect(list.length, `server ${serverId}`).toBe(1);
        expect([...live.values()].map((l) => l[0]?.vmServer?.vmName).sort()).toEqual(Array.from({ length: 48 }, (_, i) => genVm(i + 1)));
        const store = new PgStateStore(state);
        try {
          const doc = await store.read();
          expect(doc?.pending).toEqual([]);
          expect(Object.keys(doc?.resources ?? {})).toHaveLength(48);
          const inState = new Set(Object.values(doc?.resources ?? {}).map((r) => r.replicationJobId));
          expect([...live.values()].flat().every((j) => inState.has(j.replicationJobId))).toBe(true);
        } finally {
          await store.close();
        }
      } finally {
        api.destroy();
      }
      const plan = await spawnCli(['plan', '-f', m, '--detailed-exitcode', '--endpoint-url', endpoint.url, '--state', state], { cwd: ws.dir, env: cliEnv(endpoint, ws.dir) }).waitForExit(60_000);
      expect(plan.code, plan.stdout + plan.stderr).toBe(0);
    });
  });
});
