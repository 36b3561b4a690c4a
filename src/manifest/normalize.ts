/**
 * Valid documents -> DesiredSet: timestamps parsed to epoch seconds, defaults applied
 * (lifecycle.preventDestroy false), selectors into the model's tagged union; plus the checks that
 * need every document at once.
 *
 * Invariants:
 * - Deterministic: the same documents (in any order) give the same DesiredSet and digest; the
 *   diagnostics depend on the order only in which of two duplicates is "first" (the earlier one in
 *   the order given, which load.ts makes stable).
 * - A field absent from a document is absent from the JobSpec (never filled with a service default).
 * - Cross-document checks: a kind/name declared twice (SMSR-M050); one literal server selected by two
 *   jobs (SMSR-M051: same serverId, same vmId + vmManagerId, or the same vmName selector); more than
 *   one ServerCatalog (SMSR-M052); one connectorId in two Connector documents (SMSR-M053). The first
 *   declaration is kept; the later one is reported with `related` pointing at the first. One literal
 *   server put in two different waves is SMSR-M054 at both positions (each pointing at the other).
 * - desiredToDocuments is the inverse up to formatting: normalizing its output gives the same digest.
 */
import { resourceAddress, type ManifestKind } from '../model/address.ts';
import {
  createDesiredSet,
  createDesiredSetStepwise,
  type DesiredCatalog,
  type DesiredConnector,
  type DesiredJob,
  type DesiredJobSet,
  type DesiredJobSetServer,
  type DesiredSet,
  type Lifecycle,
  type OnDemandRunRequest,
} from '../model/desired.ts';
import type { SourcePosition } from '../model/errors.ts';
import { isJobTimestampField, JOB_SPEC_FIELDS, type JobSpec } from '../model/job.ts';
import type { ServerMatch, ServerSelector } from '../model/server.ts';
import { diagnostic, type Diagnostic, type DiagnosticPosition } from './diagnostics.ts';
import {
  API_VERSION,
  type ConnectorDocument,
  type ManifestDocument,
  type ManifestJobFields,
  type ManifestLifecycle,
  type ManifestOnDemandRun,
  type ManifestServerSelector,
  type ReplicationJobDocument,
  type ReplicationJobSetDocument,
  type ServerCatalogDocument,
} from './document.ts';
import type { ManifestLocator } from './parse.ts';
import { displayPath, type PathSegment } from './source.ts';
import { formatRfc3339, parseRfc3339 } from './timestamp.ts';
import type { ValidDocument } from './validate.ts';

export interface Normalized {
  readonly desired: DesiredSet;
  readonly diagnostics: readonly Diagnostic[];
}

function toSource(p: DiagnosticPosition): SourcePosition {
  return { file: p.file, line: p.line ?? 1, column: p.column ?? 1, pointer: p.pointer ?? '' };
}

function toSelector(s: ManifestServerSelector): ServerSelector {
  if ('serverId' in s) return { kind: 'serverId', serverId: s.serverId };
  if ('vmId' in s) return { kind: 'vmAddress', vmId: s.vmId, vmManagerId: s.vmManagerId };
  const sel: { kind: 'vmName'; vmName: string; vmManagerName?: string; vmPath?: string } = { kind: 'vmName', vmName: s.vmName };
  if (s.vmManagerName !== undefined) sel.vmManagerName = s.vmManagerName;
  if (s.vmPath !== undefined) sel.vmPath = s.vmPath;
  return sel;
}

function fromSelector(s: ServerSelector): ManifestServerSelector {
  switch (s.kind) {
    case 'serverId':
      return { serverId: s.serverId };
    case 'vmAddress':
      return { vmId: s.vmId, vmManagerId: s.vmManagerId };
    case 'vmName': {
      const out: { vmName: string; vmManagerName?: string; vmPath?: string } = { vmName: s.vmName };
      if (s.vmManagerName !== undefined) out.vmManagerName = s.vmManagerName;
      if (s.vmPath !== undefined) out.vmPath = s.vmPath;
      return out;
    }
  }
}

/** A key that two selectors share exactly when they certainly pick the same server. */
function literalServerKey(s: ServerSelector): string {
  switch (s.kind) {
    case 'serverId':
      return `serverId ${s.serverId}`;
    case 'vmAddress':
      return `vmId ${s.vmId} of vmManagerId ${s.vmManagerId}`;
    case 'vmName':
      return `vmName ${s.vmName}${s.vmManagerName === undefined ? '' : ` of ${s.vmManagerName}`}${s.vmPath === undefined ? '' : ` at ${s.vmPath}`}`;
  }
}

