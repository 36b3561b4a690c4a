/** The order of an apply (src/reconcile/order.ts) and piped progress (src/report/progress.ts): pure functions, no I/O. */
import { describe, expect, it } from 'vitest';
import type { Action } from '../../src/reconcile/action.ts';
import type { Change } from '../../src/reconcile/change.ts';
import { chainsOf, Dependencies, stepsByPhase } from '../../src/reconcile/order.ts';
import type { JobProgress } from '../../src/reconcile/ports.ts';
import { ProgressLog } from '../../src/report/progress.ts';

/** A change of `action` (only what order.ts reads is meaningful: the action, the address, the server). */
const change = (action: Action, address: string, extra: { serverId?: string; deferredUntilCatalog?: true } = {}): Change => {
  const head = { address, fields: [] as const, reason: 'test', preventDestroy: false };
  const job = { ...head, kind: 'ReplicationJob' as const, replicationJobId: `job-of-${address}`, serverId: extra.serverId ?? 's-0', after: {} };
  switch (action) {
    case 'import-catalog':
      return { ...head, action, kind: 'ServerCatalog' };
    case 'disassociate-connector':
      return { ...head, action, kind: 'Connector', connectorId: 'c-1' };
    case 'create':
      return extra.deferredUntilCatalog === true ? { ...head, action, kind: 'ReplicationJob', after: {}, deferredUntilCatalog: true } : { ...job, action };
    case 'replace':
      return { ...job, action, replaceBecause: ['--replace'] };
    case 'start-run':
      return { ...job, action, onDemandRun: { token: 't' } };
    case 'record':
      return { ...job, action, recordedPreventDestroy: false };
    case 'move':
      return { ...job, action, previousAddress: `${address}-old` };
    case 'delete':
      return { ...job, action };
    case 'retire':
      return { ...job, action };
    case 'update':
      return { ...job, action };
    case 'adopt':
      return { ...job, action };
    case 'no-op':
      return { ...job, action };
  }
};

describe('stepsByPhase and the dependency rule', () => {
  const plan = [
    change('replace', 'ReplicationJob/a', { serverId: 's-1' }),
    change('delete', 'ReplicationJob/b', { serverId: 's-2' }),
    change('import-catalog', 'ServerCatalog/catalog'),
    change('update', 'ReplicationJob/c', { serverId: 's-3' }),
    change('start-run', 'ReplicationJob/c', { serverId: 's-3' }),
    change('create', 'ReplicationJob/d', { deferredUntilCatalog: true }),
    change('create', 'ReplicationJob/e', { serverId: 's-5' }),
    change('no-op', 'ReplicationJob/f', { serverId: 's-6' }),
  ];
  const steps = stepsByPhase(plan);

  it('puts each step in the phase ACTION_INFO gives it, in plan order; a replace deletes (and waits) first, then creates', () => {
    const show = (p: keyof typeof steps) => steps[p].map((s) => `${s.change.action} ${s.change.address} #${s.index}${s.waitsFor ? ` waits ${s.waitsFor}` : ''}`);
    expect(show('catalog')).toEqual(['import-catalog ServerCatalog/catalog #0 waits catalog-available']);
    expect(show('disassociate')).toEqual([]);
    expect(show('delete')).toEqual(['replace ReplicationJob/a #0 waits job-deleted', 'delete ReplicationJob/b #0']);
    expect(show('create')).toEqual(['replace ReplicationJob/a #1', 'update ReplicationJob/c #0', 'start-run ReplicationJob/c #0', 'create ReplicationJob/d #0', 'create ReplicationJob/e #0']);
  });

  it('chains the steps of one server (or of the catalog) in plan order', () => {
    expect(chainsOf(steps.create).map((c) => c.map((s) => `${s.change.action} ${s.change.address}`))).toEqual([
      ['replace ReplicationJob/a'], ['update ReplicationJob/c', 'start-run ReplicationJob/c'], ['create ReplicationJob/d'], ['create ReplicationJob/e'],
    ]);
  });

  it('a failure blocks exactly the later steps on its key', () => {
    const deps = new Dependencies();
    const [replaceDelete] = steps.delete;
    const [catalog] = steps.catalog;
    const [replaceCreate, update, run, deferred, independent] = steps.create;
    if (!replaceDelete || !catalog || !replaceCreate || !update || !run || !deferred || !independent) throw new Error('steps missing');
    deps.failed(replaceDelete, 'DeleteReplicationJob');
    deps.failed(update, 'UpdateReplicationJob');
    deps.failed(catalog, 'ImportServerCatalog');
    expect(deps.blockerOf(replaceCreate)).toEqual({ address: 'ReplicationJob/a', operation: 'DeleteReplicationJob' });
    expect(deps.blockerOf(run)).toEqual({ address: 'ReplicationJob/c', operation: 'UpdateReplicationJob' });
    expect(deps.blockerOf(deferred)).toEqual({ address: 'ServerCatalog/catalog', operation: 'ImportServerCatalog' });
    expect(deps.blockerOf(independent)).toBeUndefined();
  });
});

describe('ProgressLog', () => {
  const job = (n: number, p: Partial<JobProgress>): JobProgress => ({ address: `ReplicationJob/j${n}`, replicationJobId: `sms-job-0000000${n}`, jobState: 'ACTIVE', settled: false, ...p });

  it('prints a line per job event and a summary at most every interval, never a line per refresh', () => {
    const log = new ProgressLog(30_000);
    const uploading = (pct: string) => [job(1, { runState: 'ACTIVE', stage: 'Uploading', stageProgress: pct }), job(2, { runState: 'ACTIVE', stage: 'Uploading', stageProgress: pct })];
    expect(log.lines(uploading('10%'), 0)).toEqual([
      'ReplicationJob/j1 sms-job-00000001: job ACTIVE, run ACTIVE (Uploading)',
      'ReplicationJob/j2 sms-job-00000002: job ACTIVE, run ACTIVE (Uploading)',
    ]);
    // Refreshes that only move the percentage print nothing, however many.
    for (let t = 2_000; t < 30_000; t += 2_000) expect(log.lines(uploading(`${t / 1000}%`), t)).toEqual([]);
    expect(log.lines(uploading('99%'), 30_000)).toEqual(['Progress: 0 of 2 replicated, 2 running, 0 failed']);
    expect(log.lines([job(1, { runState: 'ACTIVE', stage: 'Converting' }), job(2, { runState: 'FAILED', failureReason: 'upload failed', jobState: 'PAUSED_ON_FAILURE' })], 32_000)).toEqual([
      'ReplicationJob/j1 sms-job-00000001: stage Converting',
      'ReplicationJob/j2 sms-job-00000002: run failed (job PAUSED_ON_FAILURE): upload failed',
    ]);
    expect(log.lines([job(1, { runState: 'COMPLETED', latestAmiId: 'ami-1' }), job(2, { runState: 'FAILED', failureReason: 'upload failed', jobState: 'PAUSED_ON_FAILURE' })], 34_000)).toEqual([
      'ReplicationJob/j1 sms-job-00000001: run completed: AMI ami-1',
    ]);
    expect(log.lines([job(1, { runState: 'COMPLETED', latestAmiId: 'ami-1' }), job(2, { runState: 'FAILED', failureReason: 'upload failed', jobState: 'PAUSED_ON_FAILURE' })], 60_000)).toEqual([
      'Progress: 1 of 2 replicated, 0 running, 1 failed',
    ]);
  });
});
