/** Runs the StateStore contract against every implementation (the pg store joins here with issue 6). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStateStore } from '../../src/state/file-store.ts';
import { MemoryStateLocation, MemoryStateStore } from '../../src/state/memory-store.ts';
import { describeStateStoreContract } from './state-store.contract.ts';

describeStateStoreContract('memory', async () => {
  const place = new MemoryStateLocation();
  return {
    open: async (options) => new MemoryStateStore(place, options),
    cleanup: async () => undefined,
  };
});

describeStateStoreContract('file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sms-state-contract-'));
  const path = join(dir, 'nested', 'state.json');
  return {
    open: async (options) => new FileStateStore(path, options),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});