/**
 * Builds a DesiredSet one document at a time, so a caller can drop each file's YAML tree as soon as
 * its documents are added (memory stays proportional to one file plus the result).
 */
export class DesiredSetBuilder {
  readonly diagnostics: Diagnostic[] = [];
  private readonly jobs: DesiredJob[] = [];
  private readonly jobSets: DesiredJobSet[] = [];
  private readonly catalogs: DesiredCatalog[] = [];
  private readonly connectors: DesiredConnector[] = [];
  private readonly addresses = new Map<string, DiagnosticPosition>();
  private readonly servers = new Map<string, { where: string; position: DiagnosticPosition; wave: number | undefined }>();
  private readonly connectorIds = new Map<string, DiagnosticPosition>();
  private firstCatalog: DiagnosticPosition | undefined;

  /** Adds one valid document; documents added earlier win over later duplicates. */
  add(v: ValidDocument): void {
    const doc = v.document;
    const loc = v.locator;
    const namePos = loc.locate(['metadata', 'name']);
    const addressKey = resourceAddress(doc.kind as ManifestKind, doc.metadata.name);
    const first = this.addresses.get(addressKey);
    if (first !== undefined) {
      this.diagnostics.push(
        diagnostic('SMSR-M050', `${addressKey} is declared twice`, namePos, {
          hint: 'rename one of them: addresses (kind/metadata.name) are unique across the manifest set',
          related: first,
        }),
      );
      return;
    }
    this.addresses.set(addressKey, namePos);
    const source = toSource(loc.start());
    switch (doc.kind) {
      case 'ReplicationJob':
        this.addJob(doc, loc, addressKey, source);
        return;
      case 'ReplicationJobSet':
        this.addJobSet(doc, loc, addressKey, source);
        return;
      case 'ServerCatalog':
        this.addCatalog(doc, loc, addressKey, source);
        return;
      case 'Connector':
        this.addConnector(doc, loc, addressKey, source);
        return;
    }
  }

  /** A ReplicationJob: its spec, and its server claimed (SMSR-M051 if another job selects it). */
  private addJob(doc: ReplicationJobDocument, loc: ManifestLocator, addressKey: string, source: SourcePosition): void {
    const spec = this.jobSpec(doc.spec, ['spec'], loc);
    const selectorPos = loc.locate(['spec', 'server'], 'key');
    const selector = toSelector(doc.spec.server);
    this.claimServer(selector, addressKey, selectorPos, doc.spec.wave);
    const job: DesiredJob = {
      address: addressKey,
      name: doc.metadata.name,
      selector,
      spec,
      ...optionalOnDemand(doc.spec.onDemandRun),
      lifecycle: lifecycleOf(doc.spec.lifecycle),
      ...(doc.spec.wave === undefined ? {} : { wave: doc.spec.wave }),
      ...cutoverOf(doc.spec.cutover),
      source,
      selectorSource: toSource(selectorPos),
    };
    this.jobs.push(job);
  }

  /** A ReplicationJobSet: its template, and each listed server claimed like a job's. */
  private addJobSet(doc: ReplicationJobSetDocument, loc: ManifestLocator, addressKey: string, source: SourcePosition): void {
    const template = this.jobSpec(doc.spec.template ?? {}, ['spec', 'template'], loc);
    const servers: DesiredJobSetServer[] = (doc.spec.servers ?? []).map((entry, i) => {
      const selector = toSelector(entry.server);
      const selectorPos = loc.locate(['spec', 'servers', i, 'server'], 'key');
      this.claimServer(selector, `${addressKey} (spec.servers[${i}])`, selectorPos, doc.spec.wave);
      const overrides = this.jobSpec(entry, ['spec', 'servers', i], loc);
      return { selector, overrides, ...(entry.cutover === undefined ? {} : { cutover: entry.cutover }), source: toSource(selectorPos) };
    });
    const set: DesiredJobSet = {
      name: doc.metadata.name,
      template,
      servers,
      ...(doc.spec.match === undefined ? {} : { match: matchOf(doc.spec.match), matchSource: toSource(loc.locate(['spec', 'match'])) }),
      ...optionalOnDemand(doc.spec.onDemandRun),
      lifecycle: lifecycleOf(doc.spec.lifecycle),
      ...(doc.spec.wave === undefined ? {} : { wave: doc.spec.wave }),
      ...cutoverOf(doc.spec.cutover),
      source,
    };
    this.jobSets.push(set);
  }

