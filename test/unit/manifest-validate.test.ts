// validate.ts (schema + friendly diagnostics), suggest.ts and timestamp.ts.
import { describe, expect, it } from 'vitest';
import { DIAGNOSTIC_CODES, type Diagnostic } from '../../src/manifest/diagnostics.ts';
import { parseManifest } from '../../src/manifest/parse.ts';
import { closestMatch, didYouMean, editDistance } from '../../src/manifest/suggest.ts';
import { formatRfc3339, parseRfc3339 } from '../../src/manifest/timestamp.ts';
import { suggestName, validateDocument } from '../../src/manifest/validate.ts';

function validate(text: string): { valid: boolean; diagnostics: readonly Diagnostic[] } {
  const parsed = parseManifest({ file: 'f.yaml', content: text });
  expect(parsed.diagnostics).toEqual([]);
  const r = validateDocument(parsed.documents[0]!);
  return { valid: r.valid !== undefined, diagnostics: r.diagnostics };
}
const job = (spec: string, name = 'web-01'): string => `apiVersion: sms-reconcile/v1\nkind: ReplicationJob\nmetadata:\n  name: ${name}\nspec:\n${spec}`;
const set = (spec: string): string => `apiVersion: sms-reconcile/v1\nkind: ReplicationJobSet\nmetadata:\n  name: wave-1\nspec:\n${spec}`;
const brief = (d: readonly Diagnostic[]): string[] => d.map((x) => `${x.code} ${x.position.line}:${x.position.column} ${x.summary}`);

describe('valid documents', () => {
  it('accepts each kind and every selector form', () => {
    for (const text of [
      job('  server: {serverId: s-1a2b3c4d}\n'),
      job('  server: {vmId: vm-1, vmManagerId: m-1}\n'),
      job('  server: {vmName: web-01, vmManagerName: vc, vmPath: /a/b}\n  frequency: 24\n  runOnce: false\n'),
      set('  template: {frequency: 12}\n  match: {vmNameGlob: "app-*"}\n'),
      set('  servers:\n    - server: {vmName: a}\n      licenseType: BYOL\n'),
      'apiVersion: sms-reconcile/v1\nkind: ServerCatalog\nmetadata: {name: catalog}\nspec: {imported: true, maxAgeHours: 48}\n',
      'apiVersion: sms-reconcile/v1\nkind: Connector\nmetadata: {name: old}\nspec: {connectorId: c-0123456789abcdef0, associated: false}\n',
    ]) {
      const r = validate(text);
      expect(r.diagnostics, text).toEqual([]);
      expect(r.valid).toBe(true);
    }
  });

  it('a document with only warnings is still valid', () => {
    const r = validate(job('  server: {vmName: a}\n  runOnce: true\n  frequency: 6\n'));
    expect(r.valid).toBe(true);
    expect(brief(r.diagnostics)).toEqual(['SMSR-M040 8:3 frequency 6 has no effect with runOnce: true']);
  });
});

describe('one problem, one diagnostic', () => {
  it('explains a selector that mixes forms once, at the server key', () => {
    const r = validate(job('  server:\n    serverId: s-1a2b3c4d\n    vmName: web-01\n    vmManagerName: vc\n'));
    expect(brief(r.diagnostics)).toEqual(['SMSR-M037 6:3 spec.server mixes two ways of picking a server: serverId and vmName + vmManagerName']);
    expect(r.valid).toBe(false);
  });

  it('reports a bad value inside a well-formed selector as that value', () => {
    expect(brief(validate(job('  server: {vmName: ""}\n')).diagnostics)).toEqual(['SMSR-M038 6:20 spec.server.vmName must not be empty']);
    expect(brief(validate(job('  server: {serverId: 17}\n')).diagnostics)).toEqual(['SMSR-M032 6:22 spec.server.serverId must be a string, got 17 (a number)']);
  });

  it('explains selectors in a job set entry with the entry path', () => {
    const r = validate(set('  servers:\n    - server: {vmName: a}\n    - server: {vmManagerId: m-1}\n'));
    expect(brief(r.diagnostics)).toEqual(['SMSR-M037 8:7 spec.servers[1].server has vmManagerId but no vmId']);
  });

  it('reports a bad timestamp once, with the reason', () => {
    const r = validate(job('  server: {vmName: a}\n  seedReplicationTime: "2026-13-01T00:00:00Z"\n'));
    expect(brief(r.diagnostics)).toEqual(['SMSR-M036 7:24 spec.seedReplicationTime "2026-13-01T00:00:00Z" has month 13, which does not exist']);
  });

  it('reports a bad name once, with a suggested name', () => {
    const r = validate(job('  server: {vmName: a}\n', 'Web Server 1'));
    expect(r.diagnostics).toHaveLength(1);
    expect(r.diagnostics[0]).toMatchObject({ code: 'SMSR-M035', hint: expect.stringContaining('try "web-server-1"') });
  });

  it('reports spec of the wrong type once', () => {
    expect(brief(validate('apiVersion: sms-reconcile/v1\nkind: ReplicationJob\nmetadata: {name: a}\nspec: 5\n').diagnostics)).toEqual([
      'SMSR-M032 4:7 spec must be a mapping, got 5 (a number)',
    ]);
  });
});

