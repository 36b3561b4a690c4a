import { MANIFEST_KINDS } from '../model/address.ts';
import { ACTIONS, type Action } from './action.ts';
import type { Change } from './change.ts';

/**
 * Reading a change back from JSON (a saved plan): the members its action's variant requires are
 * checked, so the Change the executor gets is the variant its `action` says. Pure.
 */

type Json = Readonly<Record<string, unknown>>;

const isString = (v: unknown): v is string => typeof v === 'string';
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isJobKind = (c: Json): boolean => c['kind'] === 'ReplicationJob' || c['kind'] === 'ReplicationJobSet';
const noFields = (c: Json): boolean => Array.isArray(c['fields']) && c['fields'].length === 0;
/** A change of a live job of a known server, with the desired spec. */
const ofLiveJob = (c: Json): boolean => isJobKind(c) && isString(c['replicationJobId']) && isString(c['serverId']);
const withAfter = (c: Json): boolean => ofLiveJob(c) && isObject(c['after']);

/** What each action's variant requires beyond the members every change has (change.ts). */
const VARIANT_OK: Record<Action, (c: Json) => boolean> = {
  create: (c) => isJobKind(c) && noFields(c) && isObject(c['after']) && (c['deferredUntilCatalog'] === true || isString(c['serverId'])),
  replace: (c) =>
    withAfter(c) && Array.isArray(c['replaceBecause']) && c['replaceBecause'].length > 0 && c['replaceBecause'].every(isString),
  delete: (c) => isJobKind(c) && noFields(c) && (c['stateOnly'] === true || isString(c['replicationJobId'])),
  retire: (c) => isJobKind(c) && noFields(c) && isString(c['serverId']) && (isString(c['blocked']) || isString(c['replicationJobId'])),
  update: withAfter,
  adopt: withAfter,
  move: (c) => withAfter(c) && isString(c['previousAddress']),
  'start-run': (c) => ofLiveJob(c) && noFields(c) && isObject(c['onDemandRun']) && isString(c['onDemandRun']['token']),
  record: (c) => withAfter(c) && typeof c['recordedPreventDestroy'] === 'boolean',
  'import-catalog': (c) => c['kind'] === 'ServerCatalog' && noFields(c),
  'disassociate-connector': (c) => c['kind'] === 'Connector' && noFields(c) && isString(c['connectorId']),
  'no-op': (c) =>
    noFields(c) && (c['kind'] === 'ServerCatalog' || (c['kind'] === 'Connector' && isString(c['connectorId'])) || (isJobKind(c) && isString(c['replicationJobId']))),
};

function isAction(v: unknown): v is Action {
  return (ACTIONS as readonly unknown[]).includes(v);
}

/** The change `value` holds, or undefined when it is not one (a member its action needs is missing or of another type). */
export function decodeChange(value: unknown): Change | undefined {
  if (!isObject(value) || !isAction(value['action'])) return undefined;
  const c = value;
  const common =
    isString(c['address']) && isString(c['reason']) && typeof c['preventDestroy'] === 'boolean' && Array.isArray(c['fields']) &&
    (MANIFEST_KINDS as readonly unknown[]).includes(c['kind']);
  // The JSON decode boundary: the members of the variant of `action` were checked just above.
  return common && VARIANT_OK[value['action']](c) ? (c as unknown as Change) : undefined;
}
