/**
 * The bundle validates with Ajv standalone code generated at build time (src/precompile.ts,
 * scripts/build.mjs); the sources compile the same schemas at run time (model/json-schema.ts).
 * Both must give the same verdict and the same errors - every diagnostic of `validate` is built
 * from those errors. Checked here on every fixture and example document and on mutated ones, for
 * the manifest, state and inventory validator sets.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lazyValidators, type ValidatorSet } from '../../src/model/json-schema.ts';
import { standaloneValidators, VALIDATOR_SETS } from '../../src/precompile.ts';
import { mulberry32 } from '../helpers/random.ts';
import { REPO_ROOT } from '../helpers/repo-copy.ts';
import type { PendingIntent } from '../../src/state/codec.ts';
import { stateWith } from '../helpers/state-fixtures.ts';
import { yamlFiles } from '../helpers/yaml-files.ts';

function yamlValues(files: readonly string[]): unknown[] {
  const out: unknown[] = [];
  for (const f of files) {
    for (const doc of parseAllDocuments(readFileSync(f, 'utf8'))) {
      if (!('errors' in doc) || doc.errors.length > 0) continue;
      try {
        out.push(doc.toJS({ maxAliasCount: 100 }));
      } catch {
        // an alias bomb or the like: not a document the validator ever sees
      }
    }
  }
  return out;
}

/** Variants of `value` with one member changed: removed, of another type, or an unknown key added. */
function mutations(value: unknown, rng: () => number, count: number): unknown[] {
  const out: unknown[] = [];
  const replacements: unknown[] = [null, 7, -1, 'x', '', true, [], {}, 1.5, '2026-13-45T00:00:00Z'];
  for (let i = 0; i < count; i++) {
    const copy = structuredClone(value);
    const paths: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
    const walk = (v: unknown): void => {
      if (typeof v !== 'object' || v === null) return;
      for (const [k, item] of Object.entries(v)) {
        paths.push({ parent: v as Record<string, unknown> | unknown[], key: Array.isArray(v) ? Number(k) : k });
        walk(item);
      }
    };
    walk(copy);
    const at = paths[Math.floor(rng() * paths.length)];
    if (at === undefined) continue;
    const target = at.parent as Record<string | number, unknown>;
    const what = rng();
    if (what < 0.3 && !Array.isArray(at.parent)) delete target[at.key];
    else if (what < 0.85) target[at.key] = replacements[Math.floor(rng() * replacements.length)];
    else if (!Array.isArray(at.parent)) target[`unknownKey${i}`] = 1;
    out.push(copy);
  }
  return out;
}

let dir: string;
const precompiled = new Map<string, Record<string, ValidateFunction>>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'smsr-precompiled-'));
  // The generated code requires Ajv's runtime helpers, as the bundle does: resolve them from the repo.
  const banner = `import { createRequire } from 'node:module'; const require = createRequire(${JSON.stringify(join(REPO_ROOT, 'package.json'))});\n`;
  for (const [name, code] of Object.entries(standaloneValidators())) {
    const file = join(dir, `${name}.mjs`);
    writeFileSync(file, banner + code);
    precompiled.set(name, (await import(pathToFileURL(file).href)) as Record<string, ValidateFunction>);
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function setNamed(name: string): ValidatorSet<string> {
  const set = VALIDATOR_SETS.find((s) => s.name === name);
  if (set === undefined) throw new Error(`no validator set ${name}`);
  return set;
}

/** Runs both validators of `name`/`key` over `values`; returns how many values each verdict had. */
function compare(name: string, key: string, values: readonly unknown[]): { valid: number; invalid: number } {
  const runtime = lazyValidators(setNamed(name))()[key];
  const standalone = precompiled.get(name)?.[key];
  if (runtime === undefined || standalone === undefined) throw new Error(`no validator ${name}.${key}`);
  let valid = 0;
  let invalid = 0;
  for (const value of values) {
    const a = runtime(value);
    const aErrors = structuredClone(runtime.errors ?? null);
    const b = standalone(value);
    expect({ valid: b, errors: standalone.errors ?? null }, JSON.stringify(value).slice(0, 300)).toEqual({ valid: a, errors: aErrors });
    if (a) valid++;
    else invalid++;
  }
  return { valid, invalid };
}

describe('precompiled validators', () => {
  it('exist for every validator set, one per ref', () => {
    for (const set of VALIDATOR_SETS) expect(Object.keys(precompiled.get(set.name) ?? {}).sort()).toEqual(Object.keys(set.refs).sort());
  });

  it('manifest: the same verdict and errors on every fixture and example document, and on 2,000 mutations', () => {
    const docs = yamlValues([...yamlFiles(join(REPO_ROOT, 'test/fixtures/manifests')), ...yamlFiles(join(REPO_ROOT, 'examples'))]);
    const rng = mulberry32(20261126);
    const mutated = docs.flatMap((d) => mutations(d, rng, Math.ceil(2000 / docs.length)));
    const counts = compare('manifest', 'document', [...docs, ...mutated]);
    expect(counts.valid).toBeGreaterThan(20);
    expect(counts.invalid).toBeGreaterThan(500);
  });

  it('state: the same verdict and errors on a state, its records and intents, and their mutations', () => {
    const intent: PendingIntent = {
      id: '00000000-0000-4000-8000-000000000001',
      serial: 20,
      recordedAt: '2026-11-26T00:00:00Z',
      operation: 'CreateReplicationJob',
      address: 'ReplicationJob/web-01',
      serverId: 's-0000abcd',
      spec: { frequency: 12, licenseType: 'AWS' },
    };
    const doc = stateWith(20, { pending: [intent] });
    const rng = mulberry32(7);
    const counts = compare('state', 'document', [doc, ...mutations(doc, rng, 400)]);
    expect(counts.valid).toBeGreaterThan(0);
    expect(counts.invalid).toBeGreaterThan(100);
    const records = Object.values(doc.resources);
    const r = compare('state', 'resource', [...records, ...records.flatMap((rec) => mutations(rec, rng, 10))]);
    expect(r.invalid).toBeGreaterThan(50);
    const t = compare('state', 'target', [doc.target, ...mutations(doc.target, rng, 50)]);
    expect(t.invalid).toBeGreaterThan(10);
    const i = compare('state', 'intent', [intent, ...mutations(intent, rng, 100)]);
    expect(i.valid).toBeGreaterThan(0);
    expect(i.invalid).toBeGreaterThan(30);
  });

  it('inventory: the same verdict and errors on the demo inventory and its mutations', () => {
    const [inventory] = yamlValues([join(REPO_ROOT, 'examples/inventory.yaml')]);
    const counts = compare('inventory', 'inventory', [inventory, ...mutations(inventory, mulberry32(3), 400)]);
    expect(counts.valid).toBeGreaterThan(0);
    expect(counts.invalid).toBeGreaterThan(100);
  });
});
