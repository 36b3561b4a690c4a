// bench/startup.ts: the cold start of the installed CLI, `sms-reconcile --version` (node
// bin/sms-reconcile.mjs, which loads dist/), against a bare `node -e 0`, run alternately so both
// see the same machine. Goal (issue 16): at most 2x.
//   node --import tsx bench/startup.ts [--runs N]
// Prints the medians of wall time, their ratio, and the median of the per-pair ratios.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const i = process.argv.indexOf('--runs');
const RUNS = i === -1 ? 21 : Number(process.argv[i + 1]);
const BIN = fileURLToPath(new URL('../bin/sms-reconcile.mjs', import.meta.url));

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
};

function wallMs(args: readonly string[]): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t) / 1e6;
}

const bare: number[] = [];
const cli: number[] = [];
wallMs(['-e', '0']);
wallMs([BIN, '--version']);
for (let r = 0; r < RUNS; r++) {
  if (r % 2 === 0) {
    bare.push(wallMs(['-e', '0']));
    cli.push(wallMs([BIN, '--version']));
  } else {
    cli.push(wallMs([BIN, '--version']));
    bare.push(wallMs(['-e', '0']));
  }
}
const paired = median(cli.map((c, k) => c / bare[k]!));
console.log(`bench/startup.ts: ${RUNS} runs each, alternating, node ${process.version}`);
console.log(`median node -e 0:                ${median(bare).toFixed(0)} ms`);
console.log(`median sms-reconcile --version:  ${median(cli).toFixed(0)} ms`);
console.log(`ratio: ${(median(cli) / median(bare)).toFixed(2)} of the medians, ${paired.toFixed(2)} median per pair (goal <= 2: ${Math.max(paired, median(cli) / median(bare)) <= 2 ? 'met' : 'NOT met'})`);
