/**
 * Property: for random desired sets, random live worlds and random states, applying the plan's
 * changes to the world with a small pure model (below) gives a world and a state whose re-plan is
 * all no-op, with no problems. Seeded (mulberry32): a failure prints its seed, and
 * `DIFF_PROPERTY_SEED=n` replays one case.
 *
 * The model does what each action says, the way the executor records state and the service
 * behaves: create -> a new live job with the `after` spec and the service's defaults; update ->
 * the changed fields (only updatable ones: UpdateReplicationJob has no runOnce/seed members, and
 * the service refuses an update of a terminated or deleting job, or a next run in the past);
 * delete -> DELETED; replace -> DELETED then a new job; adopt/move -> the state record (then an
 * update when fields differ); start-run -> the token; import-catalog -> AVAILABLE, then a re-plan
 * for the jobs that waited (as apply does); disassociate-connector -> the connector leaves.
 */
import { describe, expect, it } from 'vitest';
import { resourceAddress, type Address } from '../../src/model/address.ts';
import type { DesiredJob, DesiredJobSet, DesiredSet } from '../../src/model/desired.ts';
import { FIELD_POLICY, serviceDefaultFor } from '../../src/model/field-policy.ts';
import { JOB_SPEC_FIELDS, type JobSpec, type ReplicationJobState } from '../../src/model/job.ts';
import type { ServerSelector } from '../../src/model/server.ts';
import { membersOf, type Change, type ChangeMembers } from '../../src/reconcile/change.ts';
import { diff, type DiffResult } from '../../src/reconcile/diff.ts';
import { observe, isTerminated } from '../../src/reconcile/observed.ts';
import type { ConnectorInfo, ReplicationJobInfo, ServerInfo } from '../../src/sms/api.ts';
import type { ResourceRecord, StateDocument } from '../../src/state/codec.ts';
import {
  byId, byName, byVm, catalogDoc, connector, connectorDoc, connectorIdOf, DAY, desired, diffOptions, HOUR, job, jobIdOf, jobSet, MANAGER_A, MANAGER_B,
  record, server, state, T0,
} from '../helpers/desired.ts';
import { mulberry32 } from '../helpers/random.ts';

const CASES = 200;
const FIRST_SEED = 0x5eed;


class Gen {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)] as T;
  }
  shuffle<T>(xs: readonly T[]): T[] {
    const out = [...xs];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  }
}

// The catalog: ordinary VMs (picked by job documents and set entries) and batch VMs (only the set's match picks those).
const ORDINARY = [
  server(1, { vmName: 'web-01' }), server(2, { vmName: 'web-02' }), server(3, { vmName: 'web-03' }), server(4, { vmName: 'app-01' }),
  server(5, { vmName: 'app-02', manager: MANAGER_B }), server(6, { vmName: 'db-01', manager: MANAGER_B }),
];
const BATCH = [server(7, { vmName: 'batch-01' }), server(8, { vmName: 'batch-02', manager: MANAGER_B })];
const INVENTORY = [...ORDINARY, ...BATCH];
const CONNECTORS: readonly ConnectorInfo[] = [connector(1, MANAGER_A), connector(2, MANAGER_B), connector(3, MANAGER_A)];
const JOB_NAMES = ['alpha', 'beta', 'gamma', 'delta', 'omega'];

/** A random job spec, valid for the service (a one-time job has no frequency or next run). */
function randomSpec(g: Gen, opts: { allowRunOnce?: boolean; density?: number } = {}): JobSpec {
  const d = opts.density ?? 0.35;
  const spec: JobSpec = {};
  if ((opts.allowRunOnce ?? true) && g.chance(0.25)) spec.runOnce = g.chance(0.6);
  if (spec.runOnce !== true && g.chance(d)) spec.frequency = g.pick([1, 6, 12, 24]);
  if (g.chance(d * 0.6)) spec.seedReplicationTime = g.pick([T0 - DAY, T0 - 2 * DAY, T0 + HOUR]);
  if (spec.runOnce !== true && g.chance(d * 0.5)) spec.nextReplicationRunStartTime = g.pick([T0 + 2 * HOUR, T0 + 5 * HOUR, T0 - HOUR]);
  if (g.chance(d)) spec.licenseType = g.pick(['AWS', 'BYOL'] as const);
  if (g.chance(d)) spec.roleName = g.pick(['sms', 'sms-2']);
  if (g.chance(d)) spec.description = g.pick(['a', 'b']);
  if (g.chance(d)) spec.numberOfRecentAmisToKeep = g.pick([0, 3]);
  if (g.chance(d)) spec.encrypted = g.chance(0.5);
  if (g.chance(d * 0.5)) spec.kmsKeyId = g.pick(['alias/a', 'alias/b']);
  return spec;
}

