import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isNode } from 'yaml';
import type { ConnectorCapability, ConnectorStatus, VmManagerType } from '../model/job.ts';
import { createAjv, lazyValidators, type ValidatorSet } from '../model/json-schema.ts';
import { packageFile } from '../paths.ts';
import schema from '../../schemas/inventory.v1.schema.json' with { type: 'json' };

/** The on-premises world the server simulates (schemas/inventory.v1.schema.json). */
export interface Inventory {
  readonly vmManagers: readonly InventoryVmManager[];
  readonly connectors: readonly InventoryConnector[];
  readonly settings: Partial<ServerSettings>;
}

export interface InventoryVmManager {
  readonly vmManagerId: string;
  readonly vmManagerName: string;
  readonly vmManagerType: VmManagerType;
  readonly vms: readonly InventoryVm[];
}

export interface InventoryVm {
  readonly vmId: string;
  readonly vmName: string;
  readonly vmPath: string;
  readonly volumes?: number;
  readonly failure?: { readonly afterRuns?: number; readonly count?: number };
}

export interface InventoryConnector {
  readonly connectorId: string;
  readonly vmManagerId: string;
  readonly status: ConnectorStatus;
  readonly capabilityList: readonly ConnectorCapability[];
  readonly version?: string;
  readonly ipAddress?: string;
  readonly macAddress?: string;
  readonly associatedOn?: string;
}

/** Timings (seconds) and limits of the simulated service. */
export interface ServerSettings {
  readonly catalogImportSeconds: number;
  readonly deleteSeconds: number;
  readonly runSeconds: number;
  readonly retryDelaySeconds: number;
  readonly maxConcurrentJobs: number;
  readonly onDemandRunsPer24h: number;
  readonly failuresBeforePause: number;
  readonly seed: number | undefined;
}

export const DEFAULT_SETTINGS: ServerSettings = {
  catalogImportSeconds: 3,
  deleteSeconds: 2,
  runSeconds: 45,
  retryDelaySeconds: 30,
  maxConcurrentJobs: 50,
  onDemandRunsPer24h: 2,
  failuresBeforePause: 3,
  seed: undefined,
};

/** The built-in demo inventory is the examples' inventory file: one source for both. */
export const DEMO_INVENTORY_PATH = packageFile('examples/inventory.yaml');

/** The inventory schema's validator (precompiled in the bundle, see model/json-schema.ts). */
export const INVENTORY_VALIDATORS: ValidatorSet<'inventory'> = {
  name: 'inventory',
  ajv: (code) => createAjv({ allErrors: true, ...(code ? { code } : {}) }).addSchema(schema),
  refs: { inventory: schema.$id },
};
const inventoryValidator = lazyValidators(INVENTORY_VALIDATORS);

export class InventoryError extends Error {
  constructor(file: string, problems: readonly string[]) {
    super(`invalid inventory ${file}:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'InventoryError';
  }
}

export function loadInventoryFile(file: string = DEMO_INVENTORY_PATH): Inventory {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InventoryError(file, [`${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? String(e)})`]);
  }
  return parseInventory(text, file);
}

/** Parses and validates an inventory; every problem is reported at once with file:line:col. */
export function parseInventory(text: string, file: string): Inventory {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true });
  const at = (path: readonly (string | number)[]): string => {
    const node = doc.getIn(path, true);
    if (!isNode(node) || !node.range) return file;
    const pos = lineCounter.linePos(node.range[0]);
    return `${file}:${pos.line}:${pos.col}`;
  };
  if (doc.errors.length > 0) {
    throw new InventoryError(file, doc.errors.map((e) => `${file}:${e.linePos?.[0].line ?? 0}:${e.linePos?.[0].col ?? 0}: ${e.message}`));
  }
  const data: unknown = doc.toJS({ maxAliasCount: 100 });
  const validateSchema = inventoryValidator().inventory;
  if (!validateSchema(data)) {
    throw new InventoryError(
      file,
      (validateSchema.errors ?? []).map((e) => {
        const path = e.instancePath.split('/').slice(1).map((s) => (/^\d+$/.test(s) ? Number(s) : s));
        return `${at(path)}: ${e.instancePath || '/'} ${e.message ?? 'is invalid'}`;
      }),
    );
  }
  const inv = data as unknown as Inventory;
  const problems: string[] = [];
  const managers = new Set<string>();
  inv.vmManagers.forEach((m, i) => {
    if (managers.has(m.vmManagerId)) problems.push(`${at(['vmManagers', i, 'vmManagerId'])}: duplicate vmManagerId ${m.vmManagerId}`);
    managers.add(m.vmManagerId);
    const vms = new Set<string>();
    m.vms.forEach((vm, j) => {
      if (vms.has(vm.vmId)) problems.push(`${at(['vmManagers', i, 'vms', j, 'vmId'])}: duplicate vmId ${vm.vmId} in ${m.vmManagerName}`);
      vms.add(vm.vmId);
    });
  });
  const connectors = new Set<string>();
  inv.connectors.forEach((c, i) => {
    if (!managers.has(c.vmManagerId)) problems.push(`${at(['connectors', i, 'vmManagerId'])}: unknown vmManagerId ${c.vmManagerId}`);
    if (connectors.has(c.connectorId)) problems.push(`${at(['connectors', i, 'connectorId'])}: duplicate connectorId ${c.connectorId}`);
    connectors.add(c.connectorId);
  });
  if (problems.length > 0) throw new InventoryError(file, problems);
  return { vmManagers: inv.vmManagers, connectors: inv.connectors, settings: inv.settings ?? {} };
}
