/**
 * `sms-reconcile plan` with bad input (the "Bad input"): each is exit 1 with a clear error
 * naming the remote code, a hint, and nothing written - no state file, nothing else in the working
 * directory. (A state made for another target: test/e2e/plan-cli.test.ts; a throttling storm:
 * test/e2e/plan-throttle.test.ts; a wrong secret: test/unit/sms-client.test.ts.) The cases run
 * concurrently, each in its own directory.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsEnv, runCli, show, type CliResult } from '../helpers/cli.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { importCatalog } from '../helpers/sms-world.ts';

const MANIFEST = `apiVersion: sms-reconcile/v1
kind: ReplicationJob
metadata:
  name: web-01
spec:
  server:
    vmName: web-01
  frequency: 12
`;
/** Room for a regression to the ~35 s linger to show as a failed assertion, not a timeout. */
const SLOW = { timeout: 90_000 };

let t: TestServer;
let root: string;
const servers: Server[] = [];
let badKeyRun: Promise<CliResult> | undefined;
/** One run with an unknown access key, shared by two tests. */
const badKey = () => (badKeyRun ??= planAgainst(t.server.url, { accessKeyId: 'AKIDUNKNOWN000000000', secretAccessKey: 'wrong' }));

/** Every path under `dir`, relative to it. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      out.push(relative(dir, p));
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

/** Runs `plan` in a fresh directory and checks it failed (exit 1, no plan) and wrote nothing. */
async function planAgainst(endpoint: string, credentials: { accessKeyId: string; secretAccessKey: string } | null, manifest = MANIFEST): Promise<CliResult> {
  const dir = mkdtempSync(join(root, 'case-'));
  mkdirSync(join(dir, 'm'));
  writeFileSync(join(dir, 'm/web.yaml'), manifest);
  const env = awsEnv(join(dir, '.aws'), credentials ?? undefined);
  const before = tree(dir);
  const r = await runCli(['plan', '-f', 'm', '--endpoint-url', endpoint, '--state', join(dir, 'state.json')], { cwd: dir, env, timeoutMs: 80_000 });
  expect(r.code, show(r)).toBe(1);
  expect(r.stdout, 'no plan is printed').toBe('');
  expect(tree(dir), 'nothing is written').toEqual(before);
  expect(before).not.toContain('state.json');
  return r;
}

/** A loopback HTTP server answering every request with this status and body. */
async function fakeEndpoint(status: number, body: string): Promise<string> {
  const s = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  servers.push(s);
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

beforeAll(async () => {
  t = await startTestServer();
  await importCatalog(t);
  root = mkdtempSync(join(tmpdir(), 'sms-plan-bad-'));
});

afterAll(async () => {
  for (const s of servers) await new Promise((resolve) => s.close(resolve));
  await t?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe.concurrent('plan: bad input is exit 1 with a clear error and nothing written', () => {
  it('an invalid --inventory for the embedded server: the file and line, the schema, no stack', async () => {
    const dir = mkdtempSync(join(root, 'case-'));
    mkdirSync(join(dir, 'm'));
    writeFileSync(join(dir, 'm/web.yaml'), MANIFEST);
    writeFileSync(join(dir, 'inventory.yaml'), 'apiVersion: sms-reconcile/v1\nkind: Inventory\nvmManagers: 3\n');
    const r = await runCli(['plan', '-f', 'm', '--inventory', 'inventory.yaml', '--state', join(dir, 'state.json')], { cwd: dir });
    expect(r.code, show(r)).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('Error [bad-inventory]: invalid inventory');
    expect(r.stderr).toMatch(/inventory\.yaml:3:13: \/vmManagers must be array/);
    expect(r.stderr).toContain('hint: fix the inventory file; its schema is schemas/inventory.v1.schema.json');
    expect(r.stderr).not.toMatch(/Internal error|\bat \S+ \(/);
    expect(tree(dir)).not.toContain('state.json');
  });

  it('an unreachable endpoint (a closed port)', SLOW, async () => {
    const port = await closedPort();
    const r = await planAgainst(`http://127.0.0.1:${port}`, t.server.credentials);
    expect(r.stderr).toMatch(
      new RegExp(`^Error \\[sms-endpoint-unreachable\\]: Get(Servers|ReplicationJobs|Connectors) failed: endpoint-unreachable: cannot reach http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)\\n {2}hint: check --endpoint-url`),
    );
  });

  it('bad manifests and an unreachable endpoint: the manifest error is the one reported (the listings start first)', SLOW, async () => {
    const port = await closedPort();
    const r = await planAgainst(`http://127.0.0.1:${port}`, t.server.credentials, MANIFEST.replace('frequency: 12', 'frequency: twelve'));
    expect(r.stderr).toMatch(/^m\/web\.yaml:\d+:\d+: error SMSR-M\d+/m);
    expect(r.stderr).toContain('Error [manifest-invalid]');
    expect(r.stderr).not.toMatch(/endpoint-unreachable|Unhandled|at .*\.mjs/);
  });

  it('bad credentials (an unknown access key)', SLOW, async () => {
    const r = await badKey();
    expect(r.stderr).toMatch(/^Error \[sms-InvalidClientTokenId\]: Get(Servers|ReplicationJobs|Connectors) failed: InvalidClientTokenId: /);
    expect(r.stderr).toMatch(/\n {2}hint: check the AWS credentials/);
  });

  it('no credentials at all for a remote endpoint', SLOW, async () => {
    const r = await planAgainst(t.server.url, null);
    expect(r.stderr).toMatch(/^Error \[sms-credentials-missing\]: Get\w+ failed: credentials-missing: no AWS credentials for http:\/\/127\.0\.0\.1:\d+ /);
    expect(r.stderr).toMatch(/hint: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
  });

  it('a target that returns malformed data (jobs without ids)', SLOW, async () => {
    const r = await planAgainst(await fakeEndpoint(200, '{"replicationJobList":[{"foo":1}]}'), t.server.credentials);
    expect(r.stderr).toMatch(
      /^Error \[sms-malformed-response\]: Get(Servers|ReplicationJobs) failed: malformed-response: the response is malformed: (serverCatalogStatus is missing|a job has no replicationJobId or serverId)\n/,
    );
  });

  it('a target that does not answer JSON', SLOW, async () => {
    const url = await fakeEndpoint(200, '<html><body>It works!</body></html>');
    const r = await planAgainst(url, t.server.credentials);
    expect(r.stderr).toMatch(/^Error \[sms-malformed-response\]: Get\w+ failed: malformed-response: the endpoint answered something that is not an SMS response/);
    expect(r.stderr).toContain(`hint: check that ${url} is an SMS endpoint`);
  });

  it('exits promptly after the error (no 35 s wait on the SDK timers of failed requests)', SLOW, async () => {
    const r = await badKey();
    expect(r.ms, `exit after ${Math.round(r.ms)} ms`).toBeLessThan(10_000);
  });
});
