/**
 * The file StateStore (default `.sms-reconcile/state.json`). Files beside each other:
 *
 *   state.json          the snapshot: a whole state document, replaced only atomically
 *                       (temp file, fsync, rename, fsync of the directory)
 *   state.json.journal  JSON lines: a header {lineage, baseSerial} then one record per change
 *                       (intent | result | write), each appended and fdatasync'ed before the write returns
 *   state.json.lock     the leased lock (lock.ts)
 *   state.json.backup   the snapshot as it was before the first snapshot rewrite of a lock session
 *
 * Invariants:
 * - The state is the snapshot with the journal's records of serial > snapshot.serial replayed in
 *   order, provided the journal's header has the snapshot's lineage (a journal of another lineage
 *   is left over from a replaced state and is ignored).
 * - A record counts only once it is whole: a last line without its newline, or a last line that
 *   does not parse, is a torn write from a crash and is ignored (and cut off before the next
 *   append). A bad line followed by good ones is corruption: refused, nothing overwritten.
 * - A write costs one appended line and one fdatasync: O(size of the change). The journal is folded
 *   into a new snapshot (compaction) when the lock is released, and when it grows past
 *   max(compactThresholdBytes, snapshot size), so compaction costs O(1) amortized per byte appended.
 * - Compaction writes the snapshot first, then replaces the journal by a fresh header; a crash in
 *   between leaves an old journal whose records are all <= the snapshot's serial, so replay skips them.
 * - Only the lock holder writes, and it checks before every write that the lock file is still its own.
 * - Files are created 0600, a created directory 0700.
 */
import { randomUUID } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import {
  applyChange,
  intentChange,
  resultChange,
  writeChange,
  checkChange,
  decodeJournalRecord,
  decodeState,
  emptyState,
  encodeJournalRecord,
  encodeState,
  toStateDocument,
  toWorkingState,
  validateStateDocument,
  STATE_FORMAT_VERSION,
  type IntentInput,
  type IntentOutcome,
  type JournalHeader,
  type PendingIntent,
  type ResourceWrite,
  type StateChange,
  type StateDocument,
  type StateHead,
  type TargetIdentity,
  type WorkingState,
} from './codec.ts';
import { hasStateCode, stateError } from './errors.ts';
import { DEFAULT_LEASE_MS, LeasedLock, Mutex, acquireWithBackoff, localHolder, ownLock, systemTimers } from './lease.ts';
import { forceUnlockFile, readLockFile, tryFileLock, type FileLockConfig, type FileLockHandle } from './lock.ts';
import { checkReplace, missingState, stateExists } from './store-rules.ts';
import type { CommitInfo, LockHolder, LockInfo, LockRequest, ReplaceOptions, StateLock, StateStore, StateStoreOptions, StateTimers } from './store.ts';

/** 'a' plus O_NOFOLLOW: a symlink planted at the journal's name is refused (ELOOP), never appended through. */
const JOURNAL_APPEND = fsConstants.O_WRONLY | fsConstants.O_APPEND | fsConstants.O_CREAT | fsConstants.O_NOFOLLOW;

export const DEFAULT_STATE_PATH = '.sms-reconcile/state.json';
export const DEFAULT_COMPACT_THRESHOLD_BYTES = 1024 * 1024;

export interface FileStateStoreOptions extends StateStoreOptions {
  /** Compact when the journal passes max(this, snapshot size) bytes. Default 1 MiB. */
  readonly compactThresholdBytes?: number;
}

/** What this instance wrote, for tests and benchmarks. */
export interface FileStoreStats {
  /** Bytes written to any file (journal, snapshot, backup, lock). */
  bytesWritten: number;
  fsyncs: number;
  compactions: number;
}

export interface FileStatePaths {
  readonly snapshot: string;
  readonly journal: string;
  readonly lock: string;
  readonly backup: string;
  readonly dir: string;
}

/** The files of a state at `path`. */
export function fileStatePaths(path: string): FileStatePaths {
  const snapshot = resolve(path);
  return { snapshot, journal: `${snapshot}.journal`, lock: `${snapshot}.lock`, backup: `${snapshot}.backup`, dir: dirname(snapshot) };
}

interface FileStamp {
  readonly dev: number;
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
}

