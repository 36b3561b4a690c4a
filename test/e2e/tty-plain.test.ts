/**
 * The same progress commands with stdout NOT a terminal (plain pipes, as in CI logs or `| tee`):
 * `apply --wait` and `status --watch` print plain lines only, a progress block only when something
 * changed, and not one ANSI escape sequence, on stdout or stderr, even with colour not disabled
 * (no NO_COLOR, TERM and COLORTERM claiming a colour terminal).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { copyRepo, removeAllCopies } from '../helpers/repo-copy.ts';

const COLOR_ENV = { TERM: 'xterm-256color', COLORTERM: 'truecolor' };
const PROGRESS_LINE = /^ReplicationJob\/(app-01|web-01|web-02) sms-job-[0-9a-f]+: [A-Z_]+( run [A-Z_]+( (Uploading|Converting|Preparing))?( \d{1,3}%)?)?( ami ami-[0-9a-f]+)?$/;

afterAll(async () => {
  await removeAllCopies();
});

/** The progress blocks in the output: runs of consecutive progress lines. */
function progressBlocks(out: string): string[][] {
  const blocks: string[][] = [];
  let current: string[] = [];
  for (const line of out.split('\n')) {
    if (PROGRESS_LINE.test(line)) current.push(line);
    else if (current.length > 0) {
      blocks.push(current);
      current = [];
    }
  }
  if (current.length > 0) blocks.push(current);
  // One block per refresh: a block of 3n lines is n refreshes printed back to back.
  return blocks.flatMap((b) => Array.from({ length: b.length / 3 }, (_, i) => b.slice(i * 3, i * 3 + 3)));
}

function expectPlain(text: string, what: string): void {
  expect(text, what).not.toContain('\u001b');
  expect(text, what).not.toContain('\r');
}

// The two run at once, each in a copy of its own (the runs mostly wait on the server's clock).
describe.concurrent('progress without a terminal', { timeout: 120_000 }, () => {
  it('apply --wait prints plain lines, a block only when something changed, no escape sequence', async () => {
    const copy = await copyRepo({ prefix: 'smsr-plain', timings: { runSeconds: 4, catalogImportSeconds: 1 } });
    const r = await copy.cli(['apply', '-f', 'examples/quickstart', '--auto-approve', '--wait'], { env: COLOR_ENV });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expectPlain(r.stdout, 'stdout');
    expectPlain(r.stderr, 'stderr');
    const waitAt = r.stdout.indexOf('Waiting for 3 job(s) to complete their first replication run...\n');
    expect(waitAt).toBeGreaterThan(0);
    const tail = r.stdout.slice(waitAt).trimEnd().split('\n').slice(1);
    expect(tail.at(-1)).toBe('All 3 new job(s) completed their first replication run.');
    for (const line of tail.slice(0, -1)) expect(line).toMatch(PROGRESS_LINE);
    const blocks = progressBlocks(tail.join('\n'));
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < blocks.length; i++) expect(blocks[i], `block ${i} repeats block ${i - 1}`).not.toEqual(blocks[i - 1]);
    expect(blocks.at(-1)!.every((l) => / run COMPLETED ami ami-[0-9a-f]+$/.test(l))).toBe(true);
    // No progress table on a pipe.
    expect(r.stdout).not.toMatch(/^ADDRESS {2,}JOB/m);

    const status = await copy.cli(['status'], { env: COLOR_ENV });
    expect(status.code, status.stderr).toBe(0);
    expectPlain(status.stdout + status.stderr, 'status');
    expect(status.stdout).toMatch(/^ADDRESS {2,}JOB {2,}STATE {2,}RUN {2,}STAGE {2,}PROGRESS {2,}LATEST AMI {2,}NEXT RUN$/m);
  });

  it('status --watch prints the lines again only when they change, and stops on SIGINT with exit 0', async () => {
    // 8 s runs, so status --watch (started after the apply) sees them move even on a slow machine.
    const copy = await copyRepo({ prefix: 'smsr-plain-watch', timings: { runSeconds: 8, catalogImportSeconds: 1 } });
    const apply = await copy.cli(['apply', '-f', 'examples/quickstart', '--auto-approve'], { env: COLOR_ENV });
    expect(apply.code, apply.stdout + apply.stderr).toBe(0);
    const watch = copy.spawn(process.execPath, [copy.bin, 'status', '--watch', '--interval', '300ms'], { env: COLOR_ENV });
    await watch.waitForStdout(/(^.* run COMPLETED ami ami-[0-9a-f]+\n){3}/m, 60_000);
    // A few more refreshes, which change nothing and so print nothing.
    const before = watch.stdout();
    await new Promise((r) => setTimeout(r, 1_500));
    expect(watch.stdout()).toBe(before);
    watch.kill('SIGINT');
    const exit = await watch.waitForExit(15_000);
    expect(exit.code, exit.stderr).toBe(0);
    expectPlain(exit.stdout, 'stdout');
    expectPlain(exit.stderr, 'stderr');
    const lines = exit.stdout.trimEnd().split('\n');
    for (const line of lines) expect(line).toMatch(PROGRESS_LINE);
    const blocks = progressBlocks(exit.stdout);
    expect(blocks.length * 3).toBe(lines.length);
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < blocks.length; i++) expect(blocks[i], `block ${i} repeats block ${i - 1}`).not.toEqual(blocks[i - 1]);
  });
});
