import type { Address } from '../model/address.ts';
import { ACTION_INFO, APPLY_PHASES, type ApplyStage, type WaitsFor } from './action.ts';
import type { Change } from './change.ts';
import { isHeld } from './waves.ts';

/**
 * The order of an apply and its one dependency rule (pure).
 *
 * A change becomes the steps its action lists in ACTION_INFO, each in a phase; phases run in
 * APPLY_PHASES order. Every step has a key: the thing it acts on. Steps with the same key run one
 * at a time, in plan order (at most one operation per server), and each depends on the steps
 * before it with that key. So a failure blocks exactly the later steps on its key (the create half
 * of a replace whose delete failed, the on-demand run after a failed update, the jobs that waited
 * for a failed catalog import) and nothing else.
 */

export interface Step {
  readonly change: Change;
  readonly phase: ApplyStage;
  /** Which of the action's steps this is (a replace: 0 the delete, 1 the create). */
  readonly index: number;
  readonly waitsFor: WaitsFor | undefined;
  readonly key: string;
}

/** The step a failure happened in, as later steps name it. */
export interface FailedStep {
  readonly address: Address;
  readonly operation: string;
}

/**
 * What a step acts on: its server; the catalog for the import and for jobs whose server is known
 * only after it; otherwise its own address (a connector).
 */
export function stepKey(change: Change): string {
  switch (change.action) {
    case 'import-catalog':
      return 'catalog';
    case 'disassociate-connector':
      return change.address;
    case 'create':
      return change.deferredUntilCatalog === true ? 'catalog' : `server ${change.serverId}`;
    case 'retire':
    case 'replace':
    case 'update':
    case 'adopt':
    case 'move':
    case 'start-run':
    case 'record':
      return `server ${change.serverId}`;
    case 'delete':
      return change.serverId !== undefined ? `server ${change.serverId}` : change.address;
    case 'no-op':
      return change.kind === 'ServerCatalog' || change.kind === 'Connector' || change.serverId === undefined ? change.address : `server ${change.serverId}`;
  }
}

/** The steps of a plan's changes, by phase, in plan order within each phase; held changes have none. */
export function stepsByPhase(changes: readonly Change[]): Record<ApplyStage, Step[]> {
  const out = Object.fromEntries(APPLY_PHASES.map((p) => [p, [] as Step[]])) as Record<ApplyStage, Step[]>;
  for (const change of changes) {
    // A held change (reconcile/waves.ts) has no step: it waits for a later apply.
    if (isHeld(change)) continue;
    ACTION_INFO[change.action].steps.forEach((s, index) => {
      out[s.phase].push({ change, phase: s.phase, index, waitsFor: s.waitsFor, key: stepKey(change) });
    });
  }
  return out;
}

/** Steps grouped into chains by key, each chain in plan order: a chain runs one step at a time. */
export function chainsOf(steps: readonly Step[]): Step[][] {
  const chains = new Map<string, Step[]>();
  for (const s of steps) {
    const chain = chains.get(s.key);
    if (chain) chain.push(s);
    else chains.set(s.key, [s]);
  }
  return [...chains.values()];
}

/** The dependency rule at run time: which failure, if any, a step depends on. */
export class Dependencies {
  private readonly failedKeys = new Map<string, FailedStep>();

  /** A step failed: every later step with its key depends on it. */
  failed(step: Step, operation: string): void {
    if (!this.failedKeys.has(step.key)) this.failedKeys.set(step.key, { address: step.change.address, operation });
  }

  /** The failure `step` depends on, or undefined when it may run. */
  blockerOf(step: Step): FailedStep | undefined {
    return this.failedKeys.get(step.key);
  }
}
