// The docs that scripts and users rely on stay true: the README's first lines, its CLI reference
// (each command's --help), the version in package.json, the CLI and CHANGELOG.md.
import { readdirSync, readFileSync } from 'node:fs';
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

describe('README Troubleshooting', () => {
  /** Every source file of src/, concatenated. */
  const sources = (function all(dir: string): string[] {
    return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? all(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [readFileSync(path.join(dir, e.name), 'utf8')] : []));
  })(path.join(root, 'src')).join('\n');

  it('names only error codes the code reports (sms-<code>: an SMS client or service error code)', () => {
    const section = /\n## Troubleshooting\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? '';
    const codes = [...section.matchAll(/^- (.*?):/gm)].flatMap((m) => [...(m[1] ?? '').matchAll(/`([A-Za-z-]+)`/g)].map((c) => c[1] ?? ''));
    expect(codes.length).toBeGreaterThan(6);
    const found = (re: RegExp) => new Set([...sources.matchAll(re)].map((m) => m[1] ?? ''));
    // What an SMS call fails with: the client's own codes and the service's; shown as `sms-<code>` (src/sms/errors.ts).
    const apiCodes = found(/new SmsApiError\([^,]+,\s*'([^']+)'/g);
    for (const c of found(/new ApiError\('([^']+)'/g)) apiCodes.add(c);
    // Every other error and plan problem code, shown as it is.
    const plainCodes = found(/(?:userError|stateError|planError|new SmsReconcileError)\(\s*'([^']+)'/g);
    for (const line of sources.split('\n').filter((l) => /\bcode: /.test(l))) for (const m of line.matchAll(/'([a-z]+(?:-[a-z]+)+)'/g)) plainCodes.add(m[1] ?? '');
    expect(apiCodes).toContain('endpoint-unreachable');
    for (const code of codes) {
      if (code.startsWith('sms-')) expect(apiCodes, code).toContain(code.slice('sms-'.length));
      else expect(plainCodes, code).toContain(code);
    }
  });
});

describe('version', () => {
  it('package.json, the CLI and CHANGELOG.md agree', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
    expect(readFileSync(path.join(root, 'CHANGELOG.md'), 'utf8')).toMatch(new RegExp(`^## ${VERSION.replace(/\./g, '\\.')} - \\d{4}-\\d{2}-\\d{2}$`, 'm'));
  });
});
