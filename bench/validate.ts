// bench/validate.ts: the manifest pipeline (load + parse + validate + normalize) against a bare
// `yaml` parse of the same files, on a generated set of 10,000 jobs in 50 files; then each hostile
// input (the ones test/unit/manifest-corpus.test.ts judges by the work done) against a bare `yaml`
// parse of a normal manifest file of the same size.
//   node --import tsx bench/validate.ts [--rounds N] [--jobs N] [--files N] [--hostile-rounds N]
// Prints per-round times, the medians, their ratio (goal: validate <= 1.5x the bare parse), the
// hostile table (goal: each hostile file costs a small fraction of a normal file of its size) and
// the process's peak RSS. Times are CPU time of this process (user + system, process.cpuUsage), which
// other load on the machine disturbs far less than wall time; wall time is printed alongside.
// Files are written to a temp dir that is removed at the end.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { checkManifests } from '../src/manifest/check.ts';
import { loadManifests } from '../src/manifest/load.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}

const JOBS = arg('jobs', 10_000);
const FILES = arg('files', 50);
const ROUNDS = arg('rounds', 9);
const HOSTILE_ROUNDS = arg('hostile-rounds', 3);

/** A realistic job: a selector of one of the three forms and most job fields. */
function jobDoc(i: number): string {
  const selectors = [
    `  server:\n    serverId: s-${(0x10000000 + i).toString(16)}\n`,
    `  server:\n    vmId: vm-${i}\n    vmManagerId: 5b7c3e2a-1f4d-4a8e-9c61-0d2e8f7a9b10\n`,
    `  server:\n    vmName: vm-${String(i).padStart(5, '0')}\n    vmManagerName: vcenter-dc1.example.com\n    vmPath: /Datacenters/DC1/vm/app/vm-${i}\n`,
  ];
  return [
    `# job ${i}`,
    'apiVersion: sms-reconcile/v1',
    'kind: ReplicationJob',
    'metadata:',
    `  name: job-${i}`,
    '  labels:',
    `    wave: "${i % 7}"`,
    'spec:',
    selectors[i % 3]!.trimEnd(),
    `  frequency: ${1 + (i % 24)}`,
    `  seedReplicationTime: 2026-03-${String(1 + (i % 28)).padStart(2, '0')}T0${i % 10}:00:00Z`,
    `  licenseType: ${i % 2 === 0 ? 'AWS' : 'BYOL'}`,
    '  roleName: sms',
    `  description: "Replication of server ${i} (wave ${i % 7})"`,
    `  numberOfRecentAmisToKeep: ${i % 271}`,
    `  encrypted: ${i % 5 === 0}`,
    ...(i % 5 === 0 ? ['  kmsKeyId: alias/sms'] : []),
    ...(i % 11 === 0 ? ['  onDemandRun:', `    token: run-${i}`] : []),
    ...(i % 13 === 0 ? ['  lifecycle:', '    preventDestroy: true'] : []),
  ].join('\n') + '\n';
}

function generate(dir: string): { bytes: number } {
  const perFile = Math.ceil(JOBS / FILES);
  let bytes = 0;
  for (let f = 0; f < FILES; f++) {
    const docs: string[] = [];
    for (let i = f * perFile; i < Math.min(JOBS, (f + 1) * perFile); i++) docs.push(jobDoc(i));
    const text = docs.join('---\n');
    bytes += Buffer.byteLength(text);
    writeFileSync(path.join(dir, `jobs-${String(f).padStart(2, '0')}.yaml`), text);
  }
  return { bytes };
}

/** The baseline: read every file and parse it with `yaml`, into plain values. */
async function bareParse(dir: string): Promise<number> {
  let docs = 0;
  for (const name of readdirSync(dir).sort()) {
    const text = await readFile(path.join(dir, name), 'utf8');
    for (const doc of parseAllDocuments(text)) {
      doc.toJS();
      docs++;
    }
  }
  return docs;
}

async function pipeline(dir: string): Promise<number> {
  const result = await loadManifests([dir], { cwd: dir });
  if (result.diagnostics.length > 0 || result.desired === undefined) {
    throw new Error(`the generated set should be clean: ${JSON.stringify(result.diagnostics.slice(0, 3))}`);
  }
  return result.desired.jobs.size;
}

async function time(fn: () => Promise<number>): Promise<{ ms: number; wallMs: number; n: number }> {
  const wall = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const n = await fn();
  const used = process.cpuUsage(cpu);
  return { ms: (used.user + used.system) / 1000, wallMs: Number(process.hrtime.bigint() - wall) / 1e6, n };
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** The hostile inputs of the corpus test, by name. */
function hostileInputs(): [string, string][] {
  const bomb = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 10; i++) {
    const prev = String.fromCharCode(96 + i);
    const cur = String.fromCharCode(97 + i);
    bomb.push(`${cur}: &${cur} [${Array(9).fill('*' + prev).join(',')}]`);
  }
  const n = 4_000_000;
  return [
    ['2,000,000 empty documents', '---\n'.repeat(2_000_000)],
    ['nesting 4,000,000 deep', 'a: ' + '['.repeat(n) + ']'.repeat(n) + '\n'],
    ['an alias bomb, then 1,000,000 documents', bomb.join('\n') + '\n' + '---\nb: 1\n'.repeat(1_000_000)],
  ];
}

