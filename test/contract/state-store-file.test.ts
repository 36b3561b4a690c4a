/**
 * What only the file store has: files on disk (torn writes, corruption, versions, modes, backup,
 * compaction, lock files of dead processes) and the O(change) cost of a write.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { appendFile, copyFile, mkdir, mkdtemp, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeState, encodeState, type StateDocument } from '../../src/state/codec.ts';
import { FileStateStore } from '../../src/state/file-store.ts';
import type { StateLock } from '../../src/state/store.ts';
import { TARGET, jobRecord, namedJob, stateWith } from '../helpers/state-fixtures.ts';
import { ManualTimers } from '../helpers/state-timers.ts';

let dir: string;
let path: string;
const stores: FileStateStore[] = [];

function openStore(options: ConstructorParameters<typeof FileStateStore>[1] = {}): FileStateStore {
  const store = new FileStateStore(path, { timers: new ManualTimers(), ...options });
  stores.push(store);
  return store;
}

/** A store holding its lock over an initialized state with `n` job records committed through the journal. */
async function withRecords(n: number): Promise<{ store: FileStateStore; lock: StateLock }> {
  const store = openStore();
  const lock = await store.lock({ operation: 'test' });
  await store.initialize(lock, TARGET);
  for (let i = 0; i < n; i++) await commitJob(store, lock, i);
  return { store, lock };
}

async function commitJob(store: FileStateStore, lock: StateLock, i: number, version = 1): Promise<void> {
  const record = jobRecord(i, version);
  const intent = await store.appendIntent(lock, { address: record.address, operation: 'CreateReplicationJob', serverId: record.serverId, spec: record.appliedSpec });
  await store.appendResult(lock, intent.id, { status: 'succeeded', replicationJobId: record.replicationJobId }, [{ address: record.address, record }]);
}

async function bytesOf(...files: string[]): Promise<(string | undefined)[]> {
  return Promise.all(files.map((f) => readFile(f, 'utf8').catch(() => undefined)));
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sms-state-file-'));
  path = join(dir, 'state.json');
});

