/**
 * Four processes write to one pg workspace at once: each takes the lock, records intent + result
 * pairs for addresses that the others write too, releases, and again. Shown: the lock serializes
 * them (each lock's changes form one unbroken run of serials), the serial counts every change
 * exactly once, every result is there once, and each address holds the last record written to it.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import type { PendingIntent, ResourceRecord, ResourceWrite } from '../../src/state/codec.ts';
import { PgStateStore } from '../../src/state/pg-store.ts';
import { describePg, dropSchema, sql, uniqueName } from '../helpers/pg.ts';
import { TARGET } from '../helpers/state-fixtures.ts';

const CHILD = fileURLToPath(new URL('../helpers/pg-writer-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WRITERS = ['ann', 'bob', 'carol', 'dave'];
const ROUNDS = 5;
const PER_ROUND = 6;
const ADDRESSES = 8;

function runWriter(url: string, schema: string, workspace: string, name: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', CHILD, url, schema, workspace, name, String(ROUNDS), String(PER_ROUND), String(ADDRESSES)],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

interface JournalRow {
  serial: string;
  kind: 'intent' | 'result' | 'write';
  lock_id: string;
  intent_id: string;
  resolved_serial: string | null;
  body: PendingIntent | { outcome: unknown; writes: ResourceWrite[] };
}

describePg('pg store: four processes at once', (url) => {
  const schema = uniqueName('conc');
  afterAll(async () => {
    await dropSchema(url, schema);
  });

  it('serializes them: consistent serial, every result once, last write wins', { timeout: 120_000 }, async () => {
    const workspace = 'shared';
    const setup = new PgStateStore(url, { schema, workspace });
    const lock = await setup.lock({ operation: 'setup' });
    await setup.initialize(lock, TARGET);
    await lock.release();
    await setup.close();

    const results = await Promise.all(WRITERS.map((name) => runWriter(url, schema, workspace, name)));
    for (const r of results) expect(r, r.err).toMatchObject({ code: 0 });
    const perWriter = ROUNDS * PER_ROUND * 2;
    expect(results.map((r) => r.out.trim())).toEqual(WRITERS.map(() => `done ${perWriter}`));
    const total = perWriter * WRITERS.length;

    const store = new PgStateStore(url, { schema, workspace });
    try {
      const doc = await store.read();
      expect(doc?.serial).toBe(total);
      expect(doc?.pending).toEqual([]);

      const rows = await sql<JournalRow>(url, `SELECT serial, kind, lock_id, intent_id, resolved_serial, body FROM "${schema}".journal WHERE workspace = $1 ORDER BY serial`, [workspace]);
      expect(rows.map((r) => Number(r.serial))).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      // Serialized: each lock's changes are one unbroken run of serials; WRITERS x ROUNDS locks in all.
      const runs: string[] = [];
      for (const r of rows) if (runs.at(-1) !== r.lock_id) runs.push(r.lock_id);
      expect(new Set(runs).size).toBe(runs.length);
      expect(runs).toHaveLength(WRITERS.length * ROUNDS);
      // Every intent resolved by exactly one result, right after it; nothing duplicated.
      const intents = rows.filter((r) => r.kind === 'intent');
      const resultsRows = rows.filter((r) => r.kind === 'result');
      expect(intents).toHaveLength(total / 2);
      expect(resultsRows).toHaveLength(total / 2);
      expect(new Set(intents.map((r) => r.intent_id)).size).toBe(total / 2);
      expect(new Set(resultsRows.map((r) => r.intent_id)).size).toBe(total / 2);
      for (const i of intents) expect(Number(i.resolved_serial)).toBe(Number(i.serial) + 1);
      // Every writer's every result is present.
      const written = resultsRows.flatMap((r) => ('writes' in r.body ? r.body.writes : []));
      for (const name of WRITERS) {
        const mine = written.filter((w) => w.record?.appliedSpec.description?.startsWith(`${name} `));
        expect(mine.map((w) => w.record?.appliedSpec.description).sort()).toEqual(
          Array.from({ length: ROUNDS * PER_ROUND }, (_, i) => `${name} ${i}`).sort(),
        );
      }
      // Each address holds the last record written to it.
      const last = new Map<string, ResourceRecord | null>();
      for (const w of written) last.set(w.address, w.record);
      expect(Object.keys(doc?.resources ?? {}).sort()).toEqual([...last.keys()].sort());
      for (const [address, record] of last) expect(doc?.resources[address]).toEqual(record);
    } finally {
      await store.close();
    }
  });
});
