import { ACTION_INFO } from '../reconcile/action.ts';
import type { ApplyEvent, EventSink, JobProgress } from '../reconcile/ports.ts';
import { painter } from '../report/color.ts';
import type { Logger } from '../report/logger.ts';
import { ProgressLog, renderProgressTable, screenRows } from '../report/progress.ts';

/** How often piped progress prints its summary line, unless --progress-interval says otherwise. */
export const DEFAULT_PROGRESS_INTERVAL_MS = 30_000;

export interface ReporterOptions {
  /** Piped progress: the most often a summary line is printed. */
  readonly progressIntervalMs?: number;
  /** Epoch milliseconds (injectable for tests). */
  readonly now?: () => number;
}

/**
 * Turns executor events into what a person sees: one line per operation started and finished (or
 * failed, or skipped because of a failure), and, while waiting for replication, a live table on a
 * TTY (redrawn in place) or, otherwise, a line per job event and a summary at most every
 * `progressIntervalMs`. Every event also goes to the log with a stable code (`apply.*`); failures
 * at level error and skips at warn, so `--log-format json` shows them at the default level.
 */
export class ApplyReporter implements EventSink {
  private drawnLines = 0;
  private readonly plain: ProgressLog;
  private readonly now: () => number;

  constructor(
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
    private readonly color: boolean,
    private readonly logger: Logger,
    opts: ReporterOptions = {},
  ) {
    this.plain = new ProgressLog(opts.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS);
    this.now = opts.now ?? Date.now;
  }

  private get tty(): boolean {
    return this.out.isTTY === true;
  }

  emit(e: ApplyEvent): void {
    const paint = painter(this.color);
    switch (e.type) {
      case 'phase':
        this.logger.info({ event: 'apply.phase', phase: e.phase, count: e.count }, `phase ${e.phase}`);
        if (e.phase === 'recovery') this.line(paint('yellow', `Recovering ${e.count} operation(s) an earlier run left unfinished...`));
        return;
      case 'recovered':
        this.logger.info({ event: 'apply.recovered', intent: e.intent.id, operation: e.intent.operation, address: e.intent.address, happened: e.happened }, e.note);
        this.line(`  ${e.intent.address}: ${e.intent.operation}: ${e.note}`);
        return;
      case 'start':
        this.logger.debug({ event: 'apply.start', address: e.change.address, operation: e.operation }, 'start');
        this.line(`${ACTION_INFO[e.change.action].glyph} ${e.change.address}: ${e.operation}...`);
        return;
      case 'done':
        this.logger.info({ event: 'apply.done', address: e.change.address, operation: e.operation, replicationJobId: e.replicationJobId, ms: e.ms }, 'done');
        this.line(`${ACTION_INFO[e.change.action].glyph} ${e.change.address}: ${doneVerb(e.operation)}${e.replicationJobId ? ` (${e.replicationJobId})` : ''} [${(e.ms / 1000).toFixed(1)}s]`);
        return;
      case 'failed': {
        const f = e.failure;
        this.logger.error({ event: 'apply.failed', address: f.address, vmName: f.vmName, serverId: f.serverId, operation: f.operation, code: f.code, message: f.message, outcome: f.outcome, onRerun: f.onRerun }, 'failed');
        this.line(paint('red', `! ${e.change.address}: ${e.error.message.startsWith(e.operation) ? e.error.message : `${e.operation} failed: ${e.error.message}`}`));
        return;
      }
      case 'skipped':
        this.logger.warn({ event: 'apply.skipped', address: e.change.address, action: e.change.action, because: e.because }, 'skipped');
        this.line(paint('yellow', `! ${e.change.address}: skipped: it depends on ${e.because.address}, whose ${e.because.operation} failed`));
        return;
      case 'waiting':
        this.logger.info({ event: 'apply.waiting', what: e.what }, 'waiting');
        this.line(`Waiting for ${e.what}...`);
        return;
      case 'progress':
        this.progress(e.jobs);
        return;
      case 'stopping':
        this.logger.info({ event: 'apply.stopping' }, e.reason);
        this.line(paint('yellow', e.reason));
        return;
    }
  }

  private line(text: string): void {
    this.drawnLines = 0;
    this.out.write(`${text}\n`);
  }

  /** Draws the progress table in place on a TTY; otherwise prints the job events and, now and then, a summary. */
  progress(jobs: readonly JobProgress[]): void {
    if (this.tty) {
      const table = renderProgressTable(jobs, this.color);
      const up = this.drawnLines > 0 ? `\u001b[${this.drawnLines}A\u001b[J` : '';
      this.out.write(`${up}${table}\n`);
      // Screen rows, not text lines: a row wider than the terminal wraps.
      this.drawnLines = screenRows(table, this.out.columns);
      return;
    }
    for (const l of this.plain.lines(jobs, this.now())) this.line(l);
  }
}

function doneVerb(operation: string): string {
  switch (operation) {
    case 'CreateReplicationJob':
      return 'created';
    case 'UpdateReplicationJob':
      return 'updated';
    case 'DeleteReplicationJob':
      return 'deleted';
    case 'StartOnDemandReplicationRun':
      return 'on-demand run started';
    case 'ImportServerCatalog':
      return 'import started';
    case 'DisassociateConnector':
      return 'disassociated';
    default:
      return `${operation} recorded`;
  }
}
