/**
 * The crash test of the file store (state-store-crash.test.ts), repeated with the pg store: a child
 * process records intents and results in a loop and is killed with SIGKILL at a random moment, ten
 * times over. After each kill the state must validate, hold every result the child acknowledged,
 * and let the next writer (a new child) take the lock and resume: the server freed the dead
 * child's advisory lock with its session, or the next child took over the lock of a dead pid.
 * (Unlike a file, a database may still commit a change after its client died: the COMMIT was sent.
 * So the test reads the state once the server has ended the child's sessions.)
 */
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { PgStateStore } from '../../src/state/pg-store.ts';
import { acksOf, killAfterFirstAck } from '../helpers/crash-child.ts';
import { describePg, dropSchema, sql, uniqueName } from '../helpers/pg.ts';
import { jobRecord } from '../helpers/state-fixtures.ts';

const CHILD = fileURLToPath(new URL('../helpers/pg-crash-child.ts', import.meta.url));
const TRIALS = 10;

/** Runs the child until it has acknowledged something, waits a random while, kills it; returns the acks. */
async function killedRun(url: string, schema: string, workspace: string, trial: number): Promise<{ start: number; acked: number[] }> {
  // The child's sessions carry a name of their own, so we can wait for them to end.
  const name = `sms-crash-${process.pid}-${trial}`;
  const childUrl = new URL(url);
  childUrl.searchParams.set('application_name', name);
  const { out, signal } = await killAfterFirstAck(CHILD, [childUrl.toString(), schema, workspace], 20_000);
  expect(signal).toBe('SIGKILL');
  // A COMMIT the child sent just before dying is still carried out by its backend: wait for the
  // server to end the child's sessions, so that what we read next is final.
  for (let i = 0; i < 200; i++) {
    const [row] = await sql<{ n: string }>(url, 'SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1', [name]);
    if (Number(row?.n) === 0) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  return acksOf(out());
}

describePg('pg store: kill -9 at random moments', (url) => {
  const schema = uniqueName('crash');
  afterAll(async () => {
    await dropSchema(url, schema);
  });

  it(`keeps every acknowledged result and a valid state over ${TRIALS} kills`, { timeout: 180_000 }, async () => {
    const workspace = 'crash';
    let expected = 0;
    let totalAcked = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      const { start, acked } = await killedRun(url, schema, workspace, trial);
      // The child resumed exactly where the previous one's committed results ended.
      expect(start).toBe(expected);
      expect(acked[0]).toBe(start);
      totalAcked += acked.length;

      const store = new PgStateStore(url, { schema, workspace });
      try {
        const doc = await store.read(); // validates against the schema and the invariants
        expect(doc).toBeDefined();
        const resources = doc?.resources ?? {};
        for (const n of acked) expect(resources[jobRecord(n).address]).toEqual(jobRecord(n));
        const count = Object.keys(resources).length;
        // Every committed result is there, and at most one more than acknowledged (committed, not yet printed).
        expect(count).toBeGreaterThanOrEqual((acked.at(-1) ?? start - 1) + 1);
        expect(count).toBeLessThanOrEqual((acked.at(-1) ?? start - 1) + 2);
        expect(doc?.pending.length).toBeLessThanOrEqual(1);
        // The journal and the serial agree: one row per change, no gap, no duplicate.
        const [j] = await sql<{ n: string; max: string | null }>(url, `SELECT count(*) AS n, max(serial) AS max FROM "${schema}".journal WHERE workspace = $1`, [workspace]);
        expect(Number(j?.n)).toBe(doc?.serial);
        expect(Number(j?.max)).toBe(doc?.serial);
        expected = count;
      } finally {
        await store.close();
      }
    }
    expect(totalAcked).toBeGreaterThan(TRIALS);
    console.log(`pg crash test: ${TRIALS} kills, ${totalAcked} acknowledged results, ${expected} resources at the end`);
  });
});
