/**
 * Picks the StateStore for a `--state` location: a file path (relative to `cwd`; default
 * `.sms-reconcile/state.json`) or a `postgres://` URL (the PostgreSQL store; its schema and
 * workspace come from the options, else from the URL's `schema`/`workspace` parameters, else the
 * defaults `sms_reconcile` and `default`).
 */
import { resolve } from 'node:path';
import { stateError } from './errors.ts';
import { DEFAULT_STATE_PATH, FileStateStore, type FileStateStoreOptions } from './file-store.ts';
import { redactUrl } from '../model/redact.ts';
import { PgStateStore, parsePgLocation, type PgStateStoreOptions } from './pg-store.ts';
import type { StateStore } from './store.ts';

const POSTGRES_URL = /^postgres(ql)?:\/\//i;

/** Whether a location names a PostgreSQL state rather than a file. */
export function isPostgresLocation(location: string): boolean {
  return POSTGRES_URL.test(location);
}

/** The file path a location means, or undefined for a non-file location. */
export function stateFilePath(location: string | undefined, cwd: string): string | undefined {
  const value = location === undefined || location === '' ? DEFAULT_STATE_PATH : location;
  return isPostgresLocation(value) ? undefined : resolve(cwd, value);
}

/** Where the state lives within a PostgreSQL database. */
export interface StateScope {
  /** --state-schema: the schema holding the tables. */
  readonly schema?: string;
  /** --workspace: one state of several in one schema. */
  readonly workspace?: string;
}

export interface OpenStateOptions extends FileStateStoreOptions, StateScope {
  /** PostgreSQL connect timeout (default 5 s). */
  readonly connectTimeoutMs?: number;
}

function fileOnlyError(scope: StateScope, location: string): Error {
  const flags = [scope.schema !== undefined ? '--state-schema' : undefined, scope.workspace !== undefined ? '--workspace' : undefined].filter(Boolean).join(' and ');
  const verb = scope.schema !== undefined && scope.workspace !== undefined ? 'apply' : 'applies';
  return stateError('state-location-invalid', `${flags} ${verb} to a postgres:// state, but the state is the file ${location}`, {
    hint: 'use --state postgres://... (or SMS_RECONCILE_STATE) for a shared state, or a separate --state PATH per workspace for files',
  });
}

export function openStateStore(location: string | undefined, cwd: string, options: OpenStateOptions = {}): StateStore {
  const value = location === undefined || location === '' ? DEFAULT_STATE_PATH : location;
  if (isPostgresLocation(value)) {
    const pgOptions: PgStateStoreOptions = options;
    return new PgStateStore(value, pgOptions);
  }
  if (options.schema !== undefined || options.workspace !== undefined) throw fileOnlyError(options, value);
  return new FileStateStore(resolve(cwd, value), options);
}

/**
 * Folds --state-schema and --workspace into a postgres:// location, as its `schema` and
 * `workspace` parameters (which they override), so that every command opening the location gets
 * them. Checks the names. Refuses them with a file location (`state-location-invalid`).
 */
export function withStateScope(location: string | undefined, scope: StateScope): string | undefined {
  if (scope.schema === undefined && scope.workspace === undefined) return location;
  const value = location === undefined || location === '' ? DEFAULT_STATE_PATH : location;
  if (!isPostgresLocation(value)) throw fileOnlyError(scope, value);
  parsePgLocation(value, scope); // validates the URL and the names
  const url = new URL(value);
  if (scope.schema !== undefined) url.searchParams.set('schema', scope.schema);
  if (scope.workspace !== undefined) url.searchParams.set('workspace', scope.workspace);
  return url.toString();
}

/** A location fit for messages: a file path as it is, a URL without its password. */
export function describeLocation(location: string): string {
  if (!isPostgresLocation(location)) return location;
  try {
    return parsePgLocation(location).redacted;
  } catch {
    return redactUrl(location);
  }
}
