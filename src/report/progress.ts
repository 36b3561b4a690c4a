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

/** One plain line per job, for logs and non-TTY output. */
export function renderProgressLines(jobs: readonly JobProgress[]): string[] {
  return jobs.map((j) => {
    const run = j.runState ? ` run ${j.runState}${j.stage ? ` ${j.stage}` : ''}${j.stageProgress ? ` ${j.stageProgress}` : ''}` : '';
    return `${j.address} ${j.replicationJobId}: ${j.jobState}${run}${j.latestAmiId ? ` ami ${j.latestAmiId}` : ''}`;
  });
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
