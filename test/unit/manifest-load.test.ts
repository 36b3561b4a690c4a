// load.ts against real files in a temp dir: expansion, order, and every way a path can be wrong.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadManifests, readManifestSources } from '../../src/manifest/load.ts';

let root: string;
const put = (rel: string, content = 'a: 1\n'): string => {
  const p = path.join(root, rel);
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, content);
  return p;
};
const names = async (paths: string[], cwd = root): Promise<string[]> => (await readManifestSources(paths, { cwd })).sources.map((s) => s.file);
const problems = async (paths: string[], cwd = root): Promise<[string, string][]> =>
  (await readManifestSources(paths, { cwd })).diagnostics.map((d) => [d.code, d.position.file]);

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'smsr-load-'));
});
afterEach(() => {
  chmodSync(root, 0o700);
  rmSync(root, { recursive: true, force: true });
});

describe('expansion', () => {
  it('walks directories recursively for .yaml and .yml, in a stable sorted order', async () => {
    for (const f of ['m/b.yaml', 'm/a.yml', 'm/sub/c.yaml', 'm/B.yaml', 'm/notes.txt', 'm/a.yaml.bak', 'm/x.YAML', 'm/sub/deeper/d.yaml']) put(f);
    expect(await names(['m'])).toEqual(['m/B.yaml', 'm/a.yml', 'm/b.yaml', 'm/sub/c.yaml', 'm/sub/deeper/d.yaml']);
  });

  it('skips hidden entries inside directories but reads a hidden file named explicitly', async () => {
    put('m/.github/workflow.yml');
    put('m/.hidden.yaml');
    put('m/job.yaml');
    expect(await names(['m'])).toEqual(['m/job.yaml']);
    expect(await names(['m/.hidden.yaml'])).toEqual(['m/.hidden.yaml']);
  });

  it('keeps the order of the arguments and reads a file reached twice once', async () => {
    put('z.yaml');
    put('d/a.yaml');
    symlinkSync(path.join(root, 'z.yaml'), path.join(root, 'd', 'link.yaml'));
    expect(await names(['z.yaml', 'd', 'd/a.yaml', './z.yaml'])).toEqual(['z.yaml', 'd/a.yaml']);
  });

  it('reads an explicitly named file whatever its extension', async () => {
    put('manifest.txt');
    expect(await names(['manifest.txt'])).toEqual(['manifest.txt']);
  });

  it('survives a symlink cycle', async () => {
    put('d/a.yaml');
    symlinkSync(path.join(root, 'd'), path.join(root, 'd', 'loop'));
    expect(await names(['d'])).toEqual(['d/a.yaml']);
  });

  it('names files relative to cwd when under it, absolute otherwise', async () => {
    const p = put('d/a.yaml');
    expect(await names([p])).toEqual(['d/a.yaml']);
    const other = mkdtempSync(path.join(tmpdir(), 'smsr-other-'));
    try {
      expect(await names([p], other)).toEqual([p]);
    } finally {
      rmSync(other, { recursive: true });
    }
  });
});

