/**
 * Builders for the pure diff's inputs in tests: a catalog world (ServerInfo, live jobs, connectors)
 * turned into an ObservedSet by the real `observe`, DesiredSets built by the real
 * `createDesiredSet`, and state documents. Live jobs carry the service's defaults the way the SMS
 * API (and the embedded server) report them, so tests see what diff sees in production.
 */
import { resourceAddress, type Address } from '../../src/model/address.ts';
import {
  createDesiredSet,
  type DesiredCatalog,
  type DesiredConnector,
  type DesiredJob,
  type DesiredJobSet,
  type DesiredJobSetServer,
  type DesiredSet,
  type OnDemandRunRequest,
} from '../../src/model/desired.ts';
import type { SourcePosition } from '../../src/model/errors.ts';
import type { JobSpec, ReplicationJobState, ServerCatalogStatus } from '../../src/model/job.ts';
import type { ServerMatch, ServerSelector } from '../../src/model/server.ts';
import { DEFAULT_DIFF_OPTIONS, type DiffOptions } from '../../src/reconcile/diff.ts';
import { observe, type ObservedSet } from '../../src/reconcile/observed.ts';
import type { ConnectorInfo, ReplicationJobInfo, ReplicationRunInfo, ServerInfo } from '../../src/sms/api.ts';
import type { ResourceRecord, StateDocument, TargetIdentity } from '../../src/state/codec.ts';

/** 2026-11-26T20:00:00Z, epoch seconds: "now" in diff tests. */
export const T0 = 1795723200;
export const HOUR = 3600;
export const DAY = 24 * HOUR;

export const MANAGER_A = { vmManagerId: '5b7c3e2a-1f4d-4a8e-9c61-0d2e8f7a9b10', vmManagerName: 'vcenter-a.example.com', vmManagerType: 'VSPHERE' } as const;
export const MANAGER_B = { vmManagerId: '8e41d7c9-3b2a-4f65-a0d8-6c19e5b2f743', vmManagerName: 'scvmm-b.example.com', vmManagerType: 'SCVMM' } as const;
export type Manager = typeof MANAGER_A | typeof MANAGER_B;

export const TEST_TARGET: TargetIdentity = { kind: 'remote', endpoint: 'http://127.0.0.1:4573', region: 'us-east-1' };
export const LINEAGE = '0f6c1a2b-3c4d-4e5f-8a6b-7c8d9e0f1a2b';

const hex8 = (n: number): string => n.toString(16).padStart(8, '0');
export const serverIdOf = (n: number): string => `s-${hex8(n)}`;
export const jobIdOf = (n: number): string => `sms-job-${hex8(n)}`;
export const connectorIdOf = (n: number): string => `c-${n.toString(16).padStart(17, '0')}`;

/** A source position in a manifest file. */
export function pos(line = 1, file = 'manifests/jobs.yaml', pointer = '', column = 1): SourcePosition {
  return { file, line, column, pointer };
}

export interface ServerOptions {
  readonly vmName: string;
  readonly manager?: Manager;
  readonly vmPath?: string;
  readonly vmId?: string;
}

/** Catalog server number `n` (serverId s-0000000n). */
export function server(n: number, o: ServerOptions): ServerInfo {
  const manager = o.manager ?? MANAGER_A;
  return {
    serverId: serverIdOf(n),
    vmServer: {
      vmManagerName: manager.vmManagerName,
      vmManagerType: manager.vmManagerType,
      vmName: o.vmName,
      vmPath: o.vmPath ?? `/dc/${manager === MANAGER_A ? 'a' : 'b'}/${o.vmName}`,
      vmServerAddress: { vmManagerId: manager.vmManagerId, vmId: o.vmId ?? `vm-${n}` },
    },
  };
}

export interface LiveJobOptions {
  readonly n: number;
  readonly state?: ReplicationJobState;
  readonly runs?: readonly ReplicationRunInfo[];
}

