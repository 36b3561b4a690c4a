/**
 * examples/waves, for real, in a temporary copy of the repository against the embedded server
 * (short timings in the copy's inventory): a three-wave migration. Wave 1 (infrastructure) selects
 * DC1's four batch servers by VM manager and path prefix, wave 2 (databases) lists the two DC2
 * finance database servers with overrides, wave 3 (apps) matches the finance application servers
 * by name glob and asks for an on-demand run.
 *
 * The steps share one copy and run in order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { copyRepo, removeAllCopies, setInventoryTimings, type RepoCopy } from '../helpers/repo-copy.ts';

interface PlanJson {
  changes: {
    address: string;
    action: string;
    serverName: string | null;
    replicationJobId: string | null;
    reason: string;
    after: Record<string, unknown> | null;
    onDemandRun: { token: string; description?: string } | null;
    wave: number | null;
    gatedBy: { kind: string; waitingFor?: { wave: number } } | null;
  }[];
  warnings: { code: string; message: string; address?: string }[];
  waves: { wave: number; declared: number; open: boolean }[];
}

const INFRA_TEMPLATE = { frequency: 12, licenseType: 'AWS', roleName: 'sms', description: 'Wave 1 (DC1 infrastructure)', numberOfRecentAmisToKeep: 5 };
const DB_TEMPLATE = { frequency: 24, seedReplicationTime: '2026-03-07T22:00:00Z', licenseType: 'BYOL', roleName: 'sms', description: 'Wave 2 (DC2 finance databases)', encrypted: true };
const APPS_TEMPLATE = { frequency: 24, licenseType: 'BYOL', roleName: 'sms', description: 'Wave 3 (DC2 finance applications)', encrypted: true };
/** What each database server gets: the template, with its entry's overrides. */
const DATABASES: Record<string, Record<string, unknown>> = {
  'fin-db-01': { ...DB_TEMPLATE, frequency: 6, numberOfRecentAmisToKeep: 10, description: 'Wave 2 (finance database, primary)' },
  'fin-db-02': { ...DB_TEMPLATE, frequency: 12 },
};
const INFRA = ['batch-01', 'batch-02', 'batch-03', 'batch-04'];
const APPS = ['fin-app-01', 'fin-app-02', 'fin-app-03', 'fin-app-04'];
const TOKEN = '2026-03-07-cutover-rehearsal';

let copy: RepoCopy;

beforeAll(async () => {
  copy = await copyRepo({ prefix: 'smsr-waves', timings: { runSeconds: 2, catalogImportSeconds: 1 } });
});

afterAll(async () => {
  await removeAllCopies();
});

async function cli(args: readonly string[], expectCode = 0) {
  const r = await copy.cli(args);
  expect(r.code, `sms-reconcile ${args.join(' ')}: exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`).toBe(expectCode);
  return r;
}

async function planJson(): Promise<PlanJson> {
  const r = await cli(['plan', '-f', 'examples/waves', '--format', 'json']);
  return JSON.parse(r.stdout) as PlanJson;
}

const effective = (p: PlanJson) => p.changes.filter((c) => c.action !== 'no-op');