describe('paths that are wrong', () => {
  it('a missing path', async () => {
    expect(await problems(['nope.yaml', 'nodir/'])).toEqual([['SMSR-M001', 'nope.yaml'], ['SMSR-M001', 'nodir']]);
  });

  it('a directory with no manifests', async () => {
    put('empty-ish/readme.md');
    mkdirSync(path.join(root, 'really-empty'));
    expect(await problems(['empty-ish', 'really-empty'])).toEqual([['SMSR-M003', 'empty-ish'], ['SMSR-M003', 'really-empty']]);
  });

  it('a FIFO is reported, never opened', async () => {
    execFileSync('mkfifo', [path.join(root, 'pipe.yaml')]);
    expect(await problems(['pipe.yaml'])).toEqual([['SMSR-M002', 'pipe.yaml']]);
    // Inside a directory, a FIFO is not a regular file, so it is not a manifest.
    put('d/a.yaml');
    execFileSync('mkfifo', [path.join(root, 'd', 'pipe.yaml')]);
    expect(await names(['d'])).toEqual(['d/a.yaml']);
  });

  it('a dangling symlink named like a manifest', async () => {
    mkdirSync(path.join(root, 'd'));
    symlinkSync(path.join(root, 'gone.yaml'), path.join(root, 'd', 'gone.yaml'));
    expect(await problems(['d'])).toEqual([['SMSR-M002', 'd/gone.yaml']]);
  });

  it.skipIf(process.getuid?.() === 0)('an unreadable file and an unreadable directory', async () => {
    const f = put('secret.yaml');
    chmodSync(f, 0o000);
    mkdirSync(path.join(root, 'locked'));
    put('locked/a.yaml');
    chmodSync(path.join(root, 'locked'), 0o000);
    try {
      const result = await readManifestSources(['secret.yaml', 'locked'], { cwd: root });
      // The directory fails while expanding, the file when read (after expansion).
      expect(result.diagnostics.map((d) => [d.code, d.position.file])).toEqual([['SMSR-M002', 'locked'], ['SMSR-M002', 'secret.yaml']]);
      expect(result.diagnostics.every((d) => d.summary.includes('permission denied'))).toBe(true);
    } finally {
      chmodSync(path.join(root, 'locked'), 0o700);
      chmodSync(f, 0o600);
    }
  });

  it('a file over the size limit is refused without reading it', async () => {
    put('big.yaml', 'a: ' + 'x'.repeat(2000) + '\n');
    const result = await loadManifests(['big.yaml'], { cwd: root, limits: { maxFileBytes: 1000 } });
    expect(result.diagnostics.map((d) => [d.code, d.position.file])).toEqual([['SMSR-M004', 'big.yaml']]);
    expect(result.sources.has('big.yaml')).toBe(false);
  });
});

describe('loadManifests', () => {
  it('merges path problems with file problems, sorted, and withholds the desired set', async () => {
    put('m/job.yaml', 'apiVersion: sms-reconcile/v1\nkind: ReplicationJob\nmetadata: {name: a}\nspec: {server: {vmName: a}}\n');
    const result = await loadManifests(['m', 'missing.yaml'], { cwd: root });
    expect(result.summary).toEqual({ files: 1, documents: 1, errors: 1, warnings: 0 });
    expect(result.diagnostics.map((d) => d.code)).toEqual(['SMSR-M001']);
    expect(result.desired).toBeUndefined();
    const clean = await loadManifests(['m'], { cwd: root });
    expect(clean.desired?.jobs.has('ReplicationJob/a')).toBe(true);
  });
});

describe('-f - (standard input)', () => {
  const stdinOf = (text: string, isTTY?: boolean) => Object.assign(Readable.from([Buffer.from(text)]), isTTY === undefined ? {} : { isTTY });

  it('reads the stream in its place among the paths, once, named <stdin>', async () => {
    put('a.yaml');
    put('z.yaml');
    const r = await readManifestSources(['a.yaml', '-', 'z.yaml', '-'], { cwd: root, stdin: stdinOf('b: 2\n---\nc: 3\n') });
    expect(r.diagnostics).toEqual([]);
    expect(r.sources.map((s) => s.file)).toEqual(['a.yaml', '<stdin>', 'z.yaml']);
    expect(Buffer.from(r.sources[1]!.content).toString()).toBe('b: 2\n---\nc: 3\n');
  });

  it('an empty stream, a terminal, and no stdin at all are SMSR-M006 errors', async () => {
    const code = async (stdin: Parameters<typeof readManifestSources>[1]['stdin']) =>
      (await readManifestSources(['-'], { cwd: root, stdin })).diagnostics.map((d) => [d.code, d.position.file, d.summary]);
    expect(await code(stdinOf(' \n\n'))).toEqual([['SMSR-M006', '<stdin>', '-f - read an empty stream: nothing was piped in']]);
    expect(await code(stdinOf('a: 1\n', true))).toEqual([['SMSR-M006', '<stdin>', '-f - reads a pipe, but stdin is a terminal']]);
    expect(await code(undefined)).toEqual([['SMSR-M006', '<stdin>', '-f - reads standard input, which this command does not have']]);
  });

  it('a stream over the size limit is refused as a file would be', async () => {
    const result = await loadManifests(['-'], { cwd: root, limits: { maxFileBytes: 1000 }, stdin: stdinOf('a: 1\n'.repeat(300)) });
    expect(result.diagnostics.map((d) => [d.code, d.position.file])).toEqual([['SMSR-M004', '<stdin>']]);
  });
});
