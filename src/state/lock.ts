/**
 * Leased lock files for the file store (`state.json.lock` beside the state).
 *
 * Invariants:
 * - A lock is granted only by creating the lock file with O_EXCL: whoever creates it holds it.
 * - The holder keeps the file descriptor open and renews by rewriting the record in place (same
 *   length), so a renewal never writes over another holder's file, even after a takeover.
 * - A stale record (lease expired, or holder a dead pid on this host, or unreadable and older than
 *   a lease) is removed by renaming it to a private name, re-reading it there and checking it is
 *   the same stale record (same inode, same id, still stale); if it is not, it is linked back
 *   (link never overwrites). Then creation with O_EXCL is tried again: two contenders cannot both win.
 * - Release and force-unlock also rename first and check the inode/id before deleting, so they
 *   never delete a lock that another process has just created.
 * - Holders check, before every write, that the lock file is still their inode.
 */
import { randomUUID } from 'node:crypto';
import { link, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { stateError } from './errors.ts';
import { lockIdMismatch, notLocked } from './store-rules.ts';
import { staleBecause, type LockAttempt } from './lease.ts';
import type { LockHolder, LockInfo, LockRequest, StateTimers } from './store.ts';

export const LOCK_FORMAT_VERSION = 1;
/** The id shown (and accepted by force-unlock) for a lock file whose record cannot be read. */
export const UNREADABLE_LOCK_ID = 'unreadable';

export interface FileLockConfig {
  /** The lock file. */
  readonly path: string;
  /** The state location, for messages. */
  readonly location: string;
  readonly timers: StateTimers;
  readonly holder: LockHolder;
  readonly leaseMs: number;
  /** This host's name, for the dead-holder check. */
  readonly localHost: string;
}

/** The bytes of a lock record: one JSON line. Renewals keep its length (RFC 3339 times are fixed-width). */
export function encodeLockRecord(info: LockInfo): string {
  const { id, holder, operation, created, expires } = info;
  return `${JSON.stringify({ formatVersion: LOCK_FORMAT_VERSION, id, holder: { host: holder.host, pid: holder.pid }, operation, created, expires })}\n`;
}

/** The record in a lock file's text, or undefined when it is not a valid one. */
export function decodeLockRecord(text: string): LockInfo | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const holder = v['holder'] as Record<string, unknown> | null | undefined;
  if (
    v['formatVersion'] !== LOCK_FORMAT_VERSION ||
    typeof v['id'] !== 'string' ||
    typeof v['operation'] !== 'string' ||
    typeof v['created'] !== 'string' ||
    typeof v['expires'] !== 'string' ||
    typeof holder !== 'object' ||
    holder === null ||
    typeof holder['host'] !== 'string' ||
    typeof holder['pid'] !== 'number'
  ) {
    return undefined;
  }
  return {
    id: v['id'],
    holder: { host: holder['host'], pid: holder['pid'] },
    operation: v['operation'],
    created: v['created'],
    expires: v['expires'],
  };
}

interface FileIdentity {
  readonly dev: number;
  readonly ino: number;
}

/** What a lock path holds. */
export type LockFileContent =
  | { readonly kind: 'none' }
  | { readonly kind: 'ok'; readonly info: LockInfo; readonly file: FileIdentity; readonly mtimeMs: number }
  | { readonly kind: 'unreadable'; readonly info: LockInfo; readonly file: FileIdentity; readonly mtimeMs: number };

function isCode(err: unknown, code: string): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === code;
}

function ioError(what: string, path: string, err: unknown): Error {
  return stateError('state-io', `could not ${what} ${path}: ${(err as Error).message}`, {
    cause: err,
    hint: 'check that the directory exists and that you may write to it',
  });
}

/** Reads a lock file. An unreadable record gets a synthetic info (id UNREADABLE_LOCK_ID, created = mtime). */
export async function readLockFile(path: string, leaseMs: number): Promise<LockFileContent> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if (isCode(err, 'ENOENT')) return { kind: 'none' };
    throw ioError('read the lock', path, err);
  }
  try {
    const st = await fh.stat();
    const text = await fh.readFile('utf8');
    const file = { dev: st.dev, ino: st.ino };
    const info = decodeLockRecord(text);
    if (info) return { kind: 'ok', info, file, mtimeMs: st.mtimeMs };
    return {
      kind: 'unreadable',
      file,
      mtimeMs: st.mtimeMs,
      info: {
        id: UNREADABLE_LOCK_ID,
        holder: { host: 'unknown', pid: 0 },
        operation: 'unknown (the lock record is unreadable)',
        created: new Date(st.mtimeMs).toISOString(),
        expires: new Date(st.mtimeMs + leaseMs).toISOString(),
      },
    };
  } finally {
    await fh.close();
  }
}

/** A lock file this process created. */
export class FileLockHandle {
  readonly #path: string;
  readonly #fh: FileHandle;
  readonly #file: FileIdentity;
  /** Bytes written to the lock file (creation and renewals), for tests. */
  bytesWritten = 0;

  constructor(path: string, fh: FileHandle, file: FileIdentity, initialBytes: number) {
    this.#path = path;
    this.#fh = fh;
    this.#file = file;
    this.bytesWritten = initialBytes;
  }

