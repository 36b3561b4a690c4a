/**
 * Crash test of the file store: a child process records intents and results in a loop and is
 * killed with SIGKILL at a random moment, several times over. After each kill the state must
 * decode (schema-valid), hold every result the child acknowledged, and let the next writer resume.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeState } from '../../src/state/codec.ts';
import { FileStateStore } from '../../src/state/file-store.ts';
import { acksOf, killAfterFirstAck } from '../helpers/crash-child.ts';
import { jobRecord } from '../helpers/state-fixtures.ts';

const CHILD = fileURLToPath(new URL('../helpers/state-crash-child.ts', import.meta.url));
const TRIALS = 5;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sms-state-crash-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs the child until it has acknowledged something, waits a random while, kills it; returns the acks. */
async function killedRun(path: string): Promise<{ start: number; acked: number[] }> {
  const { out, signal } = await killAfterFirstAck(CHILD, [path], 15_000);
  expect(signal).toBe('SIGKILL');
  return acksOf(out());
}

describe('file store: kill -9 at random moments', () => {
  it(`keeps every acknowledged result and a valid state over ${TRIALS} kills`, async () => {
    const path = join(dir, 'state.json');
    let expected = 0;
    let totalAcked = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      const { start, acked } = await killedRun(path);
      // The child resumed exactly where the previous one's durable results ended.
      expect(start).toBe(expected);
      expect(acked[0]).toBe(start);
      totalAcked += acked.length;

      const doc = await new FileStateStore(path).read(); // replays the journal; throws if anything is invalid
      expect(doc).toBeDefined();
      const resources = doc?.resources ?? {};
      for (const n of acked) expect(resources[jobRecord(n).address]).toEqual(jobRecord(n));
      const count = Object.keys(resources).length;
      // Every durable result is there, and at most one more than acknowledged (durable, not yet printed).
      expect(count).toBeGreaterThanOrEqual((acked.at(-1) ?? start - 1) + 1);
      expect(count).toBeLessThanOrEqual((acked.at(-1) ?? start - 1) + 2);
      expect(doc?.pending.length).toBeLessThanOrEqual(1);
      // The snapshot on disk is valid on its own, too.
      decodeState(await readFile(path, 'utf8'));
      expected = count;
    }
    expect(totalAcked).toBeGreaterThan(TRIALS);
    // The next holder (dead-pid takeover) resumes and cleans up what the kills left behind.
    const store = new FileStateStore(path);
    const lock = await store.lock({ operation: 'after the crashes' });
    expect(lock.held).toBe(true);
    await lock.release();
    expect((await readdir(dir)).sort()).toEqual(['state.json', 'state.json.backup', 'state.json.journal']);
  });
});
