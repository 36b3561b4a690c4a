/**
 * PostgreSQL for the pg state-store tests.
 *
 * - The shared server: SMS_RECONCILE_TEST_PG_URL (scripts/ci-postgres.sh starts one and prints
 *   it). Each test file works in its own schema, each test in its own workspace.
 * - Without it, `describePg` skips its tests with a visible message; under CI (CI set) it fails
 *   instead: CI must run them.
 * - A private cluster (`startPrivateCluster`) for the tests that restart the server, so that a
 *   restart never disturbs the other test files that share the server. It needs the PostgreSQL
 *   binaries (Debian's postgresql package); the same skip/fail rule applies.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { beforeAll, describe, it } from 'vitest';

const run = promisify(execFile);

export const PG_URL_ENV = 'SMS_RECONCILE_TEST_PG_URL';

/** Whether we run under CI (where the pg tests must run, not skip). */
export function inCi(): boolean {
  const v = process.env['CI'];
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/** The shared test server's URL, if configured. */
export function pgTestUrl(): string | undefined {
  const v = process.env[PG_URL_ENV];
  return v === undefined || v === '' ? undefined : v;
}

const SKIP_HINT = `set ${PG_URL_ENV}=postgres://user:password@127.0.0.1:55432/db to run them (\`eval "$(bash scripts/ci-postgres.sh)"\` starts one)`;

/**
 * A describe() for tests that need the shared PostgreSQL server. Its body gets the URL. Before the
 * tests, the server is checked once, so an unreachable server fails with one clear message.
 */
export function describePg(name: string, body: (url: string) => void): void {
  const url = pgTestUrl();
  if (url) {
    describe(name, () => {
      beforeAll(async () => {
        await assertReachable(url);
      });
      body(url);
    });
    return;
  }
  if (inCi()) {
    describe(name, () => {
      it('needs PostgreSQL', () => {
        throw new Error(`CI is set but ${PG_URL_ENV} is not: the pg tests must run in CI; ${SKIP_HINT}`);
      });
    });
    return;
  }
  console.warn(`[pg tests] "${name}" skipped: ${SKIP_HINT}`);
  describe.skip(`${name} [skipped: no PostgreSQL; ${SKIP_HINT}]`, () => {
    it('needs PostgreSQL', () => undefined);
  });
}

/** Fails with a clear message when the server cannot be reached. */
export async function assertReachable(url: string): Promise<void> {
  try {
    await sql(url, 'SELECT 1');
  } catch (err) {
    throw new Error(`PostgreSQL at ${PG_URL_ENV} is not reachable: ${(err as Error).message}`);
  }
}

/** Runs one statement on a fresh connection. */
export async function sql<R extends pg.QueryResultRow = Record<string, unknown>>(url: string, text: string, values: readonly unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query<R>(text, [...values])).rows;
  } finally {
    await client.end();
  }
}

/**
 * The URL's password, for tests that check it appears nowhere; undefined when it cannot be told
 * apart (empty, or also part of the user, host or database name).
 */
export function passwordOf(url: string): string | undefined {
  const u = new URL(url);
  const password = decodeURIComponent(u.password);
  if (password.length < 3) return undefined;
  const rest = `${decodeURIComponent(u.username)} ${u.host} ${u.pathname} ${u.search}`;
  return rest.includes(password) ? undefined : password;
}

/** A fresh name for a schema or a workspace. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

/** Drops a test schema and everything in it. */
export async function dropSchema(url: string, schema: string): Promise<void> {
  await sql(url, `DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}

/** Removes one workspace's rows (state, resources, journal, lock record). */
export async function dropWorkspace(url: string, schema: string, workspace: string): Promise<void> {
  const [exists] = await sql<{ t: string | null }>(url, 'SELECT to_regclass($1)::text AS t', [`"${schema}".workspaces`]);
  if (!exists?.t) return;
  await sql(url, `DELETE FROM "${schema}".workspaces WHERE name = $1`, [workspace]);
  await sql(url, `DELETE FROM "${schema}".locks WHERE workspace = $1`, [workspace]);
}

// ---------------------------------------------------------------------------------------------
// A private cluster.

/** The directory of the newest PostgreSQL server binaries, if any. */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(a) - Number(b));
    const newest = versions.at(-1);
    if (newest) return join(root, newest, 'bin');
  }
  return undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface PrivateCluster {
  /** postgres://postgres:secret@127.0.0.1:PORT/postgres */
  readonly url: string;
  readonly port: number;
  /** `pg_ctl restart -m fast`: every session ends; the server is back when this resolves. */
  restart(): Promise<void>;
  /** Stops the server and removes its files. */
  stop(): Promise<void>;
}

/**
 * Starts a throwaway cluster on a free loopback port (password login over TCP). Run as root, it
 * belongs to the `postgres` user (initdb refuses root). Undefined when there are no binaries.
 */
export async function startPrivateCluster(): Promise<PrivateCluster | undefined> {
  const bin = postgresBinDir();
  if (!bin) return undefined;
  const asRoot = process.getuid?.() === 0;
  const exec = async (file: string, args: readonly string[]): Promise<void> => {
    if (asRoot) await run('runuser', ['-u', 'postgres', '--', file, ...args], { timeout: 120_000 });
    else await run(file, [...args], { timeout: 120_000 });
  };
  const dir = await mkdtemp(join(tmpdir(), 'sms-pg-private-'));
  if (asRoot) await chown(dir, ...(await postgresIds()));
  const data = join(dir, 'data');
  const password = randomBytes(9).toString('hex');
  const pwfile = join(dir, 'pw');
  await run('sh', ['-c', `printf '%s' "$1" > "$2"`, 'sh', password, pwfile]);
  if (asRoot) await chown(pwfile, ...(await postgresIds()));
  await exec(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', `--pwfile=${pwfile}`, '--auth-local=trust', '--auth-host=scram-sha-256', '--no-sync', '--no-locale', '-E', 'UTF8']);
  const port = await freePort();
  const log = join(dir, 'log');
  const ctl = join(bin, 'pg_ctl');
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`;
  await exec(ctl, ['-D', data, '-l', log, '-w', '-t', '60', '-o', opts, 'start']);
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    port,
    restart: async () => {
      await exec(ctl, ['-D', data, '-l', log, '-w', '-t', '60', '-m', 'fast', 'restart']);
    },
    stop: async () => {
      await exec(ctl, ['-D', data, '-w', '-m', 'immediate', 'stop']).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function postgresIds(): Promise<[number, number]> {
  const { stdout: uid } = await run('id', ['-u', 'postgres']);
  const { stdout: gid } = await run('id', ['-g', 'postgres']);
  return [Number(uid.trim()), Number(gid.trim())];
}

/**
 * A describe() for tests that need a private cluster (they restart it). Skipped with a message
 * without the PostgreSQL binaries, failing instead under CI.
 */
export function describePrivatePg(name: string, body: () => void): void {
  if (postgresBinDir()) {
    describe(name, body);
    return;
  }
  const hint = 'install PostgreSQL (Debian: apt-get install postgresql) to run them';
  if (inCi()) {
    describe(name, () => {
      it('needs the PostgreSQL binaries', () => {
        throw new Error(`CI is set but no PostgreSQL binaries were found under /usr/lib/postgresql: ${hint}`);
      });
    });
    return;
  }
  console.warn(`[pg tests] "${name}" skipped: ${hint}`);
  describe.skip(`${name} [skipped: ${hint}]`, () => {
    it('needs the PostgreSQL binaries', () => undefined);
  });
}