afterEach(async () => {
  for (const s of stores.splice(0)) await s.close().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

describe('file store: torn writes and corruption', () => {
  it('ignores a torn last journal line, and cuts it off before the next append', async () => {
    const { store, lock } = await withRecords(3);
    await appendFile(`${path}.journal`, '{"type":"result","serial":7,"at":"2026-03-01T12:'); // crash mid-write
    const reader = openStore();
    const doc = await reader.read();
    expect(doc?.serial).toBe(6);
    expect(Object.keys(doc?.resources ?? {})).toHaveLength(3);

    await store.forceUnlock(lock.info.id); // the crashed writer's lock
    const next = openStore();
    const lock2 = await next.lock({ operation: 'resume' });
    await commitJob(next, lock2, 3);
    const journal = await readFile(`${path}.journal`, 'utf8');
    expect(journal).not.toContain('"serial":7,"at":"2026-03-01T12:\n');
    expect(journal.endsWith('\n')).toBe(true);
    const after = await openStore().read();
    expect(after?.serial).toBe(8);
    expect(Object.keys(after?.resources ?? {})).toHaveLength(4);
  });

  it('does not count a whole last record whose newline never made it, nor a last line of zeros', async () => {
    await withRecords(1);
    const journalPath = `${path}.journal`;
    const complete = JSON.stringify({ type: 'write', serial: 3, at: '2026-03-01T12:00:00.000Z', writes: [{ address: 'ReplicationJob/web', record: namedJob('web') }] });
    const original = await readFile(journalPath);
    await writeFile(journalPath, Buffer.concat([original, Buffer.from(complete)]));
    expect((await openStore().read())?.serial).toBe(2);
    await writeFile(journalPath, Buffer.concat([original, Buffer.alloc(64), Buffer.from('\n')]));
    expect((await openStore().read())?.serial).toBe(2);
  });

  it('refuses a damaged journal line that records follow, overwriting nothing', async () => {
    const { store, lock } = await withRecords(3);
    const journalPath = `${path}.journal`;
    const lines = (await readFile(journalPath, 'utf8')).split('\n');
    lines[2] = `${lines[2]?.slice(0, 20)}#garbage`;
    await writeFile(journalPath, lines.join('\n'));
    const before = await bytesOf(path, journalPath);
    const err = await openStore().read().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'state-corrupt' });
    expect((err as Error).message).toContain('line 3');
    await store.forceUnlock(lock.info.id);
    const other = openStore();
    const lock2 = await other.lock({ operation: 'x' });
    await expect(other.writeResources(lock2, [])).rejects.toMatchObject({ code: 'state-corrupt' });
    await lock2.release();
    expect(await bytesOf(path, journalPath)).toEqual(before);
  });

  it('refuses a corrupt snapshot with its position, overwriting nothing; a forced push replaces it', async () => {
    const { lock } = await withRecords(2);
    await lock.release();
    await writeFile(`${path}.backup`, 'previous good state');
    await writeFile(path, '{\n  "formatVersion": 1,\n  "lineage": oops\n}\n');
    const before = await bytesOf(path, `${path}.journal`, `${path}.backup`);
    const store = openStore();
    const err = await store.read().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'state-corrupt', source: 'user' });
    expect((err as Error).message).toContain('line 3, column 14');
    expect((err as { hint: string }).hint).toContain('sms-reconcile state push --force');
    const lock2 = await store.lock({ operation: 'apply' });
    await expect(store.appendIntent(lock2, { address: 'ReplicationJob/web', operation: 'CreateReplicationJob' })).rejects.toMatchObject({ code: 'state-corrupt' });
    await expect(store.replace(lock2, stateWith(1))).rejects.toMatchObject({ code: 'state-corrupt' });
    await lock2.release();
    expect(await bytesOf(path, `${path}.journal`, `${path}.backup`)).toEqual(before);

    // The way back: push a good copy with --force; the corrupt snapshot is kept as the backup.
    const good = stateWith(2, { serial: 3 });
    const lock3 = await store.lock({ operation: 'state push' });
    expect(await store.replace(lock3, good, { force: true })).toEqual({ serial: 3 });
    await lock3.release();
    expect(await openStore().read()).toEqual(good);
    expect(await readFile(`${path}.backup`, 'utf8')).toBe(before[0]);
  });

  it('refuses a snapshot from a newer format version, saying which and what to do', async () => {
    const doc = { ...stateWith(1), formatVersion: 2, somethingNew: true };
    await writeFile(path, JSON.stringify(doc));
    const err = await openStore().read().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'state-version-newer' });
    expect((err as Error).message).toContain('formatVersion 2');
    expect((err as { hint: string }).hint).toContain('upgrade sms-reconcile');
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual(doc);
  });

  it('ignores a journal left over from another lineage (a replaced state)', async () => {
    const { lock } = await withRecords(2);
    await lock.release();
    const replacement = stateWith(1, { serial: 1 });
    await writeFile(path, encodeState(replacement));
    await writeFile(
      `${path}.journal`,
      `${JSON.stringify({ type: 'header', formatVersion: 1, lineage: randomUUID(), baseSerial: 1 })}\n` +
        `${JSON.stringify({ type: 'write', serial: 2, at: '2026-03-01T12:00:00.000Z', writes: [{ address: 'ReplicationJob/web', record: namedJob('web') }] })}\n`,
    );
    expect(await openStore().read()).toEqual(replacement);
  });

  it('skips journal records already folded into the snapshot (a crash between snapshot and journal reset)', async () => {
    const { store, lock } = await withRecords(3);
    const oldJournal = await readFile(`${path}.journal`);
    await lock.release(); // compaction: snapshot at serial 6, fresh journal
    await writeFile(`${path}.journal`, oldJournal); // as if the journal reset never happened
    const reader = openStore();
    expect((await reader.read())?.serial).toBe(6);
    const lock2 = await store.lock({ operation: 'next' });
    await commitJob(store, lock2, 3);
    await lock2.release();
    const doc = await openStore().read();
    expect(doc?.serial).toBe(8);
    expect(Object.keys(doc?.resources ?? {})).toHaveLength(4);
  });
});

