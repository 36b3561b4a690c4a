/**
 * The controller's git source end to end: a local bare repository, the controller's own checkout,
 * a new commit picked up within an interval or at once on the webhook, and a failed fetch that
 * keeps the last good revision.
 */
import { execFile } from 'node:child_process';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SdkSmsApi } from '../../src/sms/client.ts';
import { closeImportedServer, expectOneJobPerGeneratedServer, removeWorkspaces, startImportedServer, workspace, type Endpoint, type Workspace } from '../helpers/apply-cli.ts';
import { jobsFor, manifests } from '../helpers/apply-harness.ts';
import { logEvents, startController } from '../helpers/controller.ts';
import type { TestServer } from '../helpers/server.ts';

const run = promisify(execFile);

let t: TestServer;
let endpoint: Endpoint;
let api: SdkSmsApi;

beforeEach(async () => {
  ({ t, endpoint, api } = await startImportedServer(4));
});
afterEach(() => closeImportedServer({ t, api }));
afterAll(() => removeWorkspaces());

const git = async (cwd: string, ...args: string[]): Promise<string> =>
  (await run('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.com', '-c', 'init.defaultBranch=main', ...args], { cwd })).stdout.trim();

/** A bare repository and a clone to push from; `commit` writes the manifests and pushes, returning the SHA. */
async function repository(ws: Workspace): Promise<{ url: string; bare: string; commit: (n: number) => Promise<string> }> {
  const bare = join(ws.dir, 'origin.git');
  const work = join(ws.dir, 'work');
  await git(ws.dir, 'init', '--quiet', '--bare', bare);
  await git(ws.dir, 'init', '--quiet', work);
  await mkdir(join(work, 'manifests'), { recursive: true });
  return {
    url: `file://${bare}`,
    bare,
    commit: async (n) => {
      await rm(join(work, 'manifests'), { recursive: true, force: true });
      await mkdir(join(work, 'manifests'));
      await writeFile(join(work, 'manifests', 'jobs.yaml'), manifests(jobsFor(1, n, { frequency: 12 })));
      await git(work, 'add', '-A');
      await git(work, 'commit', '--quiet', '-m', `${n} jobs`);
      await git(work, 'push', '--quiet', bare, 'HEAD:refs/heads/main');
      return git(work, 'rev-parse', 'HEAD');
    },
  };
}

describe('controller --git-url', { timeout: 180_000 }, () => {
  it('applies a new commit within an interval; a failed fetch keeps the last good revision', async () => {
    const ws = await workspace(endpoint);
    const repo = await repository(ws);
    const first = await repo.commit(1);
    const c = await startController(ws, 'manifests', ['--git-url', repo.url, '--git-ref', 'main', '--git-dir', join(ws.dir, 'checkout')]);
    await c.waitForStatus((s) => s.revision === first && s.lastCycle?.result === 'success' && s.jobs.length === 1);
    const second = await repo.commit(3);
    const s2 = await c.waitForStatus((s) => s.revision === second && s.lastCycle?.result === 'success' && s.jobs.length === 3);
    expect(s2.lastCycle).toMatchObject({ result: 'success' });
    await expectOneJobPerGeneratedServer(api, 3);
    // The log line and /status are written together, but reach us by different pipes: wait for it.
    await expect.poll(() => logEvents(c.proc.stderr(), 'controller.cycle').some((l) => l['revision'] === second), { timeout: 30_000, interval: 100 }).toBe(true);
    expect((await c.get('/metrics')).text).toContain(`sms_reconcile_source_revision_info{revision="${second}"} 1`);

    await rename(repo.bare, `${repo.bare}.gone`);
    const failing = await c.waitForStatus((s) => s.source.lastFetchError !== undefined);
    expect(failing.revision).toBe(second);
    await c.waitForStatus((s) => s.lastCycle?.result === 'success' && s.lastCycle.startedAt !== failing.lastCycle?.startedAt);
    expect(logEvents(c.proc.stderr(), 'controller.fetch-failed').length).toBeGreaterThan(0);
    await expectOneJobPerGeneratedServer(api, 3);
  });

  it('fetches and applies at once on the webhook', async () => {
    const ws = await workspace(endpoint);
    const repo = await repository(ws);
    const first = await repo.commit(1);
    const c = await startController(ws, 'manifests', ['--git-url', repo.url, '--git-dir', join(ws.dir, 'checkout'), '--interval', '1h']);
    await c.waitForStatus((s) => s.revision === first && s.lastCycle?.result === 'success');
    const second = await repo.commit(2);
    const r = await fetch(`${c.url}/reconcile`, { method: 'POST', body: '{}' });
    expect(r.status).toBe(202);
    await c.waitForStatus((s) => s.revision === second && s.lastCycle?.result === 'success' && s.jobs.length === 2);
    await expectOneJobPerGeneratedServer(api, 2);
  });
});
