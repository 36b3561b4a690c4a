/**
 * The dashboard at scale (issue 18): the time to first full render of the estate view at 5,000 and
 * 10,000 jobs in headless Debian Chromium (playwright-core), and the size of its assets.
 *
 * The controller's real HTTP layer (src/controller/http.ts, serving dist/web as built by
 * scripts/build.mjs) runs in this process with a synthetic estate of N rows (a mix of states, runs,
 * drift, pending changes and errors). Each round opens a fresh page and measures, in the page, from
 * navigation start to the moment the estate shows "Showing N of N jobs" with its rows in the DOM
 * (a MutationObserver records performance.now()). Also: the DOM rows at that moment (virtualized:
 * a screenful, not N), the /api/dashboard body size, and the time of a search keystroke over N rows.
 *
 *   node scripts/build.mjs && node --import tsx bench/dashboard.ts [--jobs 5000,10000] [--rounds 5]
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { startControllerHttp } from '../src/controller/http.ts';
import { WEB_DIR, WebAssets } from '../src/controller/ui.ts';
import { createLogger } from '../src/report/logger.ts';
import { launchChromium } from '../test/helpers/browser.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const STATES = ['ACTIVE', 'ACTIVE', 'ACTIVE', 'PENDING', 'COMPLETED', 'FAILED', 'PAUSED_ON_FAILURE', 'DELETING'];

function rows(n: number): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (let i = 1; i <= n; i++) {
    const id = String(i).padStart(5, '0');
    const state = STATES[i % STATES.length] ?? 'ACTIVE';
    out.push({
      address: `ReplicationJob/job-${id}`,
      vmName: `vm-${id}.dc1.example.com`,
      serverId: `s-${(i * 2654435761 % 0xffffffff).toString(16).padStart(8, '0')}`,
      replicationJobId: `sms-job-${(i * 40503 % 0xffffffff).toString(16).padStart(8, '0')}`,
      state,
      latestRun: { replicationRunId: `sms-run-${id}`, state: i % 5 === 0 ? 'ACTIVE' : 'COMPLETED', stage: 'Uploading', progress: `${i % 100}%` },
      latestAmiId: i % 3 === 0 ? undefined : `ami-${id}0123456789`,
      nextRunAt: new Date(Date.now() + (i % 720) * 60_000).toISOString(),
      wave: 'default',
      drift: i % 97 === 0 ? ['frequency'] : [],
      pending: i % 53 === 0 ? { action: 'update', why: 'observe-mode', destructive: false } : undefined,
      error: state === 'FAILED' ? { code: 'ServerCannotBeReplicatedException', message: `s-${id} has 30 volumes (at most 22).`, operation: 'CreateReplicationJob' } : undefined,
      description: `wave 1 / app ${i % 40}`,
      source: `manifests/${Math.floor(i / 200)}.yaml:${(i % 200) * 12 + 1}`,
    });
  }
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function main(): Promise<void> {
  const sizes = arg('jobs', '5000,10000').split(',').map(Number);
  const rounds = Number(arg('rounds', '5'));
  const quiet = new Writable({ write: (_c, _e, done) => done() });
  const logger = createLogger({ level: 'error', format: 'json', stream: quiet, color: false });
  let data: Record<string, unknown> = {};
  const http = await startControllerHttp(
    {
      healthy: () => ({ ok: true }), ready: () => ({ ok: true }), status: () => ({}), job: () => undefined,
      metrics: async () => ({ contentType: 'text/plain', text: '' }), trigger: () => undefined,
      dashboard: () => data,
    },
    { host: '127.0.0.1', port: 0, webhookSecret: undefined, uiToken: undefined, assets: new WebAssets(), logger },
  );
  const browser = await launchChromium();
  const assets = ['app.js', 'app.css', 'index.html'].map((f) => {
    const body = readFileSync(join(WEB_DIR, f));
    return { f, bytes: statSync(join(WEB_DIR, f)).size, gzip: gzipSync(body).length };
  });
  process.stdout.write(`bench/dashboard.ts: Chromium ${browser.version()}, node ${process.version}, ${rounds} rounds per size (median)\n`);
  process.stdout.write(`assets: ${assets.map((a) => `${a.f} ${a.bytes} B (${a.gzip} B gzip)`).join(', ')}; total ${assets.reduce((s, a) => s + a.bytes, 0)} B (${assets.reduce((s, a) => s + a.gzip, 0)} B gzip)\n`);
  process.stdout.write('jobs   first full render ms (median, min..max)  DOM rows  /api/dashboard bytes  search keystroke ms\n');
  try {
    for (const n of sizes) {
      data = { generatedAt: new Date().toISOString(), leader: true, holder: 'bench', identity: 'bench', mode: 'apply', allowDestroy: false, revision: null, running: false, nextCycleAt: null, consecutiveFailures: 0, lastCycle: null, hasEstate: true, rows: rows(n), plan: [], cycles: [], leadership: [] };
      const apiBytes = Buffer.byteLength(JSON.stringify(data));
      const times: number[] = [];
      const searches: number[] = [];
      let domRows = 0;
      for (let r = 0; r < rounds; r++) {
        const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
        await page.addInitScript((want: string) => {
          const w = window as unknown as { __rendered?: number };
          new MutationObserver(() => {
            const shown = document.getElementById('shown');
            if (w.__rendered === undefined && shown?.textContent === want && document.querySelector('.vt-row') !== null) w.__rendered = performance.now();
          }).observe(document, { subtree: true, childList: true, characterData: true });
        }, `Showing ${n} of ${n} jobs`);
        await page.goto(`${http.url}/`);
        await page.waitForFunction(() => (window as unknown as { __rendered?: number }).__rendered !== undefined, undefined, { timeout: 120_000 });
        times.push(await page.evaluate(() => (window as unknown as { __rendered: number }).__rendered));
        domRows = await page.locator('.vt-row').count();
        searches.push(
          await page.evaluate(() => {
            const input = document.getElementById('search') as HTMLInputElement;
            const t0 = performance.now();
            input.value = 'vm-00042';
            input.dispatchEvent(new Event('input'));
            return performance.now() - t0;
          }),
        );
        await page.close();
      }
      process.stdout.write(`${String(n).padEnd(6)} ${median(times).toFixed(0).padStart(6)} (${Math.min(...times).toFixed(0)}..${Math.max(...times).toFixed(0)})${' '.repeat(24)}${String(domRows).padStart(5)}  ${String(apiBytes).padStart(20)}  ${median(searches).toFixed(1).padStart(19)}\n`);
    }
  } finally {
    await browser.close();
    await http.close();
  }
}

await main();
