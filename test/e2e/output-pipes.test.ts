/**
 * No output is lost into a pipe, and a reader that goes early ends the command quietly (issue 15).
 * The real binary as a subprocess against the embedded server run by the test (manual clock),
 * with 640 jobs: `plan --format json`, `export` and `status --format json` read by a reader that
 * waits 3 s before reading give the same bytes as an unhurried read; `plan | head -1` exits 0
 * without a stack trace.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SdkSmsApi } from '../../src/sms/client.ts';
import { closeImportedServer, removeWorkspaces, startImportedServer, workspace, type Workspace } from '../helpers/apply-cli.ts';
import { jobsFor } from '../helpers/apply-harness.ts';
import { runCliPiped } from '../helpers/cli.ts';
import type { TestServer } from '../helpers/server.ts';

/** Enough that each output is larger than a pipe holds (64 KiB). */
const JOBS = 640;

let t: TestServer;
let api: SdkSmsApi;
let ws: Workspace;
let manifests: string;
/** The plan of 640 creates, before the apply. */
let planBefore: { code: number | null; stdout: string };

beforeAll(async () => {
  const s = await startImportedServer(JOBS);
  ({ t, api } = s);
  ws = await workspace(s.endpoint);
  manifests = await ws.writeManifests(jobsFor(1, JOBS, { frequency: 12, description: 'a description long enough to make the output larger' }));
  planBefore = await ws.runInProcess(['plan', '-f', manifests, '--format', 'json']);
  const a = await ws.runInProcess(['apply', '-f', manifests, '--auto-approve', '--parallelism', '16', '--max-concurrent-jobs', '1000']);
  expect(a.code, a.stderr).toBe(0);
  // Manifests that change every job: `plan -f next` updates each of the 640 (a large plan).
  await ws.writeManifests(jobsFor(1, JOBS, { frequency: 24, description: 'a changed description, so that every job is planned for an update' }), 'next');
}, 120_000);

afterAll(async () => {
  await closeImportedServer({ t, api });
  await removeWorkspaces();
});

/** The CLI's arguments against the workspace's endpoint and state. */
const cli = (...args: string[]) => [...args, '--endpoint-url', ws.endpoint.url, '--state', ws.statePath];

describe('output into a pipe', () => {
  it.each([
    ['plan --format json', ['plan', '-f', 'next', '--format', 'json']],
    ['export', ['export']],
    ['status --format json', ['status', '--format', 'json']],
  ])('%s: a reader that waits 3 s before reading gets every byte an unhurried reader gets', { timeout: 120_000 }, async (_name, args) => {
    const unhurried = await ws.run(args, { timeoutMs: 60_000 });
    expect(unhurried.code, unhurried.stderr).toBe(0);
    const bytes = Buffer.byteLength(unhurried.stdout);
    expect(bytes, 'the output is larger than a pipe holds').toBeGreaterThan(65_536);
    const slow = await runCliPiped(cli(...args), '(sleep 3; cat)', { cwd: ws.dir, env: ws.env });
    expect(slow.code, slow.stderr).toBe(0);
    expect(Buffer.byteLength(slow.stdout)).toBe(bytes);
  });

  it('a plan read slowly is whole JSON: 640 creates before the apply, 640 updates after', { timeout: 60_000 }, async () => {
    expect(planBefore.code).toBe(0);
    const before = JSON.parse(planBefore.stdout) as { changes: { action: string }[] };
    expect(before.changes.filter((c) => c.action === 'create')).toHaveLength(JOBS);
    const slow = await runCliPiped(cli('plan', '-f', 'next', '--format', 'json'), '(sleep 3; cat)', { cwd: ws.dir, env: ws.env });
    expect(slow.code, slow.stderr).toBe(0);
    const plan = JSON.parse(slow.stdout) as { changes: { action: string }[] };
    expect(plan.changes.filter((c) => c.action === 'update')).toHaveLength(JOBS);
  });

  it('`plan | head -1`: the reader closes after one line; the command exits 0 with nothing on stderr', { timeout: 60_000 }, async () => {
    const r = await runCliPiped(cli('plan', '-f', 'next'), 'head -1', { cwd: ws.dir, env: ws.env });
    expect(r.stdout).toBe(`Target: SMS endpoint ${ws.endpoint.url} (us-east-1)\n`);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  });
});
