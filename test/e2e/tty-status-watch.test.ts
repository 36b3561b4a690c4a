/**
 * `status --watch` on a real terminal (tmux, 160x40), recorded while three replication runs move:
 * the table (with the target and the time above it) renders, is redrawn in place at each refresh
 * (stage and percentage change between captures), and stops on Ctrl-C with exit status 0, leaving
 * one table and the prompt, no debris.
 *
 * The captures are normalized and kept as text fixtures in test/fixtures/tty/, compared by
 * structure (see tty-apply-wait.test.ts). Re-record them with UPDATE_TTY_FIXTURES=1.
 */
import { afterAll, expect, it } from 'vitest';
import { copyRepo, removeAllCopies } from '../helpers/repo-copy.ts';
import { describeTmux, expectSameTable, killAllTmux, normalizeScreen, startTmux, tableOf, ttyFixture } from '../helpers/tmux.ts';

const HEADER = ['ADDRESS', 'JOB', 'STATE', 'RUN', 'STAGE', 'PROGRESS', 'LATEST AMI', 'NEXT RUN'];
const ADDRESSES = ['ReplicationJob/app-01', 'ReplicationJob/web-01', 'ReplicationJob/web-02'];
const TITLE = /^embedded SMS server \(us-east-1, data \.sms-reconcile\/embedded\) - (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)$/;

afterAll(async () => {
  await killAllTmux();
  await removeAllCopies();
});

const headerLines = (screen: string) => screen.split('\n').filter((l) => /^ADDRESS {2,}JOB {2,}STATE/.test(l)).length;
const titleLines = (screen: string) => screen.split('\n').filter((l) => TITLE.test(l)).length;
const runs = (screen: string) => tableOf(screen)?.rows.map((r) => r[3]) ?? [];

/** The same table as the fixture's (see expectSameTable), and the same lines above it. */
function expectSameStructure(actual: string, fixture: string, what: string): void {
  expectSameTable(actual, fixture, what);
  expect(actual.split('\n').slice(0, tableOf(actual)!.at), what).toEqual(fixture.split('\n').slice(0, tableOf(fixture)!.at));
}

describeTmux('status --watch on a terminal', () => {
  it('renders the table, redraws it in place at each refresh as the runs move, and stops cleanly on Ctrl-C', async () => {
    const copy = await copyRepo({ prefix: 'smsr-tty-status', timings: { runSeconds: 5, catalogImportSeconds: 1 } });
    const apply = await copy.cli(['apply', '-f', 'examples/quickstart', '--auto-approve']);
    expect(apply.code, apply.stdout + apply.stderr).toBe(0);

    const term = await startTmux({ cols: 160, rows: 40, cwd: copy.dir, env: copy.env() });
    const frames: string[] = [];
    const record = (s: string) => {
      if (frames.at(-1) !== s) frames.push(s);
    };
    await term.type('node bin/sms-reconcile.mjs status --watch --interval 500ms; echo "EXIT=$?"');
    await term.waitFor((s) => runs(s).length === 3 && runs(s).every((r) => r === 'COMPLETED'), 'the runs to complete', 60_000, record);
    // Two more refreshes of the completed table, then Ctrl-C.
    const done = frames.length;
    await term.waitFor(() => frames.length >= done + 2, 'two more refreshes', 10_000, record);
    await term.keys('C-c');
    const final = await term.waitFor((s) => /EXIT=\d+$/m.test(s) && s.split('\n').at(-1) === '$', 'status --watch to stop', 15_000, record);
    const history = await term.capture({ history: true });

    const progress = frames.filter((f) => runs(f).includes('ACTIVE'));
    expect(progress.length, `no frame showed the runs in progress; frames:\n${frames.join('\n-----\n')}`).toBeGreaterThan(0);
    for (const f of frames.filter((x) => tableOf(x))) {
      const t = tableOf(f)!;
      expect(t.header).toEqual(HEADER);
      expect(t.rows.map((r) => r[0])).toEqual(ADDRESSES);
      // In place: one title and one table on the screen, the title right above the table.
      expect(headerLines(f), f).toBe(1);
      expect(titleLines(f), f).toBe(1);
      expect(f.split('\n')[t.at - 1], f).toMatch(TITLE);
    }
    // It updates: the runs' stage or percentage moves, and the time in the title.
    const tables = new Set(progress.map((f) => tableOf(f)!.rows.map((r) => `${r[3]} ${r[4]} ${r[5]}`).join(' | ')));
    expect(tables.size, [...tables].join('\n')).toBeGreaterThanOrEqual(2);
    const times = new Set(frames.map((f) => f.split('\n').find((l) => TITLE.test(l))).filter(Boolean));
    expect(times.size).toBeGreaterThanOrEqual(3);

    // Ctrl-C: exit status 0 right below the last table (the terminal echoes ^C), then the prompt.
    const end = tableOf(final)!;
    for (const r of end.rows) expect(r.slice(2, 6)).toEqual(['ACTIVE', 'COMPLETED', '-', '100%']);
    expect(end.after).toEqual(['^CEXIT=0', '$']);
    // The whole scrollback: the command, one title, one table, the exit, the prompt.
    expect(headerLines(history)).toBe(1);
    expect(titleLines(history)).toBe(1);
    expect(history.split('\n')).toHaveLength(1 + 1 + 4 + 2);
    expect(history).not.toContain('\u001b');
    expect(history).not.toMatch(/\[\d*[ABCDJK]|\[[\d;]*m|\[\d+;\d+H/);

    const first = normalizeScreen(progress[0]!);
    const last = normalizeScreen(final);
    expectSameStructure(first, ttyFixture('status-watch.progress', first), 'status-watch.progress');
    expectSameStructure(last, ttyFixture('status-watch.final', last), 'status-watch.final');
  });
});
