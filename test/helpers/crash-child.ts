/**
 * The parent side of the state store crash tests (state-store-crash, state-store-pg-crash): run a
 * child that writes in the loop of crash-writer.ts and SIGKILL it at a random moment.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Runs `node --import tsx FILE ...args` until it has acknowledged something (else kills it and
 * throws after `startTimeoutMs`), waits a random 20-200 ms, SIGKILLs it: its output and exit signal.
 */
export async function killAfterFirstAck(file: string, args: readonly string[], startTimeoutMs: number): Promise<{ out: () => string; signal: NodeJS.Signals | null }> {
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = once(child, 'exit');
  const deadline = Date.now() + startTimeoutMs;
  while (!/ack \d+\n/.test(out)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`child did not start: ${err}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise((r) => setTimeout(r, 20 + Math.random() * 180));
  child.kill('SIGKILL');
  const [, signal] = (await exited) as [number | null, NodeJS.Signals | null];
  return { out: () => out, signal };
}

/** Where a child's writes started (`ready N`) and every result it acknowledged (`ack N`). */
export function acksOf(out: string): { start: number; acked: number[] } {
  const start = Number(/ready (\d+)/.exec(out)?.[1]);
  const acked = [...out.matchAll(/ack (\d+)\n/g)].map((m) => Number(m[1]));
  return { start, acked };
}
