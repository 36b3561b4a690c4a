/**
 * The DesiredSet: what the manifests declare, normalized, keyed by address. Produced by
 * manifest/normalize.ts, consumed by plan (diff against the observed jobs and prior state).
 *
 * Invariants (createDesiredSet enforces them):
 * - Every map is keyed by its entry's address (jobSets by name: their job addresses
 *   `ReplicationJobSet/<name>[<serverId>]` are resolved at plan time against the catalog), keys are
 *   unique, and maps iterate in ascending key order (code-unit order), whatever the file order.
 * - JobSpec values are as the API spells them: timestamps are whole epoch seconds; a field absent
 *   from the manifest is absent here (not managed, never diffed). Service defaults are NOT filled in
 *   (see model/field-policy.ts for how diff treats them).
 * - `digest` is the sha256 (hex) of the canonical JSON of the set without source positions: the
 *   same declarations give the same digest whatever the files, their order, formatting or comments.
 * - `source` positions point into the manifests, for plan-time errors (a selector matching nothing).
 */
import { createHash } from 'node:crypto';
import { resourceAddress, type Address } from './address.ts';
import { SmsReconcileError, type SourcePosition } from './errors.ts';
import type { JobSpec } from './job.ts';
import type { ServerMatch, ServerSelector } from './server.ts';
import { drain, type Steps } from './steps.ts';

export interface OnDemandRunRequest {
  /** Opaque; a token different from the one recorded in state plans a StartOnDemandReplicationRun. */
  readonly token: string;
  readonly description?: string;
}

export interface Lifecycle {
  /** Blocks deletes and replaces whatever the flags; recorded in state. Default false. */
  readonly preventDestroy: boolean;
}

/** `kind: ReplicationJob`: one job for one server. */
export interface DesiredJob {
  /** `ReplicationJob/<name>`. */
  readonly address: Address;
  readonly name: string;
  readonly selector: ServerSelector;
  readonly spec: Readonly<JobSpec>;
  readonly onDemandRun?: OnDemandRunRequest;
  readonly lifecycle: Lifecycle;
  /** `spec.wave` (>= 1): the job's migration wave (reconcile/waves.ts); absent: in no wave, never held. */
  readonly wave?: number;
  /** `spec.cutover`: the server is migrated (its job is retired). Absent when false. */
  readonly cutover?: true;
  /** The document. */
  readonly source: SourcePosition;
  /** The `spec.server` key. */
  readonly selectorSource: SourcePosition;
}

/** One entry of a ReplicationJobSet's `spec.servers`. */
export interface DesiredJobSetServer {
  readonly selector: ServerSelector;
  /** The entry's own job fields; they override the template (see effectiveSpec). */
  readonly overrides: Readonly<JobSpec>;
  /** The entry's own `cutover` (it overrides the set's); absent when not given. */
  readonly cutover?: boolean;
  /** The entry's `server` key. */
  readonly source: SourcePosition;
}

/** `kind: ReplicationJobSet`: one job per listed or matched server. */
export interface DesiredJobSet {
  readonly name: string;
  readonly template: Readonly<JobSpec>;
  /** In manifest order. A server both listed and matched gets one job, with its entry's overrides. */
  readonly servers: readonly DesiredJobSetServer[];
  readonly match?: ServerMatch;
  readonly onDemandRun?: OnDemandRunRequest;
  readonly lifecycle: Lifecycle;
  /** `spec.wave`: the wave of every job of the set (see DesiredJob.wave). */
  readonly wave?: number;
  /** `spec.cutover`: every server of the set is migrated, unless its entry says otherwise. Absent when false. */
  readonly cutover?: true;
  readonly source: SourcePosition;
  readonly matchSource?: SourcePosition;
}

/** `kind: ServerCatalog`: the catalog is imported (again when older than maxAgeHours). */
export interface DesiredCatalog {
  /** `ServerCatalog/<name>`. */
  readonly address: Address;
  readonly name: string;
  readonly imported: true;
  readonly maxAgeHours?: number;
  readonly source: SourcePosition;
}

/** `kind: Connector`: the connector is disassociated. */
export interface DesiredConnector {
  /** `Connector/<name>`. */
  readonly address: Address;
  readonly name: string;
  readonly connectorId: string;
  readonly associated: false;
  readonly source: SourcePosition;
}

export interface DesiredSet {
  readonly jobs: ReadonlyMap<Address, DesiredJob>;
  /** Keyed by the set's name. */
  readonly jobSets: ReadonlyMap<string, DesiredJobSet>;
  readonly catalogs: ReadonlyMap<Address, DesiredCatalog>;
  readonly connectors: ReadonlyMap<Address, DesiredConnector>;
  /** sha256 hex of the canonical form (sources excluded). */
  readonly digest: string;
}