describe('examples/waves', { timeout: 180_000 }, () => {
  it('before the catalog is imported: the plan imports it and defers the three sets; waves 2 and 3 wait for wave 1', async () => {
    const r = await cli(['plan', '-f', 'examples/waves', '--detailed-exitcode'], 2);
    expect(r.stdout.split('\n')[0]).toBe('Target: embedded SMS server (us-east-1, data .sms-reconcile/embedded)');
    expect(r.stdout).toMatch(/^ {2}\+ ServerCatalog\/catalog {2}will be imported$/m);
    for (const set of ['infrastructure', 'databases', 'apps']) {
      expect(r.stdout).toMatch(new RegExp(`^ {2}\\+ ReplicationJobSet/${set}\\[\\*\\] {2}\\(server resolved after catalog import\\) will be created$`, 'm'));
    }
    expect(r.stdout).toContain('Plan: 1 catalog import, 3 to create. Destructive: none. 2 waiting for wave 1.');
  });

  it("with the catalog imported: one create per selected server, wave 1's four open, waves 2 and 3 held for wave 1", async () => {
    await cli(['apply', '-f', 'examples/waves/catalog.yaml', '--auto-approve']);
    const plan = await planJson();
    const creates = effective(plan);
    expect(creates.every((c) => c.action === 'create'), JSON.stringify(creates.map((c) => [c.address, c.action]))).toBe(true);
    expect(creates).toHaveLength(10);
    const of = (set: string) => creates.filter((c) => c.address.startsWith(`ReplicationJobSet/${set}[`));
    expect(of('infrastructure').map((c) => c.serverName).sort()).toEqual(INFRA);
    expect(of('databases').map((c) => c.serverName).sort()).toEqual(Object.keys(DATABASES).sort());
    expect(of('apps').map((c) => c.serverName).sort()).toEqual(APPS);
    for (const c of of('infrastructure')) expect([c.wave, c.gatedBy, c.after], c.address).toEqual([1, null, INFRA_TEMPLATE]);
    for (const c of of('databases')) {
      // JSON plans keep job timestamps as the SMS wire has them: whole epoch seconds.
      const want = { ...DATABASES[c.serverName ?? ''], seedReplicationTime: Date.parse(DB_TEMPLATE.seedReplicationTime) / 1000 };
      expect(c.after, `${c.address} (${c.serverName})`).toEqual(want);
      expect([c.wave, c.gatedBy?.kind, c.gatedBy?.waitingFor?.wave], c.address).toEqual([2, 'wave', 1]);
    }
    for (const c of of('apps')) {
      expect(c.after, c.address).toEqual(APPS_TEMPLATE);
      // The seed run replicates at once: a token given at creation counts as satisfied by it.
      expect(c.onDemandRun, c.address).toEqual({ token: TOKEN, description: 'Rehearsal run before the cutover weekend' });
      expect([c.wave, c.gatedBy?.kind, c.gatedBy?.waitingFor?.wave], c.address).toEqual([3, 'wave', 1]);
    }
    expect(plan.waves.map((w) => [w.wave, w.declared, w.open])).toEqual([[1, 4, true], [2, 2, false], [3, 4, false]]);

    // The text plan groups them by wave, each job with its server's name.
    const text = await cli(['plan', '-f', 'examples/waves']);
    expect(text.stdout).toContain('Plan: 10 to create (1 unchanged). Destructive: none. 6 waiting for wave 1.');
    expect(text.stdout).toContain('Wave 1 (4 creates): gate open:');
    expect(text.stdout).toMatch(/^Wave 2 \(2 creates\): waiting for wave 1: 0 of 4 replicated \(/m);
    for (const name of [...INFRA, ...Object.keys(DATABASES), ...APPS]) {
      expect(text.stdout).toMatch(new RegExp(`^  \\+ ReplicationJobSet/(infrastructure|databases|apps)\\[s-[0-9a-f]+\\]  \\(server s-[0-9a-f]+ ${name}\\) will be created$`, 'm'));
    }
  });

  it('apply --wait goes wave by wave: each wave once the one before has replicated; a re-plan is empty; the live jobs carry the overrides', async () => {
    const a = await cli(['apply', '-f', 'examples/waves', '--auto-approve', '--wait']);
    expect(a.stdout.match(/^Apply complete: (\d+) created, /gm)?.map((l) => /(\d+) created/.exec(l)?.[1])).toEqual(['4', '2', '4']);
    expect(a.stdout).toContain("Wave 1 has replicated (4 of 4 jobs have their first AMI): the next wave's gate is open.");
    expect(a.stdout).toContain("Wave 2 has replicated (2 of 2 jobs have their first AMI): the next wave's gate is open.");
    expect(a.stdout.trimEnd().split('\n').at(-1)).toBe('All 4 new job(s) completed their first replication run.');

    const again = await cli(['plan', '-f', 'examples/waves', '--detailed-exitcode']);
    expect(again.stdout).toContain('No changes. The live jobs match the manifests.');
    const status = await cli(['status', '-f', 'examples/waves']);
    expect(status.stdout).toContain('WAVE  DECLARED  CREATED  REPLICATED  FAILED  GATE');
    expect(status.stdout).toContain('3     4         4        4           0       open');

    // The live jobs, as export describes them (to a throwaway state, so the sets' state is untouched).
    const ex = await cli(['--state', '.sms-reconcile/export-check.json', 'export', '--no-adopt']);
    const docs = parseAllDocuments(ex.stdout).map((d) => d.toJS() as { kind: string; metadata: { name: string }; spec: Record<string, unknown> });
    const jobs = new Map(docs.filter((d) => d.kind === 'ReplicationJob').map((d) => [d.metadata.name, d.spec]));
    expect([...jobs.keys()].sort()).toEqual([...INFRA, ...Object.keys(DATABASES), ...APPS].sort());
    for (const [name, want] of Object.entries(DATABASES)) {
      const { seedReplicationTime: _created, ...updatable } = want;
      expect(jobs.get(name), name).toMatchObject(updatable);
    }
    for (const name of INFRA) expect(jobs.get(name), name).toMatchObject(INFRA_TEMPLATE);
    for (const name of APPS) expect(jobs.get(name), name).toMatchObject(APPS_TEMPLATE);
  });

  it('a new onDemandRun token plans one on-demand run per wave-3 job (runs of existing jobs are never held); applied, the plan is empty again', async () => {
    // The on-demand runs take a minute from here on (settings are read at every start), so the
    // next step finds them in progress whatever the machine's speed.
    setInventoryTimings(copy.path('examples/inventory.yaml'), { runSeconds: 60 });
    copy.write('examples/waves/wave-3-apps.yaml', copy.read('examples/waves/wave-3-apps.yaml').replace(`token: "${TOKEN}"`, 'token: "cutover-rehearsal-2"'));

    const plan = await cli(['plan', '-f', 'examples/waves', '--detailed-exitcode'], 2);
    const runs = [...plan.stdout.matchAll(/^ {2}> ReplicationJobSet\/apps\[s-[0-9a-f]+\] {2}\(sms-job-[0-9a-f]+, server s-[0-9a-f]+ ([a-z0-9-]+)\) will start an on-demand run$/gm)];
    expect(runs.map((m) => m[1]).sort()).toEqual(APPS);
    expect(plan.stdout.match(/^ {6}reason: onDemandRun\.token is cutover-rehearsal-2 \(state has 2026-03-07-cutover-rehearsal\)$/gm)).toHaveLength(4);
    expect(plan.stdout).not.toContain('Warning');
    expect(plan.stdout).toContain('Plan: 4 runs to start (11 unchanged). Destructive: none.');

    const a = await cli(['apply', '-f', 'examples/waves', '--auto-approve']);
    expect(a.stdout).toMatch(/^Apply complete: 0 created, 0 updated, 0 replaced, 0 deleted, 0 adopted, 0 moved, 4 runs started in /m);
    expect(a.stdout.match(/^> ReplicationJobSet\/apps\[s-[0-9a-f]+\]: on-demand run started/gm)).toHaveLength(4);
    await cli(['plan', '-f', 'examples/waves', '--detailed-exitcode'], 0);
  });

  it('another token while those runs are in progress: planned with a warning, and the service refuses it', async () => {
    copy.write('examples/waves/wave-3-apps.yaml', copy.read('examples/waves/wave-3-apps.yaml').replace('token: "cutover-rehearsal-2"', 'token: "cutover-rehearsal-3"'));
    const status = JSON.parse((await cli(['status', '--format', 'json'])).stdout) as { jobs: { address: string; runState?: string }[] };
    const apps = status.jobs.filter((j) => j.address.startsWith('ReplicationJobSet/apps['));
    expect(apps.map((j) => j.runState)).toEqual(Array(4).fill('ACTIVE'));

    const plan = await planJson();
    expect(effective(plan).map((c) => c.action)).toEqual(Array(4).fill('start-run'));
    expect(plan.warnings.map((w) => w.code)).toEqual(Array(4).fill('on-demand-not-ready'));
    for (const w of plan.warnings) expect(w.message).toMatch(/: a run of sms-job-[0-9a-f]+ is in progress; the service refuses an on-demand run until it ends$/);

    const a = await cli(['apply', '-f', 'examples/waves', '--auto-approve'], 1);
    expect(a.stdout).toMatch(/^Apply failed after /m);
    expect(a.stdout).toContain('another replication run is in progress');
    expect(a.stdout).toContain('run apply again to finish');
    // Nothing was recorded: the token is still wanted.
    const after = await planJson();
    expect(effective(after).map((c) => c.action)).toEqual(Array(4).fill('start-run'));
  });
});
