/**
 * The one commit path of the journaled StateStores (the file store and the memory store): reads,
 * locks, intents, results, resource writes, replace and compaction. Where the bytes live is the
 * medium's business (persistence.ts); everything decided here is the same for every medium.
 *
 * A state is kept as two blobs:
 *   snapshot  a whole state document, replaced only atomically
 *   journal   JSON lines: a header {lineage, baseSerial} then one record per change
 *             (intent | result | write), each appended durably before the write returns
 * and a backup: the snapshot as it was before the first snapshot rewrite of a lock session.
 *
 * Invariants:
 * - The state is the snapshot with the journal's records of serial > snapshot.serial replayed in
 *   order, provided the journal's header has the snapshot's lineage (a journal of another lineage
 *   is left over from a replaced state and is ignored).
 * - A record counts only once it is whole: a last line without its newline, or a last line that
 *   does not parse, is a torn write from a crash and is ignored (and cut off before the next
 *   append). A bad line followed by good ones is corruption: refused, nothing overwritten.
 * - Every change is checked whole before it is written, and applied to the loaded state only once
 *   its record is durable: an intent is durable before the API call it announces, a result after.
 * - A write costs one appended line and one sync: O(size of the change). The journal is folded
 *   into a new snapshot (compaction) when the lock is released, and when it grows past
 *   max(compactThresholdBytes, snapshot size), so compaction costs O(1) amortized per byte appended.
 * - Compaction writes the snapshot first, then replaces the journal by a fresh header; a crash in
 *   between leaves an old journal whose records are all <= the snapshot's serial, so replay skips them.
 * - Only the lock holder writes, and it checks before every write that the lock record is still its own.
 * - Documents handed out are decoded or copied anew: callers never hold the store's own objects.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { nextTurn, runSteps } from '../model/steps.ts';
import {
  applyChange,
  checkChange,
  decodeJournalRecord,
  emptyState,
  encodeJournalRecord,
  encodeState,
  intentChange,
  resultChange,
  toStateDocument,
  toStateDocumentSteps,
  toWorkingState,
  validateStateDocument,
  writeChange,
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
import { decodeStateSliced } from './codec-sliced.ts';
import { hasStateCode, stateError } from './errors.ts';
import { DEFAULT_LEASE_MS, LeasedLock, Mutex, acquireWithBackoff, localHolder, ownLock, systemTimers } from './lease.ts';
import type { HeldLockRecord, LockRecords, MediumSettings, Stamp, StateBytes, StateMedium, StoreStats } from './persistence.ts';
import { checkReplace, missingState, stateExists } from './store-rules.ts';
import type { CommitInfo, LockInfo, LockRequest, ReplaceOptions, StateLock, StateStore, StateStoreOptions, StateTimers } from './store.ts';

export const DEFAULT_COMPACT_THRESHOLD_BYTES = 1024 * 1024;

export interface JournalStoreOptions extends StateStoreOptions {
  /** Compact when the journal passes max(this, snapshot size) bytes. Default 1 MiB. */
  readonly compactThresholdBytes?: number;
}

/** True when `err` says the state could not be decoded. */
export function isCorruptState(err: unknown): boolean {
  return hasStateCode(err, 'state-corrupt');
}

/** What this instance last read from (or wrote to) its medium. */
interface Loaded {
  state: WorkingState | undefined;
  snapshot: Stamp | undefined;
  snapshotBytes: number;
  /** The serial of the stored snapshot. */
  snapshotSerial: number;
  journal: Stamp | undefined;
  /** Bytes of the journal up to its last whole record. */
  journalValidBytes: number;
  /** Change records in the journal past its header. */
  journalRecords: number;
  /** The journal does not extend the snapshot exactly (missing, other lineage, older base): reset before appending. */
  journalNeedsReset: boolean;
}

/** Nothing loaded: no snapshot, and a journal (if any, with stamp `journal`) to reset before use. */
function noState(journal: Stamp | undefined = undefined): Loaded {
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

/** The lock this instance holds, and what it did under it. */
interface Session {
  readonly lock: LeasedLock;
  readonly record: HeldLockRecord;
  /** The snapshot was copied to the backup already in this session. */
  backedUp: boolean;
}

/**
 * Whether two stamps show the same content. The journal only ever grows in place or is replaced
 * whole, so its identity and size suffice; the snapshot is also compared by `modified`.
 */
function sameStamp(a: Stamp | undefined, b: Stamp | undefined, compareModified: boolean): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.id === b.id && a.size === b.size && (!compareModified || a.modified === b.modified);
}