describe('every problem at once', () => {
  it('reports all the errors of a document, not the first one', () => {
    const r = validate(job('  server: {vmName: a}\n  frequency: 0\n  numberOfRecentAmisToKeep: -1\n  licenseType: Aws\n  colour: blue\n'));
    expect(r.diagnostics.map((d) => d.code).sort()).toEqual(['SMSR-M030', 'SMSR-M033', 'SMSR-M033', 'SMSR-M034']);
  });

  it('checks apiVersion and kind first, and stops there when they are wrong', () => {
    const r = validate('apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replicas: 3}\n');
    expect(brief(r.diagnostics)).toEqual([
      'SMSR-M021 1:13 unknown apiVersion "apps/v1"; supported: sms-reconcile/v1',
      'SMSR-M022 2:7 unknown kind "Deployment"; supported: ReplicationJob, ReplicationJobSet, ServerCatalog, Connector',
    ]);
  });
});

describe('hints', () => {
  const hintOf = (text: string): string | undefined => validate(text).diagnostics[0]?.hint;
  it('suggests the field meant', () => {
    expect(hintOf(job('  server: {vmName: a}\n  Frequency: 12\n'))).toBe('did you mean "frequency"?');
    expect(hintOf(job('  server: {vmName: a}\n  numberOfRecentAmisToKep: 2\n'))).toBe('did you mean "numberOfRecentAmisToKeep"?');
  });
  it('says where misplaced fields go', () => {
    expect(validate(job('  serverId: s-1a2b3c4d\n')).diagnostics.map((d) => d.hint)).toContain('the server selector goes under server:, e.g. server: {serverId: ...}');
    expect(hintOf(job('  server: {vmName: a}\n  template: {}\n'))).toBe('template belongs to kind: ReplicationJobSet');
  });
  it('explains that merge keys do not exist in YAML 1.2', () => {
    expect(hintOf(job('  server: {vmName: a}\n  <<: {frequency: 12}\n'))).toMatch(/^YAML 1.2 has no merge keys/);
  });
  it('lists what is allowed when nothing is close', () => {
    expect(hintOf(job('  server: {vmName: a}\n  onDemandRun: {token: t, when: now}\n'))).toBe('allowed here: token, description');
  });
  it('suggests the value meant for enums and kinds, and says how to write numbers and booleans', () => {
    expect(hintOf(job('  server: {vmName: a}\n  licenseType: byol\n'))).toBe('did you mean BYOL? (values are case-sensitive)');
    expect(hintOf(job('  server: {vmName: a}\n  frequency: "6"\n'))).toBe('remove the quotes: numbers are written without them');
    expect(hintOf(job('  server: {vmName: a}\n  encrypted: "true"\n'))).toBe('write true or false without quotes (YAML 1.2: yes/no/on/off are strings)');
    expect(hintOf(job('  server: web-01\n'))).toBe('write server: {vmName: web-01}');
    expect(hintOf(job('  server: s-1a2b3c4d\n'))).toBe('write server: {serverId: s-1a2b3c4d}');
  });
  it('warns about kmsKeyId without encryption where the entry sets it, merging the template', () => {
    const r = validate(set('  template: {encrypted: false}\n  servers:\n    - server: {vmName: a}\n    - server: {vmName: b}\n      kmsKeyId: alias/k\n'));
    expect(brief(r.diagnostics)).toEqual(['SMSR-M041 10:7 kmsKeyId has no effect with encrypted: false']);
  });
});

