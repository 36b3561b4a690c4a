/**
 * Manifest roots: how -f paths and manifest files become the roots the state records
 * (cli/manifest-roots.ts, model/manifest-roots.ts), and diff's warning when a plan deletes jobs
 * recorded from a root that is not among its own.
 */
import { describe, expect, it } from 'vitest';
import { manifestRoots, rootPath } from '../../src/cli/manifest-roots.ts';
import { fileRoot } from '../../src/model/manifest-roots.ts';
import { diff } from '../../src/reconcile/diff.ts';
import { byName, desired, diffOptions, job, liveJob, record, server, state, world } from '../helpers/desired.ts';

describe('manifest roots', () => {
  it('are -f paths relative to the working directory, with / separators; - is <stdin>', () => {
    expect(rootPath('examples/waves/', '/repo')).toBe('examples/waves');
    expect(rootPath('./examples/waves', '/repo')).toBe('examples/waves');
    expect(rootPath('/repo/examples/waves', '/repo')).toBe('examples/waves');
    expect(rootPath('.', '/repo')).toBe('.');
    expect(rootPath('/elsewhere/m', '/repo')).toBe('../elsewhere/m');
    expect(rootPath('-', '/repo')).toBe('<stdin>');
  });

  it('give each file the most specific root above it', () => {
    expect(fileRoot('a/b/c.yaml', ['a', 'a/b'])).toBe('a/b');
    expect(fileRoot('a/x.yaml', ['a', 'a/b'])).toBe('a');
    expect(fileRoot('ab/x.yaml', ['a'])).toBeUndefined();
    expect(fileRoot('x.yaml', ['.'])).toBe('.');
    expect(fileRoot('../x.yaml', ['.'])).toBeUndefined();
    const roots = manifestRoots(['examples/quickstart', 'extra.yaml', '-'], ['examples/quickstart/web-01.yaml', 'extra.yaml', '<stdin>'], '/repo');
    expect(roots.roots).toEqual(['examples/quickstart', 'extra.yaml', '<stdin>']);
    expect([...roots.rootOfFile]).toEqual([
      ['examples/quickstart/web-01.yaml', 'examples/quickstart'],
      ['extra.yaml', 'extra.yaml'],
      ['<stdin>', '<stdin>'],
    ]);
  });
});

describe('diff with manifest roots', () => {
  const WEB01 = server(1, { vmName: 'web-01' });
  const WEB02 = server(2, { vmName: 'web-02' });
  const observed = world({ servers: [WEB01, WEB02], jobs: [liveJob(WEB01, {}, { n: 1 }), liveJob(WEB02, {}, { n: 2 })] });
  const other = { ...record('ReplicationJob/other', liveJob(WEB02, {}, { n: 2 }), {}), manifestRoot: 'examples/quickstart' };
  const mine = { ...record('ReplicationJob/web', liveJob(WEB01, {}, { n: 1 }), {}), manifestRoot: 'manifests' };
  const roots = { roots: ['manifests'], rootOfFile: new Map([['manifests/jobs.yaml', 'manifests']]) };

  it('gives each change of a document its root, and warns about deletes of jobs recorded from another root', () => {
    const r = diff(desired({ jobs: [job('web', byName('web-01'), {}, { file: 'manifests/jobs.yaml' })] }), observed, state([mine, other]), diffOptions({ manifestRoots: roots }));
    expect(r.changes.map((c) => [c.action, c.address, c.manifestRoot])).toEqual([
      ['delete', 'ReplicationJob/other', undefined],
      ['no-op', 'ReplicationJob/web', 'manifests'],
    ]);
    expect(r.warnings).toEqual([
      {
        code: 'foreign-root-delete',
        message:
          "this plan deletes 1 job(s) recorded from examples/quickstart, which is not among this plan's manifests (-f manifests): if examples/quickstart is another manifest set, give each set its own state with --state (e.g. --state .sms-reconcile/<set>.json) instead of sharing this one",
      },
    ]);
  });

  it('does not warn about deletes from its own roots, nor about records of older states (no root)', () => {
    const { manifestRoot: _none, ...old } = other;
    for (const rec of [{ ...other, manifestRoot: 'manifests' }, old]) {
      const r = diff(desired({ jobs: [job('web', byName('web-01'), {}, { file: 'manifests/jobs.yaml' })] }), observed, state([mine, rec]), diffOptions({ manifestRoots: roots }));
      expect(r.changes.some((c) => c.action === 'delete')).toBe(true);
      expect(r.warnings).toEqual([]);
    }
  });
});
