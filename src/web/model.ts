/**
 * The data /api/dashboard and /api/job return (the server's controller/estate.ts and
 * dashboard-data.ts), and what the views derive from it: counts, filters, sorting, waves.
 */

// The wire types are the server's own (type-only: nothing of the server is bundled into the page).
import type { EstateRow, RunView } from '../controller/estate.ts';
import type { WaveGate } from '../reconcile/waves.ts';

export type { RunView };
export type Row = EstateRow;

export interface PlanItem {
  readonly address: string;
  readonly action: string;
  readonly destructive: boolean;
  readonly why: string;
  readonly reason: string;
  readonly vmName?: string;
  readonly wave: string;
}

export interface CycleRecord {
  readonly result: string;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly revision: string | null;
  readonly changes: { readonly planned: number; readonly applied: number; readonly pending: number };
  readonly errors: readonly { readonly code: string; readonly message: string; readonly address?: string }[];
}

export interface Dashboard {
  readonly generatedAt: string;
  readonly leader: boolean;
  readonly holder: string | null;
  readonly identity: string;
  readonly mode: string;
  readonly allowDestroy: boolean;
  readonly revision: string | null;
  readonly running: boolean;
  readonly nextCycleAt: string | null;
  readonly consecutiveFailures: number;
  readonly lastCycle: (Omit<CycleRecord, 'revision'> & { readonly revision: string | null }) | null;
  readonly hasEstate: boolean;
  readonly rows: readonly Row[];
  readonly plan: readonly PlanItem[];
  /** The declared waves and their gates (absent from a controller older than waves). */
  readonly waves?: readonly WaveGate[];
  readonly cycles: readonly CycleRecord[];
  readonly leadership: readonly { readonly at: string; readonly leader: boolean; readonly holder: string | null }[];
}

export interface JobDetail {
  readonly row: Row;
  readonly action: string;
  readonly reason: string;
  readonly declared?: Record<string, unknown>;
  readonly live?: Record<string, unknown>;
  readonly diff: readonly { readonly field: string; readonly before: unknown; readonly after: unknown }[];
  readonly replaceBecause?: readonly string[];
  readonly runs: readonly RunView[];
}

const FAILED_JOB_STATES = new Set(['FAILED', 'FAILING', 'PAUSED_ON_FAILURE', 'MISSING']);

export const isFailed = (r: Row): boolean => r.error !== undefined || FAILED_JOB_STATES.has(r.state) || r.latestRun?.state === 'FAILED';
export const isRunning = (r: Row): boolean => r.latestRun?.state === 'ACTIVE';
export const isReplicated = (r: Row): boolean => r.latestAmiId !== undefined || r.state === 'COMPLETED';
export const isDrifted = (r: Row): boolean => r.drift.length > 0;
export const isPending = (r: Row): boolean => r.pending !== undefined;

export interface Counts {
  readonly jobs: number;
  readonly replicated: number;
  readonly running: number;
  readonly failed: number;
  readonly drifted: number;
  readonly pending: number;
}

export function countsOf(rows: readonly Row[]): Counts {
  let replicated = 0, running = 0, failed = 0, drifted = 0, pending = 0;
  for (const r of rows) {
    if (isReplicated(r)) replicated++;
    if (isRunning(r)) running++;
    if (isFailed(r)) failed++;
    if (isDrifted(r)) drifted++;
    if (isPending(r)) pending++;
  }
  return { jobs: rows.length, replicated, running, failed, drifted, pending };
}

export interface Filters {
  state: string;
  wave: string;
  failed: boolean;
  drifted: boolean;
  pending: boolean;
  search: string;
}

export const NO_FILTERS: Filters = { state: '', wave: '', failed: false, drifted: false, pending: false, search: '' };

/** The text a search looks in. */
function haystack(r: Row): string {
  return [r.address, r.vmName, r.serverId, r.replicationJobId, r.state, r.error?.code, r.error?.message, r.description, r.latestAmiId].join('\u0000').toLowerCase();
}

