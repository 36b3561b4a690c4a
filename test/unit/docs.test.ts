// The docs that scripts and users rely on stay true: the README's first lines, its CLI reference
// (each command's --help), the version in package.json, the CLI and CHANGELOG.md.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderCliReference } from '../../src/cli/reference.ts';
import { VERSION } from '../../src/cli/version.ts';
import { extractSection } from '../../src/report/doc-sections.ts';

const root = path.resolve(import.meta.dirname, '../..');
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');

describe('README', () => {
  it('starts with exactly the two fresh-machine commands: the main job and the tests', () => {
    const lines = readme.split('\n');
    expect(lines[0]).toBe('# sms-reconcile');
    const fence = lines.indexOf('```sh');
    expect(fence).toBe(2);
    const block = lines.slice(fence + 1, lines.indexOf('```', fence + 1));
    expect(block).toHaveLength(2);
    expect(block[0]).toMatch(/^npm ci && npx sms-reconcile plan -f examples\/quickstart && npx sms-reconcile apply -f examples\/quickstart --auto-approve.*# main job$/);
    expect(block[1]).toMatch(/^npm ci && npm test\s+# tests$/);
  });

  it('holds the CLI reference exactly as --help prints it (regenerate: node --import tsx scripts/gen-cli-reference.ts)', async () => {
    const reference = await renderCliReference();
    expect(extractSection(readme, 'cli-reference')).toBe(reference);
    for (const cmd of ['validate', 'plan', 'apply', 'status', 'import', 'export', 'state', 'state list', 'state show', 'state rm', 'state pull', 'state push', 'state migrate', 'force-unlock', 'server']) {
      expect(reference).toContain(`### sms-reconcile ${cmd}\n`);
    }
  });

  it('every command --help has examples', async () => {
    const reference = await renderCliReference();
    const sections = reference.split('### ').filter((s) => s.startsWith('sms-reconcile '));
    for (const s of sections) expect(s, s.split('\n')[0]).toMatch(/Examples?:/);
  });
});

describe('version', () => {
  it('package.json, the CLI and CHANGELOG.md agree', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
    expect(readFileSync(path.join(root, 'CHANGELOG.md'), 'utf8')).toMatch(new RegExp(`^## ${VERSION.replace(/\./g, '\\.')} - \\d{4}-\\d{2}-\\d{2}$`, 'm'));
  });
});
