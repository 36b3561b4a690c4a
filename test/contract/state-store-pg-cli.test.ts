/**
 * The pg state through the CLI: `state migrate` between files and PostgreSQL, the global
 * --state-schema and --workspace options, and `apply` with `--state postgres://...` against a
 * standalone `sms-reconcile server` subprocess (real clock): apply then re-plan, a target that
 * differs, and four applies of overlapping manifests at once on one workspace.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { main } from '../../src/cli/main.ts';
import { encodeState, type StateDocument } from '../../src/state/codec.ts';
import { PgStateStore } from '../../src/state/pg-store.ts';
import { apiFor, cliEnv, killAll, liveJobsByServer, spawnCli, type Endpoint } from '../helpers/apply-cli.ts';
import { catalogDoc, genVm, jobDoc, manifests, type ManifestDoc } from '../helpers/apply-harness.ts';
import { collector } from '../helpers/cli.ts';
import { describePg, dropSchema, passwordOf, sql, uniqueName } from '../helpers/pg.ts';
import { generatedInventory } from '../helpers/sms-world.ts';
import { namedJob, stateWith } from '../helpers/state-fixtures.ts';
import { killAllCliProcesses, startCliServer, type CliServer } from '../helpers/subprocess.ts';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `main` in this process with its own streams, working directory and environment. */
async function cli(cwd: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const stdout = collector();
  const stderr = collector();
  const code = await main(args, { stdout: stdout.stream, stderr: stderr.stream, stdin: Readable.from([]), env: { PATH: process.env['PATH'], ...env }, cwd });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

/** A state with pending intents too (migrate must keep them). */
function stateWithPending(): StateDocument {
  const doc = stateWith(4, { serial: 9 });
  return {
    ...doc,
    pending: [
      { id: randomUUID(), serial: 8, address: 'ReplicationJob/web', operation: 'CreateReplicationJob', serverId: 's-0000abcd', recordedAt: '2026-03-01T12:00:00.000Z' },
      { id: randomUUID(), serial: 9, address: 'ReplicationJob/db', operation: 'DeleteReplicationJob', replicationJobId: 'sms-job-0000abcd', recordedAt: '2026-03-01T12:00:01.000Z' },
    ],
  };
}

describePg('pg state through the CLI', (url) => {
  const schema = uniqueName('cli');
  let root: string;
  const pgAt = (workspace: string, s = schema): string => {
    const u = new URL(url);
    u.searchParams.set('schema', s);
    u.searchParams.set('workspace', workspace);
    return u.toString();
  };
  // The server's password, checked to appear in no output (a placeholder if it cannot be told apart).
  const password = passwordOf(url) ?? '\u0000indistinct password\u0000';

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'sms-pg-cli-'));
  });
  afterAll(async () => {
    await killAll();
    await killAllCliProcesses();
    await rm(root, { recursive: true, force: true });
    await dropSchema(url, schema);
  });

  async function workdir(): Promise<string> {
    const dir = join(root, randomUUID().slice(0, 8));
    await mkdir(dir);
    return dir;
  }

  describe('state migrate', () => {
    it('copies file -> pg -> file, keeping lineage, serial, pending intents and the bytes of `state pull`', async () => {
      const cwd = await workdir();
      const doc = stateWithPending();
      await writeFile(join(cwd, 'in.json'), encodeState(doc));
      expect((await cli(cwd, ['state', 'push', 'in.json'])).code).toBe(0);

      const toPg = await cli(cwd, ['state', 'migrate', '--to', pgAt('mig1')]);
      expect(toPg.code, toPg.stderr).toBe(0);
      expect(toPg.stdout).toContain(`lineage ${doc.lineage}, serial 9, 4 resource(s), 2 pending intent(s)`);
      expect(toPg.stdout).not.toContain(password);
      const store = new PgStateStore(pgAt('mig1'));
      try {
        expect(await store.read()).toEqual(doc);
      } finally {
        await store.close();
      }
      const pulledPg = await cli(cwd, ['--state', pgAt('mig1'), 'state', 'pull']);
      expect(pulledPg.stdout).toBe(encodeState(doc));

      const back = await cli(cwd, ['state', 'migrate', '--from', pgAt('mig1'), '--to', 'back.json']);
      expect(back.code, back.stderr).toBe(0);
      expect(await readFile(join(cwd, 'back.json'), 'utf8')).toBe(encodeState(doc));

      // Again: the same state is there already.
      const again = await cli(cwd, ['state', 'migrate', '--to', pgAt('mig1')]);
      expect(again).toMatchObject({ code: 0, stdout: expect.stringContaining('already holds this state') });
    });

    it('copies pg -> pg between workspaces and schemas; --workspace/--state-schema pick the source', async () => {
      const cwd = await workdir();
      const doc = stateWith(3, { serial: 4 });
      await writeFile(join(cwd, 'in.json'), encodeState(doc));
      expect((await cli(cwd, ['--state', url, '--state-schema', schema, '--workspace', 'src', 'state', 'push', 'in.json'])).code).toBe(0);
      const otherSchema = uniqueName('cli2');
      try {
        const r = await cli(cwd, ['--state', url, '--state-schema', schema, '--workspace', 'src', 'state', 'migrate', '--to', pgAt('dst', otherSchema)]);
        expect(r.code, r.stderr).toBe(0);
        const list = await cli(cwd, ['--state', pgAt('dst', otherSchema), 'state', 'list']);
        expect(list.stdout.trim().split('\n')).toHaveLength(3);
        const pulled = await cli(cwd, ['--state', url, '--state-schema', otherSchema, '--workspace', 'dst', 'state', 'pull']);
        expect(pulled.stdout).toBe(encodeState(doc));
      } finally {
        await dropSchema(url, otherSchema);
      }
    });

    it('refuses to overwrite another non-empty state unless --force, writing nothing', async () => {
      const cwd = await workdir();
      const mine = stateWith(2, { serial: 3 });
      const theirs = stateWith(5, { serial: 30 });
      await writeFile(join(cwd, 'mine.json'), encodeState(mine));
      await writeFile(join(cwd, 'theirs.json'), encodeState(theirs));
      expect((await cli(cwd, ['--state', pgAt('taken'), 'state', 'push', 'theirs.json'])).code).toBe(0);

      const refused = await cli(cwd, ['state', 'migrate', '--from', 'mine.json', '--to', pgAt('taken')]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('Error [state-lineage-mismatch]');
      expect(refused.stderr).toContain('--force');
      expect(refused.stderr).not.toContain(password);
      expect((await cli(cwd, ['--state', pgAt('taken'), 'state', 'pull'])).stdout).toBe(encodeState(theirs));

      // The same lineage, older at the source: refused too (it would lose newer changes).
      const older = { ...theirs, serial: 20, resources: {} };
      await writeFile(join(cwd, 'older.json'), encodeState(older));
      const stale = await cli(cwd, ['state', 'migrate', '--from', 'older.json', '--to', pgAt('taken')]);
      expect(stale.code).toBe(1);
      expect(stale.stderr).toContain('Error [state-serial-not-newer]');

      const forced = await cli(cwd, ['state', 'migrate', '--from', 'mine.json', '--to', pgAt('taken'), '--force']);
      expect(forced.code, forced.stderr).toBe(0);
      expect((await cli(cwd, ['--state', pgAt('taken'), 'state', 'pull'])).stdout).toBe(encodeState(mine));
    });

    it('refuses a missing source, the same location twice, and --workspace with --from', async () => {
      const cwd = await workdir();
      const missing = await cli(cwd, ['state', 'migrate', '--from', pgAt('nothing-here'), '--to', 'x.json']);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('Error [state-missing]');
      const same = await cli(cwd, ['state', 'migrate', '--from', pgAt('a'), '--to', pgAt('a')]);
      expect(same.code).toBe(1);
      expect(same.stderr).toContain('Error [state-location-invalid]');
      const mixed = await cli(cwd, ['--state', url, '--workspace', 'a', 'state', 'migrate', '--from', 'x.json', '--to', pgAt('b')]);
      expect(mixed.code).toBe(1);
      expect(mixed.stderr).toContain('Error [state-location-invalid]');
    });
  });

  describe('global options', () => {
    it('--workspace and --state-schema need a postgres:// state; names are checked', async () => {
      const cwd = await workdir();
      const onFile = await cli(cwd, ['--workspace', 'prod', 'state', 'list']);
      expect(onFile.code).toBe(1);
      expect(onFile.stderr).toContain('Error [state-location-invalid]: --workspace applies to a postgres:// state');
      const badName = await cli(cwd, ['--state', url, '--state-schema', 'Bad-Name', 'state', 'list']);
      expect(badName.code).toBe(1);
      expect(badName.stderr).toContain('Error [state-location-invalid]');
      expect(badName.stderr).not.toContain(password);
      // SMS_RECONCILE_STATE carries the URL; the flags override its parameters.
      const viaEnv = await cli(cwd, ['--workspace', 'env-ws', 'state', 'list'], { SMS_RECONCILE_STATE: pgAt('ignored') });
      expect(viaEnv).toMatchObject({ code: 0 });
      expect(viaEnv.stderr).toContain(`No state at postgres://`);
      expect(viaEnv.stderr).toContain('workspace=env-ws');
      expect(viaEnv.stderr).not.toContain(password);
    });

    it('state rm and force-unlock work on a pg state', async () => {
      const cwd = await workdir();
      const store = new PgStateStore(pgAt('edit'));
      try {
        const lock = await store.lock({ operation: 'setup' });
        await store.replace(lock, stateWith(0, { serial: 1 }));
        await store.writeResources(lock, [{ address: 'ReplicationJob/web', record: namedJob('web') }]);
        const busy = await cli(cwd, ['--state', pgAt('edit'), 'state', 'rm', 'ReplicationJob/web']);
        expect(busy.code).toBe(1);
        expect(busy.stderr).toContain('Error [state-locked]');
        expect(busy.stderr).toContain(`force-unlock ${lock.info.id}`);
        const unlocked = await cli(cwd, ['--state', pgAt('edit'), 'force-unlock', lock.info.id]);
        expect(unlocked.code, unlocked.stderr).toBe(0);
        const rm = await cli(cwd, ['--state', pgAt('edit'), 'state', 'rm', 'ReplicationJob/web']);
        expect(rm.code, rm.stderr).toBe(0);
        expect(rm.stderr).toContain('State serial 3.');
        await expect(store.writeResources(lock, [])).rejects.toMatchObject({ code: 'state-lock-lost' });
      } finally {
        await store.close();
      }
    });
  });

  describe('apply with a pg state, against a standalone server', () => {
    let server: CliServer;
    let endpoint: Endpoint;
    let dir: string;
    const VMS = 40;

    beforeAll(async () => {
      dir = await workdir();
      const inventory = { apiVersion: 'sms-reconcile/v1', kind: 'Inventory', ...generatedInventory({ vms: VMS }), settings: { catalogImportSeconds: 0.3, deleteSeconds: 0.3, maxConcurrentJobs: 1000 } };
      await writeFile(join(dir, 'inventory.yaml'), stringify(inventory));
      server = await startCliServer({ dataDir: join(dir, 'server'), args: ['--inventory', join(dir, 'inventory.yaml')] });
      endpoint = { url: server.url, region: server.region, credentials: server.credentials };
    });
    afterAll(async () => {
      await server.stop();
    });

    async function manifestDir(name: string, docs: readonly ManifestDoc[]): Promise<string> {
      const path = join(dir, name);
      await mkdir(path, { recursive: true });
      await Promise.all(docs.map((d, i) => writeFile(join(path, `${String(i).padStart(4, '0')}.yaml`), manifests([d]))));
      return path;
    }

    const jobs = (from: number, to: number): ManifestDoc[] =>
      Array.from({ length: to - from + 1 }, (_, i) => jobDoc(`job-${String(from + i).padStart(4, '0')}`, genVm(from + i), { frequency: 12, description: 'pg e2e' }));

    function run(args: readonly string[], state: string, extra: readonly string[] = []) {
      return spawnCli([...args, '--endpoint-url', endpoint.url, '--state', state, ...extra], { cwd: dir, env: cliEnv(endpoint, dir) });
    }

    it('applies, re-plans with no changes, and refuses another target without writing', { timeout: 120_000 }, async () => {
      const m = await manifestDir('single', [catalogDoc(), ...jobs(1, 5)]);
      const state = pgAt('single');
      const a = await run(['apply', '-f', m, '--auto-approve'], state).waitForExit(60_000);
      expect(a.code, a.stderr).toBe(0);
      expect(a.stdout).toMatch(/Apply complete: 5 created/);
      const p = await run(['plan', '-f', m, '--detailed-exitcode'], state).waitForExit(60_000);
      expect(p.code, p.stdout + p.stderr).toBe(0);
      const store = new PgStateStore(state);
      try {
        const before = await store.head();
        const other = await run(['plan', '-f', m], state, ['--region', 'eu-west-1']).waitForExit(60_000);
        expect(other.code).toBe(1);
        expect(other.stderr).toContain('Error [state-target-mismatch]');
        expect(other.stderr).not.toContain(password);
        const otherApply = await run(['apply', '-f', m, '--auto-approve'], state, ['--region', 'eu-west-1']).waitForExit(60_000);
        expect(otherApply.code).toBe(1);
        expect(otherApply.stderr).toContain('Error [state-target-mismatch]');
        expect(await store.head()).toEqual(before);
        expect(await store.lockInfo()).toBeUndefined();
      } finally {
        await store.close();
      }
    });

    it('four applies of overlapping manifests at once: serialized, one job per server, state consistent', { timeout: 180_000 }, async () => {
      const sets = [
        [1, 16],
        [9, 24],
        [17, 32],
        [5, 28],
      ] as const;
      const dirs = await Promise.all(sets.map(([from, to], i) => manifestDir(`four-${i}`, [catalogDoc(), ...jobs(from, to)])));
      const state = pgAt('four');
      const procs = dirs.map((d) => run(['apply', '-f', d, '--auto-approve', '--allow-destroy', '--lock-timeout', '150s'], state));
      const done = await Promise.all(procs.map((p) => p.waitForExit(170_000)));
      for (const r of done) expect(r.code, r.stderr).toBe(0);

      const store = new PgStateStore(state);
      try {
        const doc = await store.read();
        expect(doc?.pending).toEqual([]);
        const addresses = Object.keys(doc?.resources ?? {}).sort();
        // The last apply's manifests are the state: exactly one of the four sets.
        const last = sets.findIndex(([from, to]) => addresses.join() === jobs(from, to).map((j) => `ReplicationJob/${(j['metadata'] as { name: string }).name}`).sort().join());
        expect(last, `state addresses ${addresses.join(', ')}`).toBeGreaterThanOrEqual(0);
        // No server has two jobs, and every live job is in the state (nothing orphaned).
        const api = apiFor(endpoint);
        try {
          // Jobs deleted by an earlier apply finish DELETING on the server's clock (0.3 s): wait for it.
          let live = await liveJobsByServer(api);
          for (let i = 0; i < 100 && [...live.values()].flat().some((j) => j.state === 'DELETING'); i++) {
            await new Promise((r) => setTimeout(r, 100));
            live = await liveJobsByServer(api);
          }
          for (const [serverId, list] of live) expect(list.length, `server ${serverId}`).toBe(1);
          const inState = new Set(Object.values(doc?.resources ?? {}).map((r) => r.replicationJobId));
          const liveIds = [...live.values()].flat().map((j) => j.replicationJobId);
          expect(liveIds.sort()).toEqual([...inState].sort());
        } finally {
          api.destroy();
        }
        const lastDir = dirs[last] ?? '';
        const p = await run(['plan', '-f', lastDir, '--detailed-exitcode'], state).waitForExit(60_000);
        expect(p.code, p.stdout + p.stderr).toBe(0);
        // The four applies ran one after the other: each lock's writes form one run of serials.
        const rows = await sql<{ lock_id: string }>(url, `SELECT lock_id FROM "${schema}".journal WHERE workspace = 'four' ORDER BY serial`);
        const runs: string[] = [];
        for (const r of rows) if (runs.at(-1) !== r.lock_id) runs.push(r.lock_id);
        expect(new Set(runs).size).toBe(runs.length);
        expect(runs.length).toBeLessThanOrEqual(4);
        expect(rows).toHaveLength(doc?.serial ?? -1); // every change counted once
      } finally {
        await store.close();
      }
    });
  });
});
