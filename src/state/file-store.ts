/**
 * The file StateStore (default `.sms-reconcile/state.json`): the journaled commit path
 * (journal-store.ts) over files. Files beside each other:
 *
 *   state.json          the snapshot: a whole state document, replaced only atomically
 *                       (temp file, fsync, rename, fsync of the directory)
 *   state.json.journal  JSON lines: a header {lineage, baseSerial} then one record per change
 *                       (intent | result | write), each appended and fdatasync'ed before the write returns
 *   state.json.lock     the leased lock (lock.ts)
 *   state.json.backup   the snapshot as it was before the first snapshot rewrite of a lock session
 *
 * Invariants (besides those of journal-store.ts):
 * - The journal is opened O_APPEND|O_NOFOLLOW: a symlink planted at its name is refused (ELOOP),
 *   never appended through. Every append is fdatasync'ed before it resolves.
 * - Snapshot, backup and journal resets are written to a temp file (O_EXCL, 0600), fsynced,
 *   renamed over the name, and the directory fsynced. Temp files a killed holder left behind are
 *   removed by the next lock holder.
 * - A stamp is a file's device and inode (its id), size and mtime.
 * - Files are created 0600, a created directory 0700.
 */
import { randomUUID } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { stateError } from './errors.ts';
import { JournalStore, type JournalStoreOptions } from './journal-store.ts';
import { forceUnlockFile, readLockFile, tryFileLock, type FileLockConfig } from './lock.ts';
import type { LockRecords, MediumSettings, Stamp, Stamps, StateBytes, StoreStats, StoredBytes } from './persistence.ts';

export { DEFAULT_COMPACT_THRESHOLD_BYTES, isCorruptState } from './journal-store.ts';

/** 'a' plus O_NOFOLLOW: a symlink planted at the journal's name is refused (ELOOP), never appended through. */
const JOURNAL_APPEND = fsConstants.O_WRONLY | fsConstants.O_APPEND | fsConstants.O_CREAT | fsConstants.O_NOFOLLOW;

export const DEFAULT_STATE_PATH = '.sms-reconcile/state.json';

export type FileStateStoreOptions = JournalStoreOptions;

/** What this instance wrote, for tests and benchmarks. */
export type FileStoreStats = StoreStats;

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

function stampOf(st: { dev: number; ino: number; size: number; mtimeMs: number }): Stamp {
  return { id: `${st.dev}:${st.ino}`, size: st.size, modified: st.mtimeMs };
}

async function statOrUndefined(path: string): Promise<Stamp | undefined> {
  try {
    return stampOf(await stat(path));
  } catch (err) {
    if (isCode(err, 'ENOENT')) return undefined;
    throw ioError('read', path, err);
  }
}

/** Reads a whole file with the stamp of what was read, or undefined when it does not exist. */
async function readWithStamp(path: string): Promise<StoredBytes | undefined> {
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
    return { data, stamp: stampOf({ ...st, size: data.length }) };
  } finally {
    await fh.close();
  }
}

/** The suffix of the temp files of #writeAtomic. */
const TEMP_SUFFIX = /\.tmp-\d+-[0-9a-f]{8}$/;

/** Snapshot, journal and backup as files; bytes written and syncs counted in `stats`. */
class FileStateBytes implements StateBytes {
  readonly #paths: FileStatePaths;
  readonly #stats: StoreStats;
  #journalFh: FileHandle | undefined;

  constructor(paths: FileStatePaths, stats: StoreStats) {
    this.#paths = paths;
    this.#stats = stats;
  }

  get snapshotName(): string {
    return this.#paths.snapshot;
  }

  get journalName(): string {
    return this.#paths.journal;
  }

  get journalOpen(): boolean {
    return this.#journalFh !== undefined;
  }