/** A job as the service reports it after a create with `spec` at `now`. */
function serviceJob(id: string, s: ServerInfo, spec: JobSpec, now: number, jobState: ReplicationJobState): ReplicationJobInfo {
  const runOnce = spec.runOnce ?? false;
  const seed = spec.seedReplicationTime ?? now;
  const frequency = runOnce ? undefined : (spec.frequency ?? 24);
  const out: Record<string, unknown> = {
    replicationJobId: id,
    serverId: s.serverId,
    state: jobState,
    vmServer: s.vmServer,
    runOnce,
    frequency,
    seedReplicationTime: seed,
    nextReplicationRunStartTime: spec.nextReplicationRunStartTime ?? (runOnce ? undefined : Math.max(seed, now) + (frequency ?? 24) * HOUR),
    licenseType: spec.licenseType,
    roleName: spec.roleName,
    description: spec.description,
    numberOfRecentAmisToKeep: spec.numberOfRecentAmisToKeep ?? 0,
    encrypted: spec.encrypted ?? false,
    kmsKeyId: spec.kmsKeyId,
    replicationRunList: [],
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined)) as unknown as ReplicationJobInfo;
}

const selectorFor = (g: Gen, s: ServerInfo): ServerSelector =>
  g.pick([
    () => byId(s.serverId),
    () => byName(s.vmServer.vmName ?? ''),
    () => byVm(s.vmServer.vmServerAddress?.vmId ?? '', s.vmServer.vmServerAddress?.vmManagerId ?? ''),
  ])();

interface Scenario {
  readonly desired: DesiredSet;
  readonly world: World;
  readonly prior: StateDocument | undefined;
}

/** The live world the model mutates. */
interface World {
  status: 'AVAILABLE' | 'NOT_IMPORTED';
  lastModifiedOn: number;
  jobs: ReplicationJobInfo[];
  connectors: ConnectorInfo[];
  nextJob: number;
}

const observeWorld = (w: World) =>
  observe({ status: w.status, lastModifiedOn: w.lastModifiedOn, servers: w.status === 'AVAILABLE' ? INVENTORY : [] }, w.jobs, w.connectors);

