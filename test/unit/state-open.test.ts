import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileStateStore } from '../../src/state/file-store.ts';
import { PgStateStore } from '../../src/state/pg-store.ts';
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

  it('opens the PostgreSQL store for a postgres:// URL, without connecting and without echoing the password', async () => {
    expect(isPostgresLocation('postgresql://u@h/db')).toBe(true);
    expect(isPostgresLocation('./postgres/state.json')).toBe(false);
    const store = openStateStore('postgres://alice:s3cret@db.internal/state', '/w');
    expect(store).toBeInstanceOf(PgStateStore);
    expect(store.location).toBe('postgres://alice:***@db.internal/state?schema=sms_reconcile&workspace=default');
    await store.close();
  });
});
