// The server caches the Get actions' answers. A cached answer must always equal what a fresh read
// gives: these tests change the world in each way it can change - time passing on a real clock,
// another process writing the same database, a run in progress - and read again.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateReplicationJobCommand, GetReplicationJobsCommand, GetServersCommand, ImportServerCatalogCommand, SMSClient } from '@aws-sdk/client-sms';
import { afterEach, describe, expect, it } from 'vitest';
import { SmsApp } from '../../src/server/app.ts';
import { loadInventoryFile } from '../../src/server/inventory.ts';
import { startServer, type RunningServer } from '../../src/server/server.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

/** A real-clock server whose wall clock the test moves. */
async function realClockServer(dataDir = ':memory:'): Promise<{ server: RunningServer; sms: SMSClient; clock: { ms: number } }> {
  const clock = { ms: Date.now() };
  const server = await startServer({ dataDir, port: 0, clock: 'real', env: {}, settings: { seed: 7 }, wallMs: () => clock.ms });
  const sms = new SMSClient({ endpoint: server.url, region: server.region, credentials: server.credentials, maxAttempts: 1 });
  cleanups.push(async () => {
    sms.destroy();
    await server.close();
  });
  return { server, sms, clock };
}

describe('the read cache never serves a stale answer', () => {
  it('time passing on a real clock: an import finishes without any request in between', async () => {
    const { sms, clock } = await realClockServer();
    await sms.send(new ImportServerCatalogCommand({}));
    const first = await sms.send(new GetServersCommand({}));
    expect(first.serverCatalogStatus).toBe('IMPORTING');
    expect((await sms.send(new GetServersCommand({}))).serverCatalogStatus).toBe('IMPORTING');
    clock.ms += 3_500;
    const later = await sms.send(new GetServersCommand({}));
    expect(later.serverCatalogStatus).toBe('AVAILABLE');
    expect(later.serverList).toHaveLength(40);
  });

  it('a run in progress: its stage progress moves with every read', async () => {
    const { sms, clock } = await realClockServer();
    await sms.send(new ImportServerCatalogCommand({}));
    clock.ms += 3_500;
    const servers = (await sms.send(new GetServersCommand({}))).serverList ?? [];
    await sms.send(new CreateReplicationJobCommand({ serverId: servers[0]?.serverId, seedReplicationTime: new Date(clock.ms - 1000) }));
    const progress = async () => (await sms.send(new GetReplicationJobsCommand({}))).replicationJobList?.[0]?.replicationRunList?.[0]?.stageDetails?.stageProgress;
    const a = await progress();
    clock.ms += 5_000;
    const b = await progress();
    expect(a).toMatch(/^\d+%$/);
    expect(b).toMatch(/^\d+%$/);
    expect(b).not.toBe(a);
  });

  it('another process writing the same database: its commits are seen at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smsr-cache-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const { server, sms, clock } = await realClockServer(dir);
    await sms.send(new ImportServerCatalogCommand({}));
    clock.ms += 3_500;
    const servers = (await sms.send(new GetServersCommand({}))).serverList ?? [];
    expect((await sms.send(new GetReplicationJobsCommand({}))).replicationJobList).toHaveLength(0);

    // A second SmsApp on the same data directory stands for another process.
    const other = new SmsApp({ dataDir: dir, inventory: loadInventoryFile(), clock: 'real', wallMs: () => clock.ms });
    cleanups.push(() => other.close());
    other.handle('CreateReplicationJob', { serverId: servers[1]?.serverId, seedReplicationTime: clock.ms / 1000 + 3600 }, undefined);

    const jobs = (await sms.send(new GetReplicationJobsCommand({}))).replicationJobList ?? [];
    expect(jobs.map((j) => j.serverId)).toEqual([servers[1]?.serverId]);
    expect(server.app.store.job(jobs[0]?.replicationJobId ?? '')?.state).toBe('PENDING');
  });
});
