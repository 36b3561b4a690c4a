/**
 * Picks the StateStore for a `--state` location: a file path (relative to `cwd`; default
 * `.sms-reconcile/state.json`) or, from issue 6, a `postgres://` URL.
 */
import { resolve } from 'node:path';
import { stateError } from './errors.ts';
import { DEFAULT_STATE_PATH, FileStateStore, type FileStateStoreOptions } from './file-store.ts';
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

export function openStateStore(location: string | undefined, cwd: string, options: FileStateStoreOptions = {}): StateStore {
  const path = stateFilePath(location, cwd);
  if (path === undefined) {
    throw stateError('state-backend-unavailable', 'PostgreSQL state arrives with issue 6: this build stores state in files only', {
      hint: 'use a file with --state PATH (default .sms-reconcile/state.json) for now',
    });
  }
  return new FileStateStore(path, options);
}