export function filterRows(rows: readonly Row[], f: Filters): Row[] {
  const q = f.search.trim().toLowerCase();
  return rows.filter(
    (r) =>
      (f.state === '' || r.state === f.state) &&
      (f.wave === '' || r.wave === f.wave) &&
      (!f.failed || isFailed(r)) &&
      (!f.drifted || isDrifted(r)) &&
      (!f.pending || isPending(r)) &&
      (q === '' || haystack(r).includes(q)),
  );
}

export type SortKey = 'address' | 'vmName' | 'serverId' | 'replicationJobId' | 'state' | 'run' | 'latestAmiId' | 'nextRunAt' | 'wave' | 'drift' | 'pending' | 'error';

function sortValue(r: Row, k: SortKey): string {
  switch (k) {
    case 'run':
      return r.latestRun?.state ?? '';
    case 'drift':
      return r.drift.join(',');
    case 'pending':
      return r.pending?.action ?? '';
    case 'error':
      return r.error?.code ?? '';
    default:
      return r[k] ?? '';
  }
}

export function sortRows(rows: Row[], key: SortKey, descending: boolean): Row[] {
  const dir = descending ? -1 : 1;
  return rows.sort((a, b) => {
    const x = sortValue(a, key), y = sortValue(b, key);
    if (x !== y) return (x < y ? -1 : 1) * dir;
    return a.address < b.address ? -1 : a.address > b.address ? 1 : 0;
  });
}

export interface Wave {
  readonly name: string;
  readonly declared: number;
  readonly created: number;
  readonly replicated: number;
  readonly failed: number;
  readonly gateOpen: boolean;
  readonly waitingFor?: number;
  readonly heldByMaxWave?: boolean;
}

/**
 * Per wave: declared, created, replicated, failed, and the gate. The declared waves come from the
 * controller's plan (`gates`, reconcile/waves.ts: the gate is decided there, once); the jobs in no
 * wave ("none", never gated) are counted from the rows, and listed last.
 */
export function wavesOf(rows: readonly Row[], gates: readonly WaveGate[] = []): Wave[] {
  const declared: Wave[] = gates.map((g) => ({
    name: String(g.wave), declared: g.declared, created: g.created, replicated: g.replicated, failed: g.failed, gateOpen: g.open,
    ...(g.waitingFor === undefined ? {} : { waitingFor: g.waitingFor }), heldByMaxWave: g.heldByMaxWave,
  }));
  const rest = countByWave(rows.filter((r) => !gates.some((g) => String(g.wave) === r.wave)));
  return declared.length > 0 && rest.length === 1 && rest[0]?.declared === 0 ? declared : [...declared, ...rest];
}

/** Rows counted by their wave, every gate open (jobs in no wave are never gated). */
function countByWave(rows: readonly Row[]): Wave[] {
  const by = new Map<string, { declared: number; created: number; replicated: number; failed: number }>();
  for (const r of rows) {
    const w = by.get(r.wave) ?? { declared: 0, created: 0, replicated: 0, failed: 0 };
    w.declared++;
    if (r.replicationJobId !== undefined && r.state !== 'MISSING') w.created++;
    if (isReplicated(r)) w.replicated++;
    if (isFailed(r)) w.failed++;
    by.set(r.wave, w);
  }
  if (by.size === 0) by.set('none', { declared: 0, created: 0, replicated: 0, failed: 0 });
  return [...by].map(([name, w]) => ({ name, ...w, gateOpen: true }));
}

/** The colour class of a state (the text is always shown too). */
export function tone(state: string | undefined): string {
  switch (state) {
    case 'COMPLETED':
    case 'ACTIVE':
      return 'ok';
    case 'PENDING':
    case 'NO_JOB':
    case 'MISSED':
      return 'wait';
    case 'FAILED':
    case 'FAILING':
    case 'PAUSED_ON_FAILURE':
    case 'MISSING':
      return 'bad';
    case 'DELETING':
    case 'DELETED':
      return 'gone';
    default:
      return 'neutral';
  }
}
