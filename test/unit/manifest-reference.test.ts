// The README's manifest reference is what the generator makes of the schema: the docs cannot drift.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DIAGNOSTIC_CODES } from '../../src/manifest/diagnostics.ts';
import { extractManifestReference, renderManifestReference, withManifestReference } from '../../src/manifest/reference.ts';
import { MANIFEST_KINDS } from '../../src/model/address.ts';
import { FIELD_POLICY, POLICY_FIELDS } from '../../src/model/field-policy.ts';
import { JOB_SPEC_FIELDS } from '../../src/model/job.ts';

const readme = readFileSync(path.resolve(import.meta.dirname, '../../README.md'), 'utf8');

describe('manifest reference', () => {
  it('README.md holds exactly the generated reference (regenerate: node --import tsx scripts/gen-manifest-reference.ts)', () => {
    expect(extractManifestReference(readme)).toBe(renderManifestReference());
    expect(withManifestReference(readme)).toBe(readme);
  });

  it('documents every kind, every job field with its policy, and every diagnostic code', () => {
    const ref = renderManifestReference();
    for (const kind of MANIFEST_KINDS) expect(ref).toContain(`### kind: ${kind}`);
    for (const f of JOB_SPEC_FIELDS) expect(ref).toMatch(new RegExp(`^\\| \`${f}\` \\| [^\\n]*\\| ${FIELD_POLICY[f].policy} \\|`, 'm'));
    expect(POLICY_FIELDS.length).toBe(JOB_SPEC_FIELDS.length + 1);
    for (const code of Object.keys(DIAGNOSTIC_CODES)) expect(ref).toContain(`| ${code} |`);
  });

  it('is deterministic, and replaces only the text between the markers', () => {
    expect(renderManifestReference()).toBe(renderManifestReference());
    const doc = 'before\n<!-- BEGIN manifest-reference -->\nold\n<!-- END manifest-reference -->\nafter\n';
    const out = withManifestReference(doc);
    expect(out.startsWith('before\n<!-- BEGIN manifest-reference -->\n')).toBe(true);
    expect(out.endsWith('\n<!-- END manifest-reference -->\nafter\n')).toBe(true);
    expect(extractManifestReference(out)).toBe(renderManifestReference());
    expect(withManifestReference('no markers')).toBe('no markers');
  });
});
