/**
 * What apply says about waves, for people: which waves wait and for what after a plain apply, a
 * gate that opened during `apply --wait`, and where an advance stopped. Pure: strings out, each
 * ending with a newline; text from the live world is sanitized.
 */
import type { JobProgress } from '../reconcile/ports.ts';
import type { Plan } from '../reconcile/plan.ts';
import type { Hold, WaveGate } from '../reconcile/waves.ts';
import { sanitize } from './format.ts';
import { actionCounts, byWave, quotaPhrase } from './waves-format.ts';

/**
 * After an apply that leaves held changes: one line per wave that waits, e.g.
 * `Wave 2 (2 creates): waits for wave 1 to complete its first replication runs`, and what to do
 * next. Empty when nothing is held. (The plan's members' progress is from before the apply, so it
 * is not repeated here.)
 */
export function renderHeld(plan: Plan): string {
  const held = plan.changes.filter((c) => c.gatedBy !== undefined);
  if (held.length === 0) return '';
  const lines = byWave(held).flatMap((g) => {
    const holds = [...new Map(g.changes.flatMap((c) => (c.gatedBy === undefined ? [] : [[c.gatedBy.kind, c.gatedBy] as const]))).values()];
    return holds.map((hold) => `  ${g.wave === undefined ? 'No wave' : `Wave ${g.wave}`} (${actionCounts(g.changes.filter((c) => c.gatedBy?.kind === hold.kind))}): ${heldWhy(hold)}`);
  });
  const next: string[] = [];
  if (held.some((c) => c.gatedBy?.kind === 'max-wave')) next.push('Raise --max-wave (or leave it out) to let the later waves go.');
  if (held.some((c) => c.gatedBy?.kind === 'wave')) next.push('Apply again once the earlier wave has replicated (`sms-reconcile status -f PATH` shows the waves), or run apply --wait to go wave by wave.');
  const quota = held.filter((c) => c.gatedBy?.kind === 'quota').length;
  if (quota > 0) next.push(`${quota} create(s) wait for quota: apply again once slots free up (set spec.cutover: true on migrated servers to retire their jobs).`);
  return `\nHeld, not carried out by this apply (${held.length}):\n${lines.join('\n')}\n${next.join('\n')}\n`;
}

/** What a wave's held changes wait for, in renderHeld. */
function heldWhy(hold: Hold): string {
  switch (hold.kind) {
    case 'wave':
      return `waits for wave ${hold.waitingFor.wave} to complete its first replication runs`;
    case 'max-wave':
      return `held by --max-wave ${hold.maxWave}`;
    case 'quota':
      return quotaPhrase(hold);
  }
}

/** During `apply --wait`: the wave waited for has replicated, so the next one's gate is open. */
export function renderWaveOpened(replicated: number, jobs: number): string {
  return `\nWave ${replicated} has replicated (${jobs} of ${jobs} jobs have their first AMI): the next wave's gate is open.\n`;
}

/** During `apply --wait`: the wave waited for, before the progress display starts. */
export function renderWaitingForWave(wave: number, jobs: number): string {
  return `\nWaiting for wave ${wave}: ${jobs} job(s) to complete their first replication run.\n`;
}

/** A wave whose jobs did not all replicate (failed, or no job): the advance stops, naming them. */
export function renderWaveStopped(wave: number, failed: readonly JobProgress[], withoutJob: readonly string[]): string {
  const parts = [
    ...failed.map((p) => `${p.address} (${p.replicationJobId}, ${p.jobState}${p.failureReason === undefined ? '' : `: ${p.failureReason}`})`),
    ...withoutJob.map((a) => `${a} (no job)`),
  ].map(sanitize);
  return `\nWave ${wave} did not replicate: ${parts.join(', ')}. The later waves are not started; the jobs already created are left as they are.\n`;
}

/** `--wait-timeout` ended an advance: the wave it waited for, and the waves not started. */
export function renderWaveTimeout(wave: number, waves: readonly WaveGate[], timeout: string): string {
  const gate = waves.find((w) => w.wave === wave);
  const later = waves.filter((w) => w.wave > wave).map((w) => w.wave);
  const progress = gate === undefined ? '' : ` (${gate.replicated} of ${gate.declared} replicated when the plan was made)`;
  return `\nStopped waiting for wave ${wave} after --wait-timeout ${timeout}${progress}; ${later.length === 0 ? 'no later wave' : `wave${later.length === 1 ? '' : 's'} ${later.join(', ')}`} not started. Apply again to go on from there.\n`;
}

const WAVE_HEAD = ['WAVE', 'DECLARED', 'CREATED', 'REPLICATED', 'FAILED', 'GATE'] as const;

/** A wave's gate in the status table: `open`, `closed (waits for wave 1)`, `held (--max-wave 1)`. */
export function gateCell(g: WaveGate): string {
  if (g.heldByMaxWave) return g.open ? 'open, held by --max-wave' : `closed (waits for wave ${g.waitingFor ?? '?'}), held by --max-wave`;
  return g.open ? 'open' : `closed (waits for wave ${g.waitingFor ?? '?'})`;
}

/** `status -f`: per-wave progress, one row per declared wave (declared, created, replicated, failed, gate). */
export function renderWaveTable(waves: readonly WaveGate[]): string {
  if (waves.length === 0) return 'Waves: none declared (no manifest sets spec.wave)\n';
  const rows = [Array.from(WAVE_HEAD) as string[], ...waves.map((g) => [String(g.wave), String(g.declared), String(g.created), String(g.replicated), String(g.failed), gateCell(g)])];
  const widths = WAVE_HEAD.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return `${rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')).join('\n')}\n`;
}