  async verify(): Promise<boolean> {
    try {
      const st = await stat(this.#path);
      return st.ino === this.#file.ino && st.dev === this.#file.dev;
    } catch (err) {
      if (isCode(err, 'ENOENT')) return false;
      throw ioError('check the lock', this.#path, err);
    }
  }

  async renew(info: LockInfo, expires: string): Promise<boolean> {
    const buf = Buffer.from(encodeLockRecord({ ...info, expires }));
    await this.#fh.write(buf, 0, buf.length, 0);
    const st = await this.#fh.stat();
    if (st.size !== buf.length) await this.#fh.truncate(buf.length);
    await this.#fh.datasync();
    this.bytesWritten += buf.length;
    return this.verify();
  }

  async release(): Promise<void> {
    try {
      const priv = `${this.#path}.release-${randomUUID()}`;
      try {
        await rename(this.#path, priv);
      } catch (err) {
        if (isCode(err, 'ENOENT')) return; // force-unlocked meanwhile
        throw ioError('release the lock', this.#path, err);
      }
      const st = await stat(priv);
      if (st.ino !== this.#file.ino || st.dev !== this.#file.dev) await putBack(priv, this.#path);
      await unlink(priv);
    } finally {
      await this.#fh.close().catch(() => undefined);
    }
  }

  /** Closes the descriptor without touching the file (a process that dies does this). */
  async abandon(): Promise<void> {
    await this.#fh.close().catch(() => undefined);
  }
}

/** Links a file we moved aside back to its place, unless something new is there already. */
async function putBack(priv: string, path: string): Promise<void> {
  try {
    await link(priv, path);
  } catch (err) {
    if (!isCode(err, 'EEXIST')) throw err;
  }
}

function stillStale(content: LockFileContent, now: number, config: FileLockConfig): string | undefined {
  switch (content.kind) {
    case 'none':
      return undefined;
    case 'ok':
      return staleBecause(content.info, now, config.localHost);
    case 'unreadable':
      return content.mtimeMs + config.leaseMs <= now ? 'its record is unreadable and older than a lease' : undefined;
  }
}

/**
 * Removes `seen` (judged stale) from the lock path if it is still there and still stale; leaves
 * the path as it found it when another process changed it first.
 */
async function removeStale(seen: LockFileContent & { kind: 'ok' | 'unreadable' }, config: FileLockConfig): Promise<void> {
  const priv = `${config.path}.stale-${randomUUID()}`;
  try {
    await rename(config.path, priv);
  } catch (err) {
    if (isCode(err, 'ENOENT')) return;
    throw ioError('take over the lock', config.path, err);
  }
  const moved = await readLockFile(priv, config.leaseMs);
  const same =
    moved.kind !== 'none' &&
    moved.file.ino === seen.file.ino &&
    moved.file.dev === seen.file.dev &&
    moved.info.id === seen.info.id &&
    stillStale(moved, config.timers.now(), config) !== undefined;
  if (!same) await putBack(priv, config.path);
  await unlink(priv);
}

/**
 * One attempt at the lock: create it (O_EXCL), or take over a stale one and create it, or report
 * the live holder.
 */
export async function tryFileLock(
  config: FileLockConfig,
  request: LockRequest,
): Promise<LockAttempt<{ handle: FileLockHandle; info: LockInfo }>> {
  // A few immediate rounds: each round either creates, finds a live holder, or removes a stale one.
  for (let round = 0; ; round++) {
    const now = config.timers.now();
    const info: LockInfo = {
      id: randomUUID(),
      holder: config.holder,
      operation: request.operation,
      created: new Date(now).toISOString(),
      expires: new Date(now + config.leaseMs).toISOString(),
    };
    let fh: FileHandle | undefined;
    try {
      fh = await open(config.path, 'wx', 0o600);
    } catch (err) {
      if (!isCode(err, 'EEXIST')) throw ioError('create the lock', config.path, err);
    }
    if (fh) {
      try {
        const buf = Buffer.from(encodeLockRecord(info));
        await fh.write(buf, 0, buf.length, 0);
        await fh.datasync();
        const st = await fh.stat();
        return { acquired: { handle: new FileLockHandle(config.path, fh, { dev: st.dev, ino: st.ino }, buf.length), info } };
      } catch (err) {
        await fh.close().catch(() => undefined);
        await unlink(config.path).catch(() => undefined);
        throw ioError('write the lock', config.path, err);
      }
    }
    const existing = await readLockFile(config.path, config.leaseMs);
    if (existing.kind === 'none') continue;
    if (stillStale(existing, now, config) === undefined || round >= 8) return { busy: existing.info };
    await removeStale(existing, config);
  }
}

/** Removes the lock with id `lockId`; refuses another id or no lock. Returns the removed record. */
export async function forceUnlockFile(path: string, lockId: string, location: string, leaseMs: number): Promise<LockInfo> {
  const existing = await readLockFile(path, leaseMs);
  if (existing.kind === 'none') throw notLocked(location);
  if (existing.info.id !== lockId) throw lockIdMismatch(existing.info, lockId, location);
  const priv = `${path}.unlock-${randomUUID()}`;
  try {
    await rename(path, priv);
  } catch (err) {
    if (isCode(err, 'ENOENT')) throw notLocked(location);
    throw ioError('remove the lock', path, err);
  }
  const moved = await readLockFile(priv, leaseMs);
  if (moved.kind === 'none' || moved.file.ino !== existing.file.ino || moved.info.id !== lockId) {
    await putBack(priv, path);
    await unlink(priv);
    throw lockIdMismatch(moved.kind === 'none' ? existing.info : moved.info, lockId, location);
  }
  await unlink(priv);
  return existing.info;
}