/** A clean manifest text of about `bytes` bytes (whole documents). */
function normalText(bytes: number): string {
  const docs: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const d = jobDoc(i);
    docs.push(d);
    size += d.length + 4;
  }
  return docs.join('---\n');
}

/** CPU ms of `fn`, median of HOSTILE_ROUNDS runs. */
function cpuMs(fn: () => void): number {
  const xs: number[] = [];
  for (let r = 0; r < HOSTILE_ROUNDS; r++) {
    const cpu = process.cpuUsage();
    fn();
    const used = process.cpuUsage(cpu);
    xs.push((used.user + used.system) / 1000);
  }
  return median(xs);
}

function hostile(): void {
  console.log(`\nhostile inputs (median of ${HOSTILE_ROUNDS} runs, cpu ms), against a bare yaml parse of a clean file of the same size:`);
  console.log('| input | size | documents composed | check | bare yaml parse, same size | ratio |');
  console.log('|---|---|---|---|---|---|');
  for (const [name, text] of hostileInputs()) {
    let composed = 0;
    let codes = '';
    const checkMs = cpuMs(() => {
      const r = checkManifests([{ file: 'hostile.yaml', content: text }], { limits: name.startsWith('an alias') ? { maxDocuments: 2_000_000 } : {} });
      composed = r.composed;
      codes = r.diagnostics.map((d) => d.code).join(',');
    });
    const normal = normalText(text.length);
    const bareMs = cpuMs(() => {
      for (const doc of parseAllDocuments(normal)) doc.toJS();
    });
    console.log(`| ${name} (${codes}) | ${(text.length / 1024 / 1024).toFixed(1)} MiB | ${composed} | ${checkMs.toFixed(0)} ms | ${bareMs.toFixed(0)} ms | ${(checkMs / bareMs).toFixed(3)} |`);
  }
}

const dir = mkdtempSync(path.join(tmpdir(), 'smsr-bench-validate-'));
try {
  const { bytes } = generate(dir);
  console.log(`bench/validate.ts: ${JOBS} jobs in ${FILES} files (${(bytes / 1024 / 1024).toFixed(1)} MiB), ${ROUNDS} rounds after 1 warm-up, node ${process.version}`);
  // Warm-up: module load, ajv's one compile, JIT.
  await pipeline(dir);
  await bareParse(dir);
  const bare: number[] = [];
  const full: number[] = [];
  const bareWall: number[] = [];
  const fullWall: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Alternate the order so neither side always runs on a warmer heap.
    const order = r % 2 === 0 ? (['bare', 'full'] as const) : (['full', 'bare'] as const);
    for (const which of order) {
      if (which === 'bare') {
        const t = await time(() => bareParse(dir));
        if (t.n !== JOBS) throw new Error(`bare parse saw ${t.n} documents`);
        bare.push(t.ms);
        bareWall.push(t.wallMs);
      } else {
        const t = await time(() => pipeline(dir));
        if (t.n !== JOBS) throw new Error(`pipeline produced ${t.n} jobs`);
        full.push(t.ms);
        fullWall.push(t.wallMs);
      }
    }
    console.log(`round ${r + 1}: bare yaml parse ${bare.at(-1)!.toFixed(0)} ms cpu (${bareWall.at(-1)!.toFixed(0)} wall), load+validate+normalize ${full.at(-1)!.toFixed(0)} ms cpu (${fullWall.at(-1)!.toFixed(0)} wall)`);
  }
  const mb = median(bare);
  const mf = median(full);
  const ratio = mf / mb;
  // Each round runs both sides back to back, so the per-round ratio cancels more machine noise.
  const paired = median(full.map((f, i) => f / bare[i]!));
  console.log(`median bare yaml parse:          ${mb.toFixed(0)} ms cpu, ${median(bareWall).toFixed(0)} ms wall`);
  console.log(`median load+validate+normalize:  ${mf.toFixed(0)} ms cpu, ${median(fullWall).toFixed(0)} ms wall (${((JOBS / mf) * 1000).toFixed(0)} jobs per cpu-second)`);
  console.log(`ratio validate/bare (cpu): ${ratio.toFixed(2)} of the medians, ${paired.toFixed(2)} median per round; wall: ${(median(fullWall) / median(bareWall)).toFixed(2)} (goal <= 1.5: ${Math.max(ratio, paired) <= 1.5 ? 'met' : 'NOT met'})`);
  hostile();
  console.log(`peak RSS: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
