/**
 * The in-memory StateStore: the journaled commit path (journal-store.ts) over bytes kept in
 * memory, so it has the file store's semantics (contract suite), for tests and for runs that need
 * no persistence. A `MemoryStateLocation` plays the part of a folder of state files: several store
 * instances opened on one location behave like several processes (their locks exclude each other,
 * each sees the others' commits).
 *
 * Invariants (besides those of journal-store.ts):
 * - A blob is replaced whole by a new `MemoryBlob` (a new id), as a rename replaces a file; an
 *   append goes to the blob that was opened, as an append goes to an open file's inode.
 * - Bytes are copied in: callers never share a buffer with the location.
 * - Every write is "durable" at once: there is nothing to sync, so `stats.fsyncs` stays 0.
 */
import { randomUUID } from 'node:crypto';
import { JournalStore, type JournalStoreOptions } from './journal-store.ts';
import { staleBecause } from './lease.ts';
import type { LockRecordHandle, LockRecords, MediumSettings, Stamp, Stamps, StateBytes, StoreStats, StoredBytes } from './persistence.ts';
import { lockIdMismatch, notLocked } from './store-rules.ts';
import type { LockInfo } from './store.ts';

let blobIds = 0;

/** A blob in memory (the snapshot, the journal or the backup): chunks, so that an append costs O(its size). */
export class MemoryBlob {
  readonly id = `memory-${++blobIds}`;
  #chunks: Buffer[];
  #size: number;
  #modified = 0;

  constructor(data: Buffer) {
    this.#chunks = [Buffer.from(data)];
    this.#size = data.length;
  }

  get stamp(): Stamp {
    return { id: this.id, size: this.#size, modified: this.#modified };
  }

  /** A copy of the bytes, with their stamp. */
  read(): StoredBytes {
    const stamp = this.stamp;
    const data = Buffer.concat(this.#chunks, this.#size);
    this.#chunks = [data];
    return { data: Buffer.from(data), stamp };
  }

  append(data: Buffer): void {
    this.#chunks.push(Buffer.from(data));
    this.#size += data.length;
    this.#modified += 1;
  }

  truncate(size: number): void {
    const data = Buffer.concat(this.#chunks, this.#size);
    this.#chunks = [Buffer.from(data.subarray(0, Math.min(size, data.length)))];
    this.#size = Math.min(size, data.length);
    this.#modified += 1;
  }
}

/** Where a memory state lives. Share one between store instances to model several processes. */
export class MemoryStateLocation {
  snapshot: MemoryBlob | undefined = undefined;
  journal: MemoryBlob | undefined = undefined;
  backup: MemoryBlob | undefined = undefined;
  lock: LockInfo | undefined = undefined;
  constructor(readonly name = 'memory') {}
}

/** Snapshot, journal and backup as blobs of a location. */
class MemoryStateBytes implements StateBytes {
  readonly snapshotName: string;
  readonly journalName: string;
  readonly #place: MemoryStateLocation;
  readonly #stats: StoreStats;
  #open: MemoryBlob | undefined;

  constructor(place: MemoryStateLocation, location: string, stats: StoreStats) {
    this.#place = place;
    this.#stats = stats;
    this.snapshotName = location;
    this.journalName = `${location} journal`;
  }

  get journalOpen(): boolean {
    return this.#open !== undefined;
  }

  async readSnapshot(): Promise<StoredBytes | undefined> {
    return this.#place.snapshot?.read();
  }

  async readJournal(): Promise<StoredBytes | undefined> {
    return this.#place.journal?.read();
  }

  async stamps(): Promise<Stamps> {
    return { snapshot: this.#place.snapshot?.stamp, journal: this.#place.journal?.stamp };
  }

  async writeSnapshot(data: Buffer): Promise<Stamp> {
    this.#place.snapshot = new MemoryBlob(data);
    this.#stats.bytesWritten += data.length;
    return this.#place.snapshot.stamp;
  }

  async backupSnapshot(): Promise<void> {
    const snapshot = this.#place.snapshot;
    if (!snapshot) return;
    const { data } = snapshot.read();
    this.#place.backup = new MemoryBlob(data);
    this.#stats.bytesWritten += data.length;
  }

  async replaceJournal(data: Buffer): Promise<Stamp> {
    const journal = new MemoryBlob(data);
    this.#place.journal = journal;
    this.#open = journal;
    this.#stats.bytesWritten += data.length;
    return journal.stamp;
  }

  async openJournal(): Promise<Stamp> {
    const journal = this.#place.journal ?? new MemoryBlob(Buffer.alloc(0));
    this.#place.journal = journal;
    this.#open = journal;
    return journal.stamp;
  }

  async truncateJournal(size: number): Promise<void> {
    this.#opened().truncate(size);
  }

  async appendJournal(data: Buffer): Promise<void> {
    this.#opened().append(data);
    this.#stats.bytesWritten += data.length;
  }

  async closeJournal(): Promise<void> {
    this.#open = undefined;
  }

  async removeLeftovers(): Promise<void> {
    // Memory writes are never left half done.
  }

  #opened(): MemoryBlob {
    const journal = this.#open;
    if (!journal) throw new Error(`${this.journalName} is not open for appending`);
    return journal;
  }
}

/** The lock record as a field of the location. */
function memoryLockRecords(place: MemoryStateLocation, settings: MediumSettings): LockRecords {
  const handleOf = (id: string): LockRecordHandle => ({
    bytesWritten: 0,
    async renew(_mine, expires) {
      if (place.lock?.id !== id) return false;
      place.lock = { ...place.lock, expires };
      return true;
    },
    verify: async () => place.lock?.id === id,
    async release() {
      if (place.lock?.id === id) place.lock = undefined;
    },
  });
  return {
    prepare: async () => undefined,
    async tryLock(request) {
      const now = settings.timers.now();
      const current = place.lock;
      if (current && staleBecause(current, now, settings.localHost) === undefined) return { busy: structuredClone(current) };
      const info: LockInfo = {
        id: randomUUID(),
        holder: { ...settings.holder },
        operation: request.operation,
        created: new Date(now).toISOString(),
        expires: new Date(now + settings.leaseMs).toISOString(),
      };
      place.lock = info;
      return { acquired: { info, handle: handleOf(info.id) } };
    },
    current: async () => place.lock && structuredClone(place.lock),
    async forceUnlock(lockId) {
      const current = place.lock;
      if (!current) throw notLocked(settings.location);
      if (current.id !== lockId) throw lockIdMismatch(current, lockId, settings.location);
      place.lock = undefined;
      return structuredClone(current);
    },
  };
}

export class MemoryStateStore extends JournalStore {
  constructor(place: MemoryStateLocation = new MemoryStateLocation(), options: JournalStoreOptions = {}) {
    const location = `memory:${place.name}`;
    super(location, (settings) => ({ bytes: new MemoryStateBytes(place, location, settings.stats), locks: memoryLockRecords(place, settings) }), options);
  }
}
