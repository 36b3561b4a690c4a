import { SmsReconcileError, type ErrorSource } from '../model/errors.ts';

/**
 * The stable codes of every error the state layer raises on purpose. Scripts may match on them;
 * renaming one is a contract change.
 */
export const STATE_ERROR_CODES = [
  /** The state file (snapshot, journal or lock record) is not valid JSON or does not match the schema. */
  'state-corrupt',
  /** The state was written by a newer sms-reconcile (its formatVersion is above the one we know). */
  'state-version-newer',
  /** The state has an old formatVersion for which no upgrader exists. */
  'state-version-unsupported',
  /** Another holder has the lock (and, after --lock-timeout, still has it). */
  'state-locked',
  /** This process's lock was released, force-unlocked or taken over: it may not write any more. */
  'state-lock-lost',
  /** A write was attempted with a lock that this store did not issue, or that was released. */
  'state-lock-required',
  /** force-unlock was given an id that is not the id of the current lock. */
  'state-lock-id-mismatch',
  /** force-unlock found no lock at all. */
  'state-not-locked',
  /** initialize() was called where a state already exists. */
  'state-exists',
  /** A write or a read that needs a state found none. */
  'state-missing',
  /** appendResult() named an intent that is not pending (never recorded, or already resolved). */
  'state-unknown-intent',
  /** A change was malformed (bad address, record for another address, ...). */
  'state-invalid-change',
  /** replace() was given a state of another lineage (and not forced). */
  'state-lineage-mismatch',
  /** replace() was given a state whose serial is not newer than the current one (and not forced). */
  'state-serial-not-newer',
  /** The state belongs to another target than the one this run talks to. */
  'state-target-mismatch',
  /** A state command was given something that is not a resource address. */
  'state-address-invalid',
  /** A state command named an address that the state does not hold. */
  'state-resource-missing',
  /** The state location is not supported by this build (postgres:// before issue 6). */
  'state-backend-unavailable',
  /**
   * The state location cannot be used as given: a malformed postgres:// URL, a bad --state-schema
   * or --workspace name, or an option that does not apply to a file state.
   */
  'state-location-invalid',
  /** The PostgreSQL server could not be reached: refused, no such host, or no answer within the connect timeout. */
  'state-db-unreachable',
  /** PostgreSQL refused the login: wrong user or password, or no pg_hba.conf entry for this client. */
  'state-db-auth',
  /**
   * The connection to PostgreSQL was lost during an operation (server restart, network), or the
   * connection that held the lock was: the change in flight may or may not have been committed,
   * and the journal lets the next run find out.
   */
  'state-db-connection-lost',
  /** The database's state schema was migrated by a newer sms-reconcile than this one. */
  'state-db-schema-newer',
  /** PostgreSQL refused an operation for another reason (permissions, a missing database, ...): the SQLSTATE is in the message. */
  'state-db-error',
  /** The file system refused an operation on the state files. */
  'state-io',
] as const;
export type StateErrorCode = (typeof STATE_ERROR_CODES)[number];

export interface StateErrorOptions {
  readonly source?: ErrorSource;
  readonly hint?: string;
  readonly cause?: unknown;
}

/** Makes a typed state error; `source` defaults to 'user' (the state or its use is at fault). */
export function stateError(code: StateErrorCode, message: string, options: StateErrorOptions = {}): SmsReconcileError {
  return new SmsReconcileError(code, message, {
    source: options.source ?? 'user',
    hint: options.hint,
    cause: options.cause,
  });
}

/** True when `err` is an SmsReconcileError with the given state code. */
export function hasStateCode(err: unknown, code: StateErrorCode): err is SmsReconcileError {
  return err instanceof SmsReconcileError && err.code === code;
}
