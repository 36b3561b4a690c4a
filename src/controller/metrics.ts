/**
 * The controller's Prometheus metrics (prom-client, on a registry of its own). Fed by the loop's
 * cycle outcomes and by the counting SMS API; no label names a job, so the series stay bounded
 * whatever the size of the estate.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ACTIONS } from '../reconcile/action.ts';
import { serviceNowMs, type SmsApi } from '../sms/api.ts';
import { isSmsApiError } from '../sms/errors.ts';
import { VERSION } from '../cli/version.ts';
import type { CycleOutcome } from './cycle.ts';

export const CYCLE_RESULTS = ['success', 'failed', 'invalid', 'partial'] as const;
export type CycleResult = (typeof CYCLE_RESULTS)[number];

/** The `state` label of sms_reconcile_wave_jobs: the counts of reconcile/waves.ts WaveGate. */
const WAVE_JOB_STATES = ['declared', 'created', 'replicated', 'failed'] as const;

/**
 * The process's memory, read at each scrape: what an operator who leaves the controller running
 * watches first, and what bench/controller.ts reads. (Not prom-client's default metrics: some of
 * their names fail `promtool check metrics`, e.g. a gauge named `nodejs_active_handles_total`.)
 */
function processMemoryGauges(registers: Registry[]): void {
  const gauge = (name: string, help: string, pick: (m: NodeJS.MemoryUsage) => number): void => {
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(pick(process.memoryUsage()));
      },
    });
  };
  gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', (m) => m.rss);
  gauge('nodejs_heap_size_total_bytes', 'V8 heap capacity in bytes.', (m) => m.heapTotal);
  gauge('nodejs_heap_size_used_bytes', 'V8 heap in use in bytes.', (m) => m.heapUsed);
  gauge('nodejs_external_memory_bytes', 'Memory of C++ objects bound to JavaScript objects, in bytes.', (m) => m.external);
}

export class ControllerMetrics {
  readonly registry = new Registry();
  readonly #leader: Gauge;
  readonly #total: Counter<'result'>;
  readonly #duration: Histogram;
  readonly #lastSuccess: Gauge;
  readonly #drift: Gauge;
  readonly #pending: Gauge<'action'>;
  readonly #jobs: Gauge<'state'>;
  readonly #expiring: Gauge<'within'>;
  readonly #api: Counter<'operation' | 'outcome'>;
  readonly #revision: Gauge<'revision'>;
  readonly #waveJobs: Gauge<'wave' | 'state'>;
  readonly #waveGate: Gauge<'wave'>;