function generate(seed: number): Scenario {
  const g = new Gen(seed);
  const notImported = g.chance(0.12);
  const stale = !notImported && g.chance(0.1);

  // Desired: job documents on distinct ordinary servers, maybe a set with explicit entries and a batch match.
  const ordinary = g.shuffle(ORDINARY);
  const names = g.shuffle(JOB_NAMES);
  const jobs: DesiredJob[] = [];
  const wantedAt = new Map<string, Address>();
  const jobCount = g.int(0, 4);
  for (let i = 0; i < jobCount; i++) {
    const s = ordinary.shift()!;
    const name = names[i]!;
    jobs.push(job(name, selectorFor(g, s), randomSpec(g), { preventDestroy: g.chance(0.15), ...(g.chance(0.3) ? { onDemandRun: { token: g.pick(['t1', 't2']) } } : {}) }));
    wantedAt.set(s.serverId, resourceAddress('ReplicationJob', name));
  }
  const jobSets: DesiredJobSet[] = [];
  if (g.chance(0.5)) {
    const template = randomSpec(g);
    const entries = ordinary.splice(0, g.int(0, 2)).map((s) => {
      const overrides = randomSpec(g, { allowRunOnce: false, density: 0.25 });
      if (template.runOnce === true) {
        delete overrides.frequency;
        delete overrides.nextReplicationRunStartTime;
      }
      wantedAt.set(s.serverId, `ReplicationJobSet/fleet[${s.serverId}]`);
      return { selector: selectorFor(g, s), overrides };
    });
    const match = g.chance(0.6) ? { vmNameGlob: 'batch-*' } : undefined;
    if (match) for (const s of BATCH) wantedAt.set(s.serverId, `ReplicationJobSet/fleet[${s.serverId}]`);
    jobSets.push(jobSet('fleet', { template, servers: entries, ...(match ? { match } : {}), preventDestroy: g.chance(0.1), ...(g.chance(0.3) ? { onDemandRun: { token: g.pick(['t1', 't2']) } } : {}) }));
  }
  const catalogs = notImported || stale || g.chance(0.3) ? [catalogDoc(stale || g.chance(0.5) ? 24 : undefined)] : [];
  const connectors = g.chance(0.15) ? [connectorDoc('spare', connectorIdOf(3))] : [];
  const want = desired({ jobs, jobSets, catalogs, connectors });

  const world: World = {
    status: notImported ? 'NOT_IMPORTED' : 'AVAILABLE',
    lastModifiedOn: stale ? T0 - 48 * HOUR : T0 - HOUR,
    jobs: [],
    connectors: [...CONNECTORS],
    nextJob: 100,
  };
  if (notImported) return { desired: want, world, prior: g.chance(0.5) ? state([]) : undefined };

  // Live jobs: per server at most one that is not terminated, plus maybe an old terminated one.
  const current = new Map<string, ReplicationJobInfo>();
  for (const s of INVENTORY) {
    if (g.chance(0.2)) world.jobs.push(serviceJob(jobIdOf(world.nextJob++), s, randomSpec(g), T0 - 10 * DAY, g.pick(['DELETED', 'FAILED'] as const)));
    if (!g.chance(0.55)) continue;
    const spec = randomSpec(g, { density: 0.5 });
    const jobState = g.pick<ReplicationJobState>(spec.runOnce ? ['ACTIVE', 'PENDING', 'COMPLETED', 'COMPLETED', 'DELETING', 'FAILED'] : ['ACTIVE', 'ACTIVE', 'ACTIVE', 'PENDING', 'FAILING', 'DELETING', 'FAILED']);
    let j = serviceJob(jobIdOf(world.nextJob++), s, spec, T0 - DAY, jobState);
    if (g.chance(0.2)) j = { ...j, seedReplicationTime: (j.seedReplicationTime ?? T0) + 0.25 }; // sub-second, as the service may report
    world.jobs.push(j);
    current.set(s.serverId, j);
  }

  // State: records of some live jobs (under their wanted address, an orphan address, or another
  // wanted address), and records of jobs that are gone.
  const records = new Map<Address, ResourceRecord>();
  const wantedAddresses = [...wantedAt.values()];
  for (const [serverId, j] of current) {
    if (!g.chance(0.6)) continue;
    const orphan = g.pick([`ReplicationJob/old-${serverId.slice(-2)}`, `ReplicationJobSet/old[${serverId}]`, `ReplicationJobSet/fleet[${serverId}]`]);
    let address = g.pick([wantedAt.get(serverId), wantedAt.get(serverId), orphan, g.pick(wantedAddresses.length > 0 ? wantedAddresses : [orphan])].filter((a): a is Address => a !== undefined));
    if (address.startsWith('ReplicationJobSet/') && !address.endsWith(`[${serverId}]`)) address = orphan.startsWith('ReplicationJobSet/') ? orphan : `ReplicationJob/old-${serverId.slice(-2)}`;
    if (records.has(address)) continue;
    const applied = g.chance(0.6) ? pickManaged(j) : randomSpec(g);
    records.set(address, record(address, j, applied, { preventDestroy: g.chance(0.15), ...(g.chance(0.4) ? { onDemandRunToken: g.pick(['t1', 't2']) } : {}) }));
  }
  for (const [serverId, address] of wantedAt) {
    if (records.has(address) || !g.chance(0.15)) continue;
    records.set(address, record(address, { replicationJobId: jobIdOf(900 + records.size), serverId }, randomSpec(g), { preventDestroy: g.chance(0.1) }));
  }
  const prior = records.size > 0 || g.chance(0.5) ? state([...records.values()]) : undefined;
  return { desired: want, world, prior };
}