  /** A ServerCatalog: at most one per manifest set (SMSR-M052 for the later ones, which are still added). */
  private addCatalog(doc: ServerCatalogDocument, loc: ManifestLocator, addressKey: string, source: SourcePosition): void {
    if (this.firstCatalog !== undefined) {
      this.diagnostics.push(
        diagnostic('SMSR-M052', `more than one ServerCatalog document (${addressKey})`, loc.locate(['kind']), {
          hint: 'there is one catalog per account and region: keep one ServerCatalog document',
          related: this.firstCatalog,
        }),
      );
    } else {
      this.firstCatalog = loc.locate(['kind']);
    }
    const catalog: DesiredCatalog = {
      address: addressKey,
      name: doc.metadata.name,
      imported: true,
      ...(doc.spec.maxAgeHours === undefined ? {} : { maxAgeHours: doc.spec.maxAgeHours }),
      source,
    };
    this.catalogs.push(catalog);
  }

  /** A Connector: one document per connectorId (SMSR-M053 for the later ones, which are still added). */
  private addConnector(doc: ConnectorDocument, loc: ManifestLocator, addressKey: string, source: SourcePosition): void {
    const idPos = loc.locate(['spec', 'connectorId']);
    const firstId = this.connectorIds.get(doc.spec.connectorId);
    if (firstId !== undefined) {
      this.diagnostics.push(
        diagnostic('SMSR-M053', `connector ${doc.spec.connectorId} is declared by two Connector documents`, idPos, {
          hint: 'keep one Connector document per connector',
          related: firstId,
        }),
      );
    } else {
      this.connectorIds.set(doc.spec.connectorId, idPos);
    }
    this.connectors.push({ address: addressKey, name: doc.metadata.name, connectorId: doc.spec.connectorId, associated: false, source });
  }

  /** The set of everything added so far, and the cross-document diagnostics. */
  build(): Normalized {
    const desired = createDesiredSet({ jobs: this.jobs, jobSets: this.jobSets, catalogs: this.catalogs, connectors: this.connectors });
    return { desired, diagnostics: [...this.diagnostics] };
  }

  /** build() as steps (createDesiredSetStepwise): for a thread with other work meanwhile. */
  *buildStepwise(): Generator<void, Normalized> {
    const desired = yield* createDesiredSetStepwise({ jobs: this.jobs, jobSets: this.jobSets, catalogs: this.catalogs, connectors: this.connectors });
    return { desired, diagnostics: [...this.diagnostics] };
  }

  /**
   * Claims the server a selector certainly picks. A second claim is SMSR-M051 at the later one; when
   * the two claims put the server in different waves it is SMSR-M054 instead, at both positions, each
   * naming the other file: either document may be the one to fix.
   */
  private claimServer(selector: ServerSelector, owner: string, position: DiagnosticPosition, wave: number | undefined): void {
    const key = literalServerKey(selector);
    const first = this.servers.get(key);
    if (first !== undefined && first.wave !== wave) {
      const waveName = (w: number | undefined) => (w === undefined ? 'no wave' : `wave ${w}`);
      const hint = 'a server is in one wave: give both documents the same spec.wave, or remove one of the two selections';
      const at = (p: DiagnosticPosition) => `${p.file}:${p.line ?? 1}:${p.column ?? 1}`;
      this.diagnostics.push(
        diagnostic('SMSR-M054', `${owner} puts ${key} in ${waveName(wave)}, but ${first.where} (${at(first.position)}) puts it in ${waveName(first.wave)}`, position, { hint, related: first.position }),
        diagnostic('SMSR-M054', `${first.where} puts ${key} in ${waveName(first.wave)}, but ${owner} (${at(position)}) puts it in ${waveName(wave)}`, first.position, { hint, related: position }),
      );
      return;
    }
    if (first !== undefined) {
      this.diagnostics.push(
        diagnostic('SMSR-M051', `${owner} selects the same server as ${first.where} (${key})`, position, {
          hint: 'a server has one replication job: remove one of the two selections',
          related: first.position,
        }),
      );
      return;
    }
    this.servers.set(key, { where: owner, position, wave });
  }

  private jobSpec(fields: ManifestJobFields, base: readonly PathSegment[], loc: ManifestLocator): JobSpec {
    const spec: JobSpec = {};
    for (const f of JOB_SPEC_FIELDS) {
      const v = fields[f];
      if (v === undefined) continue;
      if (isJobTimestampField(f)) {
        const parsed = parseRfc3339(String(v));
        if (parsed.ok) {
          spec[f] = parsed.epochSeconds;
        } else {
          const path = [...base, f];
          this.diagnostics.push(diagnostic('SMSR-M036', `${displayPath(path)} ${JSON.stringify(v)} ${parsed.reason}`, loc.locate(path), { hint: parsed.hint }));
        }
        continue;
      }
      // The schema checked each field's type; JobSpec and ManifestJobFields agree on the others.
      (spec as Record<string, unknown>)[f] = v;
    }
    return spec;
  }
}

