import type { ApplyResult, FailedOperation } from '../reconcile/apply.ts';
import type { SkippedChange } from '../reconcile/ports.ts';
import { painter } from './color.ts';

/**
 * The end of an apply, for people: the summary counts and, for an apply that failed or stopped,
 * a line per failure (address, VM, SMS error code and message, what a rerun does), a line per
 * change skipped because of a failure (naming it), and what was not started. Pure.
 */

export interface ApplyCounts {
  readonly created: number;
  readonly updated: number;
  readonly replaced: number;
  readonly deleted: number;
  /** Jobs retired by cutover (deleted, their servers recorded as migrated). */
  readonly retired: number;
  readonly adopted: number;
  readonly moved: number;
  readonly runsStarted: number;
  readonly failed: number;
  readonly skipped: number;
  readonly notStarted: number;
}

export function applyCounts(r: ApplyResult): ApplyCounts {
  const count = (op: string) => r.completed.filter((c) => c.operation === op).length;
  const replaceOf = (op: string) => r.completed.filter((c) => c.action === 'replace' && c.operation === op).length;
  const retired = r.completed.filter((c) => c.action === 'retire').length;
  return {
    created: count('CreateReplicationJob'),
    updated: count('UpdateReplicationJob'),
    replaced: replaceOf('CreateReplicationJob'),
    deleted: count('DeleteReplicationJob') - replaceOf('DeleteReplicationJob') - retired + count('forget'),
    retired,
    adopted: count('adopt'),
    moved: count('move'),
    runsStarted: count('StartOnDemandReplicationRun'),
    failed: r.failed.length,
    skipped: r.skipped.length,
    notStarted: r.notStarted.length,
  };
}

/** How the apply ended: `complete`, or `failed` / `stopped` (both exit 1). */
export function applyOutcome(r: ApplyResult): 'complete' | 'failed' | 'stopped' {
  if (r.stopped) return 'stopped';
  return r.failed.length > 0 ? 'failed' : 'complete';
}

export function failureLine(f: FailedOperation): string {
  const vm = f.vmName === undefined ? '' : ` (VM ${f.vmName})`;
  const rerun = f.onRerun === 'retry' ? 'the next apply retries it' : 'the outcome is unknown: the next apply checks whether it happened, and retries it if not';
  return `${f.address}${vm}: ${f.operation}: ${f.code}: ${f.message} (${rerun})`;
}

export function skippedLine(s: SkippedChange): string {
  return `${s.change.address}: ${s.change.action} skipped: it depends on ${s.because.address}, whose ${s.because.operation} failed (the next apply retries it)`;
}

export function renderApplyReport(r: ApplyResult, color: boolean): string {
  const paint = painter(color);
  const c = applyCounts(r);
  const parts = [
    `${c.created} created`, `${c.updated} updated`, `${c.replaced} replaced`, `${c.deleted} deleted`, `${c.adopted} adopted`, `${c.moved} moved`,
    `${c.runsStarted} runs started`,
    ...(c.retired > 0 ? [`${c.retired} retired`] : []),
  ];
  const secs = (r.durationMs / 1000).toFixed(1);
  const outcome = applyOutcome(r);
  const quota = r.waitingForQuota.length === 0 ? '' : `Waiting for quota, not created (${r.waitingForQuota.length}): the next apply creates them once slots are free.\n`;
  if (outcome === 'complete') return `\n${paint(['green', 'bold'], 'Apply complete')}: ${parts.join(', ')} in ${secs}s.\n${quota}`;
  const lines = [
    '',
    `${paint(['bold', 'red'], `Apply ${outcome}`)} after ${secs}s: ${[...parts, `${c.failed} failed`, `${c.skipped} skipped`, ...(c.notStarted > 0 ? [`${c.notStarted} not started`] : [])].join(', ')}.`,
  ];
  if (r.failed.length > 0) lines.push(`Failed (${r.failed.length}):`, ...r.failed.map((f) => `  ${failureLine(f)}`));
  if (r.skipped.length > 0) lines.push(`Skipped (${r.skipped.length}):`, ...r.skipped.map((s) => `  ${skippedLine(s)}`));
  if (r.notStarted.length > 0) lines.push(`Not started (${r.stopped ? 'stopped' : '--fail-fast'}): ${r.notStarted.map((ch) => ch.address).join(', ')}`);
  lines.push('Everything done is recorded in the state; run apply again to finish: it retries only what failed, was skipped or did not start.');
  return `${lines.join('\n')}\n${quota}`;
}
