/**
 * The apply crash test of issue 5 (test/crash/apply-crash.test.ts) with a PostgreSQL state: ten
 * trials, each kill -9ing `sms-reconcile apply --state postgres://...` (a subprocess) at a random
 * instant of an apply of 50 creates, then running apply again to completion. After each trial:
 * exactly one job per declared server, no live job that the state does not record, a state that
 * validates with nothing pending, and a re-plan with no changes.
 *
 * A database may still commit a change that a killed client had sent: each trial's CLI names its
 * sessions (application_name), and the test waits for the server to end them before it reads.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ControlClient } from '../../src/server/control-client.ts';
import type { SdkSmsApi } from '../../src/sms/client.ts';
import { PgStateStore } from '../../src/state/pg-store.ts';
import { cliEnv, killAll, expectOneJobPerGeneratedServer, spawnCli, workspace, type Endpoint } from '../helpers/apply-cli.ts';
import { startCrashServer } from '../helpers/apply-crash-server.ts';
import { catalogDoc, jobsFor } from '../helpers/apply-harness.ts';
import { describePg, dropSchema, sql, uniqueName } from '../helpers/pg.ts';
import { killAllCliProcesses } from '../helpers/subprocess.ts';
import { mulberry32 } from '../helpers/random.ts';

const TRIALS = 10;
const JOBS = 50;
const SEED = Number(process.env['CRASH_SEED'] ?? 20261127);


const rng = mulberry32(SEED);
/** Kill after the k-th "CreateReplicationJob..." line ('started') or the k-th "created" line. */
const KILL_POINTS = Array.from({ length: TRIALS }, (_, i) => ({ trial: i + 1, mode: rng() < 0.5 ? ('started' as const) : ('created' as const), k: Math.floor(rng() * JOBS) }));
const started = (out: string): number => (out.match(/: CreateReplicationJob\.\.\./g) ?? []).length;
const created = (out: string): number => (out.match(/: created \(sms-job-/g) ?? []).length;
const ENV = { SMS_SERVER_ACCESS_KEY_ID: 'AKIAPGAPPLYCRASH0001', SMS_SERVER_SECRET_ACCESS_KEY: 'pg-apply-crash-test-secret/0000000000000000' };

describePg('pg state: kill -9 of the CLI mid-apply', (url) => {
  const schema = uniqueName('applycrash');
  let root: string;
  let endpoint: Endpoint;
  let api: SdkSmsApi;
  let control: ControlClient;
  const rows: string[] = [];

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'sms-pg-apply-crash-'));
    ({ endpoint, api, control } = await startCrashServer(root, { vms: JOBS, seed: SEED, env: ENV }));
  });

  afterAll(async () => {
    await killAll();
    api?.destroy();
    await killAllCliProcesses();
    if (rows.length > 0) {
      console.info(
        [`pg apply crash test: seed ${SEED}`, '| trial | kill point | live jobs at kill | pending at kill | recovered by 2nd apply | created by 2nd apply |', '|---|---|---|---|---|---|', ...rows].join('\n'),
      );
    }
    if (root) await rm(root, { recursive: true, force: true });
    await dropSchema(url, schema);
  });

  for (const point of KILL_POINTS) {
    it(`trial ${point.trial}: kill -9 after ${point.k} ${point.mode} line(s), apply again: one job per server, none untracked, valid state, no changes`, { timeout: 90_000 }, async () => {
      await control.reset();
      await control.setFaults({ actions: ['CreateReplicationJob'], latencyMs: 25 });
      await api.importServerCatalog();
      const ws = await workspace(endpoint, `pg-trial-${point.trial}`);
      const m = await ws.writeManifests([catalogDoc(), ...jobsFor(1, JOBS)]);
      const stateUrl = (app: string): string => {
        const u = new URL(url);
        u.searchParams.set('schema', schema);
        u.searchParams.set('workspace', `trial-${point.trial}`);
        u.searchParams.set('application_name', app);
        return u.toString();
      };
      const killedApp = `sms-crash-${process.pid}-${point.trial}`;
      const cli = (args: readonly string[], app: string) => spawnCli([...args, '--endpoint-url', endpoint.url, '--state', stateUrl(app)], { cwd: ws.dir, env: cliEnv(endpoint, ws.dir) });

      const first = cli(['apply', '-f', m, '--auto-approve'], killedApp);
      const count = point.mode === 'started' ? started : created;
      await first.waitForStdout((out) => count(out) >= Math.max(point.k, point.mode === 'started' ? 1 : 0), 60_000);
      first.kill('SIGKILL');
      const exit = await first.exited;
      expect(exit.signal).toBe('SIGKILL');
      expect(/Apply complete/.test(first.stdout()), 'the first apply finished before the kill').toBe(false);
      // Wait until the server has ended the killed CLI's sessions: nothing of it can commit after this.
      for (let i = 0; i < 400; i++) {
        const [row] = await sql<{ n: string }>(url, 'SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1', [killedApp]);
        if (Number(row?.n) === 0) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      const jobsAtKill = (await api.getReplicationJobs()).length;
      const leftover = new PgStateStore(stateUrl('sms-crash-check'));
      const pendingAtKill = (await leftover.pendingIntents()).length;
      await leftover.close();

      const second = await cli(['apply', '-f', m, '--auto-approve'], 'sms-crash-second').waitForExit(60_000);
      expect(second.code, `${second.stdout.slice(-3000)}\n${second.stderr}`).toBe(0);
      const recovered = Number(/Recovering (\d+) operation\(s\)/.exec(second.stdout)?.[1] ?? 0);
      expect(recovered).toBe(pendingAtKill);
      expect(second.stdout).not.toContain(': adopt recorded');

      const live = await expectOneJobPerGeneratedServer(api, JOBS);
      const store = new PgStateStore(stateUrl('sms-crash-check'));
      try {
        const state = await store.read(); // validates
        expect(state?.pending).toEqual([]);
        const recorded = new Set(Object.values(state?.resources ?? {}).map((r) => r.replicationJobId));
        expect(live.filter((id) => !recorded.has(id))).toEqual([]);
        expect(recorded.size).toBe(JOBS);
      } finally {
        await store.close();
      }
      const plan = await cli(['plan', '-f', m, '--detailed-exitcode'], 'sms-crash-plan').waitForExit(60_000);
      expect(plan.code, plan.stdout.slice(-2000) + plan.stderr).toBe(0);
      rows.push(`| ${point.trial} | after ${point.k} ${point.mode} | ${jobsAtKill} | ${pendingAtKill} | ${recovered} | ${created(second.stdout)} |`);
    });
  }
});
