/**
 * The StateStore contract (state-store.contract.ts, unchanged) against the PostgreSQL store. The
 * file works in its own schema; each harness (test) in its own workspace of it.
 */
import { afterAll } from 'vitest';
import { PgStateStore } from '../../src/state/pg-store.ts';
import { describePg, dropSchema, dropWorkspace, uniqueName } from '../helpers/pg.ts';
import { describeStateStoreContract } from './state-store.contract.ts';

describePg('pg state store', (url) => {
  const schema = uniqueName('contract');
  afterAll(async () => {
    await dropSchema(url, schema);
  });
  describeStateStoreContract('pg', async () => {
    const workspace = uniqueName('ws');
    return {
      open: async (options) => new PgStateStore(url, { ...options, schema, workspace }),
      cleanup: () => dropWorkspace(url, schema, workspace),
    };
  });
});