describe('file store: files', () => {
  it('never appends through a symlink planted at the journal (O_NOFOLLOW): the write is refused, the link target untouched', async () => {
    const { store, lock } = await withRecords(1);
    await lock.release();
    const elsewhere = join(dir, 'elsewhere.txt');
    await copyFile(`${path}.journal`, elsewhere);
    await rm(`${path}.journal`);
    await symlink(elsewhere, `${path}.journal`);
    const before = await readFile(elsewhere, 'utf8');
    const lock2 = await store.lock({ operation: 'test' });
    const err = await commitJob(store, lock2, 2).then(() => undefined, (e: unknown) => e as { code?: string; message?: string; hint?: string });
    expect(err?.code).toBe('state-io');
    expect(err?.message).toMatch(/symbolic link/);
    expect(err?.hint).toMatch(/remove the link/);
    expect(await readFile(elsewhere, 'utf8')).toBe(before);
    await lock2.release().catch(() => undefined);
  });

  it('creates its files 0600 and a missing directory 0700', async () => {
    path = join(dir, 'a', 'b', 'state.json');
    const store = openStore();
    const lock = await store.lock({ operation: 'test' });
    await store.initialize(lock, TARGET);
    await commitJob(store, lock, 1);
    await lock.release();
    const lock2 = await store.lock({ operation: 'test' });
    await commitJob(store, lock2, 2);
    const modes: Record<string, string> = {};
    for (const f of [path, `${path}.journal`, `${path}.lock`]) modes[f] = ((await stat(f)).mode & 0o777).toString(8);
    await lock2.release();
    modes[`${path}.backup`] = ((await stat(`${path}.backup`)).mode & 0o777).toString(8);
    modes[join(dir, 'a')] = ((await stat(join(dir, 'a'))).mode & 0o777).toString(8);
    modes[join(dir, 'a', 'b')] = ((await stat(join(dir, 'a', 'b'))).mode & 0o777).toString(8);
    expect(Object.values(modes)).toEqual(['600', '600', '600', '600', '700', '700']);
  });

  it('keeps one .backup per run: the snapshot as it was before the run first rewrote it', async () => {
    const { store, lock } = await withRecords(2);
    await lock.release(); // run 1: no earlier snapshot, so no backup
    const endOfRun1 = await readFile(path, 'utf8');
    expect(decodeState(endOfRun1).serial).toBe(4);

    const small = openStore({ compactThresholdBytes: 1 }); // compacts after every write
    const lock2 = await small.lock({ operation: 'run 2' });
    for (let i = 2; i < 6; i++) await commitJob(small, lock2, i);
    expect(small.stats.compactions).toBeGreaterThanOrEqual(2); // several snapshot rewrites in this run
    await lock2.release();
    expect(await readFile(`${path}.backup`, 'utf8')).toBe(endOfRun1);
    const endOfRun2 = await readFile(path, 'utf8');

    const lock3 = await store.lock({ operation: 'run 3' });
    await commitJob(store, lock3, 6);
    await lock3.release();
    expect(await readFile(`${path}.backup`, 'utf8')).toBe(endOfRun2);
    expect(decodeState(await readFile(`${path}.backup`, 'utf8')).serial).toBe(12);
  });

  it('compacts once the journal outgrows its threshold, keeping every change', async () => {
    const store = openStore({ compactThresholdBytes: 4096 });
    const lock = await store.lock({ operation: 'test' });
    await store.initialize(lock, TARGET);
    for (let i = 0; i < 40; i++) await commitJob(store, lock, i);
    expect(store.stats.compactions).toBeGreaterThan(3);
    // The journal never outgrows max(threshold, snapshot) by more than one write.
    expect((await stat(`${path}.journal`)).size).toBeLessThan(Math.max(4096, (await stat(path)).size) + 2048);
    const doc = await openStore().read();
    expect(doc?.serial).toBe(80);
    expect(Object.keys(doc?.resources ?? {})).toHaveLength(40);
  });
});

