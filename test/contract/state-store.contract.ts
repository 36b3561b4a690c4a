/**
 * The StateStore contract (src/state/store.ts), run against every implementation by
 * state-store.test.ts. A harness opens store instances on one shared location: two instances
 * behave as two processes would.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ResourceRecord, StateDocument } from '../../src/state/codec.ts';
import type { LockHolder, StateLock, StateStore, StateTimers } from '../../src/state/store.ts';
import { TARGET, jobRecord, namedJob, stateWith } from '../helpers/state-fixtures.ts';
import { ManualTimers, driveUntilSettled, eventually } from '../helpers/state-timers.ts';

export interface OpenOptions {
  readonly timers?: StateTimers;
  readonly holder?: LockHolder;
  readonly leaseMs?: number;
}

export interface StateStoreHarness {
  /** Opens a new store instance on the harness's location. */
  open(options?: OpenOptions): Promise<StateStore>;
  /** Removes the location. */
  cleanup(): Promise<void>;
}

export type StateStoreFactory = () => Promise<StateStoreHarness>;

const LEASE = 30_000;

export function describeStateStoreContract(name: string, factory: StateStoreFactory): void {
  describe(`StateStore contract: ${name}`, () => {
    let harness: StateStoreHarness;
    const opened: StateStore[] = [];

    async function open(options: OpenOptions = {}): Promise<StateStore> {
      const store = await harness.open({ timers: new ManualTimers(), leaseMs: LEASE, ...options });
      opened.push(store);
      return store;
    }

    /** A store with an initialized state, and its lock. */
    async function initialized(options: OpenOptions = {}): Promise<{ store: StateStore; lock: StateLock; doc: StateDocument }> {
      const store = await open(options);
      const lock = await store.lock({ operation: 'test' });
      const doc = await store.initialize(lock, TARGET);
      return { store, lock, doc };
    }

    beforeEach(async () => {
      harness = await factory();
    });

    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close().catch(() => undefined);
      await harness.cleanup();
    });

    describe('initialize and read', () => {
      it('has no state, no pending intents and no lock at first', async () => {
        const store = await open();
        expect(await store.read()).toBeUndefined();
        expect(await store.head()).toBeUndefined();
        expect(await store.pendingIntents()).toEqual([]);
        expect(await store.lockInfo()).toBeUndefined();
      });

      it('initializes an empty state with a new lineage at serial 0, visible to another instance', async () => {
        const { doc } = await initialized();
        expect(doc).toMatchObject({ formatVersion: 1, serial: 0, target: TARGET, resources: {}, pending: [] });
        expect(doc.lineage).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
        const other = await open();
        expect(await other.read()).toEqual(doc);
        expect(await other.head()).toEqual({ lineage: doc.lineage, serial: 0 });
      });

      it('gives each new state its own lineage', async () => {
        const a = await initialized();
        const harness2 = await factory();
        try {
          const s2 = await harness2.open({ timers: new ManualTimers() });
          const l2 = await s2.lock({ operation: 'test' });
          const d2 = await s2.initialize(l2, TARGET);
          expect(d2.lineage).not.toBe(a.doc.lineage);
          await s2.close();
        } finally {
          await harness2.cleanup();
        }
      });

      it('refuses to initialize twice', async () => {
        const { store, lock } = await initialized();
        await expect(store.initialize(lock, TARGET)).rejects.toMatchObject({ code: 'state-exists' });
      });

      it('refuses writes before initialize', async () => {
        const store = await open();
        const lock = await store.lock({ operation: 'test' });
        await expect(store.writeResources(lock, [{ address: namedJob('web').address, record: namedJob('web') }])).rejects.toMatchObject({
          code: 'state-missing',
        });
        await expect(store.appendIntent(lock, { address: 'ReplicationJob/web', operation: 'CreateReplicationJob' })).rejects.toMatchObject({
          code: 'state-missing',
        });
      });

      it('hands out copies: changing a read document changes nothing', async () => {
        const { store, lock } = await initialized();
        await store.writeResources(lock, [{ address: namedJob('web').address, record: namedJob('web') }]);
        const doc = (await store.read()) as { resources: Record<string, ResourceRecord | undefined> };
        delete doc.resources['ReplicationJob/web'];
        expect((await store.read())?.resources['ReplicationJob/web']).toEqual(namedJob('web'));
      });
    });

    describe('lineage and serial', () => {
      it('keeps the lineage and bumps the serial by exactly one per change, across reopen', async () => {
        const { store, lock, doc } = await initialized();
        const serials: number[] = [];
        const intent = await store.appendIntent(lock, { address: 'ReplicationJob/web', operation: 'CreateReplicationJob', serverId: 's-0000abcd' });
        serials.push(intent.serial);
        serials.push((await store.appendResult(lock, intent.id, { status: 'succeeded', replicationJobId: 'sms-job-0000abcd' }, [
          { address: 'ReplicationJob/web', record: namedJob('web') },
        ])).serial);
        serials.push((await store.writeResources(lock, [{ address: 'ReplicationJob/web', record: namedJob('web', 's-0000abcd', 'web v2') }])).serial);
        serials.push((await store.writeResources(lock, [{ address: 'ReplicationJob/web', record: null }], 'state rm')).serial);
        expect(serials).toEqual([1, 2, 3, 4]);
        expect(await store.head()).toEqual({ lineage: doc.lineage, serial: 4 });
        await lock.release();
        const again = await open();
        expect(await again.head()).toEqual({ lineage: doc.lineage, serial: 4 });
        const lock2 = await again.lock({ operation: 'test' });
        expect((await again.writeResources(lock2, [{ address: 'ReplicationJob/db', record: namedJob('db') }])).serial).toBe(5);
      });

      it('gives concurrent writes of one holder distinct, consecutive serials', async () => {
        const { store, lock } = await initialized();
        const intents = await Promise.all(
          Array.from({ length: 20 }, (_, i) => store.appendIntent(lock, { address: jobRecord(i).address, operation: 'CreateReplicationJob', serverId: jobRecord(i).serverId })),
        );
        expect(intents.map((i) => i.serial).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
        expect(new Set(intents.map((i) => i.id)).size).toBe(20);
        expect((await store.head())?.serial).toBe(20);
      });
    });

    describe('the journal of intents and results', () => {
      it('records an intent, then a result that applies its writes and resolves it', async () => {
        const { store, lock } = await initialized();
        const record = jobRecord(1);
        const intent = await store.appendIntent(lock, {
          address: record.address,
          operation: 'CreateReplicationJob',
          serverId: record.serverId,
          spec: record.appliedSpec,
        });
        expect(intent).toMatchObject({ address: record.address, operation: 'CreateReplicationJob', serial: 1, lockId: lock.info.id });
        expect(await store.pendingIntents()).toEqual([intent]);
        expect((await store.read())?.resources[record.address]).toBeUndefined();

        await store.appendResult(lock, intent.id, { status: 'succeeded', replicationJobId: record.replicationJobId }, [{ address: record.address, record }]);
        expect(await store.pendingIntents()).toEqual([]);
        const doc = await store.read();
        expect(doc?.resources[record.address]).toEqual(record);
        expect(doc?.pending).toEqual([]);
        expect(doc?.serial).toBe(2);
      });

      it('removes a resource when a result writes null, and moves one atomically', async () => {
        const { store, lock } = await initialized();
        await store.writeResources(lock, [{ address: 'ReplicationJob/old-name', record: { ...namedJob('old-name') } }]);
        const moved = await store.writeResources(lock, [
          { address: 'ReplicationJob/old-name', record: null },
          { address: 'ReplicationJob/new-name', record: namedJob('new-name') },
        ], 'move');
        expect(moved.serial).toBe(2);
        const del = await store.appendIntent(lock, { address: 'ReplicationJob/new-name', operation: 'DeleteReplicationJob', replicationJobId: 'sms-job-0000abcd' });
        await store.appendResult(lock, del.id, { status: 'succeeded' }, [{ address: 'ReplicationJob/new-name', record: null }]);
        expect((await store.read())?.resources).toEqual({});
      });

      it('a retire: its intent names the final AMI; the result records the server as migrated, read back as written by another instance', async () => {
        const { store, lock } = await initialized();
        const job = { ...jobRecord(2), replicationStartedAt: '2026-09-01T00:00:00Z' };
        await store.writeResources(lock, [{ address: job.address, record: job }]);
        const intent = await store.appendIntent(lock, { address: job.address, operation: 'DeleteReplicationJob', serverId: job.serverId, replicationJobId: job.replicationJobId, finalAmiId: 'ami-0123456789abcdef0' });
        expect((await store.pendingIntents())[0]?.finalAmiId).toBe('ami-0123456789abcdef0');
        const { replicationJobId: _retired, ...rest } = job;
        const migrated: ResourceRecord = { ...rest, migrated: { amiId: 'ami-0123456789abcdef0', at: '2026-11-30T12:00:00Z', replicationJobId: job.replicationJobId ?? '' }, updatedAt: '2026-11-30T12:00:00Z' };
        await store.appendResult(lock, intent.id, { status: 'succeeded' }, [{ address: job.address, record: migrated }]);
        const other = await open();
        expect((await other.read())?.resources[job.address]).toEqual(migrated);
      });

      it('keeps pending intents across a reopen, whether or not the holder released its lock', async () => {
        const { store, lock } = await initialized();
        const i1 = await store.appendIntent(lock, { address: 'ReplicationJob/web', operation: 'CreateReplicationJob', serverId: 's-0000abcd', spec: { frequency: 24 } });
        const i2 = await store.appendIntent(lock, { address: 'ReplicationJob/db', operation: 'CreateReplicationJob', serverId: 's-0000abce' });
        await store.appendResult(lock, i2.id, { status: 'failed', error: { code: 'InternalError', message: 'boom' } }, []);
        // The holder vanishes without releasing (a crash): another instance reads the journal.
        const survivor = await open();
        expect(await survivor.pendingIntents()).toEqual([i1]);
        await lock.release();
        const afterRelease = await open();
        expect(await afterRelease.pendingIntents()).toEqual([i1]);
        expect((await afterRelease.read())?.pending).toEqual([i1]);
      });

      it('refuses a result without a pending intent, and a second result for one intent', async () => {
        const { store, lock } = await initialized();
        await expect(store.appendResult(lock, randomUUID(), { status: 'succeeded' }, [])).rejects.toMatchObject({ code: 'state-unknown-intent' });
        const intent = await store.appendIntent(lock, { address: 'ReplicationJob/web', operation: 'UpdateReplicationJob', replicationJobId: 'sms-job-0000abcd' });
        await store.appendResult(lock, intent.id, { status: 'succeeded' }, []);
        await expect(store.appendResult(lock, intent.id, { status: 'succeeded' }, [])).rejects.toMatchObject({ code: 'state-unknown-intent' });
        expect((await store.head())?.serial).toBe(2);
      });

      it('refuses malformed changes whole, without bumping the serial', async () => {
        const { store, lock } = await initialized();
        await expect(store.writeResources(lock, [{ address: 'not an address', record: null }])).rejects.toMatchObject({ code: 'state-invalid-change' });
        await expect(
          store.writeResources(lock, [
            { address: 'ReplicationJob/ok', record: namedJob('ok') },
            { address: 'ReplicationJob/other', record: namedJob('web') },
          ]),
        ).rejects.toMatchObject({ code: 'state-invalid-change' });
        expect(await store.head()).toMatchObject({ serial: 0 });
        expect((await store.read())?.resources).toEqual({});
      });
    });

    describe('locks', () => {
      it('are exclusive: a busy lock fails at once, naming holder, operation and age, with what to do', async () => {
        const a = await open({ holder: { host: hostname(), pid: process.pid }, leaseMs: 600_000 });
        const lockA = await a.lock({ operation: 'apply' });
        expect(lockA.held).toBe(true);
        expect(lockA.info).toMatchObject({ holder: { host: hostname(), pid: process.pid }, operation: 'apply' });
        expect(await a.lockInfo()).toMatchObject({ id: lockA.info.id, operation: 'apply' });

        const timersB = new ManualTimers();
        timersB.advance(95_000);
        const b = await open({ timers: timersB });
        const err = await b.lock({ operation: 'state rm' }).catch((e: unknown) => e);
        expect(err).toMatchObject({ code: 'state-locked' });
        const { message, hint } = err as { message: string; hint: string };
        expect(message).toContain(`pid ${process.pid}`);
        expect(message).toContain(hostname());
        expect(message).toContain('"apply"');
        expect(message).toContain('1m35s ago');
        expect(hint).toContain('--lock-timeout');
        expect(hint).toContain(`force-unlock ${lockA.info.id}`);
      });

      it('two instances racing for the lock: exactly one wins', async () => {
        const a = await open();
        const b = await open();
        const results = await Promise.allSettled([a.lock({ operation: 'a' }), b.lock({ operation: 'b' })]);
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        expect(rejected).toHaveLength(1);
        expect(rejected[0]?.reason).toMatchObject({ code: 'state-locked' });
      });

      it('lock timeout: waits with backoff, then fails with the holder', async () => {
        const a = await open({ leaseMs: 600_000 });
        const lockA = await a.lock({ operation: 'apply' });
        const timersB = new ManualTimers();
        const b = await open({ timers: timersB });
        const start = timersB.now();
        const err = await driveUntilSettled(timersB, b.lock({ operation: 'plan', timeoutMs: 60_000 })).catch((e: unknown) => e);
        expect(err).toMatchObject({ code: 'state-locked' });
        expect((err as Error).message).toContain(lockA.info.id);
        expect((err as Error).message).toContain('after waiting 1m00s');
        expect(timersB.now() - start).toBeGreaterThanOrEqual(60_000);
        expect(timersB.fired).toBeGreaterThanOrEqual(5); // several attempts, not one long sleep
        expect(lockA.held).toBe(true);
      });

      it('lock timeout: gets the lock once the holder releases it', async () => {
        const a = await open();
        const lockA = await a.lock({ operation: 'apply' });
        const timersB = new ManualTimers();
        const b = await open({ timers: timersB });
        const waiting = b.lock({ operation: 'apply', timeoutMs: 60_000 });
        await timersB.whenScheduled();
        await lockA.release();
        expect(lockA.held).toBe(false);
        const lockB = await driveUntilSettled(timersB, waiting);
        expect(lockB.held).toBe(true);
        expect((await b.lockInfo())?.id).toBe(lockB.info.id);
      });

      it('the heartbeat renews a held lease, so it does not expire', async () => {
        const timersA = new ManualTimers();
        const a = await open({ timers: timersA });
        const lockA = await a.lock({ operation: 'apply' });
        timersA.advance(10_000); // first heartbeat: lease now runs to T0 + 40 s
        await eventually(async () => lockA.info.expires === new Date(timersA.now() + LEASE).toISOString());
        timersA.advance(10_000); // second heartbeat: T0 + 50 s
        await eventually(async () => lockA.info.expires === new Date(timersA.now() + LEASE).toISOString());
        expect((await a.lockInfo())?.expires).toBe(lockA.info.expires);
        const timersB = new ManualTimers();
        timersB.advance(45_000); // past the first lease, within the renewed one
        const b = await open({ timers: timersB });
        await expect(b.lock({ operation: 'apply' })).rejects.toMatchObject({ code: 'state-locked' });
      });

      it('an expired lease is taken over; the old holder can no longer write', async () => {
        const { store: a, lock: lockA } = await initialized({ timers: new ManualTimers() });
        const timersB = new ManualTimers();
        const b = await open({ timers: timersB });
        await expect(b.lock({ operation: 'apply' })).rejects.toMatchObject({ code: 'state-locked' });
        timersB.advance(LEASE + 1); // A's heartbeat never ran (a frozen process): its lease ran out
        const lockB = await b.lock({ operation: 'apply' });
        expect(lockB.info.id).not.toBe(lockA.info.id);
        await b.writeResources(lockB, [{ address: 'ReplicationJob/web', record: namedJob('web') }]);
        await expect(a.writeResources(lockA, [{ address: 'ReplicationJob/db', record: namedJob('db') }])).rejects.toMatchObject({
          code: 'state-lock-lost',
        });
        await expect(lockA.renew()).rejects.toMatchObject({ code: 'state-lock-lost' });
        expect(lockA.held).toBe(false);
        const doc = await b.read();
        expect(Object.keys(doc?.resources ?? {})).toEqual(['ReplicationJob/web']);
        expect(doc?.serial).toBe(1);
      });

      it('force-unlock refuses a wrong id or no lock, removes the right one, and fences the old holder', async () => {
        const { store: a, lock: lockA } = await initialized();
        const b = await open();
        await expect(b.forceUnlock(randomUUID())).rejects.toMatchObject({ code: 'state-lock-id-mismatch' });
        expect((await b.lockInfo())?.id).toBe(lockA.info.id);
        const removed = await b.forceUnlock(lockA.info.id);
        expect(removed).toMatchObject({ id: lockA.info.id, operation: 'test' });
        expect(await b.lockInfo()).toBeUndefined();
        await expect(b.forceUnlock(lockA.info.id)).rejects.toMatchObject({ code: 'state-not-locked' });
        const lockB = await b.lock({ operation: 'apply' });
        await b.writeResources(lockB, [{ address: 'ReplicationJob/web', record: namedJob('web') }]);
        await expect(a.appendIntent(lockA, { address: 'ReplicationJob/db', operation: 'CreateReplicationJob' })).rejects.toMatchObject({
          code: 'state-lock-lost',
        });
        expect(await b.head()).toMatchObject({ serial: 1 });
      });

      it('refuses writes with a released lock or another store\'s lock', async () => {
        const { store, lock } = await initialized();
        await lock.release();
        await lock.release(); // idempotent
        expect(lock.held).toBe(false);
        await expect(store.writeResources(lock, [])).rejects.toMatchObject({ code: 'state-lock-required' });
        const other = await open();
        const otherLock = await other.lock({ operation: 'x' });
        await expect(store.writeResources(otherLock, [])).rejects.toMatchObject({ code: 'state-lock-required' });
      });

      it('close releases the lock', async () => {
        const store = await open();
        await store.lock({ operation: 'x' });
        await store.close();
        expect(await store.lockInfo()).toBeUndefined();
      });
    });

    describe('concurrent writers', () => {
      it('cannot both bump the same serial: the second writer sees the first one\'s change', async () => {
        const { doc, lock } = await initialized();
        await lock.release();
        const a = await open({ timers: new ManualTimers() });
        const b = await open({ timers: new ManualTimers() });
        // Both read serial 0, then both try to write.
        expect((await a.head())?.serial).toBe(0);
        expect((await b.head())?.serial).toBe(0);
        const write = async (store: StateStore, name: string): Promise<number> => {
          for (;;) {
            const l = await store.lock({ operation: name }).catch(() => undefined);
            if (!l) {
              await new Promise((r) => setImmediate(r));
              continue;
            }
            try {
              return (await store.writeResources(l, [{ address: `ReplicationJob/${name}`, record: namedJob(name) }])).serial;
            } finally {
              await l.release();
            }
          }
        };
        const serials = await Promise.all([write(a, 'one'), write(b, 'two')]);
        expect([...serials].sort()).toEqual([1, 2]);
        const final = await (await open()).read();
        expect(final?.lineage).toBe(doc.lineage);
        expect(final?.serial).toBe(2);
        expect(Object.keys(final?.resources ?? {}).sort()).toEqual(['ReplicationJob/one', 'ReplicationJob/two']);
      });
    });

    describe('replace (state push)', () => {
      it('stores a pushed state as it is where there is none', async () => {
        const store = await open();
        const lock = await store.lock({ operation: 'state push' });
        const pushed = stateWith(3, { serial: 7 });
        expect(await store.replace(lock, pushed)).toEqual({ serial: 7 });
        expect(await store.read()).toEqual(pushed);
        await lock.release();
        expect(await (await open()).read()).toEqual(pushed);
      });

      it('refuses another lineage unless forced', async () => {
        const { store, lock, doc } = await initialized();
        const foreign = stateWith(2, { serial: 9 });
        await expect(store.replace(lock, foreign)).rejects.toMatchObject({ code: 'state-lineage-mismatch' });
        expect(await store.head()).toEqual({ lineage: doc.lineage, serial: 0 });
        expect(await store.replace(lock, foreign, { force: true })).toEqual({ serial: 9 });
        expect(await store.head()).toEqual({ lineage: foreign.lineage, serial: 9 });
      });

      it('refuses a serial that is not newer unless forced; forced, the serial still moves up', async () => {
        const { store, lock, doc } = await initialized();
        await store.writeResources(lock, [{ address: 'ReplicationJob/web', record: namedJob('web') }]);
        await store.writeResources(lock, [{ address: 'ReplicationJob/db', record: namedJob('db') }]);
        const older = stateWith(1, { lineage: doc.lineage, serial: 1 });
        await expect(store.replace(lock, older)).rejects.toMatchObject({ code: 'state-serial-not-newer' });
        await expect(store.replace(lock, { ...older, serial: 2 })).rejects.toMatchObject({ code: 'state-serial-not-newer' });
        expect((await store.head())?.serial).toBe(2);
        expect(await store.replace(lock, older, { force: true })).toEqual({ serial: 3 });
        expect(await store.read()).toEqual({ ...older, serial: 3 });
        expect(await store.replace(lock, { ...older, serial: 10 })).toEqual({ serial: 10 });
        await store.writeResources(lock, [{ address: 'ReplicationJob/web', record: namedJob('web') }]);
        expect((await store.head())?.serial).toBe(11);
      });

      it('refuses an invalid document', async () => {
        const { store, lock } = await initialized();
        const bad = { ...stateWith(1), resources: { 'ReplicationJob/x': namedJob('y') } };
        await expect(store.replace(lock, bad, { force: true })).rejects.toMatchObject({ code: 'state-corrupt' });
      });
    });
  });
}