export interface DesiredParts {
  readonly jobs: readonly DesiredJob[];
  readonly jobSets: readonly DesiredJobSet[];
  readonly catalogs: readonly DesiredCatalog[];
  readonly connectors: readonly DesiredConnector[];
}

/** The job fields of one server of a set: the template, overridden field by field by the entry. */
export function effectiveSpec(set: Pick<DesiredJobSet, 'template'>, server: Pick<DesiredJobSetServer, 'overrides'>): JobSpec {
  return { ...set.template, ...server.overrides };
}

/** Whether a set's server is cut over: its entry's own `cutover`, else the set's. */
export function entryCutover(set: Pick<DesiredJobSet, 'cutover'>, server: Pick<DesiredJobSetServer, 'cutover'> | undefined): boolean {
  return server?.cutover ?? set.cutover === true;
}

/** The address of the job a set manages for one catalog server. */
export function jobSetAddress(set: Pick<DesiredJobSet, 'name'>, serverId: string): Address {
  return resourceAddress('ReplicationJobSet', set.name, serverId);
}

function sortedMap<T>(entries: readonly T[], keyOf: (t: T) => string, what: string): Map<string, T> {
  const sorted = [...entries].sort((a, b) => {
    const ka = keyOf(a);
    const kb = keyOf(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
  const map = new Map<string, T>();
  for (const e of sorted) {
    const k = keyOf(e);
    if (map.has(k)) throw new SmsReconcileError('desired-duplicate-key', `two ${what} entries share the key ${k}`, { source: 'internal' });
    map.set(k, e);
  }
  return map;
}

/** Builds a DesiredSet from its parts: sorts, checks keys are unique, computes the digest. */
export function createDesiredSet(parts: DesiredParts): DesiredSet {
  return drain(createDesiredSetStepwise(parts));
}

/**
 * createDesiredSet as steps: it yields every DIGEST_STEP entries it hashes, so that a caller with
 * other work on the same thread (a plan paging through the SMS listings) can let it run: the digest
 * of 100,000 jobs takes ~0.6 s.
 */
export function* createDesiredSetStepwise(parts: DesiredParts): Steps<DesiredSet> {
  const jobs = sortedMap(parts.jobs, (j) => j.address, 'job');
  const jobSets = sortedMap(parts.jobSets, (s) => s.name, 'job set');
  const catalogs = sortedMap(parts.catalogs, (c) => c.address, 'catalog');
  const connectors = sortedMap(parts.connectors, (c) => c.address, 'connector');
  const digest = yield* desiredDigestStepwise({ jobs: [...jobs.values()], jobSets: [...jobSets.values()], catalogs: [...catalogs.values()], connectors: [...connectors.values()] });
  return { jobs, jobSets, catalogs, connectors, digest };
}

/** Entries hashed between two yields of desiredDigestStepwise. */
const DIGEST_STEP = 500;

const SOURCE_KEYS = new Set(['source', 'selectorSource', 'matchSource']);

/** A copy of `value` with object keys sorted and source positions and undefined members dropped. */
function canonicalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonicalize);
  if (value === null || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(record).sort()) {
    const v = record[k];
    if (v === undefined || SOURCE_KEYS.has(k)) continue;
    out[k] = canonicalize(v);
  }
  return out;
}

/** JSON with object keys sorted (code-unit order) and source positions dropped; no whitespace. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(canonicalize(value)) ?? 'null';
}

/** The digest of the parts, in the order given (createDesiredSet gives them sorted). */
export function desiredDigest(parts: DesiredParts): string {
  return drain(desiredDigestStepwise(parts));
}

/** desiredDigest as steps: yields every DIGEST_STEP entries. */
function* desiredDigestStepwise(parts: DesiredParts): Steps<string> {
  const hash = createHash('sha256');
  // Entry by entry: the same bytes as canonicalJson({v: 1, ...parts}), without one giant string.
  hash.update('{"catalogs":[');
  function* section(entries: readonly unknown[]): Generator<void, void> {
    for (let i = 0; i < entries.length; i++) {
      hash.update((i === 0 ? '' : ',') + canonicalJson(entries[i]));
      if ((i + 1) % DIGEST_STEP === 0) yield;
    }
  }
  yield* section(parts.catalogs);
  hash.update('],"connectors":[');
  yield* section(parts.connectors);
  hash.update('],"jobSets":[');
  yield* section(parts.jobSets);
  hash.update('],"jobs":[');
  yield* section(parts.jobs);
  hash.update('],"v":1}');
  return hash.digest('hex');
}