describe('diagnostic table', () => {
  it('every code has a kebab-case name, a severity and a meaning; names are unique', () => {
    const names = Object.values(DIAGNOSTIC_CODES).map((i) => i.name);
    expect(new Set(names).size).toBe(names.length);
    for (const [code, info] of Object.entries(DIAGNOSTIC_CODES)) {
      expect(code).toMatch(/^SMSR-M\d{3}$/);
      expect(info.name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(info.meaning.length).toBeGreaterThan(10);
    }
  });
});

describe('suggest', () => {
  it('computes edit distance with transpositions', () => {
    expect(editDistance('frequency', 'frequency')).toBe(0);
    expect(editDistance('frequncy', 'frequency')).toBe(1);
    expect(editDistance('freqeuncy', 'frequency')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });
  it('prefers a case-insensitive exact match, and gives up when nothing is close', () => {
    expect(closestMatch('VMNAME', ['vmId', 'vmName'])).toBe('vmName');
    expect(closestMatch('vmNmae', ['vmId', 'vmName', 'vmPath'])).toBe('vmName');
    expect(closestMatch('colour', ['frequency', 'runOnce'])).toBeUndefined();
    expect(didYouMean('Conector', ['ReplicationJob', 'Connector'])).toBe('did you mean "Connector"?');
  });
  it('suggests address-safe names', () => {
    expect(suggestName('Web_01')).toBe('web-01');
    expect(suggestName('--a--b--')).toBe('a-b');
    expect(suggestName('x'.repeat(70))).toBe('x'.repeat(63));
    expect(suggestName('web-01')).toBeUndefined();
    expect(suggestName('___')).toBeUndefined();
  });
});

describe('RFC 3339 timestamps', () => {
  const ok = (s: string): number => {
    const r = parseRfc3339(s);
    if (!r.ok) throw new Error(`${s}: ${r.reason}`);
    return r.epochSeconds;
  };
  const reason = (s: string): string => {
    const r = parseRfc3339(s);
    return r.ok ? 'ok' : r.reason;
  };
  it('parses UTC, offsets, lowercase and space separators, to whole seconds', () => {
    expect(ok('2026-03-01T02:00:00Z')).toBe(1772330400);
    expect(ok('2026-03-01T03:00:00+01:00')).toBe(1772330400);
    expect(ok('2026-02-28T20:30:00-05:30')).toBe(1772330400);
    expect(ok('2026-03-01t02:00:00z')).toBe(1772330400);
    expect(ok('2026-03-01 02:00:00Z')).toBe(1772330400);
    expect(ok('2026-03-01T02:00:00.999Z')).toBe(1772330400);
    expect(ok('1970-01-01T00:00:00Z')).toBe(0);
    expect(ok('2028-02-29T00:00:00Z')).toBe(1835395200);
  });
  it('counts a leap second as the next second', () => {
    expect(ok('2016-12-31T23:59:60Z')).toBe(ok('2017-01-01T00:00:00Z'));
    expect(ok('2017-01-01T00:59:60+01:00')).toBe(ok('2017-01-01T00:00:00Z'));
  });
  it('refuses what is not RFC 3339 with a timezone, and impossible dates', () => {
    expect(reason('2026-03-01T02:00:00')).toBe('has no timezone');
    expect(reason('2026-03-01')).toBe('has a date but no time and no timezone');
    expect(reason('2026-03-01T02:00:00+0100')).toBe('has a timezone offset without a colon');
    expect(reason('2026-02-30T00:00:00Z')).toBe('is not a real date: 2026-02 has no day 30');
    expect(reason('2100-02-29T00:00:00Z')).toBe('is not a real date: 2100-02 has no day 29');
    expect(reason('2026-04-31T00:00:00Z')).toBe('is not a real date: 2026-04 has no day 31');
    expect(reason('2026-03-01T24:00:00Z')).toBe('has hour 24, which does not exist');
    expect(reason('2026-03-01T12:60:00Z')).toBe('has minute 60, which does not exist');
    expect(reason('2026-03-01T12:00:60Z')).toBe('has second 60 outside a leap second (23:59:60 UTC)');
    expect(reason('2026-03-01T12:00:00+24:00')).toBe('has timezone offset +24:00, which does not exist');
    expect(reason('1969-12-31T23:59:59Z')).toBe('is before 1970-01-01T00:00:00Z');
    expect(reason('0075-01-01T00:00:00Z')).toBe('is before 1970-01-01T00:00:00Z');
    expect(reason('next tuesday')).toBe('is not an RFC 3339 date-time');
    expect(reason('2026-03-01T02:00Z')).toBe('is not an RFC 3339 date-time');
  });
  it('formats whole seconds canonically, and round-trips', () => {
    expect(formatRfc3339(1772330400)).toBe('2026-03-01T02:00:00Z');
    expect(formatRfc3339(1772330400.9)).toBe('2026-03-01T02:00:00Z');
    for (const n of [0, 1, 951782400, 1772330400, 4102444799]) expect(ok(formatRfc3339(n))).toBe(n);
  });
});
