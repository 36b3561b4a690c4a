/**
 * GitOps at estate scale, end to end (issue 23): the real CLI as a subprocess against the embedded
 * server (in-process, manual clock) through --endpoint-url. Manifests piped in with `-f -` (alone,
 * mixed with paths, broken, empty, from a terminal), `apply -f -` and saved plans made from stdin,
 * and the usage errors of --max-chars, --split and --omit-unchanged.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { awsEnv, collector, runCli, show, type CliResult } from '../helpers/cli.ts';
import { APPS, CATALOG, doc, web } from '../helpers/manifest-docs.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { allJobs, importCatalog } from '../helpers/sms-world.ts';


let a: TestServer;
let dir: string;
let env: NodeJS.ProcessEnv;
let state: string;

const cli = (args: readonly string[], input?: string): Promise<CliResult> =>
  runCli([...args, '--endpoint-url', a.server.url, '--state', state], { cwd: dir, env, input });
/** The issue's own pipeline: every file of m/, each after a `---` line. */
const stream = (): string => execFileSync('bash', ['-c', 'for f in m/*.yaml; do echo ---; cat "$f"; done'], { cwd: dir, encoding: 'utf8' });

/** The JSON plan without what differs between two runs or two sources: the time and the positions. */
function comparable(r: CliResult): unknown {
  expect(r.code, show(r)).toBe(0);
  const json = JSON.parse(r.stdout) as { createdAt?: string; changes: { source: unknown; manifestRoot?: string }[]; warnings: { source: unknown }[] };
  delete json.createdAt;
  // Where each change came from differs by design: the directory, or <stdin> (its -f root).
  for (const c of json.changes) {
    c.source = null;
    delete c.manifestRoot;
  }
  for (const w of json.warnings) w.source = null;
  return json;
}

beforeAll(async () => {
  a = await startTestServer();
  await importCatalog(a);
  dir = mkdtempSync(join(tmpdir(), 'sms-plan-stdin-'));
  mkdirSync(join(dir, 'm'));
  writeFileSync(join(dir, 'm/apps.yaml'), APPS);
  writeFileSync(join(dir, 'm/catalog.yaml'), CATALOG);
  writeFileSync(join(dir, 'm/web.yaml'), web(12));
  env = awsEnv(join(dir, '.aws'), a.server.credentials);
  state = join(dir, 'state.json');
});

