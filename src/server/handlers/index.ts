import { deleteServerCatalog, disassociateConnector, getConnectors, getServers, importServerCatalog } from './catalog.ts';
import type { SmsAction } from '../../sms/api.ts';
import type { Handler } from './context.ts';
import {
  createReplicationJob, deleteReplicationJob, getReplicationJobs, getReplicationRuns, startOnDemandReplicationRun, updateReplicationJob,
} from './jobs.ts';

/** The 11 actions of the 2016-10-24 API reference (the list is SMS_ACTIONS in sms/api.ts, shared with the client side). */
export type ActionName = SmsAction;

export interface ActionSpec {
  readonly handler: Handler;
  /** Mutating actions need a full-access key and count against the mutation rate limit. */
  readonly mutating: boolean;
}

export const ACTION_SPECS: Record<ActionName, ActionSpec> = {
  CreateReplicationJob: { handler: createReplicationJob, mutating: true },
  DeleteReplicationJob: { handler: deleteReplicationJob, mutating: true },
  DeleteServerCatalog: { handler: deleteServerCatalog, mutating: true },
  DisassociateConnector: { handler: disassociateConnector, mutating: true },
  GetConnectors: { handler: getConnectors, mutating: false },
  GetReplicationJobs: { handler: getReplicationJobs, mutating: false },
  GetReplicationRuns: { handler: getReplicationRuns, mutating: false },
  GetServers: { handler: getServers, mutating: false },
  ImportServerCatalog: { handler: importServerCatalog, mutating: true },
  StartOnDemandReplicationRun: { handler: startOnDemandReplicationRun, mutating: true },
  UpdateReplicationJob: { handler: updateReplicationJob, mutating: true },
};

export function isAction(name: string): name is ActionName {
  return Object.hasOwn(ACTION_SPECS, name);
}
