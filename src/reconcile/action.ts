/**
 * The one Action union shared by diff, plan, renderers, JSON, executor and events. Tables keyed by
 * it are `Record<Action, ...>`, so a new action does not compile until every table handles it.
 */
export const ACTIONS = [
  'delete', 'replace', 'import-catalog', 'disassociate-connector', 'create', 'update', 'adopt', 'move', 'start-run', 'record', 'no-op',
] as const;
export type Action = (typeof ACTIONS)[number];

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
}

export const ACTION_INFO: Record<Action, ActionInfo> = {
  delete: { glyph: '-', verb: 'will be deleted', summary: 'to delete', destructive: true, callsApi: true },
  replace: { glyph: '-/+', verb: 'will be replaced', summary: 'to replace', destructive: true, callsApi: true },
  'import-catalog': { glyph: '+', verb: 'will be imported', summary: 'catalog import', destructive: false, callsApi: true },
  'disassociate-connector': { glyph: '-', verb: 'will be disassociated', summary: 'to disassociate', destructive: false, callsApi: true },
  create: { glyph: '+', verb: 'will be created', summary: 'to create', destructive: false, callsApi: true },
  update: { glyph: '~', verb: 'will be updated in place', summary: 'to update', destructive: false, callsApi: true },
  adopt: { glyph: '<=', verb: 'will be adopted', summary: 'to adopt', destructive: false, callsApi: false },
  move: { glyph: '->', verb: 'has moved', summary: 'to move', destructive: false, callsApi: false },
  'start-run': { glyph: '>', verb: 'will start an on-demand run', summary: 'runs to start', destructive: false, callsApi: true },
  record: { glyph: '~', verb: 'will be updated in state only', summary: 'to record in state', destructive: false, callsApi: false },
  'no-op': { glyph: ' ', verb: 'is up to date', summary: 'unchanged', destructive: false, callsApi: false },
};

export function isDestructive(action: Action): boolean {
  return ACTION_INFO[action].destructive;
}