/** The job fields as applied by a create: what the live job reports for the fields a spec sets. */
function pickManaged(j: ReplicationJobInfo): JobSpec {
  const out: JobSpec = {};
  for (const f of JOB_SPEC_FIELDS) {
    const v = j[f];
    if (v !== undefined && f !== 'nextReplicationRunStartTime') (out as Record<string, unknown>)[f] = f === 'seedReplicationTime' ? Math.floor(v as number) : v;
  }
  return out;
}

class ModelError extends Error {}

/** Applies a plan's changes to the world and the state, in the executor's phases. */
function applyModel(planned: readonly Change[], w: World, records: Map<Address, ResourceRecord>, now: number): void {
  // The model reads every change as the members of any variant (the executor's typed paths are apply.ts's).
  const changes = planned.map(membersOf);
  const jobById = (id: string | undefined) => w.jobs.find((j) => j.replicationJobId === id && j.state !== 'DELETED');
  const setJob = (j: ReplicationJobInfo) => {
    w.jobs = w.jobs.map((x) => (x.replicationJobId === j.replicationJobId ? j : x));
  };
  const serverOf = (id: string | undefined) => {
    const s = INVENTORY.find((x) => x.serverId === id);
    if (!s || w.status !== 'AVAILABLE') throw new ModelError(`no catalog server ${id ?? '?'} to create a job for`);
    return s;
  };
  const remove = (id: string | undefined, c: ChangeMembers) => {
    const j = jobById(id);
    if (!j) throw new ModelError(`${c.action} ${c.address}: job ${id ?? '?'} does not exist`);
    setJob({ ...j, state: 'DELETED' });
  };
  const create = (c: ChangeMembers) => {
    const s = serverOf(c.serverId);
    for (const j of w.jobs.filter((x) => x.serverId === s.serverId && x.state === 'DELETING')) setJob({ ...j, state: 'DELETED' }); // apply waits for DELETED
    const blocking = w.jobs.find((x) => x.serverId === s.serverId && !isTerminated(x));
    if (blocking) throw new ModelError(`${c.action} ${c.address}: CreateReplicationJob fails, server ${s.serverId} has job ${blocking.replicationJobId} (${blocking.state ?? '?'})`);
    const after = c.after ?? {};
    const seed = after.seedReplicationTime ?? now;
    const j = serviceJob(jobIdOf(w.nextJob++), s, after, now, 'PENDING');
    w.jobs.push(j);
    records.set(c.address, {
      address: c.address,
      kind: c.kind,
      replicationJobId: j.replicationJobId,
      serverId: s.serverId,
      appliedSpec: { ...after, seedReplicationTime: seed },
      preventDestroy: c.preventDestroy,
      ...(c.onDemandRun ? { onDemandRunToken: c.onDemandRun.token } : {}),
      updatedAt: 'now',
    });
  };
  const update = (c: ChangeMembers, id: string | undefined) => {
    const j = jobById(id);
    if (!j) throw new ModelError(`${c.action} ${c.address}: job ${id ?? '?'} does not exist`);
    if (j.state === 'DELETING' || j.state === 'COMPLETED' || j.state === 'FAILED') {
      throw new ModelError(`${c.action} ${c.address}: UpdateReplicationJob of a ${j.state} job is refused by the service (fields ${c.fields.map((f) => f.field).join(', ')})`);
    }
    const next: Record<string, unknown> = { ...j };
    for (const f of c.fields) {
      if (FIELD_POLICY[f.field].policy !== 'updatable') throw new ModelError(`${c.action} ${c.address}: ${f.field} (${FIELD_POLICY[f.field].policy}) cannot be sent in UpdateReplicationJob`);
      if (f.field === 'nextReplicationRunStartTime' && (f.after as number) <= now) throw new ModelError(`${c.action} ${c.address}: nextReplicationRunStartTime in the past is refused`);
      next[f.field] = f.after;
    }
    setJob(next as unknown as ReplicationJobInfo);
  };
  const appliedAfter = (c: ChangeMembers): JobSpec => ({ ...(c.after ?? {}), ...(c.before?.seedReplicationTime !== undefined ? { seedReplicationTime: c.before.seedReplicationTime } : {}) });

  const phase = (actions: readonly Change['action'][]) => changes.filter((c) => actions.includes(c.action));
  for (const c of phase(['import-catalog'])) {
    void c;
    w.status = 'AVAILABLE';
    w.lastModifiedOn = now;
  }
  for (const c of phase(['disassociate-connector'])) w.connectors = w.connectors.filter((x) => x.connectorId !== c.connectorId);
  for (const c of phase(['delete', 'replace'])) {
    if (c.action === 'delete' && c.stateOnly) {
      records.delete(c.address);
      continue;
    }
    const j = jobById(c.replicationJobId);
    if (j?.state === 'DELETING') setJob({ ...j, state: 'DELETED' });
    else remove(c.replicationJobId, c);
    if (c.action === 'delete') records.delete(c.address);
  }
  for (const c of phase(['create', 'update', 'adopt', 'move', 'start-run', 'record', 'replace'])) {
    switch (c.action) {
      case 'create':
        if (!c.deferredUntilCatalog) create(c);
        break;
      case 'replace':
        create(c);
        if (c.previousAddress !== undefined) records.delete(c.previousAddress);
        break;
      case 'record': {
        const prev = records.get(c.address);
        if (!prev) throw new ModelError(`record ${c.address}: no state record`);
        records.set(c.address, { ...prev, appliedSpec: { ...(c.after ?? {}), ...(prev.appliedSpec.seedReplicationTime !== undefined ? { seedReplicationTime: prev.appliedSpec.seedReplicationTime } : {}) }, preventDestroy: c.preventDestroy });
        break;
      }
      case 'update': {
        update(c, c.replicationJobId);
        const prev = records.get(c.address);
        if (!prev) throw new ModelError(`update ${c.address}: no state record`);
        records.set(c.address, { ...prev, appliedSpec: appliedAfter(c), preventDestroy: c.preventDestroy });
        break;
      }
      case 'adopt':
        if (!jobById(c.replicationJobId)) throw new ModelError(`adopt ${c.address}: job ${c.replicationJobId ?? '?'} does not exist`);
        records.set(c.address, {
          address: c.address,
          kind: c.kind,
          replicationJobId: c.replicationJobId,
          serverId: c.serverId,
          appliedSpec: appliedAfter(c),
          preventDestroy: c.preventDestroy,
          ...(c.onDemandRun ? { onDemandRunToken: c.onDemandRun.token } : {}),
          updatedAt: 'now',
        });
        if (c.fields.length > 0) update(c, c.replicationJobId);
        break;
      case 'move': {
        // As the executor: the old record counts only while it still holds the moved job.
        const found = c.previousAddress ? records.get(c.previousAddress) : undefined;
        const prev = found?.replicationJobId === c.replicationJobId ? found : undefined;
        if (!jobById(c.replicationJobId)) throw new ModelError(`move ${c.address}: job ${c.replicationJobId ?? '?'} does not exist`);
        if (prev && c.previousAddress) records.delete(c.previousAddress);
        const base0: ResourceRecord = prev ?? { address: c.address, kind: c.kind, appliedSpec: {}, preventDestroy: false, updatedAt: 'now' };
        records.set(c.address, { ...base0, ...(c.onDemandRun ? { onDemandRunToken: c.onDemandRun.token } : {}), address: c.address, kind: c.kind, replicationJobId: c.replicationJobId, serverId: c.serverId, appliedSpec: { ...(c.after ?? {}), ...(base0.appliedSpec.seedReplicationTime !== undefined ? { seedReplicationTime: base0.appliedSpec.seedReplicationTime } : {}) }, preventDestroy: c.preventDestroy });
        if (c.fields.length > 0) update(c, c.replicationJobId);
        break;
      }
      case 'start-run': {
        const prev = records.get(c.address);
        if (!prev || !c.onDemandRun) throw new ModelError(`start-run ${c.address}: no state record or token`);
        records.set(c.address, { ...prev, onDemandRunToken: c.onDemandRun.token });
        break;
      }
      default:
        break;
    }
  }
}

