import { describe, expect, it } from 'vitest';
import { hasDestructive } from '../../src/reconcile/plan.ts';
import {
  countChanges, countsPhrase, formatTimestamp, formatValue, groupChanges, groupDrift, sanitize, summaryLine, viewChange,
} from '../../src/report/format.ts';
import { painter } from '../../src/report/color.ts';
import { change, FIXTURE_PLANS, kitchenSinkPlan, T0 } from '../fixtures/plans/plans.ts';

describe('format', () => {
  it('renders epoch seconds as RFC 3339 UTC without a fraction', () => {
    expect(formatTimestamp(T0)).toBe('2026-11-26T20:00:00Z');
    expect(formatTimestamp(T0 + 0.9)).toBe('2026-11-26T20:00:00Z');
    expect(formatTimestamp(0)).toBe('1970-01-01T00:00:00Z');
    expect(formatTimestamp(1e20)).toBe('100000000000000000000');
  });

  it('formats values by field: timestamps, quoted strings, bare scalars, absent values', () => {
    expect(formatValue('seedReplicationTime', T0)).toBe('2026-11-26T20:00:00Z');
    expect(formatValue('frequency', 12)).toBe('12');
    expect(formatValue('encrypted', false)).toBe('false');
    expect(formatValue('description', 'a "b"\n')).toBe('"a \\"b\\"\\n"');
    expect(formatValue('description', '')).toBe('""');
    expect(formatValue('kmsKeyId', undefined)).toBe('(not set)');
    expect(formatValue('frequency', T0)).toBe(String(T0));
  });

  it('sanitizes every control character, C1 included', () => {
    expect(sanitize('a\u001b[2Jb\u009bc\u007fd\te')).toBe('a\\u001b[2Jb\\u009bc\\u007fd\\u0009e');
    expect(formatValue('description', '\u009b2J')).toBe('"\\u009b2J"');
    expect(sanitize('ünïcödé …')).toBe('ünïcödé …');
  });

  it('agrees with reconcile/plan.ts on what is destructive', () => {
    for (const p of Object.values(FIXTURE_PLANS)) {
      for (const c of p.changes) {
        const g = groupChanges([c]);
        expect(g.destructive.length === 1, c.address).toBe(hasDestructive({ changes: [c] }));
      }
      const counts = countChanges(p.changes);
      expect(counts.destructive.delete + counts.destructive.replace > 0).toBe(hasDestructive(p));
    }
  });

  it('groups changes for display and keeps the plan order inside a group', () => {
    const g = groupChanges([...kitchenSinkPlan.changes].reverse());
    expect(g.destructive.map((c) => c.address)).toEqual(['ReplicationJob/db', 'ReplicationJob/old']);
    expect(g.stateOnly.map((c) => c.address)).toEqual(['ReplicationJob/gone']);
    expect(g.other.map((c) => c.action)).toEqual(['record', 'start-run', 'move', 'adopt', 'update', 'create', 'create', 'retire', 'retire', 'disassociate-connector', 'import-catalog']);
    expect(g.unchanged).toBe(3);
  });

  it('phrases counts with agreement and always states the destructive counts', () => {
    const runs = (n: number) => Array.from({ length: n }, (_, i) => change({ address: `ReplicationJob/r-${i}`, action: 'start-run', reason: 'token', replicationJobId: `sms-job-${i}`, serverId: `s-${i}`, onDemandRun: { token: 't' } }));
    expect(countsPhrase(countChanges(runs(1)))).toBe('1 run to start. Destructive: none.');
    expect(countsPhrase(countChanges(runs(2)))).toBe('2 runs to start. Destructive: none.');
    expect(summaryLine({ ...kitchenSinkPlan, changes: [] }, false)).toBe('No changes. The live jobs match the manifests.');
  });

  it('marks only the fields named in replaceBecause and orders fields by the policy table', () => {
    const db = kitchenSinkPlan.changes.find((c) => c.address === 'ReplicationJob/db')!;
    expect(viewChange(db).rows).toEqual([
      { op: 'change', field: 'frequency', before: '24', after: '12', forcesReplacement: false },
      { op: 'change', field: 'runOnce', before: 'false', after: 'true', forcesReplacement: true },
    ]);
  });

  it('groups drift by address', () => {
    const groups = groupDrift(kitchenSinkPlan.drift);
    expect(groups).toHaveLength(1);
    expect(groups[0]!.rows.map((r) => r.field)).toEqual(['frequency', 'nextReplicationRunStartTime']);
  });

  it('paints only when enabled', () => {
    expect(painter(false)(['bold', 'red'], 'x')).toBe('x');
    expect(painter(true)(['bold', 'red'], 'x')).toBe('\u001b[1;31mx\u001b[0m');
    expect(painter(true)('red', '')).toBe('');
  });
});
