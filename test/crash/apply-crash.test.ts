/**
 * The crash test of issue 5: 20 trials, each kill -9ing `sms-reconcile apply` (a subprocess) at a
 * random instant of an apply of 100 creates, then running apply again to completion. After each
 * trial: exactly one job per declared server, no live job that the state does not record, a state
 * file that decodes and validates, and a re-plan with no changes (`--detailed-exitcode` 0).
 *
 * One standalone server subprocess (`sms-reconcile server`, SQLite on disk, real clock with
 * catalog import and deletes taking 0 s, control endpoint on) serves every trial; `Reset` between
 * trials forgets the jobs, each trial has its own state file, and creates are answered after
 * 25 ms. Both applies are subprocesses; the re-plan runs the CLI's `main` in the test process
 * (the same code, one Node start-up less per trial). Kill points come from a seeded generator
 * (CRASH_SEED, default fixed): after the k-th "CreateReplicationJob..." start line or the k-th
 * "created" line on the CLI's stdout, k uniform in 0..99 - so kills land before, between and
 * during creates, with intents journaled but not yet resolved.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlClient } from '../../src/server/control-client.ts';
import type { SdkSmsApi } from '../../src/sms/client.ts';
import { decodeState } from '../../src/state/codec.ts';
import { FileStateStore } from '../../src/state/file-store.ts';
import { killAll, removeWorkspaces, expectOneJobPerGeneratedServer, workspace, type Endpoint } from '../helpers/apply-cli.ts';
import { startCrashServer } from '../helpers/apply-crash-server.ts';
import { catalogDoc, jobsFor } from '../helpers/apply-harness.ts';
import { killAllCliProcesses, type CliServer } from '../helpers/subprocess.ts';
import { mulberry32 } from '../helpers/random.ts';

const TRIALS = 20;
const JOBS = 100;
const SEED = Number(process.env['CRASH_SEED'] ?? 20261126);


interface KillPoint {
  readonly trial: number;
  /** Kill after the k-th start line ('started') or the k-th done line ('created'). */
  readonly mode: 'started' | 'created';
  readonly k: number;
}

const rng = mulberry32(SEED);
const KILL_POINTS: KillPoint[] = Array.from({ length: TRIALS }, (_, i) => ({
  trial: i + 1,
  mode: rng() < 0.5 ? 'started' : 'created',
  k: Math.floor(rng() * JOBS),
}));

interface TrialResult extends KillPoint {
  readonly startedAtKill: number;
  readonly createdAtKill: number;
  readonly jobsAtKill: number;
  readonly pendingAtKill: number;
  readonly recovered: number;
  /** Of the recovered intents: jobs found and recorded, and creates that had not happened. */
  readonly recoveredHappened: number;
  readonly recoveredNot: number;
  readonly createdBySecond: number;
  readonly adoptedBySecond: number;
  readonly seconds: number;
}