interface Outcome {
  readonly skipped?: string;
  readonly violations: string[];
  readonly first: DiffResult;
  readonly final?: DiffResult;
  readonly records?: Map<Address, ResourceRecord>;
}

const describeChanges = (r: DiffResult) => r.changes.map((c) => `${c.action} ${c.address}${c.fields.length ? ` [${c.fields.map((f) => `${f.field}: ${JSON.stringify(f.before)}->${JSON.stringify(f.after)}`).join(', ')}]` : ''}`);

function runCase(seed: number): Outcome {
  const sc = generate(seed);
  const options = diffOptions({ maxConcurrentJobs: 1000 });
  const plan = (records: Map<Address, ResourceRecord> | undefined) =>
    diff(sc.desired, observeWorld(sc.world), records ? state([...records.values()], { serial: 9 }) : undefined, options);
  const first = diff(sc.desired, observeWorld(sc.world), sc.prior, options);
  if (first.problems.length > 0) {
    const unexpected = first.problems.filter((p) => p.code !== 'prevent-destroy');
    if (unexpected.length === 0) return { skipped: 'prevent-destroy', violations: [], first };
    return { violations: unexpected.map((p) => `first plan has problem ${p.code}: ${p.message}`), first };
  }
  const records = new Map(Object.entries(sc.prior?.resources ?? {}));
  const violations: string[] = [];
  try {
    applyModel(first.changes, sc.world, records, T0);
    if (first.changes.some((c) => membersOf(c).deferredUntilCatalog)) {
      // As apply does after the import: plan again for the jobs that waited, and run that.
      const second = plan(records);
      if (second.problems.length > 0) violations.push(...second.problems.map((p) => `plan after the catalog import has problem ${p.code}: ${p.message}`));
      applyModel(second.changes.filter((c) => c.action !== 'import-catalog'), sc.world, records, T0);
    }
  } catch (e) {
    if (!(e instanceof ModelError)) throw e;
    violations.push(`applying the plan: ${e.message}`);
    return { violations, first };
  }
  const final = plan(records);
  for (const p of final.problems) violations.push(`re-plan has problem ${p.code}: ${p.message}`);
  for (const c of final.changes) if (c.action !== 'no-op') violations.push(`re-plan is not no-op: ${describeChanges({ ...final, changes: [c] })[0]!} (${c.reason})`);
  return { violations, first, final, records };
}

