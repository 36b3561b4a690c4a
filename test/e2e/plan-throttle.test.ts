/**
 * `sms-reconcile plan` against a target that throttles everything: the CLI retries with backoff
 * until its retry budget is spent (the CLI has no flag to shorten it, so this takes ~20 s of real
 * time and has a file of its own, run in parallel with the others), then exits 1 naming the code,
 * with a hint, having written nothing.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { awsEnv, runCli, show } from '../helpers/cli.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { importCatalog } from '../helpers/sms-world.ts';

let t: TestServer;
let dir: string;

beforeAll(async () => {
  t = await startTestServer();
  await importCatalog(t);
  dir = mkdtempSync(join(tmpdir(), 'sms-plan-throttle-'));
  mkdirSync(join(dir, 'm'));
  writeFileSync(join(dir, 'm/web.yaml'), 'apiVersion: sms-reconcile/v1\nkind: ReplicationJob\nmetadata:\n  name: web-01\nspec:\n  server:\n    vmName: web-01\n');
});

afterAll(async () => {
  await t?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('a throttling storm past the retry budget is exit 1 with the code and a hint, nothing written', { timeout: 90_000 }, async () => {
  // One token, refilled once in ~17 minutes: everything after the first request is throttled.
  await t.control.setFaults({ throttle: { read: { ratePerSecond: 0.001, burst: 1 }, mutate: { ratePerSecond: 0.001, burst: 1 } } });
  const env = awsEnv(join(dir, '.aws'), t.server.credentials);
  const before = readdirSync(dir).sort();
  const r = await runCli(['plan', '-f', 'm', '--endpoint-url', t.server.url, '--state', join(dir, 'state.json')], { cwd: dir, env, timeoutMs: 80_000 });
  expect(r.code, show(r)).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/^Error \[sms-ThrottlingException\]: Get(Servers|ReplicationJobs|Connectors) failed: ThrottlingException: Rate exceeded \(gave up after \d+ attempts\)\n {2}hint: the service kept throttling past the retry budget/);
  expect(readdirSync(dir).sort()).toEqual(before);
});
