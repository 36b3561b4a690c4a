/**
 * The state document (ARCHITECTURE.md section 5) and its codec. PURE: no file system, no clock,
 * no randomness. Stores do the I/O, and pass times and ids in.
 *
 * Invariants of a decoded document (checked by `decodeState`, kept by `applyChange`):
 * - it matches schemas/state.v1.schema.json (formatVersion 1);
 * - `lineage` never changes after creation; `serial` grows by exactly one per committed change;
 * - every key of `resources` is a valid address equal to its record's `address`, and the record's
 *   `kind` is the address's kind (for ReplicationJobSet, the bracketed serverId is the record's);
 * - `pending` holds each intent whose result is not recorded, with distinct ids, in serial order,
 *   each with a serial at most the document's.
 */
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import schema from '../../schemas/state.v1.schema.json' with { type: 'json' };
import { parseAddress, type Address, type ManifestKind } from '../model/address.ts';
import { createAjv, lazyValidators, type ValidatorSet } from '../model/json-schema.ts';
import type { JobSpec, ReplicationJobState } from '../model/job.ts';
import { cloneJson } from '../model/objects.ts';
import { stripUserinfo } from '../model/redact.ts';
import { drain, type Steps } from '../model/steps.ts';
import { stateError } from './errors.ts';
import { jsonErrorOffset } from './json-offset.ts';

/** The format this build writes. Older documents are upgraded on read; newer ones are refused. */
export const STATE_FORMAT_VERSION = 1;

/**
 * Which SMS service a state belongs to. Two identities are the same target when their kind and
 * region agree and, if both carry an `id`, the ids agree; without an id on either side, the
 * endpoints must agree. (The embedded server listens on a random port, so its endpoint is the
 * word 'embedded' and its `id` is the server's stable account id.)
 */
export interface TargetIdentity {
  /** 'embedded', or the endpoint URL as configured. */
  readonly endpoint: string;
  readonly region: string;
  readonly kind: 'embedded' | 'remote';
  /** A stable identity of the service: the embedded server's id, or an AWS account id. */
  readonly id?: string;
}

/** Attributes last observed through the API (GetReplicationJobs), with when. */
export interface ObservedAttributes extends JobSpec {
  /** RFC 3339. */
  readonly observedAt: string;
  readonly state?: ReplicationJobState;
  readonly statusMessage?: string;
  readonly latestAmiId?: string;
}

/** What the state records for one managed address. */
export interface ResourceRecord {
  readonly address: Address;
  readonly kind: ManifestKind;
  readonly replicationJobId?: string;
  readonly serverId?: string;
  /** The job fields last applied, as the API spells them. Empty for non-job kinds. */
  readonly appliedSpec: JobSpec;
  readonly observed?: ObservedAttributes;
  /** Kept in state so that deleting the manifest document does not drop the protection. */
  readonly preventDestroy: boolean;
  /** The token of the last on-demand run started for this address. */
  readonly onDemandRunToken?: string;
  /** When this tool started on-demand runs of the job (RFC 3339), the last few (the limit is 2 per 24 h). */
  readonly onDemandRunsStarted?: readonly string[];
  /**
   * The -f root the resource's manifest was read under when it was last applied (model/manifest-roots.ts):
   * a plan from other roots that deletes it warns. Absent in states written before it was recorded.
   */
  readonly manifestRoot?: string;
  /**
   * When the job's replication began (its first run's start, RFC 3339): SMS terminates a job 90
   * days after it. Absent until known (a job whose first run has not started, an older state).
   */
  readonly replicationStartedAt?: string;
  /** The server is migrated: its job was retired (cutover). Such a record has no `replicationJobId`. */
  readonly migrated?: MigratedServer;
  /** RFC 3339. */
  readonly updatedAt: string;
}

/** A migrated server, as the state records it once its job is retired. */
export interface MigratedServer {
  /** The AMI of the job's last completed run. */
  readonly amiId: string;
  /** When the job was retired (RFC 3339). */
  readonly at: string;
  /** The job that was retired. */
  readonly replicationJobId: string;
}

