// Round trips: every valid example parses and normalizes deterministically, and the normalized form,
// written back as manifests, normalizes to the same DesiredSet. Then the same properties over
// randomly generated manifest sets (seeded, so a failure reproduces).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { checkManifests } from '../../src/manifest/check.ts';
import type { ManifestDocument } from '../../src/manifest/document.ts';
import { desiredToDocuments } from '../../src/manifest/normalize.ts';
import type { ManifestSource } from '../../src/manifest/parse.ts';
import { formatRfc3339 } from '../../src/manifest/timestamp.ts';
import { canonicalJson, type DesiredSet } from '../../src/model/desired.ts';
import { mulberry32 as rng } from '../helpers/random.ts';
import { yamlFiles } from '../helpers/yaml-files.ts';

const repo = path.resolve(import.meta.dirname, '../..');
const MODELINE = /^# yaml-language-server: \$schema=(\S+)$/m;

/** The example files that declare the manifest schema (examples/inventory.yaml is the server's). */
function exampleSets(): Map<string, string[]> {
  const sets = new Map<string, string[]>();
  for (const file of yamlFiles(path.join(repo, 'examples'))) {
    const m = MODELINE.exec(readFileSync(file, 'utf8'));
    if (!m || !m[1]!.endsWith('manifest.v1.schema.json')) continue;
    const dir = path.dirname(file);
    sets.set(dir, [...(sets.get(dir) ?? []), file]);
  }
  return sets;
}

const sourcesOf = (files: string[]): ManifestSource[] => files.map((f) => ({ file: path.relative(repo, f), content: readFileSync(f) }));
const asYaml = (docs: ManifestDocument[]): string => docs.map((d) => stringify(d)).join('---\n');
/** The set as data, without source positions: what plan sees. */
const shape = (d: DesiredSet): string => canonicalJson({ jobs: [...d.jobs.values()], jobSets: [...d.jobSets.values()], catalogs: [...d.catalogs.values()], connectors: [...d.connectors.values()] });

function roundTrip(sources: ManifestSource[]): void {
  const first = checkManifests(sources);
  expect(first.diagnostics).toEqual([]);
  const again = checkManifests(sources);
  expect(again.desired!.digest).toBe(first.desired!.digest);
  const written = asYaml(desiredToDocuments(first.desired!));
  const second = checkManifests([{ file: 'normalized.yaml', content: written }]);
  expect(second.diagnostics).toEqual([]);
  expect(second.desired!.digest).toBe(first.desired!.digest);
  expect(shape(second.desired!)).toBe(shape(first.desired!));
  // A fixpoint: writing the second set gives the same text.
  expect(asYaml(desiredToDocuments(second.desired!))).toBe(written);
}

describe('examples', () => {
  const sets = exampleSets();

  it('quickstart and waves are there, and every file in them declares the manifest schema', () => {
    const dirs = [...sets.keys()].map((d) => path.relative(repo, d));
    expect(dirs).toEqual(expect.arrayContaining(['examples/quickstart', 'examples/waves']));
    for (const dir of ['examples/quickstart', 'examples/waves']) {
      for (const f of yamlFiles(path.join(repo, dir))) {
        const first = readFileSync(f, 'utf8').split('\n')[0];
        expect(first, f).toBe('# yaml-language-server: $schema=../../schemas/manifest.v1.schema.json');
      }
    }
  });

  for (const [dir, files] of exampleSets()) {
    it(`${path.relative(repo, dir)} round-trips parse -> normalize deterministically`, () => roundTrip(sourcesOf(files)));
  }

  it('each valid fixture round-trips too', () => {
    for (const f of yamlFiles(path.join(repo, 'test/fixtures/manifests/valid'))) roundTrip(sourcesOf([f]));
  });
});


