import { describe, expect, it } from 'vitest';
import { cloneJson, withoutUndefined } from '../../src/model/objects.ts';
import { base, made } from '../../src/reconcile/change-make.ts';
import { stateWith } from '../helpers/state-fixtures.ts';

describe('cloneJson', () => {
  it('copies JSON data deeply: equal, and sharing no object or array with the original', () => {
    const doc = stateWith(50);
    const copy = cloneJson(doc);
    expect(copy).toEqual(structuredClone(doc));
    const objects = (v: unknown, out: object[] = []): object[] => {
      if (typeof v === 'object' && v !== null) {
        out.push(v);
        for (const x of Object.values(v)) objects(x, out);
      }
      return out;
    };
    const original = new Set(objects(doc));
    expect(objects(copy).filter((o) => original.has(o))).toEqual([]);
  });

  it('keeps undefined members and key order, as structuredClone does', () => {
    const v = { b: 1, a: undefined, c: [1, { d: undefined }] };
    expect(Object.keys(cloneJson(v))).toEqual(['b', 'a', 'c']);
    expect(cloneJson(v)).toStrictEqual(structuredClone(v));
  });

  it('refuses what is not JSON data', () => {
    expect(() => cloneJson({ at: new Date(0) })).toThrow(TypeError);
    expect(() => cloneJson([new Map()])).toThrow(TypeError);
  });
});

describe('withoutUndefined', () => {
  it('drops undefined members only, keeping the order of the others', () => {
    const v = withoutUndefined({ a: 1, b: undefined, c: null, d: 0, e: '' });
    expect(v).toStrictEqual({ a: 1, c: null, d: 0, e: '' });
    expect(Object.keys(v)).toEqual(['a', 'c', 'd', 'e']);
  });
});

describe('made: a spread, merged by a loop', () => {
  it('gives what withoutUndefined({ ...base, ...members, ...more }) gave, key order included', () => {
    const head = base('ReplicationJob/web-01', 'ReplicationJob', 'update', 'the live job differs');
    const common = { serverId: 's-1', serverName: undefined, replicationJobId: 'sms-job-1', preventDestroy: true, observedFingerprint: 'fp', before: { frequency: 12 }, after: { frequency: 6 } };
    const more = { fields: [{ field: 'frequency' as const, before: 12, after: 6, policy: 'updatable' as const }] };
    const change = made(head, common, more);
    const spread = withoutUndefined({ ...head, ...common, ...more });
    expect(change).toStrictEqual(spread);
    expect(Object.keys(change)).toEqual(Object.keys(spread));
    expect(change.preventDestroy).toBe(true);
  });
});