const started = (out: string): number => (out.match(/: CreateReplicationJob\.\.\./g) ?? []).length;
const created = (out: string): number => (out.match(/: created \(sms-job-/g) ?? []).length;

const ENV = { SMS_SERVER_ACCESS_KEY_ID: 'AKIAAPPLYCRASHTEST01', SMS_SERVER_SECRET_ACCESS_KEY: 'apply-crash-test-secret/000000000000000000' };

let root: string;
let server: CliServer;
let endpoint: Endpoint;
let api: SdkSmsApi;
let control: ControlClient;
const results: TrialResult[] = [];
const suiteStarted = performance.now();

describe('crash (tagged)', () => {
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'sms-apply-crash-'));
    ({ server, endpoint, api, control } = await startCrashServer(root, { vms: JOBS, seed: SEED, env: ENV }));
  });

  afterAll(async () => {
    await killAll();
    api?.destroy();
    await killAllCliProcesses();
    if (results.length > 0) {
      const rows = results.map(
        (r) =>
          `| ${r.trial} | after ${r.k} ${r.mode === 'started' ? 'started' : 'created'} | ${r.startedAtKill} / ${r.createdAtKill} | ${r.jobsAtKill} | ${r.pendingAtKill} | ${r.recovered} (${r.recoveredHappened} found, ${r.recoveredNot} not) | ${r.createdBySecond} + ${r.adoptedBySecond} | ${r.seconds.toFixed(1)} |`,
      );
      console.info(
        [
          `crash test: seed ${SEED}, ${results.length} trials in ${((performance.now() - suiteStarted) / 1000).toFixed(1)} s`,
          '| trial | kill point | start/created lines seen | live jobs at kill | pending intents at kill | recovered | created + adopted by 2nd apply | s |',
          '|---|---|---|---|---|---|---|---|',
          ...rows,
        ].join('\n'),
      );
    }
    await removeWorkspaces();
    if (root) await rm(root, { recursive: true, force: true });
  });

  for (const point of KILL_POINTS) {
    it(`trial ${point.trial}: kill -9 after ${point.k} ${point.mode} line(s), apply again: one job per server, none untracked, valid state, no changes`, { timeout: 60_000 }, async () => {
      const t0 = performance.now();
      expect({ exitCode: server.proc.exitCode, signal: server.proc.signalCode }, `the server subprocess is gone\n${server.stderr().slice(-2000)}`).toEqual({ exitCode: null, signal: null });
      await control.reset();
      // 25 ms per create (4 at a time: ~0.6 s over the apply), so a kill triggered by a line of
      // output still lands while the apply runs, however the test process lags behind its pipe.
      await control.setFaults({ actions: ['CreateReplicationJob'], latencyMs: 25 });
      await api.importServerCatalog();
      expect((await api.getServerCatalogStatus()).status).toBe('AVAILABLE');
      const ws = await workspace(endpoint, `trial-${point.trial}`);
      const m = await ws.writeManifests([catalogDoc(), ...jobsFor(1, JOBS)]);

      const first = ws.spawn(['apply', '-f', m, '--auto-approve', '--max-concurrent-jobs', '1000']);
      const count = point.mode === 'started' ? started : created;
      await first.waitForStdout((out) => count(out) >= Math.max(point.k, point.mode === 'started' ? 1 : 0), 45_000);
      first.kill('SIGKILL');
      const exit = await first.exited;
      const killedOut = first.stdout();
      const completedFirst = /Apply complete/.test(killedOut);
      expect(completedFirst, 'the first apply finished before the kill').toBe(false);
      expect(exit.signal).toBe('SIGKILL');
      const jobsAtKill = (await api.getReplicationJobs()).length;
      const leftover = new FileStateStore(ws.statePath);
      const pendingAtKill = (await leftover.pendingIntents()).length;
      await leftover.close();

      const second = await ws.run(['apply', '-f', m, '--auto-approve', '--max-concurrent-jobs', '1000']);
      expect(second.code, `${second.stdout.slice(-3000)}\n${second.stderr}`).toBe(0);
      const recovered = Number(/Recovering (\d+) operation\(s\)/.exec(second.stdout)?.[1] ?? 0);
      expect(recovered).toBe(pendingAtKill);
      const recoveredLines = (second.stdout.match(/^ {2}ReplicationJob\/job-\d{4}: CreateReplicationJob: /gm) ?? []).length;
      expect(recoveredLines).toBe(pendingAtKill);
      // Every job the killed run created was journaled first: found by recovery or recorded, never adopted.
      expect(second.stdout).not.toContain(': adopt recorded');

      // Exactly one job per declared server, and no other job.
      const live = await expectOneJobPerGeneratedServer(api, JOBS);
      // The state file decodes and validates, has nothing pending, and records every live job.
      const state = decodeState(await readFile(ws.statePath, 'utf8'), { source: ws.statePath });
      expect(state.pending).toEqual([]);
      const recorded = new Set(Object.values(state.resources).map((r) => r.replicationJobId));
      expect(live.filter((id) => !recorded.has(id))).toEqual([]);
      expect(recorded.size).toBe(JOBS);
      // A re-plan has nothing to do (the CLI's main in this process: the same code, without a third start-up per trial).
      const plan = await ws.runInProcess(['plan', '-f', m, '--detailed-exitcode']);
      expect(plan.code, plan.stdout.slice(-2000) + plan.stderr).toBe(0);

      results.push({
        ...point,
        startedAtKill: started(killedOut),
        createdAtKill: created(killedOut),
        jobsAtKill,
        pendingAtKill,
        recovered,
        recoveredHappened: (second.stdout.match(/CreateReplicationJob: job sms-job-[0-9a-f]{8} exists for server s-[0-9a-f]{8}: recorded/g) ?? []).length,
        recoveredNot: (second.stdout.match(/CreateReplicationJob: no job was created for server/g) ?? []).length,
        createdBySecond: created(second.stdout),
        adoptedBySecond: (second.stdout.match(/: adopt recorded/g) ?? []).length,
        seconds: (performance.now() - t0) / 1000,
      });
    });
  }
});
