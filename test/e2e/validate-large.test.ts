// A manifest set large enough (over load-pool.ts's POOL_MIN_BYTES) that the CLI parses it in worker
// threads, run from the built dist/ (its manifest-worker.mjs) as a user runs it: the counts, an
// error found in a worker (the schema) and one found on the main thread from the workers' position
// tables (a name declared twice, across files), each named at its file, line and column.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POOL_MIN_BYTES } from '../../src/manifest/load-pool.ts';
import { runCli, show } from '../helpers/cli.ts';

const FILES = 12;
const PER_FILE = 250;
let work: string;

function job(i: number, frequency: string, name = `job-${i}`): string {
  return `apiVersion: sms-reconcile/v1\nkind: ReplicationJob\nmetadata:\n  name: ${name}\nspec:\n  server:\n    vmName: vm-${i}\n  frequency: ${frequency}\n  licenseType: AWS\n  description: job number ${i} of the large set, with some words to make it longer\n`;
}

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'smsr-large-'));
  let bytes = 0;
  for (let f = 0; f < FILES; f++) {
    const docs = Array.from({ length: PER_FILE }, (_, j) => {
      const i = f * PER_FILE + j;
      // The last document of the last file has an error: frequency must be an integer.
      // The first document of file 5 takes the name of the very first one.
      return job(i, f === FILES - 1 && j === PER_FILE - 1 ? '1.5' : '12', f === 5 && j === 0 ? 'job-0' : undefined);
    });
    const text = docs.join('---\n');
    bytes += Buffer.byteLength(text);
    writeFileSync(path.join(work, `jobs-${String(f).padStart(2, '0')}.yaml`), text);
  }
  expect(bytes).toBeGreaterThan(POOL_MIN_BYTES);
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('validate over a set parsed in worker threads', () => {
  it('counts every document and names each error at its file, line and column', async () => {
    const r = await runCli(['validate', '-f', '.'], { cwd: work, timeoutMs: 120_000 });
    expect(r.code, show(r)).toBe(1);
    const out = r.stdout + r.stderr;
    expect(out).toContain(`${FILES} files, ${FILES * PER_FILE} documents: 2 errors, 0 warnings`);
    expect(out).toContain('jobs-05.yaml:4:9: error SMSR-M050: ReplicationJob/job-0 is declared twice');
    expect(out).toContain('see: jobs-00.yaml:4:9');
    const lastDocLine = (PER_FILE - 1) * 11 + 8; // 10 lines and a '---' per document; frequency is line 8 of its document
    expect(out).toMatch(new RegExp(`jobs-${String(FILES - 1).padStart(2, '0')}\\.yaml:${lastDocLine}:14`));
  });

  it('the JSON form lists the errors with their pointers', async () => {
    const r = await runCli(['validate', '-f', '.', '--format', 'json'], { cwd: work, timeoutMs: 120_000 });
    expect(r.code, show(r)).toBe(1);
    const body = JSON.parse(r.stdout) as { diagnostics: { position: { file: string; pointer?: string; line?: number } }[] };
    expect(body.diagnostics.map((d) => d.position)).toEqual([
      expect.objectContaining({ file: 'jobs-05.yaml', line: 4, pointer: '/metadata/name' }),
      expect.objectContaining({ file: `jobs-${String(FILES - 1).padStart(2, '0')}.yaml`, pointer: '/spec/frequency' }),
    ]);
  });
});
