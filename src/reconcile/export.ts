/**
 * `export`: manifest documents that describe the live jobs, and the state records that adopt the
 * ones not managed yet. PURE (the CLI reads the world and the state, and writes files).
 *
 * What a document says, and why a plan on it finds nothing to do:
 * - A job this state does not manage yet: its server, and every job field the service reports
 *   (`runOnce: true` without a frequency, or the frequency), the schedule left out. Its adoption
 *   record says the same fields were applied.
 * - A job the state manages: under its address, the fields the state says were applied (so the same
 *   fields stay managed, none is added), with their live values; `lifecycle.preventDestroy` and
 *   `onDemandRun.token` as the state records them. Members of a ReplicationJobSet become that set,
 *   with each server listed (`spec.servers`), the fields all members share in `spec.template`.
 * - A server the state records as migrated (its job retired by cutover): under its address, the
 *   fields the state says were applied, and `cutover: true` (a set's `servers[].cutover`), so the
 *   plan keeps it migrated instead of creating a job.
 * - The schedule (seedReplicationTime, nextReplicationRunStartTime) moves by itself or is fixed at
 *   creation; it is never written. Nothing the state does not record is written either (labels,
 *   `match`, an on-demand run's description, `maxAgeHours`, connectors).
 * `checkExport` plans the documents against the same world and the state after the export: the
 * CLI's closing message is what that plan says, not an assumption.
 */
import { stringify } from 'yaml';
import { checkManifests } from '../manifest/check.ts';
import { NAME_MAX_LENGTH, parseAddress, type Address } from '../model/address.ts';
import { JOB_SPEC_FIELDS, isJobTimestampField, type JobSpec, type JobSpecField } from '../model/job.ts';
import type { ReplicationJobInfo, ServerInfo } from '../sms/api.ts';
import type { ResourceRecord, ResourceWrite, StateDocument } from '../state/codec.ts';
import type { Change } from './change.ts';
import { DEFAULT_DIFF_OPTIONS, diff, type PlanProblem } from './diff.ts';
import { liveSpec } from './live-spec.ts';
import { isTerminated, type ObservedSet } from './observed.ts';

/** One exported file: a document and the name of its file (without `.yaml`). */
export interface ExportedDocument {
  readonly file: string;
  readonly document: Record<string, unknown>;
}

export interface ExportResult {
  /** The catalog first (when AVAILABLE), then jobs and sets by file name. */
  readonly documents: readonly ExportedDocument[];
  /** How many live jobs the documents describe. */
  readonly jobs: number;
  /** Records for the jobs the state does not manage yet (write them to adopt). */
  readonly adopt: readonly ResourceWrite[];
}

export interface ExportOptions {
  /** RFC 3339, for the adoption records. */
  readonly at: string;
  /** The root the documents are written under (model/manifest-roots.ts), recorded with the adoptions. */
  readonly manifestRoot?: string;
}

/** Fields never written: the schedule moves by itself (next run) or is fixed at creation (seed). */
const SCHEDULE: ReadonlySet<JobSpecField> = new Set(['seedReplicationTime', 'nextReplicationRunStartTime']);

/** An address-safe name from a VM name: lowercase, runs of other characters become '-'. */
export function safeName(vmName: string): string {
  const s = vmName.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  return (s || 'job').slice(0, NAME_MAX_LENGTH).replace(/-+$/, '');
}

/** Jobs export describes: not being deleted, and not ended (but a one-time job that completed). */
export function exportable(job: ReplicationJobInfo): boolean {
  return job.state !== 'DELETING' && (!isTerminated(job) || (job.state === 'COMPLETED' && job.runOnce === true));
}

function iso(epochSeconds: number): string {
  return new Date(Math.floor(epochSeconds) * 1000).toISOString().replace('.000Z', 'Z');
}

/** The manifest value of a job field (timestamps as RFC 3339). */
function manifestValue(field: JobSpecField, value: JobSpec[JobSpecField]): unknown {
  return isJobTimestampField(field) && typeof value === 'number' ? iso(value) : value;
}

/** A selector that picks exactly this server: by VM name and manager when unique, else by VM address, else by id. */
function selectorOf(job: Pick<ReplicationJobInfo, 'serverId' | 'vmServer'>, server: ServerInfo | undefined, servers: readonly ServerInfo[]): Record<string, string> {
  const v = server?.vmServer ?? job.vmServer;
  const sameName = servers.filter((s) => s.vmServer.vmName === v?.vmName && s.vmServer.vmManagerName === v?.vmManagerName);
  if (v?.vmName && v.vmManagerName && sameName.length === 1) return { vmName: v.vmName, vmManagerName: v.vmManagerName };
  if (v?.vmServerAddress?.vmId && v.vmServerAddress.vmManagerId) return { vmId: v.vmServerAddress.vmId, vmManagerId: v.vmServerAddress.vmManagerId };
  return { serverId: job.serverId };
}

