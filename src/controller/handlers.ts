/**
 * The controller's HTTP handlers (see http.ts), answered from its parts as they stand: the loop and
 * the elector may not exist yet when the first request comes.
 */
import { systemClock } from '../reconcile/ports.ts';
import { systemTimers } from '../state/lease.ts';
import type { DashboardHistory } from './dashboard-data.ts';
import type { HttpHandlers } from './http.ts';
import type { ControllerMetrics } from './metrics.ts';
import { statusOf, type ControllerParts } from './status.ts';

export interface HandlerDeps {
  readonly parts: ControllerParts;
  readonly history: DashboardHistory;
  readonly metrics: ControllerMetrics;
  /** A cycle running longer than this makes /healthz fail (the loop is wedged). */
  readonly wedgeMs: number;
}

/** A cycle may run this long before /healthz calls the controller wedged: two intervals and half an hour. */
export function wedgeAfter(intervalMs: number): number {
  return 2 * intervalMs + 30 * 60_000;
}

export function controllerHandlers({ parts, history, metrics, wedgeMs }: HandlerDeps): HttpHandlers {
  return {
    healthy: () => {
      const since = parts.loop?.status.runningSince;
      if (since !== undefined && systemTimers.now() - since > wedgeMs) return { ok: false, reason: `a cycle has run since ${new Date(since).toISOString()}` };
      return { ok: true };
    },
    ready: () => {
      if (parts.elector?.view.leader !== true) return { ok: false, reason: 'standby: another controller leads' };
      if (parts.loop?.status.lastCycle === undefined) return { ok: false, reason: 'the first cycle has not finished' };
      return { ok: true };
    },
    status: () => statusOf(parts),
    dashboard: () => history.data(statusOf(parts), new Date(systemClock.now())),
    job: (address) => history.job(address),
    metrics: async () => ({ contentType: metrics.contentType, text: await metrics.text() }),
    trigger: (reason) => {
      if (parts.elector?.view.leader === true) parts.loop?.trigger(reason);
    },
  };
}
