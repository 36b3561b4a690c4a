import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { JOB_SPEC_FIELDS } from '../../src/model/job.ts';
import {
  INTENT_OPERATIONS,
  STATE_FORMAT_VERSION,
  applyChange,
  assertSameTarget,
  describeTarget,
  decodeJournalRecord,
  decodeState,
  emptyState,
  encodeState,
  jsonErrorOffset,
  sameTarget,
  staleReason,
  toStateDocument,
  toStateDocumentSteps,
  toWorkingState,
  upgradeState,
  type StateDocument,
  type StateUpgrader,
} from '../../src/state/codec.ts';
import { decodeStateSliced } from '../../src/state/codec-sliced.ts';
import { checkReplace } from '../../src/state/store-rules.ts';
import { TARGET, jobRecord, namedJob, stateWith } from '../helpers/state-fixtures.ts';

const LINEAGE = '2b0e5c8e-6f0e-4c1e-9a5e-0d6f1c2b3a4d';
const schema = JSON.parse(await readFile(new URL('../../schemas/state.v1.schema.json', import.meta.url), 'utf8')) as {
  $defs: Record<string, { properties?: Record<string, unknown>; enum?: string[] }>;
};

describe('state codec: round trip', () => {
  it('decodes what it encodes, and encodes equal states to equal bytes (resources by address)', () => {
    const doc = stateWith(5);
    const text = encodeState(doc);
    expect(decodeState(text)).toEqual(doc);
    const reversed: StateDocument = { ...doc, resources: Object.fromEntries(Object.entries(doc.resources).reverse()) };
    expect(encodeState(reversed)).toBe(text);
    expect(Object.keys(JSON.parse(text).resources)).toEqual(Object.keys(doc.resources).sort());
    expect(text.endsWith('}\n')).toBe(true);
  });

  it('starts a state empty at serial 0 with format version 1', () => {
    expect(emptyState(LINEAGE, TARGET)).toEqual({ formatVersion: 1, lineage: LINEAGE, serial: 0, target: TARGET, resources: {}, pending: [] });
    expect(STATE_FORMAT_VERSION).toBe(1);
  });
});

