/** Selector resolution and set matching against the catalog (pure). */
import { describe, expect, it } from 'vitest';
import { describeSelector, describeServer, editDistance, globToRegExp, matchServers, resolveSelector } from '../../src/reconcile/resolve.ts';
import type { ServerInfo } from '../../src/sms/api.ts';
import { byId, byName, byVm, MANAGER_A, MANAGER_B, server } from '../helpers/desired.ts';

const CATALOG: ServerInfo[] = [
  server(1, { vmName: 'web-01', vmPath: '/dc1/web/web-01' }),
  server(2, { vmName: 'web-02', vmPath: '/dc1/web/web-02' }),
  server(3, { vmName: 'web-01', manager: MANAGER_B, vmPath: '/dc2/web/web-01' }),
  server(4, { vmName: 'web-01', manager: MANAGER_B, vmPath: '/dc2/old/web-01' }),
  server(5, { vmName: 'db.prod', vmPath: '/dc1/db/db.prod' }),
  server(6, { vmName: 'dbxprod', vmPath: '/dc1/db/dbxprod' }),
];
const ids = (xs: readonly ServerInfo[]) => xs.map((s) => s.serverId);

describe('resolveSelector', () => {
  it('resolves a serverId, a vmId on a VM manager, and a vmName narrowed by manager and path', () => {
    expect(resolveSelector(byId('s-00000002'), CATALOG)).toEqual({ ok: true, server: CATALOG[1] });
    expect(resolveSelector(byVm('vm-3', MANAGER_B.vmManagerId), CATALOG)).toEqual({ ok: true, server: CATALOG[2] });
    expect(resolveSelector(byVm('vm-3', MANAGER_A.vmManagerId), CATALOG).ok).toBe(false);
    expect(resolveSelector(byName('web-02'), CATALOG)).toEqual({ ok: true, server: CATALOG[1] });
    expect(resolveSelector(byName('web-01', { vmManagerName: MANAGER_A.vmManagerName }), CATALOG)).toEqual({ ok: true, server: CATALOG[0] });
    expect(resolveSelector(byName('web-01', { vmManagerName: MANAGER_B.vmManagerName, vmPath: '/dc2/old/web-01' }), CATALOG)).toEqual({ ok: true, server: CATALOG[3] });
  });

  it('an ambiguous selector lists every candidate, in catalog order', () => {
    const r = resolveSelector(byName('web-01', { vmManagerName: MANAGER_B.vmManagerName }), CATALOG);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reason).toBe('ambiguous');
    expect(ids(r.candidates)).toEqual(['s-00000003', 's-00000004']);
    expect(r.message).toBe(
      'vmName web-01, vmManagerName scvmm-b.example.com matches 2 servers: ' +
        's-00000003 (web-01 at /dc2/web/web-01 on scvmm-b.example.com); s-00000004 (web-01 at /dc2/old/web-01 on scvmm-b.example.com)',
    );
  });

  it('no match names the close candidates (a small edit away), nearest first, at most five', () => {
    const r = resolveSelector(byName('web-1'), CATALOG);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reason).toBe('none');
    expect(ids(r.candidates)).toEqual(['s-00000001', 's-00000003', 's-00000004']);
    expect(r.message).toMatch(/^vmName web-1 matches no server in the catalog; close: s-00000001 \(web-01 at \/dc1\/web\/web-01 on vcenter-a\.example\.com\); /);

    const many = Array.from({ length: 8 }, (_, i) => server(10 + i, { vmName: `app-0${i}` }));
    const r2 = resolveSelector(byName('app-0x'), many);
    expect(!r2.ok && ids(r2.candidates)).toEqual(['s-0000000a', 's-0000000b', 's-0000000c', 's-0000000d', 's-0000000e']);

    const typoId = resolveSelector(byId('s-0000002'), CATALOG);
    expect(!typoId.ok && ids(typoId.candidates)).toEqual(['s-00000002', 's-00000001', 's-00000003', 's-00000004', 's-00000005']);
  });

  it('no match with nothing close says only that', () => {
    const r = resolveSelector(byName('mainframe'), CATALOG);
    expect(r).toEqual({ ok: false, reason: 'none', message: 'vmName mainframe matches no server in the catalog', candidates: [] });
    expect(resolveSelector(byId('s-00000001'), []).ok).toBe(false);
  });

  it('describes selectors and servers for messages, with ? for what the catalog does not say', () => {
    expect(describeSelector(byId('s-1'))).toBe('serverId s-1');
    expect(describeSelector(byVm('vm-1', 'm-1'))).toBe('vmId vm-1 on vmManagerId m-1');
    expect(describeSelector(byName('a', { vmPath: '/p' }))).toBe('vmName a, vmPath /p');
    expect(describeServer({ serverId: 's-9', vmServer: {} })).toBe('s-9 (? at ? on ?)');
  });
});

describe('matchServers (ReplicationJobSet spec.match)', () => {
  it('every given criterion must hold; catalog order is kept', () => {
    expect(ids(matchServers({ vmNameGlob: 'web-*' }, CATALOG))).toEqual(['s-00000001', 's-00000002', 's-00000003', 's-00000004']);
    expect(ids(matchServers({ vmNameGlob: 'web-*', vmManagerName: MANAGER_B.vmManagerName }, CATALOG))).toEqual(['s-00000003', 's-00000004']);
    expect(ids(matchServers({ vmNameGlob: 'web-*', vmManagerName: MANAGER_B.vmManagerName, vmPathPrefix: '/dc2/web/' }, CATALOG))).toEqual(['s-00000003']);
    expect(ids(matchServers({ vmPathPrefix: '/dc1/' }, CATALOG))).toEqual(['s-00000001', 's-00000002', 's-00000005', 's-00000006']);
    expect(ids(matchServers({}, CATALOG))).toEqual(ids(CATALOG));
    expect(matchServers({ vmPathPrefix: '/nowhere' }, CATALOG)).toEqual([]);
  });

  it('servers without a name or path do not match a glob or a prefix', () => {
    const bare: ServerInfo = { serverId: 's-0000000f', vmServer: {} };
    expect(matchServers({ vmNameGlob: '*' }, [bare])).toEqual([bare]);
    expect(matchServers({ vmNameGlob: '?*' }, [bare])).toEqual([]);
    expect(matchServers({ vmPathPrefix: '/' }, [bare])).toEqual([]);
  });
});

describe('globToRegExp', () => {
  it('* is any run, ? one character, everything else literal, anchored', () => {
    const g = globToRegExp('db.*');
    expect(g.test('db.prod')).toBe(true);
    expect(g.test('dbxprod')).toBe(false);
    expect(ids(matchServers({ vmNameGlob: 'db.prod' }, CATALOG))).toEqual(['s-00000005']);
    expect(globToRegExp('web-0?').test('web-01')).toBe(true);
    expect(globToRegExp('web-0?').test('web-011')).toBe(false);
    expect(globToRegExp('web').test('xweb')).toBe(false);
    for (const special of ['a+b', '(x)', '[ab]', 'a|b', '^a$', 'a{2}', 'a\\b']) expect(globToRegExp(special).test(special), special).toBe(true);
    expect(globToRegExp('[ab]').test('a')).toBe(false);
  });
});

describe('editDistance', () => {
  it('is the Levenshtein distance', () => {
    expect(editDistance('', '')).toBe(0);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('web-1', 'web-01')).toBe(1);
    expect(editDistance('flaw', 'lawn')).toBe(2);
    expect(editDistance('lawn', 'flaw')).toBe(2);
  });
});
