/**
 * Export round-trips what the state records, over generated manifest sets: for each set, on one
 * in-memory embedded server (reset between sets) through the real SDK client, with a new state,
 *   apply the set (plus a few jobs made directly through the API, which the state does not manage),
 *   export (the documents, and the records that adopt the unmanaged jobs), then
 *   plan the exported documents against the same world and the state: nothing to do (what
 *   `plan --detailed-exitcode` reports as exit 0), no problem.
 * The sets vary every job field, the selectors, ReplicationJobSets with templates and per-server
 * overrides, lifecycle.preventDestroy and on-demand run tokens, and text that YAML must quote.
 * Deterministic: a seeded generator; a failure names the seed of its set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { checkExport, exportDocuments, exportText } from '../../src/reconcile/export.ts';
import { detailedExitCode } from '../../src/reconcile/plan.ts';
import { catalogDoc, importCatalog, startHarness, type Harness, type ManifestDoc } from '../helpers/apply-harness.ts';
import { mulberry32 } from '../helpers/random.ts';
import { generatedInventory } from '../helpers/sms-world.ts';

const SETS = 200;
const VMS = 24;

interface Gen {
  readonly chance: (p: number) => boolean;
  readonly int: (lo: number, hi: number) => number;
  readonly pick: <T>(xs: readonly T[]) => T;
}

function gen(seed: number): Gen {
  const next = mulberry32(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  return { chance: (p) => next() < p, int, pick: (xs) => xs[int(0, xs.length - 1)] as (typeof xs)[number] };
}

const vmName = (i: number) => `gen-${String(i).padStart(4, '0')}`;
const TEXTS = ['plain', 'with: a colon', "it's quoted", '"double"', '# not a comment', 'ünïcödé ✓', 'yes', '123', '', ' leading space', 'multi\nline'];

/** Some job fields, each present or not. */
function jobFields(g: Gen, now: number): Record<string, unknown> {
  const f: Record<string, unknown> = {};
  if (g.chance(0.15)) f['runOnce'] = true;
  else if (g.chance(0.7)) f['frequency'] = g.int(1, 24);
  if (g.chance(0.3)) f['seedReplicationTime'] = new Date((now + g.int(1, 72) * 3600) * 1000).toISOString().replace('.000Z', 'Z');
  if (g.chance(0.6)) f['licenseType'] = g.pick(['AWS', 'BYOL']);
  if (g.chance(0.5)) f['roleName'] = g.pick(['sms', 'sms-role', 'a.b@c-d']);
  if (g.chance(0.6)) f['description'] = g.pick(TEXTS);
  if (g.chance(0.4)) f['numberOfRecentAmisToKeep'] = g.int(0, 20);
  if (g.chance(0.4)) {
    f['encrypted'] = g.chance(0.7);
    if (f['encrypted'] === true && g.chance(0.5)) f['kmsKeyId'] = g.pick(['alias/sms', 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab']);
  }
  return f;
}

function extras(g: Gen): Record<string, unknown> {
  return {
    ...(g.chance(0.3) ? { onDemandRun: { token: g.pick(['t1', 'rehearsal 2026-03-07', 'x: y']), ...(g.chance(0.5) ? { description: 'why' } : {}) } } : {}),
    ...(g.chance(0.4) ? { lifecycle: { preventDestroy: g.chance(0.7) } } : {}),
  };
}

/** A manifest set over the VMs, and the VMs left for jobs made outside sms-reconcile. */
function manifestSet(g: Gen, now: number): { docs: ManifestDoc[]; unmanagedVms: number[] } {
  const free = Array.from({ length: VMS }, (_, i) => i + 1);
  const take = () => free.splice(g.int(0, free.length - 1), 1)[0] as number;
  const docs: ManifestDoc[] = [catalogDoc()];
  for (let j = 0, n = g.int(0, 5); j < n; j++) {
    const vm = take();
    const selector = g.pick([{ vmName: vmName(vm) }, { vmName: vmName(vm), vmManagerName: 'vcenter-gen.example.com' }, { vmId: `vm-${String(vm).padStart(4, '0')}`, vmManagerId: '0b9e2f6a-7c1d-4e3b-8a5f-2d6c9e1b4a70' }]);
    docs.push({ apiVersion: 'sms-reconcile/v1', kind: 'ReplicationJob', metadata: { name: `job-${j}` }, spec: { server: selector, ...jobFields(g, now), ...extras(g) } });
  }
  for (let s = 0, n = g.int(0, 2); s < n; s++) {
    const servers = Array.from({ length: g.int(1, 4) }, () => ({ server: { vmName: vmName(take()) }, ...(g.chance(0.5) ? jobFields(g, now) : {}) }));
    docs.push({ apiVersion: 'sms-reconcile/v1', kind: 'ReplicationJobSet', metadata: { name: `set-${s}` }, spec: { template: jobFields(g, now), servers, ...extras(g) } });
  }
  return { docs, unmanagedVms: Array.from({ length: g.int(0, 2) }, take) };
}

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ inventory: generatedInventory({ vms: VMS, connectors: 1 }) });
});

