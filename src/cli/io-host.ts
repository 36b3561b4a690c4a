import { isEventCode, isOutputCode, OUTPUT_CODES, type MessageCode } from '../model/codes.ts';
import type { SmsReconcileError } from '../model/errors.ts';
import { ioMessage, type IoHost, type IoMessage } from '../model/messages.ts';
import { nextTurn } from '../model/steps.ts';
import { isApplyMessage } from '../reconcile/apply-messages.ts';
import type { JobProgress } from '../reconcile/ports.ts';
import { logMessage } from '../report/log-message.ts';
import type { Logger } from '../report/logger.ts';
import type { CliIo } from './io.ts';
import { ApplyReporter, DEFAULT_PROGRESS_INTERVAL_MS, TerminalView } from './reporter.ts';

/** How the log is made, once, on first use: --log-level and --log-format, unless the command says otherwise. */
export interface LogSettings {
  readonly level: string;
  readonly format: 'pretty' | 'json' | undefined;
}

/** What a command needs of the CLI's host: tell it messages; the log for parts that log themselves; the progress cadence. */
export interface CommandHost extends IoHost {
  /** The log (stderr) the host writes event messages to; `settings` (default: the flags') count only on the first call. */
  logger(settings?: LogSettings): Logger;
  /** Piped progress (apply --wait, status --watch): the most often a summary line is printed. */
  setProgressInterval(ms: number): void;
  /**
   * Between two pieces of a long output: lets stdout hand what it holds to its reader while the
   * next piece is made (a turn of the event loop), and waits for the reader once it holds more than
   * OUTPUT_BACKLOG_BYTES, so a slow reader holds up the writer, not memory.
   */
  outputFlowing(): Promise<void>;
}

/** What stdout may hold, unread, before outputFlowing waits for its reader (the 'drain' event). */
export const OUTPUT_BACKLOG_BYTES = 8 << 20;

/** The data of a `status.progress` message. */
export interface StatusProgressData {
  readonly jobs: readonly JobProgress[];
  /** Shown above the table on a terminal. */
  readonly header: string;
}

/**
 * The CLI's IoHost: the one place in the CLI that writes to stdout and stderr. Every message the
 * commands and the library tell it is rendered here:
 * - a log event (EVENT_CODES) becomes a log record on stderr (pretty text, or a JSON line with
 *   --log-format json or when stderr is not a terminal: report/logger.ts), at its level;
 * - the executor's messages are also shown as lines on stdout by the ApplyReporter, and progress
 *   (apply --wait, status --watch) as a table redrawn in place on a TTY, else as event lines;
 * - an output (OUTPUT_CODES) is written as its text to the stream its entry names, whatever the
 *   log level and format.
 */
export class CliIoHost implements CommandHost {
  private log: Logger | undefined;
  private readonly stdout: TerminalView;
  private readonly stderr: TerminalView;
  private reporter: ApplyReporter | undefined;

  constructor(
    private readonly io: CliIo,
    private readonly settings: () => LogSettings & { readonly color: boolean },
    private readonly makeLogger: (settings: LogSettings & { readonly color: boolean; readonly stream: CliIo['stderr'] }) => Logger = () => {
      throw new Error('internal: no log on this path (--version)');
    },
  ) {
    this.stdout = new TerminalView(io.stdout, DEFAULT_PROGRESS_INTERVAL_MS);
    this.stderr = new TerminalView(io.stderr, DEFAULT_PROGRESS_INTERVAL_MS);
  }

  logger(settings?: LogSettings): Logger {
    if (this.log === undefined) {
      const flags = this.settings();
      this.log = this.makeLogger({ ...(settings ?? flags), color: flags.color, stream: this.io.stderr });
    }
    return this.log;
  }

  setProgressInterval(ms: number): void {
    this.stdout.progressIntervalMs = ms;
  }

  async outputFlowing(): Promise<void> {
    const out = this.io.stdout;
    const held = out.writableLength ?? 0;
    if (held === 0) return;
    if (held <= OUTPUT_BACKLOG_BYTES || out.destroyed === true) {
      await nextTurn();
      return;
    }
    // A reader that has gone (EPIPE) destroys the stream: 'close' ends the wait as 'drain' would.
    await new Promise<void>((resolve) => {
      const done = (): void => {
        out.off('drain', done).off('close', done).off('error', done);
        resolve();
      };
      out.once('drain', done).once('close', done).once('error', done);
    });
  }

  /** Colour on stdout: asked for, and a terminal. */
  private get color(): boolean {
    return this.settings().color && this.io.stdout.isTTY === true;
  }

  notify(m: IoMessage<MessageCode, unknown>): void {
    if (isEventCode(m.code)) logMessage(this.logger(), m);
    if (isApplyMessage(m)) {
      this.reporter ??= new ApplyReporter(this.stdout, this.color);
      this.reporter.render(m);
      return;
    }
    if (m.code === 'status.progress') {
      const data = m.data as StatusProgressData;
      this.stdout.progress(data.jobs, this.color, data.header);
      return;
    }
    if (isOutputCode(m.code)) (OUTPUT_CODES[m.code].to === 'stdout' ? this.stdout : this.stderr).write(m.message);
  }
}

/** A typed error as the terminal shows it: `Error [CODE]: message` and its hint. */
export function errorMessage(err: SmsReconcileError): IoMessage<'cli.error'> {
  return ioMessage('cli.error', 'error', `Error [${err.code}]: ${err.message}\n${err.hint ? `  hint: ${err.hint}\n` : ''}`, { code: err.code, source: err.source });
}
