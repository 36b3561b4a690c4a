/**
 * examples/waves, for real, in a temporary copy of the repository against the embedded server
 * (short timings in the copy's inventory): two ReplicationJobSets, wave 1 selecting DC1's four
 * batch servers by VM manager and path prefix, wave 2 the DC2 finance servers by name glob
 * plus two database servers listed with overrides, and an on-demand run token.
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
  }[];
  warnings: { code: string; message: string; address?: string }[];
}

const WAVE_1_TEMPLATE = { frequency: 12, licenseType: 'AWS', roleName: 'sms', description: 'Wave 1 (DC1 batch tier)', numberOfRecentAmisToKeep: 5 };
const WAVE_2_TEMPLATE = { frequency: 24, seedReplicationTime: '2026-03-07T22:00:00Z', licenseType: 'BYOL', roleName: 'sms', description: 'Wave 2 (DC2 finance)', encrypted: true };
/** What each wave-2 server gets: the template, with the listed servers' overrides. */
const WAVE_2: Record<string, Record<string, unknown>> = {
  'fin-app-01': WAVE_2_TEMPLATE,
  'fin-app-02': WAVE_2_TEMPLATE,
  'fin-app-03': WAVE_2_TEMPLATE,
  'fin-app-04': WAVE_2_TEMPLATE,
  'fin-db-01': { ...WAVE_2_TEMPLATE, frequency: 6, numberOfRecentAmisToKeep: 10, description: 'Wave 2 (finance database, primary)' },
  'fin-db-02': { ...WAVE_2_TEMPLATE, frequency: 12 },
};
const BATCH_SERVERS = ['batch-01', 'batch-02', 'batch-03', 'batch-04'];
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

