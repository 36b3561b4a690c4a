/**
 * Errors from the pg driver: which ones mean the connection is gone, and the typed state errors
 * (state-db-auth, state-db-unreachable, state-db-connection-lost, state-db-error) they become.
 *
 * Invariants:
 * - Secrets. Every message taken from the driver is scrubbed of the location's secrets (the
 *   password in its forms) before it is put in an error; the location is named redacted.
 * - A typed error (SmsReconcileError) passes through unchanged.
 */
import { SmsReconcileError } from '../model/errors.ts';
import { stateError } from './errors.ts';

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EHOSTDOWN', 'ECONNRESET', 'EPIPE']);
/** SQLSTATEs that mean the session is gone: admin/crash shutdown, cannot connect now, connection exceptions. */
const LOST_SQLSTATES = /^(57P0[1-3]|08...)$/;

/** The `code` of a driver error (a SQLSTATE or a Node network code), if it has one. */
export function codeOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  const code = (err as { code: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Whether an error from the driver means the connection is gone (or never came). */
export function isConnectionError(err: unknown): boolean {
  if (err instanceof SmsReconcileError) return err.code === 'state-db-connection-lost' || err.code === 'state-db-unreachable';
  const code = codeOf(err);
  if (code !== undefined && (NETWORK_CODES.has(code) || LOST_SQLSTATES.test(code))) return true;
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable|Client was closed/i.test(messageOf(err));
}

export type Phase = 'connect' | 'query';

/** What an error message may say about the store: where it is and what to scrub. */
export interface PgErrorScope {
  /** The redacted location. */
  readonly location: string;
  readonly schema: string;
  readonly connectTimeoutMs: number;
  /** Strings to replace by *** in any text from the driver. */
  readonly secrets: readonly string[];
}

function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join('***');
  return out;
}

/** A typed error for a driver failure (typed errors pass through). */
export function pgDbError(err: unknown, phase: Phase, doing: string, scope: PgErrorScope): Error {
  if (err instanceof SmsReconcileError) return err;
  const code = codeOf(err);
  const message = scrub(messageOf(err), scope.secrets);
  const where = scope.location;
  if (code === '28P01' || code === '28000') {
    return stateError('state-db-auth', `PostgreSQL at ${where} refused the login: ${message}`, {
      hint: 'check the user and password in the URL (or PGPASSWORD), and that pg_hba.conf admits this client',
    });
  }
  if (code === '3D000') {
    return stateError('state-db-error', `${doing} failed at ${where}: ${message} (SQLSTATE ${code})`, {
      hint: 'create the database (the store creates its schema and tables, not the database), or fix the URL',
    });
  }
  if (phase === 'connect' && /\bSSL\b|TLS|certificate|self[- ]signed/i.test(message)) {
    return stateError('state-db-unreachable', `could not open a TLS connection to PostgreSQL at ${where}: ${message}`, {
      hint:
        'check sslmode in the URL: the driver treats sslmode=require as verify-full (give the server\'s CA with sslrootcert=PATH), ' +
        'sslmode=no-verify encrypts without checking the certificate, sslmode=disable turns TLS off; nothing was changed',
    });
  }
  if (phase === 'connect') {
    const timedOut = /timeout/i.test(message);
    return stateError(
      'state-db-unreachable',
      `could not connect to PostgreSQL at ${where}${timedOut ? ` within ${scope.connectTimeoutMs} ms` : ''}: ${message}`,
      { hint: 'check the host and port in the URL, that the server runs and that the network lets this machine reach it; nothing was changed' },
    );
  }
  if (isConnectionError(err)) {
    return stateError('state-db-connection-lost', `the connection to PostgreSQL at ${where} was lost while ${doing}: ${message}`, {
      hint: 'the change in flight may or may not have been recorded, and nothing is lost: run the command again; it resumes from the journal',
    });
  }
  if (code === '42501') {
    return stateError('state-db-error', `${doing} was refused at ${where}: ${message} (SQLSTATE ${code})`, {
      hint: `grant this role USAGE (and CREATE, for the first run) on schema "${scope.schema}" and read/write on its tables`,
    });
  }
  if (code !== undefined && /^[0-9A-Z]{5}$/.test(code)) {
    return stateError('state-db-error', `${doing} failed at ${where}: ${message} (SQLSTATE ${code})`, {
      hint: 'nothing was changed by this operation; see the PostgreSQL message',
    });
  }
  return err instanceof Error ? err : new Error(message);
}