function seeds(): number[] {
  const one = process.env['DIFF_PROPERTY_SEED'];
  if (one !== undefined) return [Number(one)];
  return Array.from({ length: CASES }, (_, i) => FIRST_SEED + i);
}

/** A violation with its addresses and ids blanked: what kind of failure it is. */
const category = (v: string): string =>
  v.replace(/ReplicationJob(Set)?\/[a-z0-9-]+(\[[^\]]*\])?/g, 'ADDR').replace(/sms-job-[0-9a-f]+/g, 'JOB').replace(/s-[0-9a-f]{8}/g, 'SERVER').replace(/ \(fields [^)]*\)/, '');

function report(failures: { seed: number; violations: string[]; first: DiffResult }[]): string {
  const counts = new Map<string, number>();
  for (const f of failures) for (const c of new Set(f.violations.map(category))) counts.set(c, (counts.get(c) ?? 0) + 1);
  const summary = [...counts].sort((a, b) => b[1] - a[1]).map(([c, n]) => `  ${String(n).padStart(3)} x ${c}`).join('\n');
  return `${summary}\nfirst failing seeds:\n${failures
    .slice(0, 5)
    .map((f) => `seed ${f.seed} (replay: DIFF_PROPERTY_SEED=${f.seed}):\n  first plan: ${describeChanges(f.first).join('; ')}\n  ${f.violations.join('\n  ')}`)
    .join('\n')}`;
}

