import type { JobProgress } from '../reconcile/ports.ts';
import { painter } from './color.ts';

/**
 * The replication-progress view shared by `apply --wait` and `status`: one row per job with the
 * job's state, its current run's state, stage and percentage, the latest AMI and the next run.
 * Pure: the caller decides where and how often to draw it.
 */

const HEAD = ['ADDRESS', 'JOB', 'STATE', 'RUN', 'STAGE', 'PROGRESS', 'LATEST AMI', 'NEXT RUN'] as const;

function iso(epochSeconds: number | undefined): string {
  return epochSeconds === undefined ? '-' : new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function progressRows(jobs: readonly JobProgress[]): string[][] {
  return jobs.map((j) => [
    j.address,
    j.replicationJobId,
    j.jobState,
    j.runState ?? '-',
    j.stage ?? '-',
    j.stageProgress ?? (j.runState === 'COMPLETED' ? '100%' : '-'),
    j.latestAmiId ?? '-',
    iso(j.nextRunAt),
  ]);
}

/** A fixed-width table, columns padded to their widest cell. */
export function renderProgressTable(jobs: readonly JobProgress[], color: boolean): string {
  const paint = painter(color);
  const rows = [Array.from(HEAD), ...progressRows(jobs)];
  const widths = HEAD.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r, n) => {
      const line = r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ');
      return n === 0 ? paint('bold', line) : line;
    })
    .join('\n');
}

/**
 * How many terminal rows `text` takes on a terminal `columns` wide (undefined: not known, one row
 * per line): a line wider than the terminal wraps onto more rows; SGR colour codes take no room.
 * Redrawing in place moves the cursor up by this many rows. Counting text lines instead leaves the
 * top of the previous frame on the screen whenever the table is wider than the terminal.
 */
export function screenRows(text: string, columns: number | undefined): number {
  const lines = text.split('\n');
  if (columns === undefined || !Number.isFinite(columns) || columns < 1) return lines.length;
  // eslint-disable-next-line no-control-regex
  return lines.reduce((rows, line) => rows + Math.max(1, Math.ceil(line.replace(/\u001b\[[0-9;]*m/g, '').length / columns)), 0);
}

/** The line for a job's change of state since `prev` (undefined when nothing a person follows changed). */
export function progressEventLine(prev: JobProgress | undefined, j: JobProgress): string | undefined {
  const who = `${j.address} ${j.replicationJobId}:`;
  if (prev === undefined) {
    return `${who} job ${j.jobState}${j.runState ? `, run ${j.runState}${j.stage ? ` (${j.stage})` : ''}` : ''}${j.latestAmiId ? `, latest AMI ${j.latestAmiId}` : ''}`;
  }
  if (j.latestAmiId !== undefined && j.latestAmiId !== prev.latestAmiId) return `${who} run completed: AMI ${j.latestAmiId}`;
  if (j.failureReason !== undefined && j.failureReason !== prev.failureReason) return `${who} run failed (job ${j.jobState}): ${j.failureReason}`;
  if (j.runState !== prev.runState) return j.runState === 'ACTIVE' ? `${who} run started${j.stage ? ` (${j.stage})` : ''}` : `${who} run ${j.runState ?? 'gone'}`;
  if (j.stage !== prev.stage && j.stage !== undefined) return `${who} stage ${j.stage}`;
  if (j.jobState !== prev.jobState) return `${who} job ${j.jobState}`;
  return undefined;
}

/** One line: how far the jobs are. */
export function progressSummaryLine(jobs: readonly JobProgress[]): string {
  const replicated = jobs.filter((j) => j.latestAmiId !== undefined).length;
  const failed = jobs.filter((j) => j.latestAmiId === undefined && j.failureReason !== undefined).length;
  const running = jobs.filter((j) => j.runState === 'ACTIVE' || j.runState === 'PENDING').length;
  return `Progress: ${replicated} of ${jobs.length} replicated, ${running} running, ${failed} failed`;
}

/**
 * Progress for a pipe or a log: a line when a job changes state (first seen, run started, stage
 * changed, run completed with its AMI, run failed with its reason), and a summary line at most
 * every `intervalMs`; never a line per refresh. So the output does not grow with how long
 * replication takes. Pure: the caller passes the time.
 */
export class ProgressLog {
  private readonly seen = new Map<string, JobProgress>();
  private summaryAt: number | undefined;

  constructor(private readonly intervalMs: number) {}

  /** The lines for one refresh at `now` (epoch ms). */
  lines(jobs: readonly JobProgress[], now: number): string[] {
    const out: string[] = [];
    for (const j of jobs) {
      const line = progressEventLine(this.seen.get(j.replicationJobId), j);
      if (line !== undefined) out.push(line);
      this.seen.set(j.replicationJobId, j);
    }
    if (this.summaryAt === undefined) this.summaryAt = now;
    else if (now - this.summaryAt >= this.intervalMs) {
      out.push(progressSummaryLine(jobs));
      this.summaryAt = now;
    }
    return out;
  }
}