afterAll(async () => {
  await h?.close();
});

describe('export round-trips what the state records (generated manifest sets)', () => {
  it(`apply, export, plan on the export: nothing to do, for ${SETS} sets`, { timeout: 180_000 }, async () => {
    let protectedJobs = 0;
    let setMembers = 0;
    let adopted = 0;
    for (let seed = 1; seed <= SETS; seed++) {
      await h.reset();
      await importCatalog(h);
      const g = gen(seed);
      const now = Math.floor(h.clock.now() / 1000);
      const { docs, unmanagedVms } = manifestSet(g, now);
      await h.apply(docs);
      // Jobs made outside sms-reconcile, which export adopts.
      const servers = (await h.observe()).catalog.servers;
      for (const vm of unmanagedVms) {
        const serverId = servers.find((s) => s.vmServer.vmName === vmName(vm))?.serverId ?? '';
        await h.api.createReplicationJob({ serverId, seedReplicationTime: now + 3600, frequency: g.int(1, 24), ...(g.chance(0.5) ? { description: g.pick(TEXTS) } : {}) });
      }

      const observed = await h.observe();
      const exported = exportDocuments(observed, await h.store.read(), { at: new Date(h.clock.now()).toISOString() });
      if (exported.adopt.length > 0) await h.store.writeResources(h.lock, exported.adopt, 'export');
      const state = await h.store.read();
      const check = checkExport(exported.documents, observed, state, h.clock.now() / 1000);
      const context = `seed ${seed}\nmanifests:\n${JSON.stringify(docs, null, 1)}\nexported:\n${exported.documents.map(exportText).join('---\n')}`;
      expect(check.problems, context).toEqual([]);
      expect(check.changes.map((c) => `${c.action} ${c.address}: ${c.reason}`), context).toEqual([]);
      expect(detailedExitCode({ changes: check.changes }), context).toBe(0);

      // What the state records is said by the documents: protection and tokens included.
      const records = Object.values(state?.resources ?? {});
      const texts = exported.documents.map((d) => parse(exportText(d)) as { spec: { lifecycle?: { preventDestroy?: boolean } } });
      if (records.some((r) => r.preventDestroy)) expect(texts.some((d) => d.spec.lifecycle?.preventDestroy === true), context).toBe(true);
      protectedJobs += records.filter((r) => r.preventDestroy).length;
      setMembers += records.filter((r) => r.kind === 'ReplicationJobSet').length;
      adopted += exported.adopt.length;
    }
    // The generator reached every case it is for.
    expect(protectedJobs).toBeGreaterThan(50);
    expect(setMembers).toBeGreaterThan(50);
    expect(adopted).toBeGreaterThan(50);
  });
});