/** The SMS API mutations an intent may announce. */
export const INTENT_OPERATIONS = [
  'CreateReplicationJob', 'UpdateReplicationJob', 'DeleteReplicationJob', 'StartOnDemandReplicationRun',
  'ImportServerCatalog', 'DisassociateConnector',
] as const;
export type IntentOperation = (typeof INTENT_OPERATIONS)[number];

/**
 * What an executor records before calling the API: enough for a later run to find out, by
 * observing the live jobs (serverId is the natural key), whether the mutation happened.
 */
export interface IntentInput {
  readonly address: Address;
  readonly operation: IntentOperation;
  readonly serverId?: string;
  readonly replicationJobId?: string;
  readonly connectorId?: string;
  /** The job fields sent with the call (create/update). */
  readonly spec?: JobSpec;
  readonly onDemandRunToken?: string;
  /** A retire (DeleteReplicationJob of a migrated server's job): the final AMI it records. */
  readonly finalAmiId?: string;
}

/** An intent as recorded: the store gives it an id, the serial it committed and the time. */
export interface PendingIntent extends IntentInput {
  /** uuid. */
  readonly id: string;
  readonly serial: number;
  /** The lock under which it was recorded. */
  readonly lockId?: string;
  /** RFC 3339. */
  readonly recordedAt: string;
}

/** How an intent ended. `recovered` is written by a later run that resolved it by observation. */
export type IntentOutcome =
  | { readonly status: 'succeeded'; readonly replicationJobId?: string; readonly replicationRunId?: string }
  | { readonly status: 'failed'; readonly error: { readonly code: string; readonly message: string } }
  | { readonly status: 'recovered'; readonly happened: boolean; readonly note?: string };

/** A resource change: `record: null` removes the address. */
export interface ResourceWrite {
  readonly address: Address;
  readonly record: ResourceRecord | null;
}

/** The whole state, as written to disk, pulled and pushed. */
export interface StateDocument {
  readonly formatVersion: typeof STATE_FORMAT_VERSION;
  readonly lineage: string;
  readonly serial: number;
  readonly target: TargetIdentity;
  readonly resources: Readonly<Record<Address, ResourceRecord>>;
  /** Intents without a result, in serial order. */
  readonly pending: readonly PendingIntent[];
}

/** What a saved plan remembers of the state it was made against. */
export interface StateHead {
  readonly lineage: string;
  readonly serial: number;
}

/**
 * A committed change. Each one bumps the serial by one: `serial` is the serial after it.
 * - intent: adds a pending intent;
 * - result: resolves a pending intent and applies its resource writes, in one step;
 * - write: resource writes without an API call (state rm, moves, import).
 */
export type StateChange =
  | { readonly type: 'intent'; readonly serial: number; readonly at: string; readonly intent: PendingIntent }
  | {
      readonly type: 'result';
      readonly serial: number;
      readonly at: string;
      readonly intentId: string;
      readonly outcome: IntentOutcome;
      readonly writes: readonly ResourceWrite[];
    }
  | { readonly type: 'write'; readonly serial: number; readonly at: string; readonly reason?: string; readonly writes: readonly ResourceWrite[] };

/** The first line of a file-store journal: which snapshot it extends. */
export interface JournalHeader {
  readonly type: 'header';
  readonly formatVersion: typeof STATE_FORMAT_VERSION;
  readonly lineage: string;
  readonly baseSerial: number;
}

export type JournalRecord = JournalHeader | StateChange;

// ---------------------------------------------------------------------------------------------
// Schema validation (ajv, compiled once on first use, or precompiled in the bundle).

export type JsonObject = Record<string, unknown>;

interface Validators {
  readonly document: ValidateFunction;
  readonly journalRecord: ValidateFunction;
  readonly resource: ValidateFunction;
  readonly target: ValidateFunction;
  readonly intent: ValidateFunction;
  readonly address: ValidateFunction;
}

/** The state schema's validators (precompiled in the bundle, see model/json-schema.ts). */
export const STATE_VALIDATORS: ValidatorSet<keyof Validators> = {
  name: 'state',
  ajv: (code) => createAjv({ allErrors: false, ...(code ? { code } : {}) }).addSchema(schema),
  refs: {
    document: schema.$id,
    journalRecord: `${schema.$id}#/$defs/journalRecord`,
    resource: `${schema.$id}#/$defs/resource`,
    target: `${schema.$id}#/$defs/target`,
    intent: `${schema.$id}#/$defs/intent`,
    address: `${schema.$id}#/$defs/address`,
  },
};
/** The state schema's validators (compiled on first use). */
export const getValidators = lazyValidators(STATE_VALIDATORS);