/** The fields of a job the state does not manage: what the service reports (runOnce or frequency), no schedule. */
function unmanagedSpec(job: ReplicationJobInfo): JobSpec {
  const s = liveSpec(job);
  const out: JobSpec = {};
  if (s.runOnce) out.runOnce = true;
  else if (s.frequency !== undefined) out.frequency = s.frequency;
  for (const f of ['licenseType', 'roleName', 'description', 'numberOfRecentAmisToKeep', 'encrypted', 'kmsKeyId'] as const) {
    if (s[f] !== undefined) Object.assign(out, { [f]: s[f] });
  }
  return out;
}

/** The fields the state says were applied (no schedule), with their live values where the job reports them (a migrated server has none). */
function managedSpec(job: ReplicationJobInfo | undefined, rec: ResourceRecord): JobSpec {
  const live = job === undefined ? {} : liveSpec(job);
  const out: JobSpec = {};
  for (const f of JOB_SPEC_FIELDS) {
    if (SCHEDULE.has(f) || rec.appliedSpec[f] === undefined) continue;
    Object.assign(out, { [f]: live[f] ?? rec.appliedSpec[f] });
  }
  return out;
}

function specFields(spec: JobSpec): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of JOB_SPEC_FIELDS) if (spec[f] !== undefined) out[f] = manifestValue(f, spec[f]);
  return out;
}

function lifecycleAndRun(preventDestroy: boolean, token: string | undefined): Record<string, unknown> {
  return { ...(token !== undefined ? { onDemandRun: { token } } : {}), ...(preventDestroy ? { lifecycle: { preventDestroy: true } } : {}) };
}

function doc(kind: string, name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'sms-reconcile/v1', kind, metadata: { name }, spec };
}

/** A managed job of a set, or a migrated server of it (no job: cut over, its job retired). */
interface SetMember {
  readonly job: ReplicationJobInfo | undefined;
  readonly rec: ResourceRecord;
  readonly serverId: string;
}

/** `cutover: true` for a migrated server (so the export round trip plans nothing for it). */
function cutoverField(rec: ResourceRecord | undefined): Record<string, unknown> {
  return rec?.migrated !== undefined ? { cutover: true } : {};
}

/** A ReplicationJobSet that lists each member's server; the fields every member has alike form its template. */
function setDocument(name: string, members: readonly SetMember[], observed: ObservedSet): Record<string, unknown> {
  const specs = members.map((m) => managedSpec(m.job, m.rec));
  const template: JobSpec = {};
  for (const f of JOB_SPEC_FIELDS) {
    const first = specs[0]?.[f];
    if (first !== undefined && specs.every((s) => s[f] === first)) Object.assign(template, { [f]: first });
  }
  const servers = members.map((m, i) => {
    const own: JobSpec = {};
    for (const f of JOB_SPEC_FIELDS) if (template[f] === undefined && specs[i]?.[f] !== undefined) Object.assign(own, { [f]: specs[i]?.[f] });
    return { server: selectorOf(m.job ?? { serverId: m.serverId }, observed.servers.get(m.serverId), observed.catalog.servers), ...specFields(own), ...cutoverField(m.rec) };
  });
  // Protection is per set in a manifest: kept when any member has it (never dropped).
  const preventDestroy = members.some((m) => m.rec.preventDestroy);
  // A token is written only when every member recorded the same one (another would start runs).
  const tokens = new Set(members.map((m) => m.rec.onDemandRunToken));
  const token = tokens.size === 1 ? [...tokens][0] : undefined;
  return doc('ReplicationJobSet', name, {
    ...(Object.keys(template).length > 0 ? { template: specFields(template) } : {}),
    servers,
    ...lifecycleAndRun(preventDestroy, token),
  });
}

