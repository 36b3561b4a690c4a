/**
 * The progress view on a terminal narrower than the table (80 columns; a row is about 110 wide, so
 * the terminal wraps each row onto two screen lines). Redrawing in place must move the cursor up
 * by the screen lines the last frame took, not by its text lines: otherwise every refresh leaves
 * the top of the previous frame behind. Checked for `apply --wait` and `status --watch`.
 */
import { afterAll, expect, it } from 'vitest';
import { copyRepo, removeAllCopies } from '../helpers/repo-copy.ts';
import { describeTmux, killAllTmux, startTmux } from '../helpers/tmux.ts';

afterAll(async () => {
  await killAllTmux();
  await removeAllCopies();
});

/** Header lines of the progress table; wrapped at 80 columns, the header's first part. */
const headerLines = (screen: string) => screen.split('\n').filter((l) => /^ADDRESS {2,}JOB {2,}STATE/.test(l)).length;
const titleLines = (screen: string) => screen.split('\n').filter((l) => l.startsWith('embedded SMS server (us-east-1, data .sms-reconcile/embedded) - ')).length;

describeTmux('the progress view on a narrow terminal', () => {
  it('apply --wait and status --watch redraw in place even when the rows wrap', async () => {
    const copy = await copyRepo({ prefix: 'smsr-tty-narrow', timings: { runSeconds: 4, catalogImportSeconds: 1 } });
    const term = await startTmux({ cols: 80, rows: 40, cwd: copy.dir, env: copy.env() });
    const frames: string[] = [];
    const record = (s: string) => {
      if (frames.at(-1) !== s) frames.push(s);
    };
    await term.type('node bin/sms-reconcile.mjs apply -f examples/quickstart --auto-approve --wait; echo "EXIT=$?"');
    await term.waitFor((s) => /^EXIT=\d+$/m.test(s) && s.split('\n').at(-1) === '$', 'apply --wait to finish', 90_000, record);
    const afterApply = await term.capture({ history: true });
    expect(afterApply).toMatch(/^All 3 new job\(s\) completed their first replication run\.\nEXIT=0\n\$$/m);
    // Several frames were drawn (the runs took a few refreshes) ...
    expect(frames.filter((f) => headerLines(f) > 0).length).toBeGreaterThanOrEqual(2);
    // ... and the scrollback holds one table: each redraw replaced the last.
    expect(headerLines(afterApply), afterApply).toBe(1);

    await term.type('clear; node bin/sms-reconcile.mjs status --watch --interval 300ms; echo "EXIT=$?"');
    const shown = frames.length;
    await term.waitFor((s) => titleLines(s) > 0 && frames.length >= shown + 5, 'a few refreshes of status --watch', 30_000, record);
    await term.keys('C-c');
    const final = await term.waitFor((s) => /EXIT=\d+$/m.test(s) && s.split('\n').at(-1) === '$', 'status --watch to stop', 15_000, record);
    expect(final).toMatch(/EXIT=0\n\$$/);
    expect(headerLines(final), final).toBe(1);
    expect(titleLines(final), final).toBe(1);
  });
});
