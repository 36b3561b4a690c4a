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