/**
 * A live job as GetReplicationJobs reports it: the service's defaults filled in (runOnce false,
 * encrypted false, numberOfRecentAmisToKeep 0, frequency 24 for recurring jobs), a seed a day ago,
 * the next run scheduled; `spec` overrides any of it (pass `undefined` to drop a member).
 */
export function liveJob(s: ServerInfo, spec: JobSpec, o: LiveJobOptions): ReplicationJobInfo {
  const runOnce = spec.runOnce ?? false;
  const base: Record<string, unknown> = {
    replicationJobId: jobIdOf(o.n),
    serverId: s.serverId,
    state: o.state ?? 'ACTIVE',
    vmServer: s.vmServer,
    frequency: runOnce ? undefined : 24,
    runOnce,
    seedReplicationTime: T0 - DAY,
    nextReplicationRunStartTime: runOnce ? undefined : T0 + HOUR,
    numberOfRecentAmisToKeep: 0,
    encrypted: false,
    replicationRunList: o.runs ?? [],
  };
  for (const [k, v] of Object.entries(spec)) base[k] = v;
  return Object.fromEntries(Object.entries(base).filter(([, v]) => v !== undefined)) as unknown as ReplicationJobInfo;
}

export function connector(n: number, manager: Manager, status: 'HEALTHY' | 'UNHEALTHY' = 'HEALTHY'): ConnectorInfo {
  return {
    connectorId: connectorIdOf(n),
    status,
    capabilityList: [manager.vmManagerType],
    vmManagerId: manager.vmManagerId,
    vmManagerName: manager.vmManagerName,
    vmManagerType: manager.vmManagerType,
  };
}

export interface WorldOptions {
  readonly servers: readonly ServerInfo[];
  readonly jobs?: readonly ReplicationJobInfo[];
  readonly connectors?: readonly ConnectorInfo[];
  readonly status?: ServerCatalogStatus;
  readonly lastModifiedOn?: number;
}

/** The ObservedSet one bulk read would give (healthy connectors for both managers by default). */
export function world(o: WorldOptions): ObservedSet {
  const status = o.status ?? 'AVAILABLE';
  return observe(
    { status, lastModifiedOn: o.lastModifiedOn ?? T0 - HOUR, servers: status === 'AVAILABLE' ? o.servers : [] },
    o.jobs ?? [],
    o.connectors ?? [connector(1, MANAGER_A), connector(2, MANAGER_B)],
  );
}

// --- selectors ---------------------------------------------------------------------------------

export const byId = (serverId: string): ServerSelector => ({ kind: 'serverId', serverId });
export const byName = (vmName: string, narrow: { vmManagerName?: string; vmPath?: string } = {}): ServerSelector => ({ kind: 'vmName', vmName, ...narrow });
export const byVm = (vmId: string, vmManagerId: string): ServerSelector => ({ kind: 'vmAddress', vmId, vmManagerId });

// --- desired -----------------------------------------------------------------------------------

export interface DesiredJobOptions {
  readonly onDemandRun?: OnDemandRunRequest;
  readonly preventDestroy?: boolean;
  /** Line of the document in manifests/jobs.yaml (its selector is on the next line). */
  readonly line?: number;
  readonly file?: string;
  /** `spec.wave`. */
  readonly wave?: number;
}

export function job(name: string, selector: ServerSelector, spec: JobSpec = {}, o: DesiredJobOptions = {}): DesiredJob {
  const line = o.line ?? 1;
  return {
    address: resourceAddress('ReplicationJob', name),
    name,
    selector,
    spec,
    ...(o.onDemandRun ? { onDemandRun: o.onDemandRun } : {}),
    lifecycle: { preventDestroy: o.preventDestroy ?? false },
    ...(o.wave === undefined ? {} : { wave: o.wave }),
    source: pos(line, o.file),
    selectorSource: pos(line + 5, o.file, '/spec/server', 3),
  };
}

