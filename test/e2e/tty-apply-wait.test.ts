/**
 * `apply --wait` on a real terminal (tmux, 160x40), recorded: the progress table renders, is
 * redrawn in place as the replication runs move (stage and percentage change between captures),
 * and ends cleanly (the final table, the closing line, the exit status and the prompt, with no
 * leftover frame or escape-sequence debris in the whole scrollback).
 *
 * The captures are normalized (ids, AMIs, times, durations) and kept as text fixtures in
 * test/fixtures/tty/; they are compared by structure (header, rows, addresses, the lines around
 * the table), not byte for byte on values that depend on timing. Re-record them with
 * UPDATE_TTY_FIXTURES=1.
 */
import { afterAll, expect, it } from 'vitest';
import { copyRepo, removeAllCopies, type RepoCopy } from '../helpers/repo-copy.ts';
import { describeTmux, expectSameTable, killAllTmux, normalizeScreen, startTmux, tableOf, ttyFixture } from '../helpers/tmux.ts';

const HEADER = ['ADDRESS', 'JOB', 'STATE', 'RUN', 'STAGE', 'PROGRESS', 'LATEST AMI', 'NEXT RUN'];
const ADDRESSES = ['ReplicationJob/app-01', 'ReplicationJob/web-01', 'ReplicationJob/web-02'];

let copy: RepoCopy | undefined;

afterAll(async () => {
  await killAllTmux();
  await removeAllCopies();
});

const headerLines = (screen: string) => screen.split('\n').filter((l) => /^ADDRESS {2,}JOB {2,}STATE/.test(l)).length;
const inProgress = (screen: string) => tableOf(screen)?.rows.some((r) => r[3] === 'ACTIVE') === true;

describeTmux('apply --wait on a terminal', () => {
  it('renders the progress table, redraws it in place as the runs move, and ends cleanly', async () => {
    // 6 s runs: the 2 s refresh shows three different frames before the runs complete.
    copy = await copyRepo({ prefix: 'smsr-tty-apply', timings: { runSeconds: 6, catalogImportSeconds: 1 } });
    const term = await startTmux({ cols: 160, rows: 40, cwd: copy.dir, env: copy.env() });
    const frames: string[] = [];
    await term.type('node bin/sms-reconcile.mjs apply -f examples/quickstart --auto-approve --wait; echo "EXIT=$?"');
    const final = await term.waitFor(
      (s) => /^EXIT=\d+$/m.test(s) && s.split('\n').at(-1) === '$',
      'apply --wait to finish',
      90_000,
      (s) => {
        if (frames.at(-1) !== s) frames.push(s);
      },
    );
    const history = await term.capture({ history: true });

    // It renders: the table with its header and one row per new job, while the runs are ACTIVE.
    const progress = frames.filter(inProgress);
    expect(progress.length, `no frame showed the runs in progress; frames:\n${frames.join('\n-----\n')}`).toBeGreaterThan(0);
    for (const f of progress) {
      const t = tableOf(f)!;
      expect(t.header).toEqual(HEADER);
      expect(t.rows.map((r) => r[0])).toEqual(ADDRESSES);
      for (const r of t.rows) {
        expect(r[1]).toMatch(/^sms-job-[0-9a-f]+$/);
        expect(['Uploading', 'Converting', 'Preparing', '-']).toContain(r[4]);
        expect(r[5]).toMatch(/^(\d{1,3}%|-)$/);
      }
      // Redrawn in place: never two tables on the screen.
      expect(headerLines(f), f).toBe(1);
    }
    // It updates: the stage or the percentage moves between captures.
    const tables = new Set(progress.map((f) => tableOf(f)!.rows.map((r) => `${r[3]} ${r[4]} ${r[5]}`).join(' | ')));
    expect(tables.size, [...tables].join('\n')).toBeGreaterThanOrEqual(2);

    // It ends cleanly: the completed table, the closing line right below it, the exit status, the prompt.
    const end = tableOf(final)!;
    expect(end.header).toEqual(HEADER);
    for (const r of end.rows) {
      expect(r.slice(2, 6)).toEqual(['ACTIVE', 'COMPLETED', '-', '100%']);
      expect(r[6]).toMatch(/^ami-[0-9a-f]{17}$/);
      expect(r[7]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    }
    expect(end.after).toEqual(['All 3 new job(s) completed their first replication run.', 'EXIT=0', '$']);

    // The whole scrollback: one table (every redraw replaced the last), right after the waiting
    // line, and no debris of escape sequences anywhere.
    expect(headerLines(history), history).toBe(1);
    const lines = history.split('\n');
    expect(lines[tableOf(history)!.at - 1]).toBe('Waiting for 3 job(s) to complete their first replication run...');
    expect(history).not.toContain('\u001b');
    expect(history).not.toMatch(/\[\d*[ABCDJK]|\[[\d;]*m|\[\d+;\d+H/);
    expect(lines.filter((l) => l.startsWith('Apply complete:'))).toHaveLength(1);

    // The recordings.
    const first = normalizeScreen(progress[0]!);
    const last = normalizeScreen(final);
    const all = normalizeScreen(history);
    expectSameTable(first, ttyFixture('apply-wait.progress', first), 'apply-wait.progress');
    expectSameTable(last, ttyFixture('apply-wait.final', last), 'apply-wait.final');
    const recorded = ttyFixture('apply-wait.history', all);
    expectSameTable(all, recorded, 'apply-wait.history');
    // The transcript holds the same lines (parallel operations may finish in another order).
    expect([...all.split('\n')].sort()).toEqual([...recorded.split('\n')].sort());
  });
});