describe('state codec: refusals', () => {
  it('refuses corrupt JSON, naming line and column', () => {
    const err = (() => {
      try {
        decodeState('{\n  "formatVersion": 1,\n  "serial": 3,,\n}', { source: 'state.json' });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toMatchObject({ code: 'state-corrupt', source: 'user' });
    expect((err as Error).message).toContain('state.json is not valid JSON at line 3, column 15');
  });

  it('finds the error offset of JSON.parse failures that do not give one', () => {
    for (const [text, offset] of [['{"a": oops}', 6], ['[1,2,]', 5], ['{"a":1', 6], ['', 0], ['{"a":"\\q"}', 7], ['{"a":1} x', 8]] as const) {
      expect(() => JSON.parse(text)).toThrow();
      expect(jsonErrorOffset(text)).toBe(offset);
    }
  });

  it('refuses a newer format version and names it', () => {
    expect(() => decodeState(JSON.stringify({ formatVersion: 7 }), { source: 's' })).toThrow(
      expect.objectContaining({ code: 'state-version-newer', message: expect.stringContaining('formatVersion 7') }),
    );
  });

  it('refuses a missing or non-integer version, and a non-object', () => {
    expect(() => decodeState('{"serial":1}')).toThrow(expect.objectContaining({ code: 'state-corrupt' }));
    expect(() => decodeState('{"formatVersion":"1"}')).toThrow(expect.objectContaining({ code: 'state-corrupt' }));
    expect(() => decodeState('[1]')).toThrow(expect.objectContaining({ code: 'state-corrupt' }));
  });

  it('refuses schema violations: unknown fields, bad addresses, wrong types', () => {
    const base = stateWith(1);
    const bad: unknown[] = [
      { ...base, extra: true },
      { ...base, serial: -1 },
      { ...base, lineage: 'not-a-uuid' },
      { ...base, target: { ...TARGET, kind: 'cloud' } },
      { ...base, resources: { 'Bogus/x': namedJob('x') } },
      { ...base, resources: { 'ReplicationJob/web': { ...namedJob('web'), appliedSpec: { frequency: 'daily' } } } },
      { ...base, resources: { 'ReplicationJob/web': { ...namedJob('web'), appliedSpec: { replicationJobId: 'x' } } } },
      { ...base, resources: { 'ReplicationJob/web': { ...namedJob('web'), preventDestroy: undefined } } },
    ];
    for (const doc of bad) expect(() => decodeState(JSON.stringify(doc)), JSON.stringify(doc).slice(0, 200)).toThrow(expect.objectContaining({ code: 'state-corrupt' }));
  });

  it('refuses records that disagree with their key, kind or address serverId', () => {
    const base = stateWith(0);
    const web = namedJob('web');
    const set = jobRecord(1);
    for (const resources of [
      { 'ReplicationJob/other': web },
      { 'ReplicationJob/web': { ...web, kind: 'Connector' } },
      { [set.address]: { ...set, serverId: 's-99999999' } },
    ]) {
      expect(() => decodeState(JSON.stringify({ ...base, resources }))).toThrow(expect.objectContaining({ code: 'state-corrupt' }));
    }
  });

  it('refuses duplicate or out-of-order pending intents', () => {
    const intent = { id: LINEAGE, serial: 1, address: 'ReplicationJob/web', operation: 'CreateReplicationJob', recordedAt: '2026-03-01T12:00:00.000Z' };
    expect(() => decodeState(JSON.stringify({ ...stateWith(0), serial: 2, pending: [intent, intent] }))).toThrow(expect.objectContaining({ code: 'state-corrupt' }));
    expect(() => decodeState(JSON.stringify({ ...stateWith(0), serial: 0, pending: [intent] }))).toThrow(expect.objectContaining({ code: 'state-corrupt' }));
    expect(decodeState(JSON.stringify({ ...stateWith(0), serial: 1, pending: [intent] })).pending).toEqual([intent]);
  });
});

describe('state codec: upgrades', () => {
  const v0 = { formatVersion: 0, lineage: LINEAGE, serial: 4, endpoint: 'embedded', region: 'eu-west-1', jobs: {} };
  const upgraders: Record<number, StateUpgrader> = {
    0: (doc) => ({
      formatVersion: 1,
      lineage: doc['lineage'],
      serial: doc['serial'],
      target: { endpoint: doc['endpoint'], region: doc['region'], kind: 'embedded' },
      resources: {},
      pending: [],
    }),
  };

  it('upgrades an older version through the upgrader table, then validates the result', () => {
    const doc = decodeState(JSON.stringify(v0), { upgraders });
    expect(doc).toEqual({ formatVersion: 1, lineage: LINEAGE, serial: 4, target: { endpoint: 'embedded', region: 'eu-west-1', kind: 'embedded' }, resources: {}, pending: [] });
  });

  it('refuses an older version without an upgrader, and an upgrader that skips a version', () => {
    expect(() => decodeState(JSON.stringify(v0))).toThrow(expect.objectContaining({ code: 'state-version-unsupported' }));
    expect(() => upgradeState(v0, 's', { 0: (doc) => ({ ...doc, formatVersion: 2 }) })).toThrow(expect.objectContaining({ code: 'state-corrupt' }));
  });
});

describe('state schema', () => {
  it('spells the job fields as src/model/job.ts does, and the operations as the codec does', () => {
    expect(Object.keys(schema.$defs['jobFields']?.properties ?? {}).sort()).toEqual([...JOB_SPEC_FIELDS].sort());
    expect(schema.$defs['operation']?.enum).toEqual([...INTENT_OPERATIONS]);
  });

  it('accepts every journal record kind and refuses an unknown one', () => {
    const at = '2026-03-01T12:00:00.000Z';
    expect(decodeJournalRecord(JSON.stringify({ type: 'header', formatVersion: 1, lineage: LINEAGE, baseSerial: 0 }), 'j').type).toBe('header');
    expect(decodeJournalRecord(JSON.stringify({ type: 'write', serial: 1, at, reason: 'state rm', writes: [{ address: 'ReplicationJob/web', record: null }] }), 'j').type).toBe('write');
    expect(
      decodeJournalRecord(JSON.stringify({ type: 'result', serial: 2, at, intentId: LINEAGE, outcome: { status: 'recovered', happened: true }, writes: [] }), 'j').type,
    ).toBe('result');
    expect(() => decodeJournalRecord(JSON.stringify({ type: 'other', serial: 1, at }), 'j')).toThrow(expect.objectContaining({ code: 'state-corrupt' }));
    expect(() => decodeJournalRecord(JSON.stringify({ type: 'result', serial: 2, at, intentId: LINEAGE, outcome: { status: 'maybe' }, writes: [] }), 'j')).toThrow(
      expect.objectContaining({ code: 'state-corrupt' }),
    );
  });
});

describe('state codec: decoding in slices', () => {
  /** decodeState's outcome (the document, or the error's code and message) as data. */
  const outcome = async (decode: () => StateDocument | Promise<StateDocument>) => {
    try {
      return { doc: await decode() };
    } catch (e) {
      return { code: (e as { code?: string }).code, message: (e as Error).message };
    }
  };

  it('gives the same document as decodeState, and lets the event loop run between slices', async () => {
    const text = encodeState(stateWith(4_500));
    let pauses = 0;
    const doc = await decodeStateSliced(text, { source: 's' }, async () => void pauses++);
    expect(doc).toStrictEqual(decodeState(text, { source: 's' }));
    expect(pauses).toBe(17); // 4,500 records: nine slices of at most 500 parsed, then checked
    const compact = JSON.stringify(JSON.parse(text));
    pauses = 0;
    expect(await decodeStateSliced(compact, { source: 's' }, async () => void pauses++)).toStrictEqual(decodeState(text, { source: 's' }));
    expect(pauses).toBe(8); // another layout: parsed whole, then checked in slices
    const small = encodeState(stateWith(3));
    pauses = 0;
    expect(await decodeStateSliced(small, {}, async () => void pauses++)).toStrictEqual(decodeState(small));
    expect(pauses).toBe(0);
  });

  it('refuses what decodeState refuses, with the same error, wherever the bad record is', async () => {
    const good = stateWith(4_100);
    const keys = Object.keys(good.resources);
    const late = keys[4_050] as string;
    const intent = { id: LINEAGE, serial: 1, address: 'ReplicationJob/web', operation: 'CreateReplicationJob', recordedAt: '2026-03-01T12:00:00.000Z' };
    const bad: unknown[] = [
      { ...good, extra: true },
      { ...good, resources: { ...good.resources, 'Bogus/x': namedJob('x') } },
      { ...good, resources: { ...good.resources, [late]: { ...good.resources[late], appliedSpec: { frequency: 'daily' } } } },
      { ...good, resources: { ...good.resources, [late]: { ...good.resources[late], kind: 'Connector' } } },
      { ...good, resources: { ...good.resources, 'ReplicationJob/other': namedJob('web') } },
      { ...good, resources: [] },
      { ...good, serial: 0, pending: [intent] },
      { ...good, resources: { ...good.resources, ['__proto__']: namedJob('x') } },
      { formatVersion: 9 },
    ];
    for (const doc of bad) {
      for (const text of [JSON.stringify(doc), JSON.stringify(doc, null, 2)]) {
        const sync = await outcome(() => decodeState(text, { source: 's' }));
        expect(sync.doc, text.slice(0, 120)).toBeUndefined();
        expect(await outcome(() => decodeStateSliced(text, { source: 's' }, async () => undefined))).toStrictEqual(sync);
      }
    }
    // Not JSON, in encodeState's layout: a record far down cut short, a stray character, a comma
    // missing where one slice of 500 ends, text before the first record.
    const text = encodeState(good);
    const cut = text.lastIndexOf('"appliedSpec"');
    const sliceEnd = text.indexOf(`\n    "${Object.keys(good.resources).sort()[500]}"`);
    const broken = [
      text.slice(0, cut) + text.slice(cut + 5),
      text.replace(`"${late}": {`, `"${late}": {x`),
      text.slice(0, sliceEnd - 1) + text.slice(sliceEnd),
      text.replace('"resources": {\n', '"resources": {\n  x\n'),
    ];
    expect(text.charAt(sliceEnd - 1)).toBe(',');
    for (const bad of broken) {
      const sync = await outcome(() => decodeState(bad, { source: 's' }));
      expect(sync.code).toBe('state-corrupt');
      expect(sync.message).toContain('is not valid JSON at line');
      expect(await outcome(() => decodeStateSliced(bad, { source: 's' }, async () => undefined))).toStrictEqual(sync);
    }
    // Valid JSON that says something else than the slices would: a second `resources` key after the
    // first (JSON.parse keeps the last).
    const twice = text.replace(/\n}\n$/, ',\n  "resources": {}\n}\n');
    expect(await decodeStateSliced(twice, {}, async () => undefined)).toStrictEqual(decodeState(twice));
    expect(Object.keys(decodeState(twice).resources)).toEqual([]);
    expect((await outcome(() => decodeStateSliced('{"a":', {}, async () => undefined))).code).toBe('state-corrupt');
  });

  it('copies a working state in steps as toStateDocument does', () => {
    const ws = toWorkingState(stateWith(2_500));
    let pauses = 0;
    const steps = toStateDocumentSteps(ws);
    let step = steps.next();
    for (; step.done !== true; step = steps.next()) pauses++;
    const doc = step.value;
    expect(doc).toStrictEqual(toStateDocument(ws));
    expect(Object.keys(doc.resources)).toEqual(Object.keys(toStateDocument(ws).resources));
    expect(pauses).toBe(4); // 2,500 records: five slices of 500
    const first = Object.keys(doc.resources)[0] as string;
    expect(doc.resources[first]).not.toBe(ws.resources.get(first)); // a copy: the store's records stay its own
  });
});

describe('working state', () => {
  it('applies changes in serial order and refuses gaps, unknown intents and bad writes', () => {
    const ws = toWorkingState(emptyState(LINEAGE, TARGET));
    const at = '2026-03-01T12:00:00.000Z';
    const intent = { id: LINEAGE, serial: 1, address: 'ReplicationJob/web', operation: 'CreateReplicationJob' as const, recordedAt: at };
    expect(() => applyChange(ws, { type: 'intent', serial: 2, at, intent: { ...intent, serial: 2 } })).toThrow(expect.objectContaining({ code: 'state-corrupt' }));
    applyChange(ws, { type: 'intent', serial: 1, at, intent });
    expect(() => applyChange(ws, { type: 'result', serial: 2, at, intentId: 'c0ffee00-0000-4000-8000-000000000000', outcome: { status: 'succeeded' }, writes: [] })).toThrow(
      expect.objectContaining({ code: 'state-unknown-intent' }),
    );
    expect(() =>
      applyChange(ws, { type: 'result', serial: 2, at, intentId: LINEAGE, outcome: { status: 'succeeded' }, writes: [{ address: 'ReplicationJob/web', record: namedJob('db') }] }),
    ).toThrow(expect.objectContaining({ code: 'state-invalid-change' }));
    expect(ws.serial).toBe(1);
    applyChange(ws, { type: 'result', serial: 2, at, intentId: LINEAGE, outcome: { status: 'succeeded' }, writes: [{ address: 'ReplicationJob/web', record: namedJob('web') }] });
    const doc = toStateDocument(ws);
    expect(doc).toMatchObject({ serial: 2, pending: [], resources: { 'ReplicationJob/web': namedJob('web') } });
  });
});

describe('target and staleness checks', () => {
  it('matches targets by id when both have one, else by endpoint; kind and region always', () => {
    expect(sameTarget(TARGET, { ...TARGET })).toBe(true);
    expect(sameTarget(TARGET, { ...TARGET, endpoint: 'http://127.0.0.1:4573' })).toBe(true); // same embedded server id
    expect(sameTarget(TARGET, { ...TARGET, id: 'emb-other' })).toBe(false);
    expect(sameTarget(TARGET, { ...TARGET, region: 'eu-west-1' })).toBe(false);
    expect(sameTarget({ endpoint: 'https://sms.example', region: 'r', kind: 'remote' }, { endpoint: 'https://sms.example', region: 'r', kind: 'remote', id: '1234' })).toBe(true);
    expect(sameTarget({ endpoint: 'https://a.example', region: 'r', kind: 'remote' }, { endpoint: 'https://b.example', region: 'r', kind: 'remote' })).toBe(false);
    expect(() => assertSameTarget(TARGET, { ...TARGET, id: 'emb-other' }, 'state.json')).toThrow(
      expect.objectContaining({ code: 'state-target-mismatch', hint: expect.stringContaining('--endpoint-url') }),
    );
  });

  it('names an embedded target once ("the embedded server"), a remote one by its endpoint', () => {
    expect(() => assertSameTarget(TARGET, { ...TARGET, id: 'emb-other' }, 'state.json')).toThrow(
      `the state at state.json belongs to the embedded server (us-east-1, id ${TARGET.id ?? ''}), not to the embedded server (us-east-1, id emb-other)`,
    );
    expect(describeTarget({ endpoint: 'https://sms.example', region: 'r', kind: 'remote' })).toBe('remote https://sms.example (r)');
  });

  it('refuses a pushed state that is not newer, saying whether its serial is the same or older', () => {
    const base = stateWith(0);
    const pushed = (serial: number) => ({ ...base, serial });
    const head = { lineage: base.lineage, serial: 8 };
    expect(() => checkReplace(head, pushed(8), {}, 'state.json')).toThrow(
      'the pushed state has serial 8, the same as the state at state.json: a pushed state must have a higher serial, or it could silently replace changes made at serial 8',
    );
    expect(() => checkReplace(head, pushed(5), {}, 'state.json')).toThrow('the pushed state has serial 5, older than the state at state.json (serial 8): pushing it would lose newer changes');
    expect(checkReplace(head, pushed(9), {}, 'state.json')).toBe(9);
  });

  it('says why a plan is stale', () => {
    const head = { lineage: LINEAGE, serial: 3 };
    expect(staleReason(head, head)).toBeUndefined();
    expect(staleReason(undefined, undefined)).toBeUndefined();
    expect(staleReason(head, { ...head, serial: 4 })).toContain('serial 4, the plan expects 3');
    expect(staleReason(head, { lineage: 'c0ffee00-0000-4000-8000-000000000000', serial: 3 })).toContain('lineage');
    expect(staleReason(undefined, head)).toContain('now exists');
    expect(staleReason(head, undefined)).toContain('no state now');
  });
});
