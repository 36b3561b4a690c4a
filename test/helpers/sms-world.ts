/**
 * Shared helpers for the SDK-over-HTTP tests of the embedded server (test/server/sdk-*.test.ts):
 * clock handling, catalog import, listing every page, generated inventories and error assertions.
 */
import { expect } from 'vitest';
import {
  GetReplicationJobsCommand, GetReplicationRunsCommand, GetServersCommand, ImportServerCatalogCommand, type ReplicationJob,
  type ReplicationRun, type Server,
} from '@aws-sdk/client-sms';
import type { Inventory, InventoryVm } from '../../src/server/inventory.ts';
import { startTestServer, type TestServer } from './server.ts';

/** The demo inventory (examples/inventory.yaml), as the tests rely on it. */
export const DEMO = {
  vsphere: '5b7c3e2a-1f4d-4a8e-9c61-0d2e8f7a9b10',
  scvmm: '8e41d7c9-3b2a-4f65-a0d8-6c19e5b2f743',
  healthyVsphereConnector: 'c-0f3a9b1c2d4e5f607',
  unhealthyVsphereConnector: 'c-1a2b3c4d5e6f70819',
  scvmmConnector: 'c-2b3c4d5e6f708192a',
  /** 24 vSphere VMs + 16 SCVMM VMs; both managers are covered by a HEALTHY connector with their capability. */
  vmCount: 40,
} as const;

export const HOUR = 3600;
export const DAY = 24 * HOUR;

/** The manual clock's time, epoch seconds (millisecond precision). */
export async function nowOf(t: TestServer): Promise<number> {
  return (await t.control.info()).now;
}

/** Moves the manual clock to the next whole second, so that schedules are exact; returns it. */
export async function alignClock(t: TestServer): Promise<number> {
  const now = await nowOf(t);
  const next = Math.ceil(now);
  return next === now ? now : t.advance(Number((next - now).toFixed(3)));
}

/** Moves the manual clock to `at` (epoch seconds, not before now). */
export async function advanceTo(t: TestServer, at: number): Promise<number> {
  const now = await nowOf(t);
  if (at < now) throw new Error(`advanceTo: ${at} is before now (${now})`);
  return t.advance(Number((at - now).toFixed(3)));
}

export const epoch = (d: Date | undefined): number | undefined => (d === undefined ? undefined : d.getTime() / 1000);
export const date = (seconds: number): Date => new Date(seconds * 1000);

/** ImportServerCatalog, then the clock moved past the import time; returns every catalog server. */
export async function importCatalog(t: TestServer, importSeconds = 3): Promise<Server[]> {
  await t.sms.send(new ImportServerCatalogCommand({}));
  await t.advance(importSeconds);
  return allServers(t);
}

/** A new server (demo inventory) with its catalog imported, then the clock aligned: the server, every catalog server and the time. */
export async function startWithCatalog(): Promise<{ t: TestServer; servers: Server[]; now: number }> {
  const t = await startTestServer();
  const servers = await importCatalog(t);
  const now = await alignClock(t);
  return { t, servers, now };
}

export async function allServers(t: TestServer): Promise<Server[]> {
  const out: Server[] = [];
  let nextToken: string | undefined;
  do {
    const page = await t.sms.send(new GetServersCommand({ nextToken, maxResults: 100 }));
    out.push(...(page.serverList ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return out;
}

export async function allJobs(t: TestServer): Promise<ReplicationJob[]> {
  const out: ReplicationJob[] = [];
  let nextToken: string | undefined;
  do {
    const page = await t.sms.send(new GetReplicationJobsCommand({ nextToken, maxResults: 100 }));
    out.push(...(page.replicationJobList ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return out;
}

/** One job, by id. */
export async function jobOf(t: TestServer, replicationJobId: string): Promise<ReplicationJob> {
  const out = await t.sms.send(new GetReplicationJobsCommand({ replicationJobId }));
  expect(out.replicationJobList).toHaveLength(1);
  return out.replicationJobList![0]!;
}

/** Every run of a job, newest first. */
export async function runsOf(t: TestServer, replicationJobId: string): Promise<ReplicationRun[]> {
  const out: ReplicationRun[] = [];
  let nextToken: string | undefined;
  do {
    const page = await t.sms.send(new GetReplicationRunsCommand({ replicationJobId, nextToken, maxResults: 100 }));
    out.push(...(page.replicationRunList ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return out;
}

/** The catalog server of a VM, by vmName. */
export function serverNamed(servers: readonly Server[], vmName: string): Server {
  const s = servers.find((x) => x.vmServer?.vmName === vmName);
  if (!s?.serverId) throw new Error(`no catalog server for VM ${vmName}`);
  return s;
}

export interface SmsErrorLike {
  readonly name: string;
  readonly message: string;
  readonly $metadata: { readonly httpStatusCode?: number; readonly requestId?: string };
}

/** Awaits a rejection from the SDK and checks the error code, the HTTP status and (optionally) the message. */
export async function expectSmsError(promise: Promise<unknown>, name: string, status: number, message?: RegExp): Promise<SmsErrorLike> {
  let caught: unknown;
  try {
    await promise;
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected ${name}, but the call succeeded`).toBeInstanceOf(Error);
  const err = caught as SmsErrorLike;
  expect({ name: err.name, status: err.$metadata?.httpStatusCode }).toEqual({ name, status });
  expect(err.message.length).toBeGreaterThan(0);
  expect(err.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
  if (message) expect(err.message).toMatch(message);
  return err;
}

/** A connector id (c- + 17 hex) made from a number. */
export const connectorId = (n: number): string => `c-${n.toString(16).padStart(17, '0')}`;

export interface GeneratedInventoryOptions {
  /** VMs of the one vSphere manager. */
  readonly vms?: number;
  /** Extra per-VM settings (failure, volumes), by index. */
  readonly vm?: (i: number) => Partial<InventoryVm>;
  /** Connectors of the manager: the first HEALTHY, the rest as given (default: one). */
  readonly connectors?: number;
  readonly connectorStatus?: (i: number) => 'HEALTHY' | 'UNHEALTHY';
}

export const GEN_MANAGER = '0b9e2f6a-7c1d-4e3b-8a5f-2d6c9e1b4a70';

/** An inventory with one vSphere manager of `vms` VMs named vm-0001.. and `connectors` connectors. */
export function generatedInventory(opts: GeneratedInventoryOptions = {}): Inventory {
  const count = opts.vms ?? 5;
  const vms: InventoryVm[] = [];
  for (let i = 0; i < count; i++) {
    const n = String(i + 1).padStart(4, '0');
    vms.push({ vmId: `vm-${n}`, vmName: `gen-${n}`, vmPath: `/Datacenters/GEN/vm/gen-${n}`, ...opts.vm?.(i) });
  }
  const connectors = Array.from({ length: opts.connectors ?? 1 }, (_, i) => ({
    connectorId: connectorId(i + 1),
    vmManagerId: GEN_MANAGER,
    status: opts.connectorStatus?.(i) ?? 'HEALTHY',
    capabilityList: ['VSPHERE'] as const,
    version: '1.0.13.245',
    ipAddress: `198.51.100.${(i % 250) + 1}`,
    macAddress: `00:50:56:00:00:${(i % 256).toString(16).padStart(2, '0')}`,
  }));
  return {
    vmManagers: [{ vmManagerId: GEN_MANAGER, vmManagerName: 'vcenter-gen.example.com', vmManagerType: 'VSPHERE', vms }],
    connectors,
    settings: {},
  };
}
