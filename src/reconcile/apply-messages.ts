/**
 * The executor's events as messages of the one stream (model/messages.ts): each ApplyEvent becomes
 * an IoMessage with a registered `apply.*` code, a level, the human text and the fields a script
 * reads (the JSON log record's). The executor emits through `applyEventsTo(host, clock)`; the CLI's
 * reporter and the controller's cycle are subscribers of the same messages. Pure.
 */
import type { Address } from '../model/address.ts';
import type { MessageCode } from '../model/codes.ts';
import type { IoHost, IoMessage, MessageLevel } from '../model/messages.ts';
import type { Action } from './action.ts';
import type { FailedStep } from './order.ts';
import type { ApplyEvent, ApplyPhase, Clock, EventSink, JobProgress, OperationFailure } from './ports.ts';

/** The fields of each apply message, by code. */
export interface ApplyMessageData {
  'apply.phase': { readonly phase: ApplyPhase; readonly count: number };
  'apply.recovered': { readonly intent: string; readonly operation: string; readonly address: Address; readonly happened: boolean };
  'apply.start': { readonly address: Address; readonly action: Action; readonly operation: string };
  'apply.done': { readonly address: Address; readonly action: Action; readonly operation: string; readonly replicationJobId?: string; readonly ms: number };
  /** The failure, and `error`: the error's whole message. */
  'apply.failed': OperationFailure & { readonly error: string };
  'apply.skipped': { readonly address: Address; readonly action: Action; readonly because: FailedStep };
  'apply.waiting': { readonly what: string };
  'apply.progress': { readonly jobs: readonly JobProgress[] };
  'apply.stopping': Readonly<Record<string, never>>;
}

export type ApplyMessageCode = keyof ApplyMessageData;
export type ApplyMessage = { [C in ApplyMessageCode]: IoMessage<C, ApplyMessageData[C]> }[ApplyMessageCode];

const APPLY_CODES: Record<ApplyMessageCode, MessageLevel> = {
  'apply.phase': 'info',
  'apply.recovered': 'info',
  'apply.start': 'debug',
  'apply.done': 'info',
  'apply.failed': 'error',
  'apply.skipped': 'warn',
  'apply.waiting': 'info',
  'apply.progress': 'info',
  'apply.stopping': 'info',
};

export function isApplyMessage(m: IoMessage<MessageCode, unknown>): m is ApplyMessage {
  return Object.hasOwn(APPLY_CODES, m.code);
}

function make<C extends ApplyMessageCode>(code: C, time: number, message: string, data: ApplyMessageData[C]): IoMessage<C, ApplyMessageData[C]> {
  return { time, level: APPLY_CODES[code], code, message, data };
}

/** What a finished operation did, in a word or two. */
export function doneVerb(operation: string): string {
  switch (operation) {
    case 'CreateReplicationJob':
      return 'created';
    case 'UpdateReplicationJob':
      return 'updated';
    case 'DeleteReplicationJob':
      return 'deleted';
    case 'StartOnDemandReplicationRun':
      return 'on-demand run started';
    case 'ImportServerCatalog':
      return 'import started';
    case 'DisassociateConnector':
      return 'disassociated';
    default:
      return `${operation} recorded`;
  }
}

/** The message of one executor event, stamped `time` (epoch milliseconds). */
export function applyMessage(e: ApplyEvent, time: number): ApplyMessage {
  switch (e.type) {
    case 'phase':
      return make('apply.phase', time, `phase ${e.phase}`, { phase: e.phase, count: e.count });
    case 'recovered':
      return make('apply.recovered', time, e.note, { intent: e.intent.id, operation: e.intent.operation, address: e.intent.address, happened: e.happened });
    case 'start':
      return make('apply.start', time, `${e.change.address}: ${e.operation}...`, { address: e.change.address, action: e.change.action, operation: e.operation });
    case 'done': {
      const data = { address: e.change.address, action: e.change.action, operation: e.operation, ms: e.ms, ...(e.replicationJobId === undefined ? {} : { replicationJobId: e.replicationJobId }) };
      return make('apply.done', time, `${e.change.address}: ${doneVerb(e.operation)}${e.replicationJobId ? ` (${e.replicationJobId})` : ''}`, data);
    }
    case 'failed': {
      const text = e.error.message.startsWith(e.operation) ? e.error.message : `${e.operation} failed: ${e.error.message}`;
      const f = e.failure;
      const data = { address: f.address, action: f.action, operation: f.operation, vmName: f.vmName, serverId: f.serverId, code: f.code, message: f.message, outcome: f.outcome, onRerun: f.onRerun, error: e.error.message };
      return make('apply.failed', time, `${e.change.address}: ${text}`, data);
    }
    case 'skipped':
      return make('apply.skipped', time, `${e.change.address}: skipped: it depends on ${e.because.address}, whose ${e.because.operation} failed`, { address: e.change.address, action: e.change.action, because: e.because });
    case 'waiting':
      return make('apply.waiting', time, `Waiting for ${e.what}...`, { what: e.what });
    case 'progress':
      return make('apply.progress', time, `${e.jobs.filter((j) => j.settled).length} of ${e.jobs.length} job(s) settled`, { jobs: e.jobs });
    case 'stopping':
      return make('apply.stopping', time, e.reason, {});
  }
}

/** The executor's event port, producing messages for `host`, stamped by `clock`. */
export function applyEventsTo(host: IoHost, clock: Pick<Clock, 'now'>): EventSink {
  return { emit: (e) => host.notify(applyMessage(e, clock.now())) };
}