describe('diff property: apply the plan to a pure model, re-plan is all no-op', () => {
  it(`holds for ${CASES} random desired/observed/state triples`, () => {
    const failures: { seed: number; violations: string[]; first: DiffResult }[] = [];
    let skipped = 0;
    let effective = 0;
    for (const seed of seeds()) {
      const out = runCase(seed);
      if (out.skipped) skipped++;
      if (out.first.changes.some((c) => c.action !== 'no-op')) effective++;
      if (out.violations.length > 0) failures.push({ seed, violations: out.violations, first: out.first });
    }
    expect(failures.length, `${failures.length} failing seed(s):\n${report(failures)}`).toBe(0);
    if (seeds().length === CASES) {
      // The generator is worth something: most cases plan real changes, few are refused.
      expect(skipped).toBeLessThan(CASES / 4);
      expect(effective).toBeGreaterThan(CASES / 2);
    }
  });

  it('leaves state recording each declared job with its lifecycle and on-demand token', () => {
    const failures: { seed: number; violations: string[]; first: DiffResult }[] = [];
    for (const seed of seeds()) {
      const out = runCase(seed);
      if (out.skipped || !out.final || !out.records || out.violations.length > 0) continue;
      const violations: string[] = [];
      for (const c of out.final.changes) {
        if (c.kind !== 'ReplicationJob' && c.kind !== 'ReplicationJobSet') continue;
        const rec = out.records.get(c.address);
        if (!rec) {
          violations.push(`${c.address}: no state record after apply`);
          continue;
        }
        if (rec.preventDestroy !== c.preventDestroy) violations.push(`${c.address}: state has preventDestroy ${rec.preventDestroy}, the manifest ${c.preventDestroy}`);
      }
      for (const d of out.final.drift) {
        const found = out.final.changes.find((c) => c.address === d.address);
        const want = found === undefined ? undefined : membersOf(found).after;
        if (want?.[d.field] !== undefined) violations.push(`${d.address}: drift on managed field ${d.field} right after apply`);
      }
      if (violations.length > 0) failures.push({ seed, violations, first: out.first });
    }
    expect(failures.length, `${failures.length} failing seed(s):\n${report(failures)}`).toBe(0);
  });
});

// Keep the model honest: it reports the service defaults the way diff expects them.
describe('the pure model', () => {
  it('creates jobs that report the service defaults', () => {
    const j = serviceJob('sms-job-00000001', ORDINARY[0]!, {}, T0, 'PENDING');
    for (const f of ['frequency', 'runOnce', 'numberOfRecentAmisToKeep', 'encrypted'] as const) expect(j[f]).toBe(serviceDefaultFor(f, {}));
    expect(serviceJob('sms-job-00000002', ORDINARY[0]!, { runOnce: true }, T0, 'PENDING').frequency).toBeUndefined();
  });

  it('refuses an update the service refuses', () => {
    const w: World = { status: 'AVAILABLE', lastModifiedOn: T0, jobs: [serviceJob('sms-job-00000001', ORDINARY[0]!, {}, T0, 'COMPLETED')], connectors: [], nextJob: 2 };
    const c: Change = { address: 'ReplicationJob/x', kind: 'ReplicationJob', action: 'update', replicationJobId: 'sms-job-00000001', serverId: ORDINARY[0]!.serverId, after: { frequency: 6 }, fields: [{ field: 'frequency', before: 24, after: 6, policy: 'updatable' }], reason: 'r', preventDestroy: false };
    expect(() => applyModel([c], w, new Map([['ReplicationJob/x', record('ReplicationJob/x', w.jobs[0]!, {})]]), T0)).toThrow(ModelError);
  });
});