const RESTORE_HINT = 'restore a good copy with `sms-reconcile state push --force FILE` (the .backup beside the state holds the previous snapshot)';

/** A parsed journal: its header and change records up to the last whole one. */
export interface ParsedJournal {
  readonly header: JournalHeader | undefined;
  readonly changes: readonly { readonly change: StateChange; readonly line: number }[];
  readonly validBytes: number;
}

/** Splits a journal into records; a torn tail is dropped, a bad line before good ones is `state-corrupt`. */
export function parseJournal(data: Buffer, name: string): ParsedJournal {
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
      record = decodeJournalRecord(text, `${name} line ${line}`);
    } catch (err) {
      if (nl + 1 >= data.length) break; // the last line: a torn write
      throw stateError('state-corrupt', `${name} line ${line} is damaged and records follow it: ${(err as Error).message}`, {
        cause: err,
        hint: `${RESTORE_HINT}; nothing was overwritten`,
      });
    }
    if (record.type === 'header') {
      if (line !== 1) throw stateError('state-corrupt', `${name} line ${line}: a header in the middle of the journal`);
      header = record;
    } else {
      if (line === 1) throw stateError('state-corrupt', `${name} has no header line`);
      changes.push({ change: record, line });
    }
    offset = nl + 1;
    validBytes = offset;
  }
  return { header, changes, validBytes };
}

/** Thrown (internally) when the snapshot and journal were read across a compaction: read again. */
class TornRead extends Error {}

/**
 * A StateStore over a medium. Subclasses only pick the medium (and add what is theirs, such as
 * the file store's paths). All reads and writes of one instance run one at a time (a mutex).
 */
export class JournalStore implements StateStore {
  readonly location: string;
  readonly stats: StoreStats = { bytesWritten: 0, fsyncs: 0, compactions: 0 };
  readonly #bytes: StateBytes;
  readonly #locks: LockRecords;
  readonly #timers: StateTimers;
  readonly #leaseMs: number;
  readonly #threshold: number;
  readonly #issued = new WeakSet<StateLock>();
  readonly #mutex = new Mutex();
  #loaded: Loaded | undefined;
  #session: Session | undefined;

  /** `openMedium` makes the medium from the store's settings (called once, here). */
  constructor(location: string, openMedium: (settings: MediumSettings) => StateMedium, options: JournalStoreOptions = {}) {
    this.location = location;
    this.#timers = options.timers ?? systemTimers;
    this.#leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.#threshold = options.compactThresholdBytes ?? DEFAULT_COMPACT_THRESHOLD_BYTES;
    const medium = openMedium({
      location,
      timers: this.#timers,
      holder: options.holder ?? localHolder(),
      leaseMs: this.#leaseMs,
      localHost: hostname(),
      stats: this.stats,
    });
    this.#bytes = medium.bytes;
    this.#locks = medium.locks;
  }

  // -------------------------------------------------------------------------------------------
  // Reading.

