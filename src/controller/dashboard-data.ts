/**
 * What the dashboard reads from /api/dashboard: the controller's status, the estate of the last
 * cycle that read the live world, the plan's pending changes, and the recent cycles and leadership
 * changes (kept here, in memory, the last HISTORY of each).
 */
import type { CycleOutcome } from './cycle.ts';
import type { Estate, JobDetail } from './estate.ts';

export const HISTORY = 50;

export interface CycleRecord {
  readonly result: string;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly revision: string | null;
  readonly changes: CycleOutcome['changes'];
  readonly errors: readonly { readonly code: string; readonly message: string; readonly address?: string }[];
}

export interface LeadershipRecord {
  /** RFC 3339. */
  readonly at: string;
  readonly leader: boolean;
  readonly holder: string | null;
}

export class DashboardHistory {
  readonly #cycles: CycleRecord[] = [];
  readonly #leadership: LeadershipRecord[] = [];
  #estate: Estate | undefined;

  recordCycle(o: CycleOutcome): void {
    this.#cycles.unshift({
      result: o.result,
      startedAt: o.startedAt,
      durationMs: o.durationMs,
      revision: o.revision ?? null,
      changes: o.changes,
      errors: o.errors.map((e) => ({ code: e.code, message: e.message, address: e.address })),
    });
    this.#cycles.length = Math.min(this.#cycles.length, HISTORY);
    if (o.estate !== undefined) this.#estate = o.estate;
  }

  recordLeadership(at: Date, leader: boolean, holder: string | undefined): void {
    this.#leadership.unshift({ at: at.toISOString(), leader, holder: holder ?? null });
    this.#leadership.length = Math.min(this.#leadership.length, HISTORY);
  }

  job(address: string): JobDetail | undefined {
    return this.#estate?.details.get(address);
  }

  /** The body of /api/dashboard: `status` (the /status fields) plus the estate and the history. */
  data(status: Record<string, unknown>, now: Date): Record<string, unknown> {
    const { jobs: _jobs, drift: _drift, pending: _pending, ...meta } = status;
    return {
      generatedAt: now.toISOString(),
      ...meta,
      hasEstate: this.#estate !== undefined,
      rows: this.#estate?.rows ?? [],
      plan: this.#estate?.plan ?? [],
      waves: this.#estate?.waves ?? [],
      cycles: this.#cycles,
      leadership: this.#leadership,
    };
  }
}
