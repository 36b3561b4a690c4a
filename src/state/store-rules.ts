/**
 * Rules and errors every StateStore implementation shares, so that they answer alike (the contract
 * suite checks the codes).
 */
import type { SmsReconcileError } from '../model/errors.ts';
import type { StateDocument, StateHead } from './codec.ts';
import { stateError } from './errors.ts';
import type { LockInfo, ReplaceOptions } from './store.ts';

/**
 * Decides whether `incoming` may replace a state now at `current`, and with which serial
 * (see StateStore.replace). Throws `state-lineage-mismatch` or `state-serial-not-newer` unless forced.
 */
export function checkReplace(current: StateHead | undefined, incoming: StateDocument, options: ReplaceOptions, location: string): number {
  if (current === undefined) return incoming.serial;
  const force = options.force === true;
  if (incoming.lineage !== current.lineage) {
    if (!force) {
      throw stateError(
        'state-lineage-mismatch',
        `the pushed state has lineage ${incoming.lineage}, but the state at ${location} has lineage ${current.lineage}: it is another state, not a version of this one`,
        { hint: 'check that you push to the right --state; to overwrite anyway, add --force (the current state is kept as a backup: the .backup file, or the backups table in PostgreSQL)' },
      );
    }
    return incoming.serial;
  }
  if (incoming.serial <= current.serial) {
    if (!force) {
      throw stateError(
        'state-serial-not-newer',
        incoming.serial === current.serial
          ? `the pushed state has serial ${incoming.serial}, the same as the state at ${location}: a pushed state must have a higher serial, or it could silently replace changes made at serial ${current.serial}`
          : `the pushed state has serial ${incoming.serial}, older than the state at ${location} (serial ${current.serial}): pushing it would lose newer changes`,
        { hint: 'pull the current state and redo your edit on it, raising its serial; to overwrite anyway, add --force' },
      );
    }
    return current.serial + 1;
  }
  return incoming.serial;
}

export function notLocked(location: string): SmsReconcileError {
  return stateError('state-not-locked', `the state at ${location} is not locked`, { hint: 'there is nothing to unlock' });
}

export function lockIdMismatch(current: LockInfo, given: string, location: string): SmsReconcileError {
  return stateError('state-lock-id-mismatch', `the state at ${location} is locked by ${current.id}, not by ${given}`, {
    hint: `check the id in the lock error; to break the current lock (held by pid ${current.holder.pid} on ${current.holder.host} for "${current.operation}"), run \`sms-reconcile force-unlock ${current.id}\``,
  });
}

export function missingState(location: string): SmsReconcileError {
  return stateError('state-missing', `there is no state at ${location}`, {
    hint: 'the first apply creates it; `sms-reconcile state push FILE` installs one',
  });
}

export function stateExists(location: string): SmsReconcileError {
  return stateError('state-exists', `a state already exists at ${location}`, {
    hint: 'use it, or choose another location with --state',
    source: 'internal',
  });
}