  /** Reads snapshot + journal (retrying a read that straddled a compaction). */
  async #load(): Promise<Loaded> {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        return await this.#loadOnce();
      } catch (err) {
        if (!(err instanceof TornRead)) throw err;
      }
    }
    throw stateError('state-corrupt', `the journal of ${this.location} does not extend its snapshot (baseSerial above the snapshot's serial)`, {
      hint: RESTORE_HINT,
    });
  }

  async #loadOnce(): Promise<Loaded> {
    const snap = await this.#bytes.readSnapshot();
    if (!snap) return noState((await this.#bytes.stamps()).journal);
    const doc = await decodeStateSliced(snap.data.toString('utf8'), { source: this.#bytes.snapshotName }, nextTurn);
    const state = toWorkingState(doc, 'owned');
    const jr = await this.#bytes.readJournal();
    const loaded: Loaded = { ...noState(jr?.stamp), state, snapshot: snap.stamp, snapshotBytes: snap.data.length, snapshotSerial: doc.serial };
    if (!jr) return loaded;
    const parsed = parseJournal(jr.data, this.#bytes.journalName);
    loaded.journalValidBytes = parsed.validBytes;
    const header = parsed.header;
    if (!header || header.lineage !== doc.lineage) return loaded; // left over from another state: ignored, reset on the next write
    if (header.baseSerial > doc.serial) throw new TornRead();
    for (const { change, line } of parsed.changes) {
      if (change.serial <= state.serial) continue;
      try {
        applyChange(state, change);
      } catch (err) {
        throw stateError('state-corrupt', `${this.#bytes.journalName} line ${line} cannot be replayed: ${(err as Error).message}`, {
          cause: err,
          hint: `${RESTORE_HINT}; nothing was overwritten`,
        });
      }
    }
    loaded.journalRecords = parsed.changes.length;
    loaded.journalNeedsReset = header.baseSerial !== doc.serial;
    return loaded;
  }

  /** The loaded view, re-read when the medium changed since (another instance committed). */
  async #fresh(): Promise<Loaded> {
    const loaded = this.#loaded;
    if (loaded) {
      const now = await this.#bytes.stamps();
      if (sameStamp(now.snapshot, loaded.snapshot, true) && sameStamp(now.journal, loaded.journal, false)) return loaded;
    }
    await this.#bytes.closeJournal();
    this.#loaded = await this.#load();
    return this.#loaded;
  }

  read(): Promise<StateDocument | undefined> {
    return this.#mutex.run(async () => {
      const { state } = await this.#fresh();
      return state && (await runSteps(toStateDocumentSteps(state)));
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

  lockInfo(): Promise<LockInfo | undefined> {
    return this.#locks.current();
  }

  // -------------------------------------------------------------------------------------------
  // Locking.

  async lock(request: LockRequest): Promise<StateLock> {
    await this.#locks.prepare();
    const record = await acquireWithBackoff(() => this.#locks.tryLock(request), {
      timers: this.#timers,
      timeoutMs: request.timeoutMs ?? 0,
      location: this.location,
    });
    const lock: LeasedLock = new LeasedLock(
      record.info,
      {
        renew: (mine, expires) => record.handle.renew(mine, expires),
        verify: () => record.handle.verify(),
        release: () => this.#releaseSession(lock),
      },
      { timers: this.#timers, leaseMs: this.#leaseMs, location: this.location },
    );
    await this.#mutex.run(async () => {
      await this.#bytes.closeJournal();
      this.#session = { lock, record, backedUp: false };
      // Only lock holders leave temp files, and we hold the lock now, so none of them is in use.
      await this.#bytes.removeLeftovers();
    });
    this.#issued.add(lock);
    return lock;
  }

  /** Compacts (if the journal holds records and the lock is still ours), then releases the lock record. */
  #releaseSession(lock: LeasedLock): Promise<void> {
    return this.#mutex.run(async () => {
      const session = this.#session;
      if (!session || session.lock !== lock) return;
      try {
        const loaded = this.#loaded;
        if (loaded?.state && loaded.journalRecords > 0 && (await session.record.handle.verify())) await this.#compact(loaded, session);
      } finally {
        await this.#bytes.closeJournal();
        this.#session = undefined;
        this.stats.bytesWritten += session.record.handle.bytesWritten;
        await session.record.handle.release();
      }
    });
  }

  forceUnlock(lockId: string): Promise<LockInfo> {
    return this.#locks.forceUnlock(lockId);
  }

  async close(): Promise<void> {
    const session = this.#session;
    if (session) await session.lock.release();
    await this.#mutex.run(() => this.#bytes.closeJournal());
  }

  // -------------------------------------------------------------------------------------------
  // Writing.

  /** Checks the lock and returns the session and a loaded view (the state may be missing). */
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

  /**
   * Runs one change: the lock checked, the change built from the current state and checked whole,
   * its record made durable, then applied; then compaction if the journal outgrew its bound.
   */
  #commit<T>(lock: StateLock, build: (serial: number, at: string) => { change: StateChange; value: T }): Promise<T> {
    return this.#mutex.run(async () => {
      const { session, loaded } = await this.#writable(lock);
      const state = loaded.state;
      if (!state) throw missingState(this.location);
      const { change, value } = build(state.serial + 1, new Date(this.#timers.now()).toISOString());
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

  /** Appends one record, durably. On failure, cuts the journal back to before it and forgets the loaded view. */
  async #append(loaded: Loaded, session: Session, change: StateChange): Promise<void> {
    await this.#journalForAppend(loaded, session);
    const buf = Buffer.from(`${encodeJournalRecord(change)}\n`);
    const before = loaded.journalValidBytes;
    try {
      await this.#bytes.appendJournal(buf);
    } catch (err) {
      // Leave no partial record behind: it would turn into corruption once another record follows.
      // If the cut fails too, the next load treats the partial line as a torn tail.
      await this.#bytes.truncateJournal(before).catch(() => undefined);
      await this.#bytes.closeJournal();
      this.#loaded = undefined;
      throw err;
    }
    loaded.journalValidBytes = before + buf.length;
    loaded.journalRecords += 1;
    loaded.journal = loaded.journal && { ...loaded.journal, size: loaded.journalValidBytes };
  }

  /** Opens the journal for appending, extending the snapshot exactly and without a torn tail. */
  async #journalForAppend(loaded: Loaded, session: Session): Promise<void> {
    if (this.#bytes.journalOpen) return;
    const state = loaded.state;
    if (!state) throw missingState(this.location);
    if (loaded.journalNeedsReset) {
      if (state.serial === loaded.snapshotSerial) await this.#resetJournal(loaded, state.lineage, state.serial);
      else await this.#compact(loaded, session);
      if (this.#bytes.journalOpen) return;
    }
    const opened = await this.#bytes.openJournal();
    if (loaded.journal && opened.id !== loaded.journal.id) {
      await this.#bytes.closeJournal();
      throw stateError('state-lock-lost', `${this.#bytes.journalName} was replaced by another process while this one held the lock`, {
        hint: 'run the command again: it will re-read the state',
      });
    }
    if (opened.size !== loaded.journalValidBytes) await this.#bytes.truncateJournal(loaded.journalValidBytes); // cut a torn tail off
    loaded.journal = { ...opened, size: loaded.journalValidBytes };
  }

  /** Replaces the journal by a bare header extending the snapshot at `baseSerial`. */
  async #resetJournal(loaded: Loaded, lineage: string, baseSerial: number): Promise<void> {
    await this.#bytes.closeJournal();
    const header: JournalHeader = { type: 'header', formatVersion: STATE_FORMAT_VERSION, lineage, baseSerial };
    const stamp = await this.#bytes.replaceJournal(Buffer.from(`${encodeJournalRecord(header)}\n`));
    loaded.journal = stamp;
    loaded.journalValidBytes = stamp.size;
    loaded.journalRecords = 0;
    loaded.journalNeedsReset = false;
  }

  /** Installs `doc` as the snapshot (the old one kept as backup, once per session) and starts an empty journal after it. */
  async #writeSnapshot(loaded: Loaded, session: Session, doc: StateDocument): Promise<void> {
    if (!session.backedUp) {
      await this.#bytes.backupSnapshot();
      session.backedUp = true;
    }
    const data = Buffer.from(encodeState(doc));
    loaded.snapshot = await this.#bytes.writeSnapshot(data);
    loaded.snapshotBytes = data.length;
    loaded.snapshotSerial = doc.serial;
    await this.#resetJournal(loaded, doc.lineage, doc.serial);
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
    return this.#commit(lock, (serial, at) => {
      const change = intentChange(input, serial, at, lock.info.id, randomUUID());
      return { change, value: change.intent };
    });
  }

  appendResult(lock: StateLock, intentId: string, outcome: IntentOutcome, writes: readonly ResourceWrite[]): Promise<CommitInfo> {
    return this.#commit(lock, (serial, at) => ({ change: resultChange(intentId, outcome, writes, serial, at), value: { serial } }));
  }

  writeResources(lock: StateLock, writes: readonly ResourceWrite[], reason?: string): Promise<CommitInfo> {
    return this.#commit(lock, (serial, at) => ({ change: writeChange(writes, reason, serial, at), value: { serial } }));
  }

  /**
   * See StateStore.replace. Forced, it also replaces a corrupt state (the way back from one): the
   * corrupt snapshot is kept as the backup, and its journal is dropped.
   */
  replace(lock: StateLock, document: StateDocument, options: ReplaceOptions = {}): Promise<CommitInfo> {
    return this.#mutex.run(async () => {
      const session = await this.#heldSession(lock);
      let loaded: Loaded;
      try {
        loaded = await this.#fresh();
      } catch (err) {
        if (options.force !== true || !isCorruptState(err)) throw err;
        loaded = noState();
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
