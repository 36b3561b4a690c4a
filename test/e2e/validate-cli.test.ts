// `sms-reconcile validate` as a user runs it: the real CLI in a subprocess, in a scratch working
// directory that must be left exactly as it was (offline, no state, nothing written).
import { spawn } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = path.resolve(import.meta.dirname, '../..');
const bin = path.join(repo, 'bin', 'sms-reconcile.mjs');
let work: string;
let home: string;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, AWS_ENDPOINT_URL_SMS: 'http://127.0.0.1:9/unreachable' };
    delete env['NO_COLOR'];
    delete env['FORCE_COLOR'];
    const child = spawn(process.execPath, [bin, ...args], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function listing(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = path.join(d, name);
      const s = statSync(p);
      out.push(`${path.relative(dir, p)} ${s.isDirectory() ? 'dir' : `${s.size} ${s.mtimeMs}`}`);
      if (s.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

let before: string[];
let homeBefore: string[];

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'smsr-e2e-'));
  home = mkdtempSync(path.join(tmpdir(), 'smsr-home-'));
  cpSync(path.join(repo, 'examples', 'quickstart'), path.join(work, 'manifests'), { recursive: true });
  mkdirSync(path.join(work, 'more'));
  copyFileSync(path.join(repo, 'test/fixtures/manifests/invalid/frequency-fractional.yaml'), path.join(work, 'more', 'bad.yaml'));
  copyFileSync(path.join(repo, 'test/fixtures/manifests/invalid/warning-kms-without-encryption.yaml'), path.join(work, 'more', 'warn.yaml'));
  copyFileSync(path.join(repo, 'test/fixtures/manifests/invalid/many-errors.yaml'), path.join(work, 'more', 'many.yaml'));
  before = listing(work);
  homeBefore = listing(home);
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
});

describe('sms-reconcile validate', () => {
  it('exits 0 on clean manifests and prints the one-line summary', async () => {
    const r = await run('validate', '-f', 'manifests');
    expect(r).toEqual({ code: 0, stdout: '4 files, 4 documents: 0 errors, 0 warnings\n', stderr: '' });
  });

  it('exits 1 on errors, printing file:line:col, the source line, a caret and a hint', async () => {
    const r = await run('validate', '-f', 'manifests', 'more/bad.yaml');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      [
        'more/bad.yaml:8:14: error SMSR-M032: spec.frequency must be a whole number, got 1.5',
        '  8 |   frequency: 1.5',
        '    |              ^^^',
        '  at: /spec/frequency',
        '  hint: use a whole number from 1 to 24',
        '',
        '5 files, 5 documents: 1 error, 0 warnings',
        '',
      ].join('\n'),
    );
  });

  it('reports every problem of every file in one run, sorted by file and position', async () => {
    const r = await run('validate', '-f', 'more/many.yaml', 'more/bad.yaml', '--no-color');
    expect(r.code).toBe(1);
    const heads = r.stdout.split('\n').filter((l) => /^more\//.test(l)).map((l) => l.split(': ')[0] + ' ' + /SMSR-M\d+/.exec(l)![0]);
    expect(heads).toEqual([
      'more/bad.yaml:8:14 SMSR-M032',
      'more/many.yaml:5:9 SMSR-M035',
      'more/many.yaml:9:14 SMSR-M033',
      'more/many.yaml:10:16 SMSR-M034',
      'more/many.yaml:17:3 SMSR-M037',
      'more/many.yaml:20:24 SMSR-M036',
      'more/many.yaml:23:7 SMSR-M022',
    ]);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('2 files, 4 documents: 7 errors, 0 warnings');
  });

  it('warnings pass, unless --strict', async () => {
    const relaxed = await run('validate', '-f', 'more/warn.yaml');
    expect(relaxed.code).toBe(0);
    expect(relaxed.stdout).toContain('more/warn.yaml:9:3: warning SMSR-M041: kmsKeyId has no effect with encrypted: false');
    expect(relaxed.stdout).toContain('1 file, 1 document: 0 errors, 1 warning\n');
    const strict = await run('validate', '-f', 'more/warn.yaml', '--strict');
    expect(strict.code).toBe(1);
    expect(strict.stdout).toBe(relaxed.stdout);
  });

  it('--format json prints one JSON document with ok, summary and diagnostics', async () => {
    const bad = await run('validate', '--format', 'json', '-f', 'more/bad.yaml', 'manifests');
    expect(bad.code).toBe(1);
    const doc = JSON.parse(bad.stdout);
    expect(doc.ok).toBe(false);
    expect(doc.summary).toEqual({ files: 5, documents: 5, errors: 1, warnings: 0 });
    expect(doc.diagnostics.map((d: { code: string; position: { file: string; line: number; column: number; pointer: string } }) => [d.code, d.position.file, d.position.line, d.position.column, d.position.pointer])).toEqual([
      ['SMSR-M032', 'more/bad.yaml', 8, 14, '/spec/frequency'],
    ]);
    const warn = await run('validate', '--format', 'json', '-f', 'more/warn.yaml');
    expect([warn.code, JSON.parse(warn.stdout).ok]).toEqual([0, true]);
    const strict = await run('validate', '--format', 'json', '--strict', '-f', 'more/warn.yaml');
    expect([strict.code, JSON.parse(strict.stdout).ok]).toEqual([1, false]);
  });

  it('reports paths that do not exist or hold no manifests', async () => {
    const r = await run('validate', '-f', 'nope.yaml', 'more');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('nope.yaml: error SMSR-M001: no such file or directory: nope.yaml');
  });

  it('requires -f, and explains itself with --help', async () => {
    const missing = await run('validate');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("required option '-f, --filename <path...>' not specified");
    const help = await run('validate', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Examples:');
    expect(help.stdout).toContain('$ sms-reconcile validate -f examples/quickstart');
    expect(help.stdout).toContain('--strict');
    const top = await run('--help');
    expect(top.stdout).toMatch(/validate \[options\]/);
  });

  it('wrote nothing: the working directory and HOME are as they were', () => {
    expect(listing(work)).toEqual(before);
    expect(listing(home)).toEqual(homeBefore);
  });
});
