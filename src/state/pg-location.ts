/**
 * Where a PostgreSQL state lives: the postgres:// URL parsed into the driver's connection string,
 * the schema and the workspace, and a form fit for messages.
 *
 * Invariants:
 * - The password never appears in `redacted`: it shows the URL as postgres://user:***@host:port/db,
 *   with the schema and workspace as parameters. `secrets` lists what to scrub from any text that
 *   comes back from the driver (the password raw and decoded, secret parameters, PGPASSWORD).
 * - Our own parameters (`schema`, `workspace`) never reach the driver; the others go as they are.
 */
import { isSecretParam, redactUrl } from '../model/redact.ts';
import { stateError } from './errors.ts';
import { isValidSchemaName } from './pg-migrations.ts';

export const DEFAULT_PG_SCHEMA = 'sms_reconcile';
export const DEFAULT_PG_WORKSPACE = 'default';

const WORKSPACE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** A parsed postgres:// location. */
export interface PgLocation {
  /** The URL for the driver: our own parameters (schema, workspace) removed. Holds the password. */
  readonly connectionString: string;
  /** Fit for messages: the password replaced by ***, schema and workspace shown. */
  readonly redacted: string;
  readonly schema: string;
  readonly workspace: string;
  /** Strings to scrub from any message (the password, in its raw and decoded forms). */
  readonly secrets: readonly string[];
}

/**
 * Parses a postgres:// URL. `schema` and `workspace` come from the options, else from the URL's
 * own `schema`/`workspace` parameters, else the defaults; the other parameters (sslmode, ...) go to
 * the driver as they are.
 */
export function parsePgLocation(location: string, options: { readonly schema?: string; readonly workspace?: string } = {}): PgLocation {
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    throw stateError('state-location-invalid', `the state location ${redactUrl(location)} is not a valid URL`, {
      hint: 'write it like postgres://user:password@host:5432/database?sslmode=require (percent-encode special characters in the password)',
    });
  }
  if (!/^postgres(ql)?:$/i.test(url.protocol)) {
    throw stateError('state-location-invalid', `the state location ${redactUrl(location)} is not a postgres:// URL`);
  }
  const schema = options.schema ?? url.searchParams.get('schema') ?? DEFAULT_PG_SCHEMA;
  const workspace = options.workspace ?? url.searchParams.get('workspace') ?? DEFAULT_PG_WORKSPACE;
  if (!isValidSchemaName(schema)) {
    throw stateError('state-location-invalid', `"${schema}" is not a valid state schema name`, {
      hint: 'use lower-case letters, digits and _ (at most 63, not starting with a digit or pg_), e.g. --state-schema team_a',
    });
  }
  if (!WORKSPACE_NAME.test(workspace)) {
    throw stateError('state-location-invalid', `"${workspace}" is not a valid workspace name`, {
      hint: 'use letters, digits, ".", "_" and "-" (at most 63, starting with a letter or digit), e.g. --workspace prod',
    });
  }
  // Only when present: deleting re-encodes the whole query.
  if (url.searchParams.has('schema')) url.searchParams.delete('schema');
  if (url.searchParams.has('workspace')) url.searchParams.delete('workspace');
  const connectionString = url.toString();

  const secrets: string[] = [];
  if (url.password !== '') {
    secrets.push(url.password);
    try {
      secrets.push(decodeURIComponent(url.password));
    } catch {
      // A malformed escape: the raw form is scrubbed already.
    }
  }
  const shown = new URL(connectionString);
  for (const [key, value] of shown.searchParams) if (isSecretParam(key) && value) secrets.push(value);
  shown.searchParams.set('schema', schema);
  shown.searchParams.set('workspace', workspace);
  // Redacted as text (model/redact.ts): a password with an unencoded '/' can parse as a port and a
  // path, which the URL object would show.
  let redacted = redactUrl(shown.toString());
  try {
    redacted = decodeURI(redacted);
  } catch {
    // A malformed escape elsewhere in the URL: show it encoded.
  }
  const envPassword = process.env['PGPASSWORD'];
  if (envPassword) secrets.push(envPassword);
  return { connectionString, redacted, schema, workspace, secrets: secrets.filter((s) => s.length >= 3) };
}