describe('examples/waves', { timeout: 120_000 }, () => {
  it('before the catalog is imported: the plan imports it and defers both sets until then', async () => {
    const r = await cli(['plan', '-f', 'examples/waves', '--detailed-exitcode'], 2);
    expect(r.stdout.split('\n')[0]).toBe('Target: embedded SMS server (us-east-1, data .sms-reconcile/embedded)');
    expect(r.stdout).toMatch(/^ {2}\+ ServerCatalog\/catalog {2}will be imported$/m);
    expect(r.stdout).toMatch(/^ {2}\+ ReplicationJobSet\/wave-1\[\*\] {2}\(server resolved after catalog import\) will be created$/m);
    expect(r.stdout).toMatch(/^ {2}\+ ReplicationJobSet\/wave-2\[\*\] {2}\(server resolved after catalog import\) will be created$/m);
    expect(r.stdout).toContain('Plan: 1 catalog import, 2 to create. Destructive: none.');
  });

  it("with the catalog imported: one create per selected server, wave 1's four batch servers and wave 2's six finance servers, with the overrides", async () => {
    await cli(['apply', '-f', 'examples/waves/catalog.yaml', '--auto-approve']);
    const plan = await planJson();
    const creates = effective(plan);
    expect(creates.every((c) => c.action === 'create'), JSON.stringify(creates.map((c) => [c.address, c.action]))).toBe(true);
    const wave1 = creates.filter((c) => c.address.startsWith('ReplicationJobSet/wave-1['));
    const wave2 = creates.filter((c) => c.address.startsWith('ReplicationJobSet/wave-2['));
    expect(creates).toHaveLength(10);
    expect(wave1.map((c) => c.serverName).sort()).toEqual(BATCH_SERVERS);
    expect(wave2.map((c) => c.serverName).sort()).toEqual(Object.keys(WAVE_2).sort());
    for (const c of creates) expect(c.address).toMatch(/^ReplicationJobSet\/wave-[12]\[s-[0-9a-f]{8,17}\]$/);
    for (const c of wave1) {
      expect(c.after, c.address).toEqual(WAVE_1_TEMPLATE);
      expect(c.onDemandRun, c.address).toBeNull();
    }
    for (const c of wave2) {
      // JSON plans keep job timestamps as the SMS wire has them: whole epoch seconds.
      const want = { ...WAVE_2[c.serverName ?? ''], seedReplicationTime: Date.parse(WAVE_2_TEMPLATE.seedReplicationTime) / 1000 };
      expect(c.after, `${c.address} (${c.serverName})`).toEqual(want);
      // The seed run replicates at once: a token given at creation counts as satisfied by it.
      expect(c.onDemandRun, c.address).toEqual({ token: TOKEN, description: 'Rehearsal run before the cutover weekend' });
    }
    expect(creates.some((c) => c.action === 'start-run')).toBe(false);

    // The text plan shows the same, each job with its server's name.
    const text = await cli(['plan', '-f', 'examples/waves']);
    expect(text.stdout).toContain('Plan: 10 to create (1 unchanged). Destructive: none.');
    for (const name of [...BATCH_SERVERS, ...Object.keys(WAVE_2)]) {
      expect(text.stdout).toMatch(new RegExp(`^  \\+ ReplicationJobSet/wave-[12]\\[s-[0-9a-f]+\\]  \\(server s-[0-9a-f]+ ${name}\\) will be created$`, 'm'));
    }
  });

  it('apply --wait creates the ten jobs and waits for their seed runs; a re-plan is empty; the live jobs carry the overrides', async () => {
    const a = await cli(['apply', '-f', 'examples/waves', '--auto-approve', '--wait']);
    expect(a.stdout).toMatch(/^Apply complete: 10 created, 0 updated, 0 replaced, 0 deleted, 0 adopted, 0 moved, 0 runs started in /m);
    expect(a.stdout.trimEnd().split('\n').at(-1)).toBe('All 10 new job(s) completed their first replication run.');

    const again = await cli(['plan', '-f', 'examples/waves', '--detailed-exitcode']);
    expect(again.stdout).toContain('No changes. The live jobs match the manifests.');

    // The live jobs, as export describes them (to a throwaway state, so the sets' state is untouched).
    const ex = await cli(['--state', '.sms-reconcile/export-check.json', 'export', '--no-adopt']);
    const docs = parseAllDocuments(ex.stdout).map((d) => d.toJS() as { kind: string; metadata: { name: string }; spec: Record<string, unknown> });
    const jobs = new Map(docs.filter((d) => d.kind === 'ReplicationJob').map((d) => [d.metadata.name, d.spec]));
    expect([...jobs.keys()].sort()).toEqual([...BATCH_SERVERS, ...Object.keys(WAVE_2)].sort());
    for (const [name, want] of Object.entries(WAVE_2)) {
      const { seedReplicationTime: _created, ...updatable } = want;
      expect(jobs.get(name), name).toMatchObject(updatable);
    }
    for (const name of BATCH_SERVERS) expect(jobs.get(name), name).toMatchObject(WAVE_1_TEMPLATE);
  });

  it('a new onDemandRun token plans one on-demand run per wave-2 job; applied, the plan is empty again', async () => {
    // The on-demand runs take a minute from here on (settings are read at every start), so the
    // next step finds them in progress whatever the machine's speed.
    setInventoryTimings(copy.path('examples/inventory.yaml'), { runSeconds: 60 });
    copy.write('examples/waves/wave-2.yaml', copy.read('examples/waves/wave-2.yaml').replace(`token: "${TOKEN}"`, 'token: "cutover-rehearsal-2"'));

    const plan = await cli(['plan', '-f', 'examples/waves', '--detailed-exitcode'], 2);
    const runs = [...plan.stdout.matchAll(/^ {2}> ReplicationJobSet\/wave-2\[s-[0-9a-f]+\] {2}\(sms-job-[0-9a-f]+, server s-[0-9a-f]+ ([a-z0-9-]+)\) will start an on-demand run$/gm)];
    expect(runs.map((m) => m[1]).sort()).toEqual(Object.keys(WAVE_2).sort());
    expect(plan.stdout.match(/^ {6}reason: onDemandRun\.token is cutover-rehearsal-2 \(state has 2026-03-07-cutover-rehearsal\)$/gm)).toHaveLength(6);
    expect(plan.stdout).not.toContain('Warning');
    expect(plan.stdout).toContain('Plan: 6 runs to start (11 unchanged). Destructive: none.');

    const a = await cli(['apply', '-f', 'examples/waves', '--auto-approve']);
    expect(a.stdout).toMatch(/^Apply complete: 0 created, 0 updated, 0 replaced, 0 deleted, 0 adopted, 0 moved, 6 runs started in /m);
    expect(a.stdout.match(/^> ReplicationJobSet\/wave-2\[s-[0-9a-f]+\]: on-demand run started/gm)).toHaveLength(6);
    await cli(['plan', '-f', 'examples/waves', '--detailed-exitcode'], 0);
  });

  it('another token while those runs are in progress: planned with a warning, and the service refuses it', async () => {
    copy.write('examples/waves/wave-2.yaml', copy.read('examples/waves/wave-2.yaml').replace('token: "cutover-rehearsal-2"', 'token: "cutover-rehearsal-3"'));
    const status = JSON.parse((await cli(['status', '--format', 'json'])).stdout) as { jobs: { address: string; runState?: string }[] };
    const wave2 = status.jobs.filter((j) => j.address.startsWith('ReplicationJobSet/wave-2['));
    expect(wave2.map((j) => j.runState)).toEqual(Array(6).fill('ACTIVE'));

    const plan = await planJson();
    expect(effective(plan).map((c) => c.action)).toEqual(Array(6).fill('start-run'));
    expect(plan.warnings.map((w) => w.code)).toEqual(Array(6).fill('on-demand-not-ready'));
    for (const w of plan.warnings) expect(w.message).toMatch(/: a run of sms-job-[0-9a-f]+ is in progress; the service refuses an on-demand run until it ends$/);

    const a = await cli(['apply', '-f', 'examples/waves', '--auto-approve'], 1);
    expect(a.stdout).toMatch(/^Apply failed after /m);
    expect(a.stdout).toContain('another replication run is in progress');
    expect(a.stdout).toContain('run apply again to finish');
    // Nothing was recorded: the token is still wanted.
    const after = await planJson();
    expect(effective(after).map((c) => c.action)).toEqual(Array(6).fill('start-run'));
  });
});
