import { ACTION_INFO } from '../reconcile/action.ts';
import type { ApplyMessage } from '../reconcile/apply-messages.ts';
import type { JobProgress } from '../reconcile/ports.ts';
import { painter } from '../report/color.ts';
import { ProgressLog, renderProgressTable, screenRows } from '../report/progress.ts';

/** How often piped progress prints its summary line, unless --progress-interval says otherwise. */
export const DEFAULT_PROGRESS_INTERVAL_MS = 30_000;

export type TerminalStream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

/**
 * One output stream as a person sees it: lines, and a progress table that a TTY redraws in place
 * (any line written after it starts a fresh table) while a pipe gets a line per job event and a
 * summary at most every `progressIntervalMs`. Used only by the CLI's host (io-host.ts).
 */
export class TerminalView {
  private drawnLines = 0;
  private plain: ProgressLog;

  constructor(
    private readonly out: TerminalStream,
    progressIntervalMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.plain = new ProgressLog(progressIntervalMs);
  }

  get tty(): boolean {
    return this.out.isTTY === true;
  }

  set progressIntervalMs(ms: number) {
    this.plain = new ProgressLog(ms);
  }

  /** Text as it is (it ends with its own newline). */
  write(text: string): void {
    this.drawnLines = 0;
    this.out.write(text);
  }

  line(text: string): void {
    this.write(`${text}\n`);
  }

  /** The progress table redrawn in place under `header` on a TTY; otherwise the job events and, now and then, a summary. */
  progress(jobs: readonly JobProgress[], color: boolean, header?: string): void {
    if (this.tty) {
      const table = `${header === undefined ? '' : `${header}\n`}${renderProgressTable(jobs, color)}`;
      const up = this.drawnLines > 0 ? `\u001b[${this.drawnLines}A\u001b[J` : '';
      this.out.write(`${up}${table}\n`);
      // Screen rows, not text lines: a row wider than the terminal wraps.
      this.drawnLines = screenRows(table, this.out.columns);
      return;
    }
    for (const l of this.plain.lines(jobs, this.now())) this.line(l);
  }
}

/**
 * The CLI's subscriber to the executor's messages (reconcile/apply-messages.ts): one line per
 * operation started and finished (or failed, or skipped because of a failure), and, while waiting
 * for replication, the progress view. Their log records are the host's business, not this one's.
 */
export class ApplyReporter {
  constructor(
    private readonly view: TerminalView,
    private readonly color: boolean,
  ) {}

  render(m: ApplyMessage): void {
    const paint = painter(this.color);
    switch (m.code) {
      case 'apply.phase':
        if (m.data.phase === 'recovery') this.view.line(paint('yellow', `Recovering ${m.data.count} operation(s) an earlier run left unfinished...`));
        return;
      case 'apply.recovered':
        this.view.line(`  ${m.data.address}: ${m.data.operation}: ${m.message}`);
        return;
      case 'apply.start':
        this.view.line(`${ACTION_INFO[m.data.action].glyph} ${m.message}`);
        return;
      case 'apply.done':
        this.view.line(`${ACTION_INFO[m.data.action].glyph} ${m.message} [${(m.data.ms / 1000).toFixed(1)}s]`);
        return;
      case 'apply.failed':
        this.view.line(paint('red', `! ${m.message}`));
        return;
      case 'apply.skipped':
      case 'apply.stopping':
        this.view.line(paint('yellow', m.code === 'apply.skipped' ? `! ${m.message}` : m.message));
        return;
      case 'apply.waiting':
        this.view.line(m.message);
        return;
      case 'apply.progress':
        this.view.progress(m.data.jobs, this.color);
        return;
    }
  }
}
