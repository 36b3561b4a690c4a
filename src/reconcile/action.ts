/**
 * The one Action union shared by diff, plan, renderers, JSON, executor and events. Tables keyed by
 * it are `Record<Action, ...>`, so a new action does not compile until every table handles it.
 */
export const ACTIONS = [
  'delete', 'replace', 'import-catalog', 'disassociate-connector', 'retire', 'create', 'update', 'adopt', 'move', 'start-run', 'record', 'no-op',
] as const;
export type Action = (typeof ACTIONS)[number];

/** The phases of an apply, in order: each starts once every operation of the one before has finished. */
export const APPLY_PHASES = ['catalog', 'disassociate', 'delete', 'create'] as const;
export type ApplyStage = (typeof APPLY_PHASES)[number];

/** What an operation waits for once its API call is done, before its phase counts it finished. */
export type WaitsFor = 'catalog-available' | 'job-deleted';

/** One step of an action: the phase it runs in, and what it then waits for. */
export interface ActionStep {
  readonly phase: ApplyStage;
  readonly waitsFor?: WaitsFor;
}

export interface ActionInfo {
  /** Terraform-style glyph shown before the address. */
  readonly glyph: string;
  /** Verb for plan lines ("will be created"). */
  readonly verb: string;
  /** Noun for the summary line ("3 to create"). */
  readonly summary: string;
  /** Deletes or replaces a live job: listed first, counted apart, needs --allow-destroy. */
  readonly destructive: boolean;
  /** Calls the SMS API (move and no-op only touch state). */
  readonly callsApi: boolean;
  /**
   * The steps apply carries out, in phase order (a replace deletes, waits for DELETED, and creates
   * in the create phase). A later step of one change runs only if the earlier one succeeded.
   */
  readonly steps: readonly ActionStep[];
}

const CREATE_PHASE: readonly ActionStep[] = [{ phase: 'create' }];

export const ACTION_INFO: Record<Action, ActionInfo> = {
  delete: { glyph: '-', verb: 'will be deleted', summary: 'to delete', destructive: true, callsApi: true, steps: [{ phase: 'delete' }] },
  replace: { glyph: '-/+', verb: 'will be replaced', summary: 'to replace', destructive: true, callsApi: true, steps: [{ phase: 'delete', waitsFor: 'job-deleted' }, { phase: 'create' }] },
  'import-catalog': { glyph: '+', verb: 'will be imported', summary: 'catalog import', destructive: false, callsApi: true, steps: [{ phase: 'catalog', waitsFor: 'catalog-available' }] },
  'disassociate-connector': { glyph: '-', verb: 'will be disassociated', summary: 'to disassociate', destructive: false, callsApi: true, steps: [{ phase: 'disassociate' }] },
  // Not destructive: the job's AMIs stay, and the server is recorded as migrated (lifecycle.preventDestroy still blocks it).
  retire: { glyph: '=>', verb: 'will be retired (job deleted, AMIs kept, server recorded as migrated)', summary: 'to retire', destructive: false, callsApi: true, steps: [{ phase: 'delete', waitsFor: 'job-deleted' }] },
  create: { glyph: '+', verb: 'will be created', summary: 'to create', destructive: false, callsApi: true, steps: CREATE_PHASE },
  update: { glyph: '~', verb: 'will be updated in place', summary: 'to update', destructive: false, callsApi: true, steps: CREATE_PHASE },
  adopt: { glyph: '<=', verb: 'will be adopted', summary: 'to adopt', destructive: false, callsApi: false, steps: CREATE_PHASE },
  move: { glyph: '->', verb: 'has moved', summary: 'to move', destructive: false, callsApi: false, steps: CREATE_PHASE },
  'start-run': { glyph: '>', verb: 'will start an on-demand run', summary: 'runs to start', destructive: false, callsApi: true, steps: CREATE_PHASE },
  record: { glyph: '~', verb: 'will be updated in state only', summary: 'to record in state', destructive: false, callsApi: false, steps: CREATE_PHASE },
  'no-op': { glyph: ' ', verb: 'is up to date', summary: 'unchanged', destructive: false, callsApi: false, steps: [] },
};

export function isDestructive(action: Action): boolean {
  return ACTION_INFO[action].destructive;
}