/** What this instance last read from (or wrote to) disk. */
interface Loaded {
  state: WorkingState | undefined;
  snapshot: FileStamp | undefined;
  snapshotBytes: number;
  /** The serial of the snapshot file. */
  snapshotSerial: number;
  journal: FileStamp | undefined;
  /** Bytes of the journal up to its last whole record. */
  journalValidBytes: number;
  /** Change records in the journal past its header. */
  journalRecords: number;
  /** The journal does not extend the snapshot exactly (missing, other lineage, older base): reset before appending. */
  journalNeedsReset: boolean;
}

interface Session {
  readonly lock: LeasedLock;
  readonly handle: FileLockHandle;
  backedUp: boolean;
  journalFh: FileHandle | undefined;
}

function isCode(err: unknown, code: string): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === code;
}

function ioError(what: string, path: string, err: unknown): Error {
  if (err instanceof Error && 'code' in err && typeof err.code === 'string' && err.code.startsWith('state-')) return err;
  const symlink = (err as NodeJS.ErrnoException).code === 'ELOOP';
  return stateError('state-io', `could not ${what} ${path}: ${symlink ? 'it is a symbolic link, and state files are never written through one' : (err as Error).message}`, {
    cause: err,
    hint: symlink
      ? 'remove the link (and check who planted it); the state folder should hold only files sms-reconcile wrote'
      : 'check that the directory exists, that you may write to it and that the disk is not full',
  });
}

function stampOf(st: { dev: number; ino: number; size: number; mtimeMs: number }): FileStamp {
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs };
}

/**
 * Whether two stamps show the same file content. The journal only ever grows in place or is
 * replaced by rename, so its identity and size suffice; the snapshot is also compared by mtime.
 */
function sameStamp(a: FileStamp | undefined, b: FileStamp | undefined, compareMtime: boolean): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && (!compareMtime || a.mtimeMs === b.mtimeMs);
}

async function statOrUndefined(path: string): Promise<FileStamp | undefined> {
  try {
    return stampOf(await stat(path));
  } catch (err) {
    if (isCode(err, 'ENOENT')) return undefined;
    throw ioError('read', path, err);
  }
}

/** Reads a whole file with the stamp of what was read, or undefined when it does not exist. */
async function readWithStamp(path: string): Promise<{ data: Buffer; stamp: FileStamp } | undefined> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if (isCode(err, 'ENOENT')) return undefined;
    throw ioError('read', path, err);
  }
  try {
    const data = await fh.readFile();
    const st = await fh.stat();
    return { data, stamp: { ...stampOf(st), size: data.length } };
  } finally {
    await fh.close();
  }
}

/** A parsed journal: its header and change records up to the last whole one. */
interface ParsedJournal {
  readonly header: JournalHeader | undefined;
  readonly changes: readonly { readonly change: StateChange; readonly line: number }[];
  readonly validBytes: number;
}

/** Splits a journal into records; a torn tail is dropped, a bad line before good ones is `state-corrupt`. */
function parseJournal(data: Buffer, path: string): ParsedJournal {
  let header: JournalHeader | undefined;
  const changes: { change: StateChange; line: number }[] = [];
  let offset = 0;
  let validBytes = 0;
  for (let line = 1; offset < data.length; line++) {
    const nl = data.indexOf(10, offset);
    if (nl < 0) break; // torn tail: the newline never made it
    const text = data.toString('utf8', offset, nl);
    let record;
    try {
      record = decodeJournalRecord(text, `${path} line ${line}`);
    } catch (err) {
      if (nl + 1 >= data.length) break; // the last line: a torn write
      throw stateError('state-corrupt', `${path} line ${line} is damaged and records follow it: ${(err as Error).message}`, {
        cause: err,
        hint: 'restore a good copy with `sms-reconcile state push --force FILE` (the .backup beside the state holds the previous snapshot); nothing was overwritten',
      });
    }
    if (record.type === 'header') {
      if (line !== 1) throw stateError('state-corrupt', `${path} line ${line}: a header in the middle of the journal`);
      header = record;
    } else {
      if (line === 1) throw stateError('state-corrupt', `${path} has no header line`);
      changes.push({ change: record, line });
    }
    offset = nl + 1;
    validBytes = offset;
  }
  return { header, changes, validBytes };
}

/** The suffix of the temp files of #writeAtomic. */
const TEMP_SUFFIX = /\.tmp-\d+-[0-9a-f]{8}$/;

/** Thrown (internally) when the snapshot and journal were read across a compaction: read again. */
class TornRead extends Error {}

