/**
 * How waves and held changes read, for every renderer (text, Markdown, status, apply). Pure:
 * strings in, strings out; every text from the live world passes through `sanitize`.
 *
 * Invariants:
 * - A held change is marked with what it waits for (`holdPhrase`), its wave's heading says the
 *   same for the whole wave with the members not yet replicated (`waveHeading`), and the summary
 *   line counts held changes apart, by what they wait for (`heldPhrase`: `6 waiting for wave 1`).
 * - Waves are listed in ascending order; changes of jobs in no wave come first, under no wave heading.
 */
import { ACTIONS, type Action } from '../reconcile/action.ts';
import type { Change } from '../reconcile/change.ts';
import { describeMember, isHeld, type Hold, type WaveGate, type WaveWait } from '../reconcile/waves.ts';

/** The sanitizer of format.ts, passed in to keep this module free of a cycle with it. */
type Sanitize = (text: string) => string;

/** `1 of 3 replicated (k-app-02 running, Uploading 64%; k-app-03 failed: ...)`. */
export function waitDetail(wait: WaveWait, sanitize: Sanitize): string {
  const shown = wait.members.map((m) => sanitize(describeMember(m)));
  const missing = wait.total - wait.replicated;
  const more = missing > shown.length ? `; ${missing - shown.length} more` : '';
  return `${wait.replicated} of ${wait.total} replicated${shown.length === 0 ? '' : ` (${shown.join('; ')}${more})`}`;
}

/** What a held change waits for, short: `waiting for wave 1 (1 of 3 replicated)`, `held by --max-wave 2`. */
export function holdPhrase(h: Hold): string {
  switch (h.kind) {
    case 'wave':
      return `waiting for wave ${h.waitingFor.wave} (${h.waitingFor.replicated} of ${h.waitingFor.total} replicated)`;
    case 'max-wave':
      return `held by --max-wave ${h.maxWave}`;
    case 'quota':
      return quotaPhrase(h);
  }
}

/** `waiting for quota (50 of 50 in use)`: a create past the account's concurrent-job limit. */
export function quotaPhrase(h: { readonly inUse: number; readonly limit: number }): string {
  return `waiting for quota (${h.inUse} of ${h.limit} in use)`;
}

/** The key that groups held changes in the summary: what they wait for, without the counts. */
function holdKey(h: Hold): string {
  switch (h.kind) {
    case 'wave':
      return `waiting for wave ${h.waitingFor.wave}`;
    case 'max-wave':
      return `held by --max-wave ${h.maxWave}`;
    case 'quota':
      return 'waiting for quota';
  }
}

/** The held changes counted by what they wait for: `6 waiting for wave 1, 3 held by --max-wave 2, 70 waiting for quota`; '' when none. */
export function heldPhrase(changes: readonly Change[]): string {
  const counts = new Map<string, number>();
  for (const c of changes) if (c.gatedBy !== undefined) counts.set(holdKey(c.gatedBy), (counts.get(holdKey(c.gatedBy)) ?? 0) + 1);
  return [...counts.entries()].map(([key, n]) => `${n} ${key}`).join(', ');
}

/** Each action as a counted noun in a wave's heading: singular, plural. */
const NOUN: Record<Action, readonly [string, string]> = {
  delete: ['delete', 'deletes'],
  replace: ['replace', 'replaces'],
  'import-catalog': ['catalog import', 'catalog imports'],
  'disassociate-connector': ['disassociation', 'disassociations'],
  create: ['create', 'creates'],
  update: ['update', 'updates'],
  adopt: ['adoption', 'adoptions'],
  move: ['move', 'moves'],
  'start-run': ['on-demand run', 'on-demand runs'],
  retire: ['retire', 'retires'],
  record: ['state record', 'state records'],
  'no-op': ['unchanged', 'unchanged'],
};

/** `3 creates, 1 update` for a list of changes (no-op left out), in ACTIONS order. */
export function actionCounts(changes: readonly Change[]): string {
  const n = new Map<Action, number>();
  for (const c of changes) if (c.action !== 'no-op') n.set(c.action, (n.get(c.action) ?? 0) + 1);
  return ACTIONS.filter((a) => (n.get(a) ?? 0) > 0)
    .map((a) => {
      const count = n.get(a) ?? 0;
      return `${count} ${NOUN[a][count === 1 ? 0 : 1]}`;
    })
    .join(', ');
}

/** A wave's gate in a few words: `gate open`, `waiting for wave 1: 1 of 3 replicated (...)`, `held by --max-wave 1`. */
export function gatePhrase(gate: WaveGate, maxWave: number | undefined, wait: WaveWait | undefined, sanitize: Sanitize): string {
  if (gate.heldByMaxWave) return `held by --max-wave ${maxWave ?? '?'}`;
  if (gate.open) return 'gate open';
  return wait === undefined ? `waiting for wave ${gate.waitingFor ?? '?'}` : `waiting for wave ${wait.wave}: ${waitDetail(wait, sanitize)}`;
}

/**
 * A wave's heading in a plan: `Wave 2 (3 creates): waiting for wave 1: 1 of 3 replicated (...)`,
 * or `Wave 1 (3 creates): gate open`.
 */
export function waveHeading(wave: number, changes: readonly Change[], gate: WaveGate | undefined, maxWave: number | undefined, sanitize: Sanitize): string {
  const wait = changes.map((c) => c.gatedBy).find((h): h is Extract<Hold, { kind: 'wave' }> => h?.kind === 'wave')?.waitingFor;
  const state = gate === undefined ? '' : `: ${gatePhrase(gate, maxWave, wait, sanitize)}`;
  return `Wave ${wave} (${actionCounts(changes)})${state}`;
}

/** Changes split by wave: those in no wave first, then each wave in ascending order; the order within each is kept. */
export function byWave(changes: readonly Change[]): { readonly wave: number | undefined; readonly changes: readonly Change[] }[] {
  const groups = new Map<number | undefined, Change[]>();
  for (const c of changes) {
    const list = groups.get(c.wave);
    if (list) list.push(c);
    else groups.set(c.wave, [c]);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a === undefined ? -1 : b === undefined ? 1 : a - b))
    .map(([wave, list]) => ({ wave, changes: list }));
}

/** Whether any change is held. */
export function anyHeld(changes: readonly Change[]): boolean {
  return changes.some(isHeld);
}
