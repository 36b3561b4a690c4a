import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileStateStore } from '../../src/state/file-store.ts';
import { isPostgresLocation, openStateStore, stateFilePath } from '../../src/state/open.ts';

describe('openStateStore', () => {
  it('defaults to .sms-reconcile/state.json under the working directory, and resolves relative paths', () => {
    expect(stateFilePath(undefined, '/work/x')).toBe('/work/x/.sms-reconcile/state.json');
    expect(stateFilePath('envs/prod.json', '/work/x')).toBe('/work/x/envs/prod.json');
    expect(stateFilePath('/abs/s.json', '/work/x')).toBe('/abs/s.json');
    const store = openStateStore('s.json', '/work/x');
    expect(store).toBeInstanceOf(FileStateStore);
    expect(store.location).toBe(join('/work/x', 's.json'));
  });

  it('refuses a postgres:// URL for now, with a typed error that does not echo the password', () => {
    expect(isPostgresLocation('postgresql://u@h/db')).toBe(true);
    expect(isPostgresLocation('./postgres/state.json')).toBe(false);
    let err: unknown;
    try {
      openStateStore('postgres://alice:s3cret@db.internal/state', '/w');
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'state-backend-unavailable', message: expect.stringContaining('issue 6') });
    expect(JSON.stringify({ m: (err as Error).message, h: (err as { hint: string }).hint })).not.toContain('s3cret');
  });
});
