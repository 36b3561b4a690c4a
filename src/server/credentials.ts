/**
 * The key pair(s) the embedded server accepts: from the environment, else `<dataDir>/credentials.json`,
 * else generated once and written there (0600, atomically) so later runs and clients can reuse it.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../atomic-file.ts';
import type { Credential } from './auth.ts';

export interface ServerCredentials {
  readonly credentials: readonly Credential[];
  /** Where they came from, for the startup log. */
  readonly origin: 'env' | 'file' | 'generated';
  /** The credentials file read or written; absent for env and ':memory:'. */
  readonly file?: string;
}

const CREDENTIALS_FILE = 'credentials.json';

const ENV_KEY = 'SMS_SERVER_ACCESS_KEY_ID';
const ENV_SECRET = 'SMS_SERVER_SECRET_ACCESS_KEY';
const ENV_TOKEN = 'SMS_SERVER_SESSION_TOKEN';
/** No whitespace, '/' (breaks the credential scope) or ',' (breaks the Authorization header). */
const ACCESS_KEY_ID = /^[\x21-\x2b\x2d-\x2e\x30-\x7e]{1,128}$/;
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function loadServerCredentials(dataDir: string, env: NodeJS.ProcessEnv): ServerCredentials {
  const fromEnv = credentialsFromEnv(env);
  if (fromEnv !== undefined) return { credentials: [fromEnv], origin: 'env' };
  if (dataDir === ':memory:') return { credentials: [generateCredential()], origin: 'generated' };

  const file = path.join(dataDir, CREDENTIALS_FILE);
  if (fs.existsSync(file)) return { credentials: [readCredentialsFile(file)], origin: 'file', file };
  const generated = generateCredential();
  writeCredentialsFile(dataDir, file, generated);
  return { credentials: [generated], origin: 'generated', file };
}

/** Lookup by access key id; a key id listed twice is a configuration error. */
export function credentialLookup(creds: readonly Credential[]): (akid: string) => Credential | undefined {
  const byId = new Map<string, Credential>();
  for (const cred of creds) {
    if (byId.has(cred.accessKeyId)) throw new Error(`Access key id ${cred.accessKeyId} is listed more than once.`);
    byId.set(cred.accessKeyId, cred);
  }
  return (akid) => byId.get(akid);
}

function credentialsFromEnv(env: NodeJS.ProcessEnv): Credential | undefined {
  const accessKeyId = env[ENV_KEY] || undefined;
  const secretAccessKey = env[ENV_SECRET] || undefined;
  const sessionToken = env[ENV_TOKEN] || undefined;
  if (accessKeyId === undefined && secretAccessKey === undefined) {
    if (sessionToken !== undefined) throw new Error(`${ENV_TOKEN} is set but ${ENV_KEY} and ${ENV_SECRET} are not.`);
    return undefined;
  }
  if (accessKeyId === undefined) throw new Error(`${ENV_SECRET} is set but ${ENV_KEY} is missing: set both or neither.`);
  if (secretAccessKey === undefined) throw new Error(`${ENV_KEY} is set but ${ENV_SECRET} is missing: set both or neither.`);
  if (!ACCESS_KEY_ID.test(accessKeyId)) {
    throw new Error(`${ENV_KEY} must be 1-128 printable characters without spaces, '/' or ','.`);
  }
  return sessionToken === undefined ? { accessKeyId, secretAccessKey } : { accessKeyId, secretAccessKey, sessionToken };
}

function readCredentialsFile(file: string): Credential {
  const refuse = (why: string): Error =>
    new Error(`Refusing to use ${file}: ${why}. Fix it, or delete it to have new credentials generated.`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw refuse(err instanceof SyntaxError ? 'it is not valid JSON' : `it cannot be read (${(err as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw refuse('it is not a JSON object');
  const record = parsed as Record<string, unknown>;
  const unknown = Object.keys(record).filter((k) => k !== 'accessKeyId' && k !== 'secretAccessKey' && k !== 'sessionToken');
  if (unknown.length > 0) throw refuse(`unknown field(s) ${unknown.join(', ')}`);
  const { accessKeyId, secretAccessKey, sessionToken } = record;
  if (typeof accessKeyId !== 'string' || !ACCESS_KEY_ID.test(accessKeyId)) {
    throw refuse("'accessKeyId' must be a string of 1-128 printable characters without spaces, '/' or ','");
  }
  if (typeof secretAccessKey !== 'string' || secretAccessKey === '') throw refuse("'secretAccessKey' must be a non-empty string");
  if (sessionToken === undefined) return { accessKeyId, secretAccessKey };
  if (typeof sessionToken !== 'string' || sessionToken === '') throw refuse("'sessionToken', when present, must be a non-empty string");
  return { accessKeyId, secretAccessKey, sessionToken };
}

/** AKIA + 16 of [A-Z2-7] (32 divides 256, so unbiased) and a 40-character base64 secret. */
function generateCredential(): Credential {
  const accessKeyId = `AKIA${Array.from(randomBytes(16), (b) => BASE32.charAt(b & 31)).join('')}`;
  const secretAccessKey = randomBytes(30).toString('base64');
  return { accessKeyId, secretAccessKey };
}

/** Temp file opened 0600, fsynced, renamed into place, directory fsynced: never a partial or readable file. */
function writeCredentialsFile(dataDir: string, file: string, cred: Credential): void {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  writeFileAtomic(file, `${JSON.stringify({ accessKeyId: cred.accessKeyId, secretAccessKey: cred.secretAccessKey }, null, 2)}\n`, 0o600);
}