  readSnapshot(): Promise<StoredBytes | undefined> {
    return readWithStamp(this.#paths.snapshot);
  }

  readJournal(): Promise<StoredBytes | undefined> {
    return readWithStamp(this.#paths.journal);
  }

  async stamps(): Promise<Stamps> {
    const [snapshot, journal] = await Promise.all([statOrUndefined(this.#paths.snapshot), statOrUndefined(this.#paths.journal)]);
    return { snapshot, journal };
  }

  writeSnapshot(data: Buffer): Promise<Stamp> {
    return this.#writeAtomic(this.#paths.snapshot, data);
  }

  async backupSnapshot(): Promise<void> {
    let data: Buffer;
    try {
      data = await readFile(this.#paths.snapshot);
    } catch (err) {
      if (!isCode(err, 'ENOENT')) throw ioError('read', this.#paths.snapshot, err);
      return;
    }
    await this.#writeAtomic(this.#paths.backup, data);
  }

  async replaceJournal(data: Buffer): Promise<Stamp> {
    await this.closeJournal();
    await this.#writeAtomic(this.#paths.journal, data);
    const fh = await open(this.#paths.journal, JOURNAL_APPEND, 0o600);
    this.#journalFh = fh;
    return stampOf(await fh.stat());
  }

  async openJournal(): Promise<Stamp> {
    await this.closeJournal();
    let fh: FileHandle;
    try {
      fh = await open(this.#paths.journal, JOURNAL_APPEND, 0o600);
    } catch (err) {
      throw ioError('open', this.#paths.journal, err);
    }
    this.#journalFh = fh;
    return stampOf(await fh.stat());
  }

  async truncateJournal(size: number): Promise<void> {
    const fh = this.#openFh();
    await fh.truncate(size);
    await fh.datasync();
    this.#stats.fsyncs += 1;
  }

  async appendJournal(data: Buffer): Promise<void> {
    const fh = this.#openFh();
    try {
      await fh.write(data, 0, data.length, null);
      await fh.datasync();
    } catch (err) {
      throw ioError('append to', this.#paths.journal, err);
    }
    this.#stats.bytesWritten += data.length;
    this.#stats.fsyncs += 1;
  }

  async closeJournal(): Promise<void> {
    const fh = this.#journalFh;
    this.#journalFh = undefined;
    await fh?.close().catch(() => undefined);
  }

  async removeLeftovers(): Promise<void> {
    const prefix = `${basename(this.#paths.snapshot)}.`;
    const names = await readdir(this.#paths.dir).catch(() => [] as string[]);
    for (const name of names) {
      if (name.startsWith(prefix) && TEMP_SUFFIX.test(name)) await unlink(join(this.#paths.dir, name)).catch(() => undefined);
    }
  }

  #openFh(): FileHandle {
    const fh = this.#journalFh;
    if (!fh) throw stateError('state-io', `${this.#paths.journal} is not open for appending`, { source: 'internal' });
    return fh;
  }

  /** Writes `data` to `path` atomically: temp file (0600), fsync, rename, fsync of the directory. */
  async #writeAtomic(path: string, data: Buffer): Promise<Stamp> {
    const tmp = `${path}.tmp-${process.pid}-${randomUUID().slice(0, 8)}`; // matches TEMP_SUFFIX
    let stamp: Stamp;
    try {
      const fh = await open(tmp, 'wx', 0o600);
      try {
        await fh.writeFile(data);
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
    this.#stats.bytesWritten += data.length;
    this.#stats.fsyncs += 2;
    return stamp;
  }

  async #syncDir(): Promise<void> {
    const dir = await open(this.#paths.dir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}

/** The lock record as the lock file (lock.ts). */
function fileLockRecords(paths: FileStatePaths, settings: MediumSettings): LockRecords {
  const config: FileLockConfig = {
    path: paths.lock,
    location: settings.location,
    timers: settings.timers,
    holder: settings.holder,
    leaseMs: settings.leaseMs,
    localHost: settings.localHost,
  };
  return {
    async prepare() {
      try {
        await mkdir(paths.dir, { recursive: true, mode: 0o700 });
      } catch (err) {
        throw ioError('create the directory', paths.dir, err);
      }
    },
    tryLock: (request) => tryFileLock(config, request),
    async current() {
      const content = await readLockFile(paths.lock, settings.leaseMs);
      return content.kind === 'none' ? undefined : content.info;
    },
    forceUnlock: (lockId) => forceUnlockFile(paths.lock, lockId, settings.location, settings.leaseMs),
  };
}

export class FileStateStore extends JournalStore {
  readonly paths: FileStatePaths;

  constructor(path: string, options: FileStateStoreOptions = {}) {
    const paths = fileStatePaths(path);
    super(paths.snapshot, (settings) => ({ bytes: new FileStateBytes(paths, settings.stats), locks: fileLockRecords(paths, settings) }), options);
    this.paths = paths;
  }
}
