/**
 * The dashboard in a real browser: headless Debian Chromium (playwright-core) against the real
 * `sms-reconcile controller` subprocess on the embedded server. 12 VMs; gen-0004 has 30 disks,
 * which SMS refuses to replicate; job-0003's description and VM 6's name hold markup; after the
 * first cycle job-0002 asks for runOnce, a replace that waits for --allow-destroy. Waits are for
 * selectors and /status, with generous timeouts; no test asserts a duration.
 *
 * Outside CI without /usr/bin/chromium the tests skip (CI installs it). With
 * DASHBOARD_SCREENSHOTS=1 the views are saved at 1280x800 to docs/dashboard-*.png.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SdkSmsApi } from '../../src/sms/client.ts';
import { closeImportedServer, REPO_ROOT, removeWorkspaces, startImportedServer, workspace, type Endpoint, type Workspace } from '../helpers/apply-cli.ts';
import { genVm, jobDoc, type ManifestDoc } from '../helpers/apply-harness.ts';
import { hasChromium, launchChromium } from '../helpers/browser.ts';
import { startController, type RunningController } from '../helpers/controller.ts';
import { freePort, inCi } from '../helpers/pg.ts';
import type { TestServer } from '../helpers/server.ts';

const XSS = '<img src=x onerror="window.__xss=1">';
const MARKUP_VM = '<b onclick="window.__xss=2">gen-0006</b>';
const vmName = (n: number) => (n === 6 ? MARKUP_VM : genVm(n));
const job = (n: number) => `job-${String(n).padStart(4, '0')}`;
const address = (n: number) => `ReplicationJob/${job(n)}`;

function docs(runOnceFor?: number): ManifestDoc[] {
  return Array.from({ length: 12 }, (_, i) => {
    const n = i + 1;
    const spec: Record<string, unknown> = n === runOnceFor ? { runOnce: true } : { frequency: 12 };
    if (n === 3) spec['description'] = XSS;
    return jobDoc(job(n), vmName(n), spec);
  });
}

const skip = !hasChromium() && !inCi();
if (skip) process.stderr.write('dashboard.test.ts: skipped: /usr/bin/chromium is not installed (apt-get install chromium; CI installs it)\n');

let t: TestServer;
let endpoint: Endpoint;
let api: SdkSmsApi;
let browser: Browser;
let ws: Workspace;
let manifestDir: string;
let c: RunningController;
/** What the browser reported as blocked by the CSP: the dashboard itself must need nothing it forbids. */
const cspViolations: string[] = [];

beforeAll(async () => {
  if (skip) return;
  ({ t, endpoint, api } = await startImportedServer(12, undefined, (i) => (i + 1 === 4 ? { volumes: 30 } : i + 1 === 6 ? { vmName: MARKUP_VM } : {})));
  browser = await launchChromium();
  ws = await workspace(endpoint);
  manifestDir = await ws.writeManifests(docs());
  c = await startController(ws, manifestDir);
  await c.waitForStatus((s) => s.jobs.length === 11 && (s.lastCycle?.errors ?? []).some((e) => e.code === 'ServerCannotBeReplicatedException'), 120_000);
  // Runs move on with the server's clock; then job-0002 wants a replace the controller may not do.
  await t.advance(3600);
  await ws.writeManifests(docs(2));
  await c.waitForStatus((s) => s.pending.some((p) => p.address === address(2) && p.action === 'replace'), 120_000);
}, 300_000);

afterAll(async () => {
  if (skip) return;
  await browser?.close();
  await closeImportedServer({ t, api });
  await removeWorkspaces();
});

async function open(path = '/'): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('dialog', (d) => void d.dismiss());
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });
  await page.goto(`${c.url}${path}`);
  return page;
}

const rowOf = (page: Page, n: number) => page.locator(`.vt-row[data-address="${address(n)}"]`);

async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env['DASHBOARD_SCREENSHOTS'] !== '1') return;
  await mkdir(join(REPO_ROOT, 'docs'), { recursive: true });
  await page.screenshot({ path: join(REPO_ROOT, 'docs', `dashboard-${name}.png`) });
}

