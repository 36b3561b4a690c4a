/**
 * What is particular to the pg store: migrations on first use (also by several processes at
 * once), workspaces and schemas that do not see each other, a write that touches only the rows
 * of its change, and locks held by another process: freed by the server when that process dies,
 * broken by force-unlock (which ends the holder's session), and a foreign session holding the
 * advisory lock without a record.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, expect, it } from 'vitest';
import pg from 'pg';
import { PG_MIGRATIONS, PG_SCHEMA_VERSION, advisoryKeys } from '../../src/state/pg-migrations.ts';
import { validateStateDocument } from '../../src/state/codec.ts';
import { PgStateStore } from '../../src/state/pg-store.ts';
import type { StateStore } from '../../src/state/store.ts';
import { describePg, dropSchema, sql, uniqueName } from '../helpers/pg.ts';
import { TARGET, jobRecord, namedJob, stateWith } from '../helpers/state-fixtures.ts';

const LOCK_CHILD = fileURLToPath(new URL('../helpers/pg-lock-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface LockChild {
  readonly proc: ChildProcessWithoutNullStreams;
  readonly lockId: string;
  /** Asks the child to write once; resolves with its answer line. */
  write(): Promise<string>;
}

async function startLockChild(url: string, schema: string, workspace: string, host: string): Promise<LockChild> {
  const proc = spawn(process.execPath, ['--import', 'tsx', LOCK_CHILD, url, schema, workspace, host], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const deadline = Date.now() + 20_000;
  while (!/locked \S+\n/.test(out)) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`lock child did not lock: ${err}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  const lockId = /locked (\S+)\n/.exec(out)?.[1] ?? '';
  let answered = out.split('\n').length;
  return {
    proc,
    lockId,
    write: async () => {
      proc.stdin.write('write\n');
      const until = Date.now() + 20_000;
      while (out.split('\n').length <= answered) {
        if (Date.now() > until) throw new Error(`lock child did not answer: ${err}`);
        await new Promise((r) => setTimeout(r, 5));
      }
      answered = out.split('\n').length;
      return out.split('\n').at(-2) ?? '';
    },
  };
}

describePg('pg store: schema, workspaces, cost and cross-process locks', (url) => {
  const schema = uniqueName('pgspec');
  const opened: StateStore[] = [];
  const children: ChildProcessWithoutNullStreams[] = [];
  function open(options: ConstructorParameters<typeof PgStateStore>[1] = {}): PgStateStore {
    const store = new PgStateStore(url, { schema, ...options });
    opened.push(store);
    return store;
  }
  afterEach(async () => {
    for (const c of children.splice(0)) {
      if (c.exitCode === null && c.signalCode === null) {
        c.kill('SIGKILL');
        await once(c, 'exit');
      }
    }
    for (const s of opened.splice(0)) await s.close();
  });
  afterAll(async () => {
    await dropSchema(url, schema);
  });

  it('creates the schema on first use, once, even when several processes start at once', async () => {
    const fresh = uniqueName('mig');
    try {
      const stores = Array.from({ length: 6 }, (_, i) => open({ schema: fresh, workspace: `w${i}` }));
      // Separate connections racing through the migration.
      const heads = await Promise.all(stores.map((s) => s.head()));
      expect(heads).toEqual(stores.map(() => undefined));
      const versions = await sql<{ version: number; name: string }>(url, `SELECT version, name FROM "${fresh}".schema_migrations ORDER BY version`);
      expect(versions).toEqual(PG_MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
      expect(PG_SCHEMA_VERSION).toBe(PG_MIGRATIONS.at(-1)?.version);
      const tables = await sql<{ relname: string }>(url, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r' ORDER BY 1`, [fresh]);
      expect(tables.map((t) => t.relname)).toEqual(['backups', 'journal', 'locks', 'resources', 'schema_migrations', 'workspaces']);
    } finally {
      await dropSchema(url, fresh);
    }
  });

  it('keeps workspaces and schemas apart: own states, own locks', async () => {
    const otherSchema = uniqueName('other');
    try {
      const prod = open({ workspace: 'prod' });
      const staging = open({ workspace: 'staging' });
      const elsewhere = new PgStateStore(url, { schema: otherSchema, workspace: 'prod' });
      opened.push(elsewhere);
      const lp = await prod.lock({ operation: 'apply' });
      const ls = await staging.lock({ operation: 'apply' }); // not blocked by prod's lock
      const le = await elsewhere.lock({ operation: 'apply' }); // nor by the same workspace name in another schema
      const dp = await prod.initialize(lp, TARGET);
      const ds = await staging.initialize(ls, TARGET);
      await elsewhere.replace(le, stateWith(2, { serial: 5 }));
      await prod.writeResources(lp, [{ address: 'ReplicationJob/web', record: namedJob('web') }]);
      expect(dp.lineage).not.toBe(ds.lineage);
      expect(await prod.head()).toEqual({ lineage: dp.lineage, serial: 1 });
      expect(await staging.head()).toEqual({ lineage: ds.lineage, serial: 0 });
      expect(Object.keys((await staging.read())?.resources ?? {})).toEqual([]);
      expect((await elsewhere.head())?.serial).toBe(5);
      expect((await prod.lockInfo())?.id).toBe(lp.info.id);
      expect((await staging.lockInfo())?.id).toBe(ls.info.id);
    } finally {
      for (const s of opened.splice(0)) await s.close();
      await dropSchema(url, otherSchema);
    }
  });

  it('replace keeps the state it replaces in the backups table, as read() had it', async () => {
    const store = open({ workspace: 'backup' });
    const lock = await store.lock({ operation: 'state push' });
    await store.replace(lock, stateWith(3, { serial: 4 }));
    const intent = await store.appendIntent(lock, { address: 'ReplicationJob/web', operation: 'CreateReplicationJob', serverId: 's-0000abcd' });
    await store.writeResources(lock, [{ address: 'ReplicationJob/db', record: namedJob('db') }]);
    const before = await store.read();
    expect(before?.pending).toEqual([intent]);
    await store.replace(lock, stateWith(1, { serial: 1 }), { force: true });
    const [row] = await sql<{ serial: string; document: unknown }>(url, `SELECT serial, document FROM "${schema}".backups WHERE workspace = 'backup'`);
    expect(Number(row?.serial)).toBe(6);
    expect(validateStateDocument(row?.document)).toEqual(before);
    await lock.release();
  });

  it('a write touches only the rows of its change, whatever the size of the state', async () => {
    const store = open({ workspace: 'cost' });
    const lock = await store.lock({ operation: 'bench' });
    await store.replace(lock, stateWith(3_000));
    const xmins = async () =>
      new Map(
        (await sql<{ address: string; x: string }>(url, `SELECT address, xmin::text AS x FROM "${schema}".resources WHERE workspace = 'cost'`)).map((r) => [r.address, r.x]),
      );
    const before = await xmins();
    const journalBefore = await sql(url, `SELECT serial FROM "${schema}".journal WHERE workspace = 'cost'`);
    const record = { ...jobRecord(1234), preventDestroy: true };
    const intent = await store.appendIntent(lock, { address: record.address, operation: 'UpdateReplicationJob', replicationJobId: record.replicationJobId });
    await store.appendResult(lock, intent.id, { status: 'succeeded' }, [
      { address: record.address, record },
      { address: jobRecord(7).address, record: null },
    ]);
    const after = await xmins();
    expect(after.size).toBe(before.size - 1);
    const changed = [...after].filter(([address, x]) => before.get(address) !== x).map(([address]) => address);
    expect(changed).toEqual([record.address]); // one row rewritten; 2,998 untouched
    const journalAfter = await sql(url, `SELECT serial FROM "${schema}".journal WHERE workspace = 'cost'`);
    expect(journalAfter.length - journalBefore.length).toBe(2);
    expect((await store.read())?.resources[record.address]).toEqual(record);
    await lock.release();
  });

  it('keeps the journal bounded: a release deletes the rows of finished work older than the last journalKeep serials, never a pending intent', async () => {
    const store = open({ workspace: 'prune', journalKeep: 5 });
    const lock = await store.lock({ operation: 'prune' });
    await store.replace(lock, stateWith(2));
    const pending = await store.appendIntent(lock, { address: 'ReplicationJob/web', operation: 'CreateReplicationJob', serverId: 's-0000abcd' });
    for (let i = 0; i < 10; i++) {
      const record = jobRecord(100 + i);
      const intent = await store.appendIntent(lock, { address: record.address, operation: 'UpdateReplicationJob', replicationJobId: record.replicationJobId });
      await store.appendResult(lock, intent.id, { status: 'succeeded' }, [{ address: record.address, record }]);
    }
    await store.writeResources(lock, [{ address: 'ReplicationJob/db', record: namedJob('db') }]);
    const before = await store.read();
    const rows = () =>
      sql<{ serial: string; kind: string; intent_id: string | null; resolved_serial: string | null }>(
        url,
        `SELECT serial::text, kind, intent_id::text, resolved_serial::text FROM "${schema}".journal WHERE workspace = 'prune' ORDER BY serial`,
      );
    const rowsBefore = await rows();
    await lock.release();
    const rowsAfter = await rows();
    const serial = before?.serial ?? 0;
    expect(serial).toBeGreaterThan(20);
    // Kept: the last 5 serials, and the pending intent however old; everything else went.
    const expected = rowsBefore.filter((r) => Number(r.serial) > serial - 5 || (r.kind === 'intent' && r.resolved_serial === null));
    expect(rowsAfter).toEqual(expected);
    expect(rowsAfter.length).toBeLessThan(rowsBefore.length / 3);
    expect(rowsAfter.some((r) => r.intent_id === pending.id)).toBe(true);
    expect(await store.read()).toEqual(before);
    // The store works on: the pending intent resolves, and a new lock writes.
    const again = await store.lock({ operation: 'prune' });
    await store.appendResult(again, pending.id, { status: 'failed', error: { code: 'X', message: 'x' } }, []);
    expect((await store.read())?.pending).toEqual([]);
    await again.release();
  });

  it('a lock of a process that dies is freed by the server, without waiting for its lease', async () => {
    const workspace = 'dies';
    const child = await startLockChild(url, schema, workspace, 'build-agent-7');
    children.push(child.proc);
    const store = open({ workspace });
    const info = await store.lockInfo();
    expect(info).toMatchObject({ id: child.lockId, holder: { host: 'build-agent-7', pid: child.proc.pid }, operation: 'held by a child' });
    const busy = await store.lock({ operation: 'apply' }).catch((e: unknown) => e);
    expect(busy).toMatchObject({ code: 'state-locked' });
    expect((busy as Error).message).toContain('on build-agent-7');
    expect((busy as Error).message).toContain(child.lockId);
    child.proc.kill('SIGKILL');
    await once(child.proc, 'exit');
    // Another host's holder: only the server's release can free it (its 10-minute lease has not run out).
    const started = Date.now();
    const lock = await store.lock({ operation: 'apply', timeoutMs: 15_000 });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await store.lockInfo())?.id).toBe(lock.info.id);
    await lock.release();
  });

  it('force-unlock ends the holder\'s session: the holder can no longer write, and the lock is free', async () => {
    const workspace = 'forced';
    const setup = open({ workspace });
    const l0 = await setup.lock({ operation: 'setup' });
    await setup.initialize(l0, TARGET);
    await l0.release();
    const child = await startLockChild(url, schema, workspace, 'laptop-9');
    children.push(child.proc);
    expect(await child.write()).toBe('wrote 1');
    const store = open({ workspace });
    await expect(store.forceUnlock('00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({ code: 'state-lock-id-mismatch' });
    const removed = await store.forceUnlock(child.lockId);
    expect(removed).toMatchObject({ id: child.lockId, holder: { host: 'laptop-9' } });
    expect(await store.lockInfo()).toBeUndefined();
    expect(await child.write()).toMatch(/^error state-lock-lost$/);
    const lock = await store.lock({ operation: 'apply' });
    expect((await store.writeResources(lock, [{ address: 'ReplicationJob/after', record: namedJob('after') }])).serial).toBe(2);
    await lock.release();
  });

  it('a foreign session holding the advisory lock is reported, and force-unlock can end it', async () => {
    const workspace = 'foreign';
    const [k1, k2] = advisoryKeys(`sms-reconcile\0${schema}\0${workspace}`);
    const foreign = new pg.Client({ connectionString: url });
    foreign.on('error', () => undefined);
    await foreign.connect();
    try {
      await foreign.query('SELECT pg_advisory_lock($1, $2)', [k1, k2]);
      const { rows } = await foreign.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const store = open({ workspace });
      const info = await store.lockInfo();
      expect(info?.id).toBe(`pg-backend-${rows[0]?.pid}`);
      await expect(store.lock({ operation: 'apply' })).rejects.toMatchObject({ code: 'state-locked' });
      await store.forceUnlock(info?.id ?? '');
      const lock = await store.lock({ operation: 'apply', timeoutMs: 5_000 });
      expect(lock.held).toBe(true);
      await lock.release();
    } finally {
      await foreign.end().catch(() => undefined);
    }
  });
});