export class FileStateStore implements StateStore {
  readonly location: string;
  readonly paths: FileStatePaths;
  readonly stats: FileStoreStats = { bytesWritten: 0, fsyncs: 0, compactions: 0 };
  readonly #timers: StateTimers;
  readonly #holder: LockHolder;
  readonly #leaseMs: number;
  readonly #threshold: number;
  readonly #localHost = hostname();
  readonly #issued = new WeakSet<StateLock>();
  readonly #mutex = new Mutex();
  #loaded: Loaded | undefined;
  #session: Session | undefined;

  constructor(path: string, options: FileStateStoreOptions = {}) {
    this.paths = fileStatePaths(path);
    this.location = this.paths.snapshot;
    this.#timers = options.timers ?? systemTimers;
    this.#holder = options.holder ?? localHolder();
    this.#leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.#threshold = options.compactThresholdBytes ?? DEFAULT_COMPACT_THRESHOLD_BYTES;
  }

  // -------------------------------------------------------------------------------------------
  // Reading.

  /** Reads snapshot + journal from disk (retrying a read that straddled a compaction). */
  async #load(): Promise<Loaded> {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        return await this.#loadOnce();
      } catch (err) {
        if (!(err instanceof TornRead)) throw err;
      }
    }
    throw stateError('state-corrupt', `the journal of ${this.location} does not extend its snapshot (baseSerial above the snapshot's serial)`, {
      hint: 'restore a good copy with `sms-reconcile state push --force FILE` (the .backup beside the state holds the previous snapshot)',
    });
  }

  async #loadOnce(): Promise<Loaded> {
    const snap = await readWithStamp(this.paths.snapshot);
    if (!snap) {
      const journal = await statOrUndefined(this.paths.journal);
      return {
        state: undefined,
        snapshot: undefined,
        snapshotBytes: 0,
        snapshotSerial: 0,
        journal,
        journalValidBytes: 0,
        journalRecords: 0,
        journalNeedsReset: true,
      };
    }
    const doc = decodeState(snap.data.toString('utf8'), { source: this.paths.snapshot });
    const state = toWorkingState(doc, 'owned');
    const jr = await readWithStamp(this.paths.journal);
    const loaded: Loaded = {
      state,
      snapshot: snap.stamp,
      snapshotBytes: snap.data.length,
      snapshotSerial: doc.serial,
      journal: jr?.stamp,
      journalValidBytes: 0,
      journalRecords: 0,
      journalNeedsReset: true,
    };
    if (!jr) return loaded;
    const parsed = parseJournal(jr.data, this.paths.journal);
    loaded.journalValidBytes = parsed.validBytes;
    const header = parsed.header;
    if (!header || header.lineage !== doc.lineage) return loaded; // left over from another state: ignored, reset on the next write
    if (header.baseSerial > doc.serial) throw new TornRead();
    for (const { change, line } of parsed.changes) {
      if (change.serial <= state.serial) continue;
      try {
        applyChange(state, change);
      } catch (err) {
        throw stateError('state-corrupt', `${this.paths.journal} line ${line} cannot be replayed: ${(err as Error).message}`, {
          cause: err,
          hint: 'restore a good copy with `sms-reconcile state push --force FILE` (the .backup beside the state holds the previous snapshot); nothing was overwritten',
        });
      }
    }
    loaded.journalRecords = parsed.changes.length;
    loaded.journalNeedsReset = header.baseSerial !== doc.serial;
    return loaded;
  }

  /** The loaded view, re-read when the files changed since (another process committed). */
  async #fresh(): Promise<Loaded> {
    const loaded = this.#loaded;
    if (loaded) {
      const [snapshot, journal] = await Promise.all([statOrUndefined(this.paths.snapshot), statOrUndefined(this.paths.journal)]);
      if (sameStamp(snapshot, loaded.snapshot, true) && sameStamp(journal, loaded.journal, false)) return loaded;
    }
    await this.#closeJournal();
    this.#loaded = await this.#load();
    return this.#loaded;
  }

  read(): Promise<StateDocument | undefined> {
    return this.#mutex.run(async () => {
      const { state } = await this.#fresh();
      return state && toStateDocument(state);
    });
  }

  head(): Promise<StateHead | undefined> {
    return this.#mutex.run(async () => {
      const { state } = await this.#fresh();
      return state && { lineage: state.lineage, serial: state.serial };
    });
  }

  pendingIntents(): Promise<readonly PendingIntent[]> {
    return this.#mutex.run(async () => {
      const { state } = await this.#fresh();
      return state ? structuredClone([...state.pending.values()]) : [];
    });
  }

  async lockInfo(): Promise<LockInfo | undefined> {
    const content = await readLockFile(this.paths.lock, this.#leaseMs);
    return content.kind === 'none' ? undefined : content.info;
  }

  // -------------------------------------------------------------------------------------------
  // Locking.

  async lock(request: LockRequest): Promise<StateLock> {
    try {
      await mkdir(this.paths.dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw ioError('create the directory', this.paths.dir, err);
    }
    const config: FileLockConfig = {
      path: this.paths.lock,
      location: this.location,
      timers: this.#timers,
      holder: this.#holder,
      leaseMs: this.#leaseMs,
      localHost: this.#localHost,
    };
    const { handle, info } = await acquireWithBackoff(() => tryFileLock(config, request), {
      timers: this.#timers,
      timeoutMs: request.timeoutMs ?? 0,
      location: this.location,
    });
    const lock: LeasedLock = new LeasedLock(
      info,
      {
        renew: (mine, expires) => handle.renew(mine, expires),
        verify: () => handle.verify(),
        release: () => this.#releaseSession(lock),
      },
      { timers: this.#timers, leaseMs: this.#leaseMs, location: this.location },
    );
    await this.#mutex.run(async () => {
      await this.#closeJournal();
      this.#session = { lock, handle, backedUp: false, journalFh: undefined };
      await this.#removeTempFiles();
    });
    this.#issued.add(lock);
    return lock;
  }

  /**
   * Removes temp files that a holder killed mid-write left behind. Only lock holders write temp
   * files, and we hold the lock now, so none of them is in use.
   */
  async #removeTempFiles(): Promise<void> {
    const prefix = `${basename(this.paths.snapshot)}.`;
    const names = await readdir(this.paths.dir).catch(() => [] as string[]);
    for (const name of names) {
      if (name.startsWith(prefix) && TEMP_SUFFIX.test(name)) await unlink(join(this.paths.dir, name)).catch(() => undefined);
    }
  }

  /** Compacts (if the journal holds records and the lock is still ours), then releases the lock file. */
  #releaseSession(lock: LeasedLock): Promise<void> {
    return this.#mutex.run(async () => {
      const session = this.#session;
      if (!session || session.lock !== lock) return;
      try {
        const loaded = this.#loaded;
        if (loaded?.state && loaded.journalRecords > 0 && (await session.handle.verify())) await this.#compact(loaded, session);
      } finally {
        await this.#closeJournal();
        this.#session = undefined;
        this.stats.bytesWritten += session.handle.bytesWritten;
        await session.handle.release();
      }
    });
  }

  async forceUnlock(lockId: string): Promise<LockInfo> {
    const info = await forceUnlockFile(this.paths.lock, lockId, this.location, this.#leaseMs);
    return info;
  }

  async close(): Promise<void> {
    const session = this.#session;
    if (session) await session.lock.release();
    await this.#mutex.run(() => this.#closeJournal());
  }

  // -------------------------------------------------------------------------------------------
  // Writing.

  /** Checks the lock and returns the session and a loaded, existing state. */
  async #writable(lock: StateLock): Promise<{ session: Session; loaded: Loaded }> {
    const session = await this.#heldSession(lock);
    return { session, loaded: await this.#fresh() };
  }

  async #heldSession(lock: StateLock): Promise<Session> {
    const leased = ownLock(lock, this.#issued, this.location);
    const session = this.#session;
    if (!session || session.lock !== leased) {
      throw stateError('state-lock-required', `the lock ${lock.info.id} is not this store's current lock`, { source: 'internal' });
    }
    await leased.assertWritable();
    return session;
  }

  #commit<T>(lock: StateLock, build: (state: WorkingState, serial: number, at: string) => { change: StateChange; value: T }): Promise<T> {
    return this.#mutex.run(async () => {
      const { session, loaded } = await this.#writable(lock);
      const state = loaded.state;
      if (!state) throw missingState(this.location);
      const { change, value } = build(state, state.serial + 1, new Date(this.#timers.now()).toISOString());
      const copy = structuredClone(change);
      checkChange(state, copy);
      await this.#append(loaded, session, copy);
      applyChange(state, copy);
      if (loaded.journalValidBytes > Math.max(this.#threshold, loaded.snapshotBytes)) {
        // The change is durable already: a failed compaction must not report it as failed. The
        // journal stays valid, and compaction is tried again at the next write and at release.
        await this.#compact(loaded, session).catch(() => undefined);
      }
      return value;
    });
  }

  /** Appends one record and fdatasyncs it. On failure, cuts the journal back to before it. */
  async #append(loaded: Loaded, session: Session, change: StateChange): Promise<void> {
    const fh = await this.#journalForAppend(loaded, session);
    const buf = Buffer.from(`${encodeJournalRecord(change)}\n`);
    const before = loaded.journalValidBytes;
    try {
      await fh.write(buf, 0, buf.length, null);
      await fh.datasync();
    } catch (err) {
      // Leave no partial record behind: it would turn into corruption once another record follows.
      try {
        await fh.truncate(before);
        await fh.datasync();
      } catch {
        // The file is left as it is; the next load treats the partial line as a torn tail.
      }
      await this.#closeJournal();
      this.#loaded = undefined;
      throw ioError('append to', this.paths.journal, err);
    }
    this.stats.bytesWritten += buf.length;
    this.stats.fsyncs += 1;
    loaded.journalValidBytes = before + buf.length;
    loaded.journalRecords += 1;
    loaded.journal = loaded.journal && { ...loaded.journal, size: loaded.journalValidBytes };
  }

  /** The journal, open for appending, extending the snapshot exactly and without a torn tail. */
  async #journalForAppend(loaded: Loaded, session: Session): Promise<FileHandle> {
    if (session.journalFh) return session.journalFh;
    const state = loaded.state;
    if (!state) throw missingState(this.location);
    if (loaded.journalNeedsReset) {
      if (state.serial === loaded.snapshotSerial) await this.#resetJournal(loaded, session, state.lineage, state.serial);
      else await this.#compact(loaded, session);
      if (session.journalFh) return session.journalFh;
    }
    let fh: FileHandle;
    try {
      fh = await open(this.paths.journal, JOURNAL_APPEND, 0o600);
    } catch (err) {
      throw ioError('open', this.paths.journal, err);
    }
    const st = await fh.stat();
    if (loaded.journal && (st.ino !== loaded.journal.ino || st.dev !== loaded.journal.dev)) {
      await fh.close();
      throw stateError('state-lock-lost', `${this.paths.journal} was replaced by another process while this one held the lock`, {
        hint: 'run the command again: it will re-read the state',
      });
    }
    if (st.size !== loaded.journalValidBytes) {
      await fh.truncate(loaded.journalValidBytes); // cut a torn tail off
      await fh.datasync();
      this.stats.fsyncs += 1;
    }
    session.journalFh = fh;
    loaded.journal = stampOf({ ...st, size: loaded.journalValidBytes });
    return fh;
  }

  async #closeJournal(): Promise<void> {
    const session = this.#session;
    if (session?.journalFh) {
      const fh = session.journalFh;
      session.journalFh = undefined;
      await fh.close().catch(() => undefined);
    }
  }

  /** Writes `data` to `path` atomically: temp file (0600), fsync, rename, fsync of the directory. */
  async #writeAtomic(path: string, data: string | Buffer): Promise<FileStamp> {
    const tmp = `${path}.tmp-${process.pid}-${randomUUID().slice(0, 8)}`; // matches TEMP_SUFFIX
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    let stamp: FileStamp;
    try {
      const fh = await open(tmp, 'wx', 0o600);
      try {
        await fh.writeFile(buf);
        await fh.sync();
        stamp = stampOf(await fh.stat());
      } finally {
        await fh.close();
      }
      await rename(tmp, path);
      await this.#syncDir();
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw ioError('write', path, err);
    }
    this.stats.bytesWritten += buf.length;
    this.stats.fsyncs += 2;
    return stamp;
  }

  async #syncDir(): Promise<void> {
    const dir = await open(this.paths.dir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  /** Replaces the journal by a bare header extending the snapshot at `baseSerial`. */
  async #resetJournal(loaded: Loaded, session: Session, lineage: string, baseSerial: number): Promise<void> {
    await this.#closeJournal();
    const header: JournalHeader = { type: 'header', formatVersion: STATE_FORMAT_VERSION, lineage, baseSerial };
    const text = `${encodeJournalRecord(header)}\n`;
    await this.#writeAtomic(this.paths.journal, text);
    const fh = await open(this.paths.journal, JOURNAL_APPEND, 0o600);
    session.journalFh = fh;
    const st = await fh.stat();
    loaded.journal = stampOf(st);
    loaded.journalValidBytes = st.size;
    loaded.journalRecords = 0;
    loaded.journalNeedsReset = false;
  }

  /** Keeps the current snapshot as .backup, once per lock session. */
  async #backupOnce(session: Session): Promise<void> {
    if (session.backedUp) return;
    let data: Buffer;
    try {
      data = await readFile(this.paths.snapshot);
    } catch (err) {
      if (!isCode(err, 'ENOENT')) throw ioError('read', this.paths.snapshot, err);
      session.backedUp = true;
      return;
    }
    await this.#writeAtomic(this.paths.backup, data);
    session.backedUp = true;
  }

  /** Installs `doc` as the snapshot and starts an empty journal after it. */
  async #writeSnapshot(loaded: Loaded, session: Session, doc: StateDocument): Promise<void> {
    await this.#backupOnce(session);
    const text = encodeState(doc);
    loaded.snapshot = await this.#writeAtomic(this.paths.snapshot, text);
    loaded.snapshotBytes = Buffer.byteLength(text);
    loaded.snapshotSerial = doc.serial;
    await this.#resetJournal(loaded, session, doc.lineage, doc.serial);
  }

  /** Folds the journal into a new snapshot. O(size of the state). */
  async #compact(loaded: Loaded, session: Session): Promise<void> {
    const state = loaded.state;
    if (!state) return;
    await this.#writeSnapshot(loaded, session, toStateDocument(state));
    this.stats.compactions += 1;
  }

  initialize(lock: StateLock, target: TargetIdentity): Promise<StateDocument> {
    return this.#mutex.run(async () => {
      const { session, loaded } = await this.#writable(lock);
      if (loaded.state) throw stateExists(this.location);
      const doc = emptyState(randomUUID(), target);
      await this.#writeSnapshot(loaded, session, doc);
      loaded.state = toWorkingState(doc);
      return structuredClone(doc);
    });
  }

  appendIntent(lock: StateLock, input: IntentInput): Promise<PendingIntent> {
    return this.#commit(lock, (_state, serial, at) => {
      const change = intentChange(input, serial, at, lock.info.id, randomUUID());
      return { change, value: change.intent };
    });
  }

  appendResult(lock: StateLock, intentId: string, outcome: IntentOutcome, writes: readonly ResourceWrite[]): Promise<CommitInfo> {
    return this.#commit(lock, (_state, serial, at) => ({ change: resultChange(intentId, outcome, writes, serial, at), value: { serial } }));
  }

  writeResources(lock: StateLock, writes: readonly ResourceWrite[], reason?: string): Promise<CommitInfo> {
    return this.#commit(lock, (_state, serial, at) => ({ change: writeChange(writes, reason, serial, at), value: { serial } }));
  }

  /**
   * See StateStore.replace. Forced, it also replaces a corrupt state (the way back from one): the
   * corrupt snapshot is kept as .backup, and its journal is dropped.
   */
  replace(lock: StateLock, document: StateDocument, options: ReplaceOptions = {}): Promise<CommitInfo> {
    return this.#mutex.run(async () => {
      const session = await this.#heldSession(lock);
      let loaded: Loaded;
      try {
        loaded = await this.#fresh();
      } catch (err) {
        if (options.force !== true || !isCorruptState(err)) throw err;
        loaded = {
          state: undefined,
          snapshot: undefined,
          snapshotBytes: 0,
          snapshotSerial: 0,
          journal: undefined,
          journalValidBytes: 0,
          journalRecords: 0,
          journalNeedsReset: true,
        };
        this.#loaded = loaded;
      }
      const incoming = validateStateDocument(structuredClone(document), 'the pushed state');
      const current = loaded.state;
      const serial = checkReplace(current && { lineage: current.lineage, serial: current.serial }, incoming, options, this.location);
      const doc: StateDocument = { ...incoming, serial };
      await this.#writeSnapshot(loaded, session, doc);
      loaded.state = toWorkingState(doc);
      return { serial };
    });
  }
}

/** True when `err` says the state files could not be decoded. */
export function isCorruptState(err: unknown): boolean {
  return hasStateCode(err, 'state-corrupt');
}
