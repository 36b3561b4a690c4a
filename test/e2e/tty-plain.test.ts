/**
 * The same progress commands with stdout NOT a terminal (plain pipes, as in CI logs or `| tee`):
 * `apply --wait` and `status --watch` print plain lines only: a line per job event (first seen, run
 * started, stage changed, run completed with its AMI, run failed) and a summary line at most every
 * --progress-interval, never a line per refresh; and not one ANSI escape sequence, on stdout or
 * stderr, even with colour not disabled (no NO_COLOR, TERM and COLORTERM claiming a colour terminal).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { copyRepo, removeAllCopies } from '../helpers/repo-copy.ts';

const COLOR_ENV = { TERM: 'xterm-256color', COLORTERM: 'truecolor' };
const STAGE = '(Uploading|Converting|Preparing)';
const EVENT_LINE = new RegExp(
  `^ReplicationJob/(app-01|web-01|web-02) sms-job-[0-9a-f]+: (job [A-Z_]+(, run [A-Z_]+( \\(${STAGE}\\))?)?(, latest AMI ami-[0-9a-f]+)?|run started( \\(${STAGE}\\))?|stage ${STAGE}|run completed: AMI ami-[0-9a-f]+|run [A-Z_]+|job [A-Z_]+)$`,
);
const SUMMARY_LINE = /^Progress: \d of 3 replicated, \d running, \d failed$/;

afterAll(async () => {
  await removeAllCopies();
});

/** Event lines by job address. */
function eventsByJob(lines: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const l of lines) {
    const address = l.split(' ')[0] ?? '';
    if (EVENT_LINE.test(l)) out.set(address, [...(out.get(address) ?? []), l]);
  }
  return out;
}

function expectPlain(text: string, what: string): void {
  expect(text, what).not.toContain('\u001b');
  expect(text, what).not.toContain('\r');
}

// The two run at once, each in a copy of its own (the runs mostly wait on the server's clock).
describe.concurrent('progress without a terminal', { timeout: 120_000 }, () => {
  it('apply --wait prints a line per job event, never one per refresh, and no escape sequence', async () => {
    const copy = await copyRepo({ prefix: 'smsr-plain', timings: { runSeconds: 4, catalogImportSeconds: 1 } });
    const r = await copy.cli(['apply', '-f', 'examples/quickstart', '--auto-approve', '--wait'], { env: COLOR_ENV });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expectPlain(r.stdout, 'stdout');
    expectPlain(r.stderr, 'stderr');
    const waitAt = r.stdout.indexOf('Waiting for 3 job(s) to complete their first replication run...\n');
    expect(waitAt).toBeGreaterThan(0);
    const tail = r.stdout.slice(waitAt).trimEnd().split('\n').slice(1);
    expect(tail.at(-1)).toBe('All 3 new job(s) completed their first replication run.');
    for (const line of tail.slice(0, -1)) expect(line).toMatch(new RegExp(`${EVENT_LINE.source}|${SUMMARY_LINE.source}`));
    // Events, not refreshes: no line twice, a few per job, each job's first run completed with its AMI.
    expect(new Set(tail).size).toBe(tail.length);
    const byJob = eventsByJob(tail);
    expect([...byJob.keys()].sort()).toEqual(['ReplicationJob/app-01', 'ReplicationJob/web-01', 'ReplicationJob/web-02']);
    for (const [job, lines] of byJob) {
      expect(lines.length, job).toBeLessThanOrEqual(5);
      expect(lines.filter((l) => / run completed: AMI ami-[0-9a-f]+$/.test(l)), job).toHaveLength(1);
    }
    // No progress table on a pipe.
    expect(r.stdout).not.toMatch(/^ADDRESS {2,}JOB/m);

    const status = await copy.cli(['status'], { env: COLOR_ENV });
    expect(status.code, status.stderr).toBe(0);
    expectPlain(status.stdout + status.stderr, 'status');
    expect(status.stdout).toMatch(/^ADDRESS {2,}JOB {2,}STATE {2,}RUN {2,}STAGE {2,}PROGRESS {2,}LATEST AMI {2,}NEXT RUN$/m);
  });

  it('status --watch prints a line per job event (nothing when nothing changed), and stops on SIGINT with exit 0', async () => {
    // 8 s runs, so status --watch (started after the apply) sees them move even on a slow machine.
    const copy = await copyRepo({ prefix: 'smsr-plain-watch', timings: { runSeconds: 8, catalogImportSeconds: 1 } });
    const apply = await copy.cli(['apply', '-f', 'examples/quickstart', '--auto-approve'], { env: COLOR_ENV });
    expect(apply.code, apply.stdout + apply.stderr).toBe(0);
    const watch = copy.spawn(process.execPath, [copy.bin, 'status', '--watch', '--interval', '300ms'], { env: COLOR_ENV });
    await watch.waitForStdout((out) => (out.match(/AMI ami-[0-9a-f]+$/gm) ?? []).length >= 3, 60_000);
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
    for (const line of lines) expect(line).toMatch(EVENT_LINE);
    expect(new Set(lines).size).toBe(lines.length);
    const byJob = eventsByJob(lines);
    expect(byJob.size).toBe(3);
    for (const [job, l] of byJob) expect(l.length, job).toBeLessThanOrEqual(5);
  });
});