describe.skipIf(skip)('dashboard', { timeout: 180_000 }, () => {
  it('lists every job with its state, the refused server with its failure and SMS code, and the counts', async () => {
    const page = await open('/');
    await page.locator('#shown', { hasText: 'Showing 12 of 12 jobs' }).waitFor({ timeout: 60_000 });
    expect(await page.locator('.vt-row').count()).toBe(12);
    // One row under the other (positioned through the CSSOM, which the CSP allows).
    const tops = await page.locator('.vt-row').evaluateAll((els) => els.map((e) => e.getBoundingClientRect().top));
    expect(new Set(tops).size).toBe(12);
    for (const n of [1, 5, 12]) await expect.poll(() => rowOf(page, n).textContent()).toMatch(/ACTIVE|PENDING|COMPLETED/);
    const refused = (await rowOf(page, 4).textContent()) ?? '';
    expect(refused).toContain('NO JOB');
    expect(refused).toContain(genVm(4));
    expect(refused).toContain('ServerCannotBeReplicatedException');
    expect(refused).toContain('30 volumes');
    expect(await page.locator('[data-count="jobs"] strong').textContent()).toBe('12');
    expect(await page.locator('[data-count="failed"] strong').textContent()).toBe('1');
    expect(await page.locator('#leader').textContent()).toBe('leader');
    await screenshot(page, 'estate');
    await page.emulateMedia({ colorScheme: 'dark' });
    await screenshot(page, 'estate-dark');
    await page.close();
  });

  it('filters by failed, pending and state, and searches', async () => {
    const page = await open('/#/estate');
    const shown = page.locator('#shown');
    await shown.filter({ hasText: 'of 12 jobs' }).waitFor({ timeout: 60_000 });
    await page.locator('#filter-failed').check();
    await shown.filter({ hasText: 'Showing 1 of 12' }).waitFor();
    expect(await page.locator('.vt-row').getAttribute('data-address')).toBe(address(4));
    await page.locator('#filter-failed').uncheck();
    await page.locator('#filter-pending').check();
    await shown.filter({ hasText: 'Showing 2 of 12' }).waitFor();
    expect(await page.locator('.vt-row').evaluateAll((els) => els.map((e) => e.getAttribute('data-address')))).toEqual([address(2), address(4)]);
    await page.locator('#filter-pending').uncheck();
    await page.locator('#filter-state').selectOption('NO_JOB');
    await shown.filter({ hasText: 'Showing 1 of 12' }).waitFor();
    await page.locator('#filter-state').selectOption('');
    await page.locator('#search').fill('GEN-0007');
    await shown.filter({ hasText: 'Showing 1 of 12' }).waitFor();
    expect(await page.locator('.vt-row').getAttribute('data-address')).toBe(address(7));
    await page.locator('#search').fill('no such thing');
    await shown.filter({ hasText: 'Showing 0 of 12' }).waitFor();
    await page.locator('#search').fill('');
    // Sorting: by address descending puts job-0012 first.
    await page.locator('button[data-sort="address"]').click();
    await page.locator('.vt-row').first().filter({ has: page.locator(`a:text-is("${job(12)}")`) }).waitFor();
    // Keyboard: a row link keeps the focus across a refresh, and Enter opens the job.
    await page.locator(`.vt-row[data-address="${address(12)}"] a`).focus();
    await page.waitForResponse((r) => r.url().endsWith('/api/dashboard'), { timeout: 30_000 });
    await expect.poll(() => page.evaluate(() => document.activeElement?.closest('.vt-row')?.getAttribute('data-address'))).toBe(address(12));
    await page.keyboard.press('Enter');
    await page.locator('#view-job h2', { hasText: address(12) }).waitFor();
    await page.close();
  });

  it('job detail shows the declared spec beside the live one, the diff, the pending replace, the manifest line and the runs', async () => {
    const page = await open(`/#/job/${encodeURIComponent(address(2))}`);
    await page.locator('#job-diff').waitFor({ timeout: 60_000 });
    const diff = (await page.locator('#job-diff').textContent()) ?? '';
    expect(diff).toContain('runOnce');
    expect(await page.locator('#job-reason').textContent()).toContain('replace');
    expect(await page.locator('#view-job').textContent()).toContain('--allow-destroy');
    expect(await page.locator('#job-source').textContent()).toMatch(/\.yaml:\d+$/);
    expect(await page.locator('#job-spec').textContent()).toContain('frequency');
    await page.locator('#job-runs tbody tr').first().waitFor();
    expect(await page.locator('#job-runs').textContent()).toMatch(/sms-run-[0-9a-f]+.*COMPLETED.*ami-[0-9a-f]+/);
    await screenshot(page, 'job');
    await page.close();
  });

  it('a description and a VM name holding markup show as text and run nothing', async () => {
    const page = await open(`/#/job/${encodeURIComponent(address(3))}`);
    await page.locator('#job-description').waitFor({ timeout: 60_000 });
    expect(await page.locator('#job-description').textContent()).toBe(XSS);
    const estate = await open('/');
    await rowOf(estate, 6).waitFor({ timeout: 60_000 });
    expect(await rowOf(estate, 6).textContent()).toContain(MARKUP_VM);
    await estate.locator('#search').fill('onerror');
    await rowOf(estate, 3).waitFor();
    for (const p of [page, estate]) {
      expect(await p.locator('img, b').count()).toBe(0);
      expect(await p.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    }
    await page.close();
    await estate.close();
  });

  it('plan, cycles and waves views', async () => {
    const page = await open('/#/plan');
    const replace = page.locator('.plan-group[data-action="replace"]');
    await replace.waitFor({ timeout: 60_000 });
    expect(await replace.textContent()).toContain('destructive');
    expect(await replace.textContent()).toContain('--allow-destroy');
    expect(await page.locator('.plan-group[data-action="create"]').textContent()).toContain(address(4));
    await screenshot(page, 'plan');
    await page.locator('nav a[href="#/cycles"]').click();
    await page.locator('#cycles tbody tr').first().waitFor();
    expect(await page.locator('#leadership').textContent()).toContain('leader');
    await screenshot(page, 'cycles');
    await page.locator('nav a[href="#/waves"]').click();
    const wave = page.locator('#waves tbody tr');
    await wave.first().waitFor();
    expect(await wave.count()).toBe(1);
    expect(await wave.first().textContent()).toMatch(/^none12/);
    await screenshot(page, 'waves');
    await page.close();
  });

  it('sends the security headers, ETags and 404s; an API failure shows a banner', async () => {
    const index = await fetch(`${c.url}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(index.headers.get('content-security-policy')).not.toContain('unsafe-inline');
    expect(index.headers.get('x-content-type-options')).toBe('nosniff');
    expect(index.headers.get('referrer-policy')).toBe('no-referrer');
    const js = await fetch(`${c.url}/assets/app.js`);
    const etag = js.headers.get('etag') ?? '';
    expect(etag).toMatch(/^".+"$/);
    expect(js.headers.get('cache-control')).toBe('no-cache');
    expect((await fetch(`${c.url}/assets/app.js`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await fetch(`${c.url}/nope`)).status).toBe(404);
    expect((await fetch(`${c.url}/assets/other.js`)).status).toBe(404);

    const page = await open('/');
    await page.locator('#shown').filter({ hasText: 'of 12 jobs' }).waitFor({ timeout: 60_000 });
    expect(cspViolations).toEqual([]);
    await page.route('**/api/dashboard', (r) => r.fulfill({ status: 500, contentType: 'application/json', body: '{"error":"boom"}' }));
    await page.locator('#banner', { hasText: 'boom' }).waitFor({ timeout: 30_000 });
    expect(await page.locator('.vt-row').count()).toBe(12);
    await page.close();
  });
});

describe.skipIf(skip)('dashboard off loopback', { timeout: 180_000 }, () => {
  it('refuses to start without --ui-token-file, naming it', async () => {
    const port = await freePort();
    const r = await ws.run(['controller', '-f', manifestDir, '--listen', `0.0.0.0:${port}`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--ui-token-file');
  });

  it('with the token: the page, /status and /metrics are refused without it, and load with it (bearer or sign-in cookie)', async () => {
    const token = 'dashboard-token-0123456789';
    const file = join(ws.dir, 'ui-token');
    await writeFile(file, `${token}\n`);
    await chmod(file, 0o600);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const proc = ws.spawn(['controller', '-f', manifestDir, '--listen', `0.0.0.0:${port}`, '--ui-token-file', file, '--interval', '1s', '--lease-ttl', '3s']);
    await expect.poll(async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.status, { timeout: 60_000, interval: 200 }).toBe(200);
    for (const path of ['/', '/status', '/metrics', '/api/dashboard', '/assets/app.js']) expect((await fetch(`${url}${path}`)).status, path).toBe(401);
    expect((await fetch(`${url}/status`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await fetch(`${url}/status`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).not.toBe(401);

    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const first = await page.goto(`${url}/`);
    expect(first?.status()).toBe(401);
    expect(await page.locator('#counts').count()).toBe(0);
    await page.locator('#token').fill('wrong');
    await page.locator('button[type="submit"]').click();
    await page.locator('#token').waitFor();
    expect(await page.locator('#counts').count()).toBe(0);
    await page.locator('#token').fill(token);
    await page.locator('button[type="submit"]').click();
    await page.locator('#counts').waitFor({ timeout: 60_000 });
    const cookies = await page.context().cookies();
    expect(cookies.find((k) => k.name === 'sms_reconcile_ui')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(cookies.some((k) => k.value.includes(token))).toBe(false);
    await page.close();
    proc.kill('SIGTERM');
    expect((await proc.waitForExit(60_000)).code).toBe(0);
  });
});