  constructor() {
    const registers = [this.registry];
    processMemoryGauges(registers);
    new Gauge({ name: 'sms_reconcile_build_info', help: 'Always 1; the version of sms-reconcile as a label.', labelNames: ['version'], registers }).set({ version: VERSION }, 1);
    this.#leader = new Gauge({ name: 'sms_reconcile_leader', help: '1 while this process holds the controller lease, else 0.', registers });
    this.#leader.set(0);
    this.#total = new Counter({ name: 'sms_reconcile_reconcile_total', help: 'Finished reconcile cycles, by result.', labelNames: ['result'], registers });
    for (const result of CYCLE_RESULTS) this.#total.inc({ result }, 0);
    this.#duration = new Histogram({
      name: 'sms_reconcile_reconcile_duration_seconds',
      help: 'Duration of reconcile cycles.',
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800],
      registers,
    });
    this.#lastSuccess = new Gauge({ name: 'sms_reconcile_last_success_timestamp_seconds', help: 'When the last successful cycle finished (Unix time; 0 before the first).', registers });
    this.#lastSuccess.set(0);
    this.#drift = new Gauge({ name: 'sms_reconcile_drift_resources', help: 'Managed jobs whose live values differ from what was applied, at the last cycle.', registers });
    this.#pending = new Gauge({ name: 'sms_reconcile_pending_changes', help: 'Changes the last cycle left to do (not allowed, observe mode, or failed), by action.', labelNames: ['action'], registers });
    this.#jobs = new Gauge({ name: 'sms_reconcile_jobs', help: 'Managed replication jobs at the last cycle, by job state.', labelNames: ['state'], registers });
    this.#expiring = new Gauge({
      name: 'sms_reconcile_jobs_expiring',
      help: 'Managed jobs SMS terminates (90 days after their replication began) within 7 or 15 days, at the last cycle.',
      labelNames: ['within'],
      registers,
    });
    for (const within of ['15d', '7d']) this.#expiring.set({ within }, 0);
    this.#api = new Counter({ name: 'sms_reconcile_api_requests_total', help: 'SMS API calls made by the controller, by operation and outcome.', labelNames: ['operation', 'outcome'], registers });
    // Waves are few (a migration has a handful): one series per wave and count, never per job.
    this.#waveJobs = new Gauge({ name: 'sms_reconcile_wave_jobs', help: 'Jobs of each declared wave at the last cycle, by state: declared, created, replicated (first run completed), failed.', labelNames: ['wave', 'state'], registers });
    this.#waveGate = new Gauge({ name: 'sms_reconcile_wave_gate_open', help: "1 when the wave's creates may run (every earlier wave has replicated), else 0.", labelNames: ['wave'], registers });
    this.#revision = new Gauge({ name: 'sms_reconcile_source_revision_info', help: 'Always 1; the source revision of the last cycle as a label.', labelNames: ['revision'], registers });
  }

  setLeader(leader: boolean): void {
    this.#leader.set(leader ? 1 : 0);
  }

  recordCycle(o: CycleOutcome, finishedAtMs: number): void {
    this.#total.inc({ result: o.result });
    this.#duration.observe(o.durationMs / 1000);
    if (o.result === 'success') this.#lastSuccess.set(finishedAtMs / 1000);
    if (o.result === 'invalid') return; // nothing was read: the last known figures stand
    this.#drift.set(o.drift.length);
    this.#pending.reset();
    for (const action of ACTIONS) if (action !== 'no-op') this.#pending.set({ action }, 0);
    for (const c of o.pending) this.#pending.inc({ action: c.action });
    this.#jobs.reset();
    for (const [state, n] of Object.entries(o.jobStates)) this.#jobs.set({ state }, n);
    this.#waveJobs.reset();
    this.#waveGate.reset();
    for (const g of o.waves) {
      const wave = String(g.wave);
      for (const state of WAVE_JOB_STATES) this.#waveJobs.set({ wave, state }, g[state]);
      this.#waveGate.set({ wave }, g.open ? 1 : 0);
    }
    for (const [within, n] of Object.entries(o.jobsExpiring)) this.#expiring.set({ within }, n);
    if (o.revision !== undefined) {
      this.#revision.reset();
      this.#revision.set({ revision: o.revision }, 1);
    }
  }

  countApi(operation: string, outcome: 'success' | 'error' | 'throttled'): void {
    this.#api.inc({ operation, outcome });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/** Wraps an SmsApi so that each call is counted by operation and outcome. */
export function countedApi(api: SmsApi, metrics: ControllerMetrics): SmsApi {
  const count = async <T>(operation: string, call: () => Promise<T>): Promise<T> => {
    try {
      const out = await call();
      metrics.countApi(operation, 'success');
      return out;
    } catch (err) {
      metrics.countApi(operation, isSmsApiError(err) && err.throttled ? 'throttled' : 'error');
      throw err;
    }
  };
  return {
    getServers: (onPage) => count('GetServers', () => api.getServers(onPage)),
    getServerCatalogStatus: () => count('GetServers', () => api.getServerCatalogStatus()),
    getReplicationJobs: (onPage) => count('GetReplicationJobs', () => api.getReplicationJobs(onPage)),
    getReplicationJob: (id) => count('GetReplicationJobs', () => api.getReplicationJob(id)),
    getReplicationRuns: (id) => count('GetReplicationRuns', () => api.getReplicationRuns(id)),
    getConnectors: () => count('GetConnectors', () => api.getConnectors()),
    createReplicationJob: (input) => count('CreateReplicationJob', () => api.createReplicationJob(input)),
    updateReplicationJob: (input) => count('UpdateReplicationJob', () => api.updateReplicationJob(input)),
    deleteReplicationJob: (id) => count('DeleteReplicationJob', () => api.deleteReplicationJob(id)),
    startOnDemandReplicationRun: (id, d) => count('StartOnDemandReplicationRun', () => api.startOnDemandReplicationRun(id, d)),
    importServerCatalog: () => count('ImportServerCatalog', () => api.importServerCatalog()),
    deleteServerCatalog: () => count('DeleteServerCatalog', () => api.deleteServerCatalog()),
    disassociateConnector: (id) => count('DisassociateConnector', () => api.disassociateConnector(id)),
    calls: () => api.calls(),
    serviceNow: (wallMs) => serviceNowMs(api, wallMs),
  };
}
