import type { SmsAction } from '../sms/api.ts';
import type { StateHead, TargetIdentity } from '../state/codec.ts';
import type { Address } from '../model/address.ts';
import { ACTION_INFO, ACTIONS, type Action } from './action.ts';
import { isStateOnlyDelete, type Change, type Drift, type PlanWarning } from './change.ts';
import type { WaveGate } from './waves.ts';
import type { MigratedEntry } from './cutover.ts';
import type { QuotaView } from './quota.ts';

export const PLAN_FORMAT_VERSION = 1 as const;

/**
 * A plan: pure data, deterministic for the same inputs. Renderers and the executor read it; a
 * saved plan file is this plus what apply needs to check it is still fresh.
 * Invariant: `changes` are ordered destructive first, then in execution order, then by address.
 */
export interface Plan {
  readonly formatVersion: typeof PLAN_FORMAT_VERSION;
  /** RFC 3339, from the injected clock. */
  readonly createdAt: string;
  readonly target: TargetIdentity;
  readonly targetDescription: string;
  /** The state the plan was made against; undefined for a first run. */
  readonly state: StateHead | undefined;
  readonly manifestDigest: string;
  readonly options: PlanOptions;
  readonly changes: readonly Change[];
  readonly drift: readonly Drift[];
  readonly warnings: readonly PlanWarning[];
  /** API calls made to read the live world. */
  readonly apiCalls: Readonly<Partial<Record<SmsAction, number>>>;
  /**
   * The declared waves and their gates as the plan saw them (reconcile/waves.ts); absent or empty
   * when no manifest declares a wave. A saved plan is stale when a gate opened or closed since.
   */
  readonly waves?: readonly WaveGate[];
  /** Servers the state records as migrated (cutover) that the manifests still declare so; absent in older saved plans. */
  readonly migrated?: readonly MigratedEntry[];
  /**
   * The account's slots as the plan saw them (reconcile/quota.ts): apply creates at most the free
   * ones (plus those its retires free); a saved plan is stale when the free slots changed. Absent in older saved plans.
   */
  readonly quota?: QuotaView;
}

export interface PlanOptions {
  readonly targets: readonly Address[];
  readonly replace: readonly Address[];
  readonly refreshOnly: boolean;
  /** `--max-wave N`: changes of jobs of later waves are held. */
  readonly maxWave?: number;
}

export type PlanSummary = Record<Action, number>;

export function summarize(changes: readonly Change[]): PlanSummary {
  const out = Object.fromEntries(ACTIONS.map((a) => [a, 0])) as PlanSummary;
  for (const c of changes) out[c.action] += 1;
  return out;
}

/**
 * Changes that do something (everything but no-op), held ones included: they are pending (exit 2
 * with --detailed-exitcode). What apply may carry out now is `runnable` (reconcile/waves.ts).
 */
export function effectiveChanges(plan: Pick<Plan, 'changes'>): Change[] {
  return plan.changes.filter((c) => c.action !== 'no-op');
}

export function hasDestructive(plan: Pick<Plan, 'changes'>): boolean {
  return plan.changes.some((c) => ACTION_INFO[c.action].destructive && !isStateOnlyDelete(c));
}

/** Exit status of `plan --detailed-exitcode`: 0 nothing to do, 2 changes, 3 changes with a delete or replace. */
export function detailedExitCode(plan: Pick<Plan, 'changes'>): 0 | 2 | 3 {
  if (effectiveChanges(plan).length === 0) return 0;
  return hasDestructive(plan) ? 3 : 2;
}
