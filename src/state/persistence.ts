/**
 * The port between the journaled stores' one commit path (journal-store.ts) and the medium that
 * keeps their bytes: files (file-store.ts) or memory (memory-store.ts). The commit path decides
 * what to write and when; a medium only stores bytes and lock records, and says how durable
 * they are.
 *
 * Invariants every medium keeps:
 * - The snapshot and the journal's reset are replaced atomically: a reader sees the old bytes or
 *   the new ones, never a mix (files: temp file, fsync, rename, fsync of the directory).
 * - An append resolves only once its bytes are durable (files: fdatasync), and only ever adds at
 *   the end of the journal that was opened, even if another one was put in its place meanwhile.
 * - A stamp changes whenever the bytes it describes may have changed: its `id` when the blob was
 *   replaced whole, its `size` when it grew or shrank, its `modified` on every write.
 * - A lock record is created only if there is none (or the one there is stale), so at most one
 *   holder has it; a holder's renewal never writes over another holder's record.
 */
import type { LockAttempt } from './lease.ts';
import type { LockHolder, LockInfo, LockRequest, StateTimers } from './store.ts';

/** What a journaled store wrote, for tests and benchmarks. */
export interface StoreStats {
  /** Bytes written to the medium (journal, snapshot, backup, lock record). */
  bytesWritten: number;
  /** Syncs to disk (the memory medium has none). */
  fsyncs: number;
  /** Journals folded into a snapshot. */
  compactions: number;
}

/** Which version of a stored blob (snapshot or journal) was seen. */
export interface Stamp {
  /** Changes when the blob is replaced whole (a file's device and inode). */
  readonly id: string;
  readonly size: number;
  /** Changes on every write (a file's mtime); compared for the snapshot only. */
  readonly modified: number;
}

/** A blob's bytes and the stamp of exactly those bytes. */
export interface StoredBytes {
  readonly data: Buffer;
  readonly stamp: Stamp;
}

/** The stamps of the snapshot and the journal as they are now; undefined where there is none. */
export interface Stamps {
  readonly snapshot: Stamp | undefined;
  readonly journal: Stamp | undefined;
}

/**
 * How a medium keeps the snapshot, the journal and the backup. At most one journal is open for
 * appending at a time, by the lock holder.
 */
export interface StateBytes {
  /** The snapshot's name in messages (a path). */
  readonly snapshotName: string;
  /** The journal's name in messages (a path). */
  readonly journalName: string;
  /** Whether a journal is open for appending. */
  readonly journalOpen: boolean;

  readSnapshot(): Promise<StoredBytes | undefined>;
  readJournal(): Promise<StoredBytes | undefined>;
  /** The current stamps, without reading the bytes (a cheap check that nothing changed). */
  stamps(): Promise<Stamps>;

  /** Replaces the snapshot by `data`, atomically and durably. Returns the new snapshot's stamp. */
  writeSnapshot(data: Buffer): Promise<Stamp>;
  /** Keeps a copy of the current snapshot as the backup (atomically); nothing when there is none. */
  backupSnapshot(): Promise<void>;
  /**
   * Replaces the journal by `data` (atomically and durably) and opens the new journal for
   * appending. Returns its stamp.
   */
  replaceJournal(data: Buffer): Promise<Stamp>;
  /**
   * Opens the journal for appending, creating an empty one where there is none. Returns the stamp
   * of what it opened, with its real size (a torn tail included).
   */
  openJournal(): Promise<Stamp>;
  /** Cuts the open journal to `size` bytes, durably. */
  truncateJournal(size: number): Promise<void>;
  /** Appends to the open journal; resolves once the bytes are durable. Throws `state-io`. */
  appendJournal(data: Buffer): Promise<void>;
  /** Closes the open journal, if any. Never throws. */
  closeJournal(): Promise<void>;
  /** Removes what a writer killed mid-write left behind (temp files). Called by the lock holder. */
  removeLeftovers(): Promise<void>;
}

/** A lock record this store holds, as its medium maintains it. */
export interface LockRecordHandle {
  /** Extends the record to `expires` if it is still ours; false when it is not. */
  renew(info: LockInfo, expires: string): Promise<boolean>;
  /** Whether the stored record is still ours. */
  verify(): Promise<boolean>;
  /** Removes the record if it is still ours. */
  release(): Promise<void>;
  /** Bytes written to the record so far (creation and renewals). */
  readonly bytesWritten: number;
}

/** A lock record just created: its content and its handle. */
export interface HeldLockRecord {
  readonly info: LockInfo;
  readonly handle: LockRecordHandle;
}

/** How a medium keeps the lock record. */
export interface LockRecords {
  /** Makes room for a lock record (the file medium creates its directory). */
  prepare(): Promise<void>;
  /** One attempt: creates a record for `request` (taking a stale one over), or names the live holder. */
  tryLock(request: LockRequest): Promise<LockAttempt<HeldLockRecord>>;
  /** The current record, expired or not. */
  current(): Promise<LockInfo | undefined>;
  /** Removes the record whose id is `lockId`; `state-lock-id-mismatch` or `state-not-locked` otherwise. */
  forceUnlock(lockId: string): Promise<LockInfo>;
}

/** What a medium is made with: the store's settings. */
export interface MediumSettings {
  /** The store's location, for messages. */
  readonly location: string;
  readonly timers: StateTimers;
  readonly holder: LockHolder;
  readonly leaseMs: number;
  /** This host's name, for the dead-holder check. */
  readonly localHost: string;
  /** The store's statistics: the medium counts the bytes it writes and its syncs here. */
  readonly stats: StoreStats;
}

/** A medium: bytes and lock records. */
export interface StateMedium {
  readonly bytes: StateBytes;
  readonly locks: LockRecords;
}