function optionalOnDemand(r: ManifestOnDemandRun | undefined): { onDemandRun?: OnDemandRunRequest } {
  if (r === undefined) return {};
  return { onDemandRun: r.description === undefined ? { token: r.token } : { token: r.token, description: r.description } };
}

function lifecycleOf(l: ManifestLifecycle | undefined): Lifecycle {
  return { preventDestroy: l?.preventDestroy ?? false };
}

/** `cutover: true` is kept; false and absent are the same (not migrated). */
function cutoverOf(c: boolean | undefined): { cutover?: true } {
  return c === true ? { cutover: true } : {};
}

function matchOf(m: ServerMatch): ServerMatch {
  const out: { vmManagerName?: string; vmPathPrefix?: string; vmNameGlob?: string } = {};
  if (m.vmManagerName !== undefined) out.vmManagerName = m.vmManagerName;
  if (m.vmPathPrefix !== undefined) out.vmPathPrefix = m.vmPathPrefix;
  if (m.vmNameGlob !== undefined) out.vmNameGlob = m.vmNameGlob;
  return out;
}

/** Normalizes valid documents (in a stable order) into a DesiredSet plus cross-document diagnostics. */
export function normalizeDocuments(documents: readonly ValidDocument[]): Normalized {
  const builder = new DesiredSetBuilder();
  for (const d of documents) builder.add(d);
  return builder.build();
}

function toManifestFields(spec: Readonly<JobSpec>): ManifestJobFields {
  const out: Record<string, unknown> = {};
  for (const f of JOB_SPEC_FIELDS) {
    const v = spec[f];
    if (v === undefined) continue;
    out[f] = isJobTimestampField(f) ? formatRfc3339(v as number) : v;
  }
  return out as ManifestJobFields;
}

function waveField(wave: number | undefined): { wave?: number } {
  return wave === undefined ? {} : { wave };
}

function lifecycleField(l: Lifecycle): { lifecycle?: ManifestLifecycle } {
  return l.preventDestroy ? { lifecycle: { preventDestroy: true } } : {};
}

/**
 * Manifest documents that declare `set`, in address order: the inverse of normalizeDocuments up to
 * formatting (timestamps in UTC, defaults left out). Used by export and the round-trip tests.
 */
export function desiredToDocuments(set: DesiredSet): ManifestDocument[] {
  const docs: ManifestDocument[] = [];
  for (const c of set.catalogs.values()) {
    docs.push({ apiVersion: API_VERSION, kind: 'ServerCatalog', metadata: { name: c.name }, spec: { imported: true, ...(c.maxAgeHours === undefined ? {} : { maxAgeHours: c.maxAgeHours }) } });
  }
  for (const c of set.connectors.values()) {
    docs.push({ apiVersion: API_VERSION, kind: 'Connector', metadata: { name: c.name }, spec: { connectorId: c.connectorId, associated: false } });
  }
  for (const j of set.jobs.values()) {
    docs.push({
      apiVersion: API_VERSION,
      kind: 'ReplicationJob',
      metadata: { name: j.name },
      spec: {
        server: fromSelector(j.selector),
        ...toManifestFields(j.spec),
        ...(j.onDemandRun ? { onDemandRun: { ...j.onDemandRun } } : {}),
        ...lifecycleField(j.lifecycle),
        ...cutoverOf(j.cutover),
        ...waveField(j.wave),
      },
    });
  }
  for (const s of set.jobSets.values()) {
    const template = toManifestFields(s.template);
    docs.push({
      apiVersion: API_VERSION,
      kind: 'ReplicationJobSet',
      metadata: { name: s.name },
      spec: {
        ...(Object.keys(template).length > 0 ? { template } : {}),
        ...(s.servers.length > 0
          ? { servers: s.servers.map((e) => ({ server: fromSelector(e.selector), ...toManifestFields(e.overrides), ...(e.cutover === undefined ? {} : { cutover: e.cutover }) })) }
          : {}),
        ...(s.match ? { match: { ...s.match } } : {}),
        ...(s.onDemandRun ? { onDemandRun: { ...s.onDemandRun } } : {}),
        ...lifecycleField(s.lifecycle),
        ...waveField(s.wave),
        ...cutoverOf(s.cutover),
      },
    });
  }
  return docs;
}