/** The documents that describe the live jobs of `observed`, given the state `prior`. */
export function exportDocuments(observed: ObservedSet, prior: StateDocument | undefined, options: ExportOptions): ExportResult {
  const records = Object.values(prior?.resources ?? {});
  const byJob = new Map(records.filter((r) => r.replicationJobId !== undefined).map((r) => [r.replicationJobId, r]));
  const usedAddresses = new Set(records.map((r) => r.address));
  const jobs: { name: string; job: ReplicationJobInfo | undefined; rec: ResourceRecord | undefined; serverId: string }[] = [];
  const sets = new Map<string, SetMember[]>();
  for (const rec of records) {
    const parsed = rec.migrated !== undefined && rec.serverId !== undefined ? parseAddress(rec.address) : undefined;
    if (parsed?.kind === 'ReplicationJobSet') sets.set(parsed.name, [...(sets.get(parsed.name) ?? []), { job: undefined, rec, serverId: rec.serverId ?? '' }]);
    else if (parsed?.kind === 'ReplicationJob') jobs.push({ name: parsed.name, job: undefined, rec, serverId: rec.serverId ?? '' });
  }
  for (const job of observed.jobs.values()) {
    if (!exportable(job)) continue;
    const rec = byJob.get(job.replicationJobId);
    const parsed = rec ? parseAddress(rec.address) : undefined;
    if (rec && parsed?.kind === 'ReplicationJobSet') {
      sets.set(parsed.name, [...(sets.get(parsed.name) ?? []), { job, rec, serverId: job.serverId }]);
      continue;
    }
    if (rec && parsed?.kind === 'ReplicationJob') {
      jobs.push({ name: parsed.name, job, rec, serverId: job.serverId });
      continue;
    }
    const stem = safeName(job.vmServer?.vmName ?? job.serverId);
    let name = stem;
    for (let i = 2; usedAddresses.has(`ReplicationJob/${name}`); i++) name = `${stem.slice(0, NAME_MAX_LENGTH - String(i).length - 1)}-${i}`;
    usedAddresses.add(`ReplicationJob/${name}`);
    jobs.push({ name, job, rec: undefined, serverId: job.serverId });
  }

  const files = new Set<string>();
  const fileFor = (name: string, suffix: string): string => {
    let file = name;
    for (let i = 2; files.has(file); i++) file = `${name}${suffix}${i === 2 ? '' : `-${i}`}`;
    files.add(file);
    return file;
  };
  const documents: ExportedDocument[] = [];
  if (observed.catalog.status === 'AVAILABLE') {
    documents.push({ file: fileFor('catalog', '-catalog'), document: doc('ServerCatalog', 'catalog', { imported: true }) });
  }
  const adopt: ResourceWrite[] = [];
  const described: ExportedDocument[] = [];
  for (const { name, job, rec, serverId } of jobs) {
    const spec = rec ? managedSpec(job, rec) : job ? unmanagedSpec(job) : {};
    const selector = selectorOf(job ?? { serverId }, observed.servers.get(serverId), observed.catalog.servers);
    described.push({
      file: name,
      document: doc('ReplicationJob', name, { server: selector, ...specFields(spec), ...lifecycleAndRun(rec?.preventDestroy ?? false, rec?.onDemandRunToken), ...cutoverField(rec) }),
    });
    if (!rec && job) {
      const address: Address = `ReplicationJob/${name}`;
      const seed = liveSpec(job).seedReplicationTime;
      const record: ResourceRecord = {
        address,
        kind: 'ReplicationJob',
        replicationJobId: job.replicationJobId,
        serverId: job.serverId,
        appliedSpec: seed === undefined ? spec : { ...spec, seedReplicationTime: seed },
        preventDestroy: false,
        ...(options.manifestRoot !== undefined ? { manifestRoot: options.manifestRoot } : {}),
        updatedAt: options.at,
      };
      adopt.push({ address, record });
    }
  }
  const vmNameOf = (m: SetMember): string => m.job?.vmServer?.vmName ?? observed.servers.get(m.serverId)?.vmServer.vmName ?? '';
  const byVmName = (a: SetMember, b: SetMember): number => {
    const ka = `${vmNameOf(a)}\u0000${a.serverId}`;
    const kb = `${vmNameOf(b)}\u0000${b.serverId}`;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  };
  for (const [name, members] of sets) described.push({ file: name, document: setDocument(name, [...members].sort(byVmName), observed) });
  described.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.document['kind'] === 'ReplicationJob' ? -1 : 1));
  for (const d of described) documents.push({ file: fileFor(d.file, d.document['kind'] === 'ReplicationJobSet' ? '-set' : '-job'), document: d.document });
  const live = (m: { job: ReplicationJobInfo | undefined }) => m.job !== undefined;
  return { documents, jobs: jobs.filter(live).length + [...sets.values()].reduce((n, m) => n + m.filter(live).length, 0), adopt };
}

/** The documents as YAML, one file's text each. */
export function exportText(d: ExportedDocument): string {
  return stringify(d.document);
}

/** What a plan on the exported documents would do: its changes other than no-op, and its problems. */
export interface ExportCheck {
  readonly changes: readonly Change[];
  readonly problems: readonly PlanProblem[];
}

/**
 * Plans the exported documents against the world they were exported from and the state after the
 * export, as `plan -f` on the written files would (the text goes through the manifest checker).
 */
export function checkExport(documents: readonly ExportedDocument[], observed: ObservedSet, state: StateDocument | undefined, nowSeconds: number): ExportCheck {
  const check = checkManifests(documents.map((d) => ({ file: `${d.file}.yaml`, content: exportText(d) })));
  if (!check.desired) {
    return { changes: [], problems: check.diagnostics.map((d) => ({ code: d.code, message: `${d.position.file}: ${d.summary}` })) };
  }
  const result = diff(check.desired, observed, state, { ...DEFAULT_DIFF_OPTIONS, now: nowSeconds, maxConcurrentJobs: Number.MAX_SAFE_INTEGER });
  return { changes: result.changes.filter((c) => c.action !== 'no-op'), problems: result.problems };
}
