// normalize.ts and model/desired.ts: the DesiredSet, its digest, and the checks across documents.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkManifests, type ManifestCheckResult } from '../../src/manifest/check.ts';
import { createDesiredSet, createDesiredSetStepwise, effectiveSpec, jobSetAddress, type DesiredJob } from '../../src/model/desired.ts';
import { isSmsReconcileError } from '../../src/model/errors.ts';

const examples = path.resolve(import.meta.dirname, '../../examples');
const read = (rel: string): { file: string; content: Uint8Array } => ({ file: rel, content: readFileSync(path.join(examples, rel)) });
const check = (files: Record<string, string>): ManifestCheckResult => checkManifests(Object.entries(files).map(([file, content]) => ({ file, content })));
const H = 'apiVersion: sms-reconcile/v1\n';
const job = (name: string, spec: string): string => `${H}kind: ReplicationJob\nmetadata:\n  name: ${name}\nspec:\n${spec}`;

describe('the quickstart example', () => {
  const result = checkManifests(['quickstart/app-01.yaml', 'quickstart/catalog.yaml', 'quickstart/web-01.yaml', 'quickstart/web-02.yaml'].map(read));

  it('normalizes into jobs keyed by address, in address order', () => {
    expect(result.diagnostics).toEqual([]);
    const desired = result.desired!;
    expect([...desired.jobs.keys()]).toEqual(['ReplicationJob/app-01', 'ReplicationJob/web-01', 'ReplicationJob/web-02']);
    expect([...desired.catalogs.keys()]).toEqual(['ServerCatalog/catalog']);
    expect(desired.digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('keeps API spellings, turns timestamps into epoch seconds, defaults lifecycle, leaves absent fields absent', () => {
    const app = result.desired!.jobs.get('ReplicationJob/app-01') as DesiredJob;
    expect(app).toMatchObject({
      name: 'app-01',
      selector: { kind: 'vmName', vmName: 'app-01', vmPath: '/Datacenters/DC1/vm/app/app-01' },
      spec: { frequency: 24, seedReplicationTime: 1772330400, licenseType: 'BYOL', roleName: 'sms', description: 'Application server 1', encrypted: true },
      lifecycle: { preventDestroy: true },
      source: { file: 'quickstart/app-01.yaml', line: 2, column: 1, pointer: '' },
      selectorSource: { file: 'quickstart/app-01.yaml', line: 7, column: 3, pointer: '/spec/server' },
    });
    expect(Object.keys(app.spec).sort()).toEqual(['description', 'encrypted', 'frequency', 'licenseType', 'roleName', 'seedReplicationTime']);
    expect(app.onDemandRun).toBeUndefined();
    const web = result.desired!.jobs.get('ReplicationJob/web-01')!;
    expect(web.lifecycle).toEqual({ preventDestroy: false });
    expect(web.spec.runOnce).toBeUndefined();
  });
});

describe('the waves example', () => {
  const result = checkManifests(['waves/catalog.yaml', 'waves/wave-1-infrastructure.yaml', 'waves/wave-2-databases.yaml', 'waves/wave-3-apps.yaml'].map(read));

  it('gives three job sets in waves 1, 2 and 3, with template, servers (with overrides), match and onDemandRun', () => {
    expect(result.diagnostics).toEqual([]);
    const sets = result.desired!.jobSets;
    expect([...sets.values()].map((s) => [s.name, s.wave])).toEqual([['apps', 3], ['databases', 2], ['infrastructure', 1]]);
    const apps = sets.get('apps')!;
    expect(apps.match).toEqual({ vmNameGlob: 'fin-app-*' });
    expect(apps.onDemandRun).toEqual({ token: '2026-03-07-cutover-rehearsal', description: 'Rehearsal run before the cutover weekend' });
    const databases = sets.get('databases')!;
    expect(databases.servers.map((s) => s.selector)).toEqual([
      { kind: 'vmName', vmName: 'fin-db-01', vmManagerName: 'scvmm-dc2.example.com' },
      { kind: 'vmName', vmName: 'fin-db-02', vmPath: '/dc2/fin/fin-db-02' },
    ]);
    expect(effectiveSpec(databases, databases.servers[0]!)).toEqual({
      frequency: 6, seedReplicationTime: 1772920800, licenseType: 'BYOL', roleName: 'sms',
      description: 'Wave 2 (finance database, primary)', encrypted: true, numberOfRecentAmisToKeep: 10,
    });
    expect(jobSetAddress(databases, 's-1a2b3c4d')).toBe('ReplicationJobSet/databases[s-1a2b3c4d]');
    expect(sets.get('infrastructure')!.match).toEqual({ vmManagerName: 'vcenter-dc1.example.com', vmPathPrefix: '/Datacenters/DC1/vm/batch/' });
  });
});

describe('spec.wave', () => {
  const jobIn = (name: string, vm: string, wave?: number) => job(name, `  server: {vmName: ${vm}}\n${wave === undefined ? '' : `  wave: ${wave}\n`}`);

  it('is kept on jobs and job sets, and a job without one is in no wave', () => {
    const set = 'apiVersion: sms-reconcile/v1\nkind: ReplicationJobSet\nmetadata:\n  name: s\nspec:\n  wave: 2\n  match: {vmNameGlob: "a*"}\n';
    const r = check({ 'a.yaml': jobIn('a', 'a', 1), 'b.yaml': jobIn('b', 'b'), 's.yaml': set });
    expect(r.diagnostics).toEqual([]);
    expect(r.desired!.jobs.get('ReplicationJob/a')!.wave).toBe(1);
    expect(r.desired!.jobs.get('ReplicationJob/b')!.wave).toBeUndefined();
    expect(r.desired!.jobSets.get('s')!.wave).toBe(2);
    // A wave is part of the declaration: it changes the digest.
    expect(check({ 'a.yaml': jobIn('a', 'a', 2) }).desired!.digest).not.toBe(check({ 'a.yaml': jobIn('a', 'a', 1) }).desired!.digest);
  });

  it('one server in two waves is SMSR-M054 at both positions, each naming the other file', () => {
    const r = check({ 'one.yaml': jobIn('a', 'db-01', 1), 'two.yaml': jobIn('b', 'db-01', 2) });
    const m054 = r.diagnostics.filter((d) => d.code === 'SMSR-M054');
    expect(m054.map((d) => [d.position.file, d.position.line])).toEqual([['one.yaml', 6], ['two.yaml', 6]]);
    expect(m054[0]!.summary).toContain('two.yaml:6:3');
    expect(m054[1]!.summary).toContain('one.yaml:6:3');
    expect(m054.every((d) => d.severity === 'error')).toBe(true);
    expect(r.desired).toBeUndefined();
    // In the same wave it stays the duplicate-server error (SMSR-M051), once.
    expect(check({ 'one.yaml': jobIn('a', 'db-01', 1), 'two.yaml': jobIn('b', 'db-01', 1) }).diagnostics.map((d) => d.code)).toEqual(['SMSR-M051']);
  });
});

describe('digest', () => {
  const a = job('a', '  server: {vmName: a}\n  frequency: 12\n');
  const b = job('b', '  server: {vmName: b}\n  seedReplicationTime: 2026-03-01T03:00:00+01:00\n');

  it('does not depend on files, order, formatting, comments or fractions of a second', () => {
    const one = check({ 'x.yaml': `${a}---\n${b}` }).desired!.digest;
    const two = check({ 'z.yaml': b, 'y.yaml': a }).desired!.digest;
    const flow = check({
      'j.yaml': `# reformatted\n{apiVersion: sms-reconcile/v1, kind: ReplicationJob, metadata: {name: b}, spec: {seedReplicationTime: "2026-03-01T02:00:00.5Z", server: {vmName: b}}}\n---\n${a}`,
    }).desired!.digest;
    expect(two).toBe(one);
    expect(flow).toBe(one);
  });

  it('changes when a declaration changes', () => {
    const base = check({ 'x.yaml': a }).desired!.digest;
    expect(check({ 'x.yaml': a.replace('frequency: 12', 'frequency: 13') }).desired!.digest).not.toBe(base);
    expect(check({ 'x.yaml': a.replace('name: a', 'name: a2') }).desired!.digest).not.toBe(base);
    expect(check({ 'x.yaml': a + '  lifecycle: {preventDestroy: true}\n' }).desired!.digest).not.toBe(base);
  });

  it('an explicit default is a declaration (managed), so it changes the digest', () => {
    expect(check({ 'x.yaml': a + '  encrypted: false\n' }).desired!.digest).not.toBe(check({ 'x.yaml': a }).desired!.digest);
  });
});

describe('checks across documents and files', () => {
  it('a duplicate address in another file points back at the first', () => {
    const r = check({ 'a.yaml': job('web', '  server: {vmName: a}\n'), 'b.yaml': job('web', '  server: {vmName: b}\n') });
    expect(r.diagnostics.map((d) => [d.code, d.position.file, d.position.line, d.related?.file, d.related?.line])).toEqual([['SMSR-M050', 'b.yaml', 4, 'a.yaml', 4]]);
    expect(r.desired).toBeUndefined();
  });

  it('the same name in two kinds is two addresses', () => {
    const r = check({ 'a.yaml': job('web', '  server: {vmName: a}\n') + `---\n${H}kind: ReplicationJobSet\nmetadata: {name: web}\nspec: {match: {vmNameGlob: "x*"}}\n` });
    expect(r.diagnostics).toEqual([]);
  });

  it('a serverId claimed by a job and by a job set entry', () => {
    const r = check({
      'a.yaml': job('one', '  server: {serverId: s-0000000a}\n'),
      'b.yaml': `${H}kind: ReplicationJobSet\nmetadata: {name: set}\nspec:\n  servers:\n    - server: {serverId: s-0000000b}\n    - server: {serverId: s-0000000a}\n`,
    });
    expect(r.diagnostics.map((d) => [d.code, d.position.file, d.position.line, d.position.column, d.related?.file])).toEqual([['SMSR-M051', 'b.yaml', 7, 7, 'a.yaml']]);
    expect(r.diagnostics[0]!.summary).toBe('ReplicationJobSet/set (spec.servers[1]) selects the same server as ReplicationJob/one (serverId s-0000000a)');
  });

  it('identical vmName selectors collide; differently narrowed ones wait for plan time', () => {
    const same = check({ 'a.yaml': job('one', '  server: {vmName: web-01, vmManagerName: vc}\n'), 'b.yaml': job('two', '  server: {vmManagerName: vc, vmName: web-01}\n') });
    expect(same.diagnostics.map((d) => d.code)).toEqual(['SMSR-M051']);
    const narrowed = check({ 'a.yaml': job('one', '  server: {vmName: web-01}\n'), 'b.yaml': job('two', '  server: {vmName: web-01, vmManagerName: vc}\n') });
    expect(narrowed.diagnostics).toEqual([]);
  });

  it('two catalogs warn, two Connector documents for one connector are an error', () => {
    const cat = (n: string): string => `${H}kind: ServerCatalog\nmetadata: {name: ${n}}\nspec: {imported: true}\n`;
    const con = (n: string): string => `${H}kind: Connector\nmetadata: {name: ${n}}\nspec: {connectorId: c-0123456789abcdef0, associated: false}\n`;
    const r = check({ 'a.yaml': cat('one'), 'b.yaml': cat('two'), 'c.yaml': con('x'), 'd.yaml': con('y') });
    expect(r.diagnostics.map((d) => [d.code, d.severity, d.position.file])).toEqual([
      ['SMSR-M052', 'warning', 'b.yaml'],
      ['SMSR-M053', 'error', 'd.yaml'],
    ]);
  });

  it('warnings alone keep the desired set; any error withholds it', () => {
    const warn = check({ 'a.yaml': job('a', '  server: {vmName: a}\n  runOnce: true\n  frequency: 1\n') });
    expect(warn.summary).toMatchObject({ errors: 0, warnings: 1 });
    expect(warn.desired).toBeDefined();
    const err = check({ 'a.yaml': job('a', '  server: {vmName: a}\n'), 'b.yaml': job('b', '  server: {vmName: b}\n  frequency: 99\n') });
    expect(err.desired).toBeUndefined();
  });

  it('a timestamp the schema accepts but the service cannot hold is reported by normalize', () => {
    const r = check({ 'a.yaml': job('a', '  server: {vmName: a}\n  nextReplicationRunStartTime: 1960-01-01T00:00:00Z\n') });
    expect(r.diagnostics.map((d) => [d.code, d.position.line, d.position.column, d.position.pointer])).toEqual([['SMSR-M036', 7, 32, '/spec/nextReplicationRunStartTime']]);
  });
});

describe('createDesiredSet', () => {
  it('refuses two entries with one key: an internal error, never a silent overwrite', () => {
    const source = { file: 'f', line: 1, column: 1 };
    const j: DesiredJob = { address: 'ReplicationJob/a', name: 'a', selector: { kind: 'serverId', serverId: 's-1' }, spec: {}, lifecycle: { preventDestroy: false }, source, selectorSource: source };
    let caught: unknown;
    try {
      createDesiredSet({ jobs: [j, j], jobSets: [], catalogs: [], connectors: [] });
    } catch (err) {
      caught = err;
    }
    expect(isSmsReconcileError(caught) && caught.source === 'internal').toBe(true);
  });

  it('as steps, yields while it hashes a large set, and gives the same set and digest', () => {
    const source = { file: 'f', line: 1, column: 1 };
    const jobs: DesiredJob[] = Array.from({ length: 1_200 }, (_, i) => ({
      address: `ReplicationJob/j-${i}`,
      name: `j-${i}`,
      selector: { kind: 'vmName', vmName: `vm-${i}` },
      spec: { frequency: 12 },
      lifecycle: { preventDestroy: false },
      source,
      selectorSource: source,
    }));
    const parts = { jobs, jobSets: [], catalogs: [], connectors: [] };
    const steps = createDesiredSetStepwise(parts);
    let yields = 0;
    let step = steps.next();
    for (; step.done !== true; step = steps.next()) yields++;
    expect(yields).toBe(2); // 1,200 jobs: a yield after each 500 hashed
    const once = createDesiredSet(parts);
    expect(step.value.digest).toBe(once.digest);
    expect([...step.value.jobs.keys()]).toEqual([...once.jobs.keys()]);
  });
});

describe('canonical form', () => {
  it('the digest is the sha256 of the canonical JSON of the set', async () => {
    const { createHash } = await import('node:crypto');
    const { canonicalJson } = await import('../../src/model/desired.ts');
    const r = check({ 'a.yaml': job('b', '  server: {vmName: b}\n  frequency: 2\n') + '---\n' + job('a', '  server: {serverId: s-0000000a}\n') });
    const d = r.desired!;
    const parts = { v: 1, jobs: [...d.jobs.values()], jobSets: [...d.jobSets.values()], catalogs: [...d.catalogs.values()], connectors: [...d.connectors.values()] };
    expect(d.digest).toBe(createHash('sha256').update(canonicalJson(parts)).digest('hex'));
    expect(canonicalJson({ b: 1, a: [{ d: undefined, c: 'x', source: { file: 'f' } }] })).toBe('{"a":[{"c":"x"}],"b":1}');
  });
});