export interface JobSetOptions {
  readonly template?: JobSpec;
  readonly servers?: readonly { readonly selector: ServerSelector; readonly overrides?: JobSpec }[];
  readonly match?: ServerMatch;
  readonly onDemandRun?: OnDemandRunRequest;
  readonly preventDestroy?: boolean;
  readonly line?: number;
  /** `spec.wave`. */
  readonly wave?: number;
}

export function jobSet(name: string, o: JobSetOptions): DesiredJobSet {
  const line = o.line ?? 1;
  const servers: DesiredJobSetServer[] = (o.servers ?? []).map((e, i) => ({
    selector: e.selector,
    overrides: e.overrides ?? {},
    source: pos(line + 10 + 3 * i, 'manifests/sets.yaml', `/spec/servers/${i}`, 7),
  }));
  return {
    name,
    template: o.template ?? {},
    servers,
    ...(o.match ? { match: o.match, matchSource: pos(line + 8, 'manifests/sets.yaml', '/spec/match', 3) } : {}),
    ...(o.onDemandRun ? { onDemandRun: o.onDemandRun } : {}),
    lifecycle: { preventDestroy: o.preventDestroy ?? false },
    ...(o.wave === undefined ? {} : { wave: o.wave }),
    source: pos(line, 'manifests/sets.yaml'),
  };
}

export function catalogDoc(maxAgeHours?: number, name = 'catalog'): DesiredCatalog {
  return { address: resourceAddress('ServerCatalog', name), name, imported: true, ...(maxAgeHours === undefined ? {} : { maxAgeHours }), source: pos(1, 'manifests/catalog.yaml') };
}

export function connectorDoc(name: string, connectorId: string): DesiredConnector {
  return { address: resourceAddress('Connector', name), name, connectorId, associated: false, source: pos(1, 'manifests/connectors.yaml') };
}

export interface DesiredInput {
  readonly jobs?: readonly DesiredJob[];
  readonly jobSets?: readonly DesiredJobSet[];
  readonly catalogs?: readonly DesiredCatalog[];
  readonly connectors?: readonly DesiredConnector[];
}

export function desired(d: DesiredInput = {}): DesiredSet {
  return createDesiredSet({ jobs: d.jobs ?? [], jobSets: d.jobSets ?? [], catalogs: d.catalogs ?? [], connectors: d.connectors ?? [] });
}

// --- state -------------------------------------------------------------------------------------

export interface RecordOptions {
  readonly preventDestroy?: boolean;
  readonly onDemandRunToken?: string;
}

/** A state record of `address` managing `live` (or a job id and server that may be gone), applied with `appliedSpec`. */
export function record(
  address: Address,
  live: Pick<ReplicationJobInfo, 'replicationJobId' | 'serverId'>,
  appliedSpec: JobSpec,
  o: RecordOptions = {},
): ResourceRecord {
  return {
    address,
    kind: address.startsWith('ReplicationJobSet/') ? 'ReplicationJobSet' : 'ReplicationJob',
    replicationJobId: live.replicationJobId,
    serverId: live.serverId,
    appliedSpec,
    preventDestroy: o.preventDestroy ?? false,
    ...(o.onDemandRunToken === undefined ? {} : { onDemandRunToken: o.onDemandRunToken }),
    updatedAt: '2026-11-26T19:00:00.000Z',
  };
}

export function state(records: readonly ResourceRecord[], o: { serial?: number; lineage?: string; target?: TargetIdentity } = {}): StateDocument {
  return {
    formatVersion: 1,
    lineage: o.lineage ?? LINEAGE,
    serial: o.serial ?? 3,
    target: o.target ?? TEST_TARGET,
    resources: Object.fromEntries(records.map((r) => [r.address, r])),
    pending: [],
  };
}

export function diffOptions(o: Partial<DiffOptions> = {}): DiffOptions {
  return { ...DEFAULT_DIFF_OPTIONS, now: T0, ...o };
}