describe('file store: lock files', () => {
  async function writeLock(record: object): Promise<void> {
    await writeFile(`${path}.lock`, `${JSON.stringify({ formatVersion: 1, ...record })}\n`, { mode: 0o600 });
  }

  it('takes over at once the lock of a process of this host that has exited', async () => {
    const child = spawn(process.execPath, ['-e', '']);
    await once(child, 'exit');
    const deadPid = child.pid as number;
    const staleId = randomUUID();
    const now = Date.now();
    await writeLock({
      id: staleId,
      holder: { host: hostname(), pid: deadPid },
      operation: 'apply',
      created: new Date(now).toISOString(),
      expires: new Date(now + 3_600_000).toISOString(), // its lease has not run out
    });
    const store = new FileStateStore(path); // the real clock
    stores.push(store);
    const lock = await store.lock({ operation: 'apply', timeoutMs: 0 });
    expect(lock.info.id).not.toBe(staleId);
    expect((await store.lockInfo())?.id).toBe(lock.info.id);
    await lock.release();
  });

  it('does not take over a live lease of another host', async () => {
    const timers = new ManualTimers();
    await writeLock({
      id: randomUUID(),
      holder: { host: 'build-agent-7', pid: 1 },
      operation: 'apply',
      created: new Date(timers.now() - 5_000).toISOString(),
      expires: new Date(timers.now() + 25_000).toISOString(),
    });
    const store = openStore({ timers });
    const err = await store.lock({ operation: 'plan' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'state-locked' });
    expect((err as Error).message).toContain('pid 1 on build-agent-7 for "apply"');
    expect((err as Error).message).toContain('(5s ago');
  });

  it('treats an unreadable lock record as busy while young, and takes it over once older than a lease', async () => {
    await writeFile(`${path}.lock`, '{"formatVersion":1,"id":"half-writ');
    const t = Date.now();
    const young = openStore({ timers: new ManualTimers(t) });
    await expect(young.lock({ operation: 'apply' })).rejects.toMatchObject({ code: 'state-locked' });
    await utimes(`${path}.lock`, new Date(t - 60_000), new Date(t - 60_000));
    const lock = await openStore({ timers: new ManualTimers(t) }).lock({ operation: 'apply' });
    expect(lock.held).toBe(true);
  });

  it('force-unlocks an unreadable lock record by the id the lock error shows', async () => {
    await mkdir(dir, { recursive: true });
    await writeFile(`${path}.lock`, 'garbage');
    const store = openStore({ timers: new ManualTimers(Date.now()) });
    const err = await store.lock({ operation: 'apply' }).catch((e: unknown) => e);
    expect((err as { hint: string }).hint).toContain('force-unlock unreadable');
    await store.forceUnlock('unreadable');
    expect(await store.lockInfo()).toBeUndefined();
  });
});

describe('file store: cost of a write', () => {
  /** Bytes written per recorded intent + result, over `ops` operations, at `size` resources. */
  async function bytesPerOperation(size: number, ops: number): Promise<{ perOp: number; snapshotBytes: number }> {
    path = join(dir, `state-${size}.json`);
    const store = openStore();
    const lock = await store.lock({ operation: 'bench' });
    await store.replace(lock, stateWith(size) as StateDocument);
    const snapshotBefore = await stat(path);
    const journalBefore = (await stat(`${path}.journal`)).size;
    const before = store.stats.bytesWritten;
    for (let i = 0; i < ops; i++) await commitJob(store, lock, i, 2);
    const written = store.stats.bytesWritten - before;
    const snapshotAfter = await stat(path);
    expect(snapshotAfter.ino).toBe(snapshotBefore.ino); // no snapshot rewrite during the operations
    expect(snapshotAfter.mtimeMs).toBe(snapshotBefore.mtimeMs);
    expect((await stat(`${path}.journal`)).size - journalBefore).toBe(written); // everything written went to the journal
    await lock.release();
    return { perOp: written / ops, snapshotBytes: snapshotBefore.size };
  }

  it('is the same number of bytes at 100 and at 10,000 resources, far below the state size', async () => {
    const small = await bytesPerOperation(100, 50);
    const large = await bytesPerOperation(10_000, 50);
    expect(large.snapshotBytes).toBeGreaterThan(50 * small.snapshotBytes);
    expect(large.perOp).toBe(small.perOp);
    expect(large.perOp).toBeLessThan(3_000);
    expect(large.perOp * 1_000).toBeLessThan(large.snapshotBytes);
  });
});

describe('file store: copies of a state', () => {
  it('reads a state copied elsewhere with its journal', async () => {
    const { store, lock } = await withRecords(2);
    await store.writeResources(lock, [{ address: 'ReplicationJob/web', record: namedJob('web') }]);
    const copy = join(dir, 'copy.json');
    await copyFile(path, copy);
    await copyFile(`${path}.journal`, `${copy}.journal`);
    const reader = new FileStateStore(copy);
    expect(await reader.read()).toEqual(await store.read());
  });
});