function describeAjvErrors(errors: readonly ErrorObject[] | null | undefined): string {
  if (!errors || errors.length === 0) return 'does not match the schema';
  return errors
    .slice(0, 3)
    .map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`)
    .join('; ');
}

// ---------------------------------------------------------------------------------------------
// Decoding and encoding.

/** Upgrades a document of formatVersion N to N+1. The table is keyed by N. */
export type StateUpgrader = (document: JsonObject) => JsonObject;

/**
 * The upgraders from older format versions. Version 1 is the first released format, so the table
 * is empty; the next format adds `1: (doc) => ({...doc, formatVersion: 2, ...})` here.
 */
export const STATE_UPGRADERS: Readonly<Record<number, StateUpgrader>> = {};

export interface DecodeOptions {
  /** Names the document in errors (a file path, 'stdin', ...). */
  readonly source?: string;
  /** Replaces STATE_UPGRADERS (tests). */
  readonly upgraders?: Readonly<Record<number, StateUpgrader>>;
}

/** 1-based line and column of a 0-based character offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}

export { jsonErrorOffset };

/** JSON.parse, with a `state-corrupt` error naming the position on failure. */
export function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const offset = jsonErrorOffset(text);
    const { line, column } = lineColumn(text, offset);
    throw stateError('state-corrupt', `${source} is not valid JSON at line ${line}, column ${column} (offset ${offset}): ${message}`, {
      cause: err,
      hint: 'restore a good copy with `sms-reconcile state push --force FILE` (the .backup beside the state holds the previous snapshot); nothing was overwritten',
    });
  }
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Brings a parsed document to STATE_FORMAT_VERSION through the upgrader table. Refuses a newer
 * version (`state-version-newer`), a missing or non-integer version (`state-corrupt`) and an old
 * version without an upgrader (`state-version-unsupported`).
 */
export function upgradeState(
  value: unknown,
  source: string,
  upgraders: Readonly<Record<number, StateUpgrader>> = STATE_UPGRADERS,
): JsonObject {
  if (!isObject(value)) throw stateError('state-corrupt', `${source} is not a state document (not a JSON object)`);
  let doc = value;
  const found = doc['formatVersion'];
  if (typeof found !== 'number' || !Number.isInteger(found) || found < 0) {
    throw stateError('state-corrupt', `${source} has no valid formatVersion (found ${JSON.stringify(found) ?? 'nothing'})`, {
      hint: 'restore a good copy with `sms-reconcile state push --force FILE` (the .backup beside the state holds the previous snapshot)',
    });
  }
  let version: number = found;
  if (version > STATE_FORMAT_VERSION) {
    throw stateError(
      'state-version-newer',
      `${source} has formatVersion ${version}, written by a newer sms-reconcile; this one reads formatVersion ${STATE_FORMAT_VERSION} at most`,
      { hint: `upgrade sms-reconcile to a release that reads state formatVersion ${version}; the file was left untouched` },
    );
  }
  while (version < STATE_FORMAT_VERSION) {
    const upgrade = upgraders[version];
    if (!upgrade) {
      throw stateError('state-version-unsupported', `${source} has formatVersion ${version}, which this sms-reconcile cannot upgrade`, {
        hint: 'upgrade it with an intermediate release of sms-reconcile first',
      });
    }
    doc = upgrade(doc);
    const next: unknown = doc['formatVersion'];
    if (next !== version + 1) {
      throw stateError('state-corrupt', `internal: the upgrader from formatVersion ${version} produced ${String(next)}`, { source: 'internal' });
    }
    version += 1;
  }
  return doc;
}

/**
 * Checks that `value` is a valid current-format document (schema and the invariants above) and
 * returns it typed. Does not upgrade.
 */
export function validateStateDocument(value: unknown, source = 'state'): StateDocument {
  const v = getValidators();
  if (!v.document(value)) {
    throw stateError('state-corrupt', `${source} does not match the state schema: ${describeAjvErrors(v.document.errors)}`, {
      hint: 'restore a good copy with `sms-reconcile state push --force FILE` (the .backup beside the state holds the previous snapshot); nothing was overwritten',
    });
  }
  const doc = value as StateDocument;
  for (const [key, record] of Object.entries(doc.resources)) {
    const problem = recordProblem(key, record);
    if (problem) throw stateError('state-corrupt', `${source}: resources["${key}"] ${problem}`);
  }
  return checkIntents(doc, source);
}

/** The pending intents' invariants: unique ids, serials in order and not above the state's. */
export function checkIntents(doc: StateDocument, source: string): StateDocument {
  const ids = new Set<string>();
  let lastSerial = 0;
  for (const intent of doc.pending) {
    if (ids.has(intent.id)) throw stateError('state-corrupt', `${source}: pending intent ${intent.id} appears twice`);
    ids.add(intent.id);
    if (intent.serial > doc.serial || intent.serial <= lastSerial) {
      throw stateError('state-corrupt', `${source}: pending intent ${intent.id} has serial ${intent.serial} out of order (state serial ${doc.serial})`);
    }
    lastSerial = intent.serial;
  }
  return doc;
}

/** Why `record` may not be stored under `address`, or undefined when it may. */
export function recordProblem(address: string, record: ResourceRecord): string | undefined {
  const parsed = parseAddress(address);
  if (!parsed) return 'is not under a valid address';
  if (record.address !== address) return `holds the record of ${record.address}`;
  if (record.kind !== parsed.kind) return `has kind ${record.kind}, but the address is a ${parsed.kind}`;
  if (parsed.serverId !== undefined && record.serverId !== undefined && record.serverId !== parsed.serverId) {
    return `has serverId ${record.serverId}, but the address names ${parsed.serverId}`;
  }
  return undefined;
}

/** Parses, upgrades and validates a state document. */
export function decodeState(text: string, options: DecodeOptions = {}): StateDocument {
  const source = options.source ?? 'state';
  const upgraded = upgradeState(parseJson(text, source), source, options.upgraders);
  return validateStateDocument(upgraded, source);
}

/**
 * Serializes a document: two-space JSON with resources ordered by address and a final newline,
 * so that equal states encode to equal bytes.
 */
export function encodeState(doc: StateDocument): string {
  const resources: Record<Address, ResourceRecord> = {};
  for (const key of Object.keys(doc.resources).sort()) {
    const record = doc.resources[key];
    if (record) resources[key] = record;
  }
  const ordered: StateDocument = {
    formatVersion: doc.formatVersion,
    lineage: doc.lineage,
    serial: doc.serial,
    target: doc.target,
    resources,
    pending: doc.pending,
  };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

/** One journal line (no newline inside; the caller adds the terminating `\n`). */
export function encodeJournalRecord(record: JournalRecord): string {
  return JSON.stringify(record);
}

/** Parses and validates one journal line. */
export function decodeJournalRecord(line: string, source: string): JournalRecord {
  const value = parseJson(line, source);
  const v = getValidators();
  if (!v.journalRecord(value)) {
    throw stateError('state-corrupt', `${source} is not a valid journal record: ${describeAjvErrors(v.journalRecord.errors)}`);
  }
  return value as JournalRecord;
}

/** Validates a target identity (from a caller, not a file). */
export function validateTarget(target: TargetIdentity): TargetIdentity {
  const v = getValidators();
  if (!v.target(target)) {
    throw stateError('state-invalid-change', `invalid target identity: ${describeAjvErrors(v.target.errors)}`, { source: 'internal' });
  }
  return target;
}

// ---------------------------------------------------------------------------------------------
// The working state: what stores keep in memory and update one change at a time.

/**
 * A mutable view of a document, for applying changes in O(size of the change). Stores own it;
 * it never escapes a store (reads get a `StateDocument` copy).
 */
export interface WorkingState {
  readonly formatVersion: typeof STATE_FORMAT_VERSION;
  readonly lineage: string;
  serial: number;
  readonly target: TargetIdentity;
  readonly resources: Map<Address, ResourceRecord>;
  /** Insertion order is serial order. */
  readonly pending: Map<string, PendingIntent>;
}

/**
 * A working state from a document, which it copies (the two never share objects) unless `owned`:
 * the caller gives up a document nothing else holds (one it just decoded), and saves the copy.
 */
export function toWorkingState(doc: StateDocument, ownership: 'copy' | 'owned' = 'copy'): WorkingState {
  const copy = ownership === 'owned' ? doc : structuredClone(doc);
  return {
    formatVersion: copy.formatVersion,
    lineage: copy.lineage,
    serial: copy.serial,
    target: copy.target,
    resources: new Map(Object.entries(copy.resources)),
    pending: new Map(copy.pending.map((intent) => [intent.id, intent])),
  };
}

/** Records handled between two steps of the stepwise state functions (here and codec-sliced.ts). */
export const RECORDS_PER_STEP = 500;

/** A document from a working state (a copy). */
export function toStateDocument(state: WorkingState): StateDocument {
  return drain(toStateDocumentSteps(state));
}

/**
 * toStateDocument as steps: it yields every RECORDS_PER_STEP records it copies, so that a plan
 * reading 100,000 records (journal-store.ts, runSteps) lets the SMS listings' pages in meanwhile.
 */
export function* toStateDocumentSteps(state: WorkingState): Steps<StateDocument> {
  const keys = [...state.resources.keys()].sort();
  const resources: Record<Address, ResourceRecord> = {};
  for (let i = 0; i < keys.length; i++) {
    if (i > 0 && i % RECORDS_PER_STEP === 0) yield;
    const key = keys[i] as Address;
    const record = state.resources.get(key);
    if (record) resources[key] = cloneJson(record);
  }
  return {
    formatVersion: state.formatVersion,
    lineage: state.lineage,
    serial: state.serial,
    target: cloneJson(state.target),
    resources,
    pending: cloneJson([...state.pending.values()]),
  };
}

/** A new, empty state. */
export function emptyState(lineage: string, target: TargetIdentity): StateDocument {
  return { formatVersion: STATE_FORMAT_VERSION, lineage, serial: 0, target: validateTarget(target), resources: {}, pending: [] };
}

/** Checks a batch of resource writes on its own (schema and address/record agreement). */
export function checkWrites(writes: readonly ResourceWrite[]): void {
  const v = getValidators();
  const seen = new Set<string>();
  for (const w of writes) {
    if (!parseAddress(w.address)) {
      throw stateError('state-invalid-change', `"${w.address}" is not a resource address`, {
        hint: 'addresses look like ReplicationJob/<name> or ReplicationJobSet/<name>[<serverId>]',
      });
    }
    if (seen.has(w.address)) throw stateError('state-invalid-change', `${w.address} is written twice in one change`, { source: 'internal' });
    seen.add(w.address);
    if (w.record === null) continue;
    if (!v.resource(w.record)) {
      throw stateError('state-invalid-change', `invalid record for ${w.address}: ${describeAjvErrors(v.resource.errors)}`, { source: 'internal' });
    }
    const problem = recordProblem(w.address, w.record);
    if (problem) throw stateError('state-invalid-change', `the record written at ${w.address} ${problem}`, { source: 'internal' });
  }
}

/** Checks an intent before it is recorded. */
export function checkIntent(intent: PendingIntent): void {
  const v = getValidators();
  if (!v.intent(intent)) {
    throw stateError('state-invalid-change', `invalid intent: ${describeAjvErrors(v.intent.errors)}`, { source: 'internal' });
  }
}

/**
 * Checks that `change` may follow `state` (serial is the next one, a result names a pending
 * intent, writes are valid). Throws a typed error; changes nothing.
 */
export function checkChange(state: WorkingState, change: StateChange): void {
  if (change.serial !== state.serial + 1) {
    throw stateError('state-corrupt', `change with serial ${change.serial} cannot follow serial ${state.serial}`);
  }
  switch (change.type) {
    case 'intent':
      if (change.intent.serial !== change.serial) throw stateError('state-corrupt', `intent ${change.intent.id} carries serial ${change.intent.serial}, its record ${change.serial}`);
      if (state.pending.has(change.intent.id)) throw stateError('state-invalid-change', `intent ${change.intent.id} is already pending`, { source: 'internal' });
      checkIntent(change.intent);
      return;
    case 'result':
      if (!state.pending.has(change.intentId)) {
        throw stateError('state-unknown-intent', `no pending intent ${change.intentId}: a result must follow its intent, once`, { source: 'internal' });
      }
      checkWrites(change.writes);
      return;
    case 'write':
      checkWrites(change.writes);
      return;
  }
}

/** Applies a checked change in place: O(size of the change). */
export function applyChange(state: WorkingState, change: StateChange): void {
  checkChange(state, change);
  switch (change.type) {
    case 'intent':
      state.pending.set(change.intent.id, change.intent);
      break;
    case 'result':
      state.pending.delete(change.intentId);
      applyWrites(state, change.writes);
      break;
    case 'write':
      applyWrites(state, change.writes);
      break;
  }
  state.serial = change.serial;
}

function applyWrites(state: WorkingState, writes: readonly ResourceWrite[]): void {
  for (const w of writes) {
    if (w.record === null) state.resources.delete(w.address);
    else state.resources.set(w.address, w.record);
  }
}

// ---------------------------------------------------------------------------------------------
// Target and staleness checks (for the executor and plan).

/** The change that records an intent (the store gives it its id, serial, lock and time). */
export function intentChange(input: IntentInput, serial: number, at: string, lockId: string, id: string): Extract<StateChange, { type: 'intent' }> {
  const intent: PendingIntent = { ...structuredClone(input), id, serial, lockId, recordedAt: at };
  return { type: 'intent', serial, at, intent };
}

/** The change that resolves a pending intent and applies its resource writes. */
export function resultChange(intentId: string, outcome: IntentOutcome, writes: readonly ResourceWrite[], serial: number, at: string): StateChange {
  return { type: 'result', serial, at, intentId, outcome, writes };
}

/** The change that applies resource writes without an API call. */
export function writeChange(writes: readonly ResourceWrite[], reason: string | undefined, serial: number, at: string): StateChange {
  return reason === undefined ? { type: 'write', serial, at, writes } : { type: 'write', serial, at, reason, writes };
}

/** Whether two identities name the same target (see TargetIdentity). */
export function sameTarget(a: TargetIdentity, b: TargetIdentity): boolean {
  if (a.kind !== b.kind || a.region !== b.region) return false;
  if (a.id !== undefined && b.id !== undefined) return a.id === b.id;
  // Compared without userinfo: a state written before it was stripped still matches.
  return stripUserinfo(a.endpoint) === stripUserinfo(b.endpoint);
}

export function describeTarget(t: TargetIdentity): string {
  const what = t.kind === 'embedded' && t.endpoint === 'embedded' ? 'the embedded server' : `${t.kind} ${stripUserinfo(t.endpoint)}`;
  return `${what} (${t.region}${t.id === undefined ? '' : `, id ${t.id}`})`;
}

/** Refuses (`state-target-mismatch`) a state recorded against another target. */
export function assertSameTarget(recorded: TargetIdentity, current: TargetIdentity, location: string): void {
  if (sameTarget(recorded, current)) return;
  throw stateError(
    'state-target-mismatch',
    `the state at ${location} belongs to ${describeTarget(recorded)}, not to ${describeTarget(current)}`,
    { hint: 'pass the --endpoint-url/--region it was made with, or use another --state for this target' },
  );
}

/**
 * Why a plan made against `expected` may not be applied to a state now at `current`, or
 * undefined when it may (same lineage, same serial).
 */
export function staleReason(expected: StateHead | undefined, current: StateHead | undefined): string | undefined {
  if (expected === undefined && current === undefined) return undefined;
  if (expected === undefined) return `the plan was made with no state, but a state (lineage ${current?.lineage}, serial ${current?.serial}) now exists`;
  if (current === undefined) return `the plan was made against state lineage ${expected.lineage} serial ${expected.serial}, but there is no state now`;
  if (expected.lineage !== current.lineage) return `the state was replaced: lineage ${current.lineage}, the plan expects ${expected.lineage}`;
  if (expected.serial !== current.serial) return `the state changed since the plan was made: serial ${current.serial}, the plan expects ${expected.serial}`;
  return undefined;
}