afterAll(async () => {
  await a?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('-f - reads a YAML stream from stdin', () => {
  it('`for f in m/*.yaml; do echo ---; cat "$f"; done | plan -f -` gives the same plan as `-f m`, and so does `-f m/catalog.yaml -f -`', async () => {
    const fromDir = await cli(['plan', '-f', 'm', '--format', 'json']);
    const piped = await cli(['plan', '-f', '-', '--format', 'json'], stream());
    expect(comparable(piped)).toEqual(comparable(fromDir));
    const source = (JSON.parse(piped.stdout) as { changes: { address: string; source: { file: string } | null }[] }).changes.find((c) => c.address === 'ReplicationJob/web-01')?.source;
    expect(source?.file).toBe('<stdin>');
    const roots = (JSON.parse(piped.stdout) as { changes: { manifestRoot?: string }[] }).changes.map((c) => c.manifestRoot);
    expect(new Set(roots)).toEqual(new Set(['<stdin>']));
    const mixed = await cli(['plan', '-f', 'm/catalog.yaml', '-f', '-', '--format', 'json'], `${web(12)}---\n${APPS}`);
    expect(comparable(mixed)).toEqual(comparable(fromDir));
    const text = await cli(['plan', '-f', '-'], stream());
    expect(text.code, show(text)).toBe(0);
    expect(text.stdout).toMatch(/Plan: 3 to create/);
  });

  it('a broken stream: every error at once, at <stdin>:line:column, exit 1, nothing planned', async () => {
    const broken = `${CATALOG}---\n${web(12).replace('frequency: 12', 'frequency: twelve')}---\n${APPS.replace('licenseType: BYOL', 'licenceType: BYOL')}`;
    for (const command of ['plan', 'validate']) {
      const r = await cli([command, '-f', '-'], broken);
      expect(r.code, show(r)).toBe(1);
      const out = command === 'plan' ? r.stderr : r.stdout;
      expect(out).toMatch(/^<stdin>:16:14: error SMSR-M032: spec\.frequency/m);
      expect(out).toMatch(/^<stdin>:26:5: error SMSR-M030: .*licenceType/m);
    }
    const syntax = await cli(['validate', '-f', '-'], `${CATALOG}---\nkind: [ReplicationJob\n`);
    expect(syntax.code, show(syntax)).toBe(1);
    expect(syntax.stdout).toMatch(/^<stdin>:\d+:\d+: error SMSR-M010: YAML syntax error/m);
  });

  it('an empty stream is an error that says so', async () => {
    const r = await cli(['plan', '-f', '-'], '');
    expect(r.code, show(r)).toBe(1);
    expect(r.stderr).toContain('<stdin>: error SMSR-M006: -f - read an empty stream: nothing was piped in');
    expect(existsSync(state)).toBe(false);
  });

  it('a terminal on stdin is refused at once, without waiting for input', async () => {
    const tty = Object.assign(new PassThrough(), { isTTY: true }); // never ended: a read would wait for ever
    const out = collector();
    const err = collector();
    const code = await main(['validate', '-f', '-'], { stdout: out.stream, stderr: err.stream, stdin: tty, env: { NO_COLOR: '1' }, cwd: dir });
    expect(code).toBe(1);
    expect(out.text()).toContain('<stdin>: error SMSR-M006: -f - reads a pipe, but stdin is a terminal');
  });

  it('apply -f - needs --auto-approve (stdin is taken); with it, it applies', async () => {
    const refused = await cli(['apply', '-f', '-'], stream());
    expect(refused.code, show(refused)).toBe(1);
    expect(refused.stderr).toContain('Error [approval-needed]: apply -f - reads the manifests from stdin');
    expect(refused.stderr).toContain('--auto-approve');
    expect(await allJobs(a)).toHaveLength(0);
    const done = await cli(['apply', '-f', '-', '--auto-approve'], stream());
    expect(done.code, show(done)).toBe(0);
    expect(done.stdout).toMatch(/Apply complete: 3 created/);
  });

  it('a plan saved from stdin is stale against another stream, and applies with the same one', async () => {
    writeFileSync(join(dir, 'm/web.yaml'), web(6));
    const p = await cli(['plan', '-f', '-', '--out', 'stdin.plan'], stream());
    expect(p.code, show(p)).toBe(0);
    expect((JSON.parse(readFileSync(join(dir, 'stdin.plan'), 'utf8')) as { manifestPaths: string[] }).manifestPaths).toEqual(['-']);

    const noApproval = await cli(['apply', 'stdin.plan'], stream());
    expect(noApproval.code, show(noApproval)).toBe(1);
    expect(noApproval.stderr).toContain('Error [approval-needed]');

    const other = await cli(['apply', 'stdin.plan', '--auto-approve'], stream().replace('frequency: 6', 'frequency: 8'));
    expect(other.code, show(other)).toBe(1);
    expect(other.stderr).toContain('  - the manifests changed since the plan (their digest differs)\n');
    expect(other.stderr).toContain('Error [plan-stale]');

    const same = await cli(['apply', 'stdin.plan', '--auto-approve'], stream());
    expect(same.code, show(same)).toBe(0);
    expect(same.stdout).toMatch(/Apply complete: 0 created, 1 updated/);
  });
});

describe('usage errors of the estate-scale flags: exit 1, nothing written', () => {
  it('--max-chars below what the heading needs names the minimum', async () => {
    const r = await cli(['plan', '-f', 'm', '--format', 'markdown', '--max-chars', '200', '--out', 'small.plan']);
    expect(r.code, show(r)).toBe(1);
    const minimum = Number(/at least (\d+)/.exec(r.stderr)?.[1]);
    expect(r.stderr).toContain(`Error [bad-max-chars]: --max-chars 200 is below what this plan's heading needs: at least ${minimum}`);
    expect(minimum).toBeGreaterThan(200);
    expect(existsSync(join(dir, 'small.plan'))).toBe(false);
    const ok = await cli(['plan', '-f', 'm', '--format', 'markdown', '--max-chars', String(minimum)]);
    expect(ok.code, show(ok)).toBe(0);
    for (const bad of [['--max-chars', '-5'], ['--max-chars', 'lots']]) {
      const b = await cli(['plan', '-f', 'm', '--format', 'markdown', ...bad]);
      expect(b.code, show(b)).toBe(1);
      expect(b.stderr).toContain('Error [bad-max-chars]');
    }
  });

  it('--max-chars and --split need --format markdown; --omit-unchanged needs --format json', async () => {
    for (const [args, message] of [
      [['--max-chars', '1000'], '--max-chars applies to --format markdown'],
      [['--split', 'parts'], '--split applies to --format markdown'],
      [['--omit-unchanged', '--format', 'markdown'], '--omit-unchanged applies to --format json'],
    ] as const) {
      const r = await cli(['plan', '-f', 'm', ...args]);
      expect(r.code, show(r)).toBe(1);
      expect(r.stderr).toContain(`Error [bad-flag]: ${message}`);
    }
    const json = await cli(['plan', '-f', 'm', '--format', 'json', '--omit-unchanged']);
    expect(json.code, show(json)).toBe(0);
    const plan = JSON.parse(json.stdout) as { summary: Record<string, number>; changes: { action: string }[] };
    expect(plan.summary['no-op']).toBeGreaterThan(0);
    expect(plan.changes.some((c) => c.action === 'no-op')).toBe(false);
  });

  it('--split writes plan-N.md and prints their paths; it refuses to replace a plan-N.md it did not write, and leaves other files alone', async () => {
    mkdirSync(join(dir, 'parts'));
    writeFileSync(join(dir, 'parts/notes.txt'), 'mine');
    writeFileSync(join(dir, 'parts/plan-1.md'), 'my own notes\n');
    const refused = await cli(['plan', '-f', 'm', '--format', 'markdown', '--split', 'parts']);
    expect(refused.code, show(refused)).toBe(1);
    expect(refused.stderr).toContain('Error [split-dir-foreign]: --split');
    expect(refused.stderr).toContain('plan-1.md was not written by sms-reconcile; refusing to replace it');
    expect(readFileSync(join(dir, 'parts/plan-1.md'), 'utf8')).toBe('my own notes\n');

    rmSync(join(dir, 'parts/plan-1.md'));
    // Every VM of the demo inventory, planned against a state of its own: 40 rows and their diff.
    writeFileSync(join(dir, 'everything.yaml'), doc('ReplicationJobSet', 'everything', '  template:\n    frequency: 24\n  match:\n    vmNameGlob: "*"\n'));
    const split = (maxChars: string) =>
      runCli(['plan', '-f', 'everything.yaml', '--format', 'markdown', '--split', 'parts', '--max-chars', maxChars, '--endpoint-url', a.server.url, '--state', join(dir, 'other-state.json')], { cwd: dir, env });
    const small = await split('3000');
    expect(small.code, show(small)).toBe(0);
    const files = small.stdout.trim().split('\n');
    expect(files.length).toBeGreaterThan(1);
    expect(files).toEqual(files.map((_, i) => `parts/plan-${i + 1}.md`));
    expect(readFileSync(join(dir, files[0]!), 'utf8')).toContain(`Part 1 of ${files.length}.`);
    // Again, unbounded: one part; the earlier parts, which it wrote, are replaced and removed.
    for (const f of files) expect([...readFileSync(join(dir, f), 'utf8')].length).toBeLessThanOrEqual(3000);
    const again = await split('0');
    expect(again.code, show(again)).toBe(0);
    expect(again.stdout).toBe('parts/plan-1.md\n');
    expect(existsSync(join(dir, 'parts/plan-2.md'))).toBe(false);
    expect(readFileSync(join(dir, 'parts/notes.txt'), 'utf8')).toBe('mine');
  });
});