function generate(seed: number): ManifestDocument[] {
  const r = rng(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)] as T;
  const maybe = (p = 0.5): boolean => r() < p;
  const time = (): string => {
    const s = formatRfc3339(int(0, 4_000_000_000));
    return maybe(0.3) ? s.replace('Z', '.250Z') : s;
  };
  const fields = (): Record<string, unknown> => {
    const f: Record<string, unknown> = {};
    if (maybe()) f['frequency'] = int(1, 24);
    if (maybe(0.2)) f['runOnce'] = maybe();
    if (maybe()) f['seedReplicationTime'] = time();
    if (maybe(0.3)) f['nextReplicationRunStartTime'] = time();
    if (maybe()) f['licenseType'] = pick(['AWS', 'BYOL']);
    if (maybe()) f['roleName'] = pick(['sms', 'sms-role', 'role.x@y']);
    if (maybe()) f['description'] = pick(['', 'a job', 'multi\nline', 'quotes " and : colons']);
    if (maybe()) f['numberOfRecentAmisToKeep'] = int(0, 270);
    if (maybe(0.3)) f['encrypted'] = true;
    if (maybe(0.2)) f['kmsKeyId'] = 'alias/k';
    return f;
  };
  let serverN = 0;
  const selector = (): Record<string, string> => {
    serverN++;
    switch (int(0, 2)) {
      case 0:
        return { serverId: `s-${(0x10000000 + seed * 1000 + serverN).toString(16)}` };
      case 1:
        return { vmId: `vm-${seed}-${serverN}`, vmManagerId: pick(['m-1', 'm-2']) };
      default:
        return { vmName: `vm-${seed}-${serverN}`, ...(maybe() ? { vmManagerName: 'vc' } : {}), ...(maybe() ? { vmPath: `/p/${serverN}` } : {}) };
    }
  };
  const extras = (): Record<string, unknown> => ({
    ...(maybe(0.3) ? { onDemandRun: maybe() ? { token: `t${int(0, 9)}` } : { token: 'x', description: 'd' } } : {}),
    ...(maybe(0.3) ? { lifecycle: { preventDestroy: maybe() } } : {}),
  });
  const docs: ManifestDocument[] = [];
  const n = int(1, 8);
  for (let i = 0; i < n; i++) {
    const name = `r${seed}-${i}`;
    switch (int(0, 3)) {
      case 0:
        docs.push({ apiVersion: 'sms-reconcile/v1', kind: 'ServerCatalog', metadata: { name }, spec: { imported: true, ...(maybe() ? { maxAgeHours: int(1, 99) } : {}) } });
        break;
      case 1:
        docs.push({ apiVersion: 'sms-reconcile/v1', kind: 'Connector', metadata: { name }, spec: { connectorId: `c-${(seed * 100 + i).toString(16).padStart(17, '0')}`, associated: false } });
        break;
      case 2:
        docs.push({ apiVersion: 'sms-reconcile/v1', kind: 'ReplicationJob', metadata: { name }, spec: { server: selector(), ...fields(), ...extras() } } as ManifestDocument);
        break;
      default: {
        const servers = maybe(0.7) ? Array.from({ length: int(1, 4) }, () => ({ server: selector(), ...(maybe() ? fields() : {}) })) : undefined;
        const match = servers === undefined || maybe() ? { vmNameGlob: `app-${i}-*` } : undefined;
        docs.push({
          apiVersion: 'sms-reconcile/v1', kind: 'ReplicationJobSet', metadata: { name },
          spec: { ...(maybe() ? { template: fields() } : {}), ...(servers ? { servers } : {}), ...(match ? { match } : {}), ...extras() },
        } as ManifestDocument);
      }
    }
  }
  return docs;
}

describe('generated manifest sets', () => {
  it('round-trip, and do not depend on document order, file split or YAML style', () => {
    for (let seed = 1; seed <= 150; seed++) {
      const docs = generate(seed);
      const block = asYaml(docs);
      const base = checkManifests([{ file: 'g.yaml', content: block }]);
      // Generated sets are valid up to warnings (runOnce with frequency, kmsKeyId without encryption).
      expect(base.summary.errors, `seed ${seed}: ${JSON.stringify(base.diagnostics)}`).toBe(0);
      const digest = base.desired!.digest;
      const reversed = [...docs].reverse();
      const split = reversed.map((d, i) => ({ file: `f${i}.yaml`, content: stringify(d, { collectionStyle: 'flow' }) }));
      expect(checkManifests(split).desired!.digest, `seed ${seed}`).toBe(digest);
      const written = asYaml(desiredToDocuments(base.desired!));
      const again = checkManifests([{ file: 'n.yaml', content: written }]);
      expect(again.desired!.digest, `seed ${seed}`).toBe(digest);
      expect(shape(again.desired!)).toBe(shape(base.desired!));
    }
  });
});
