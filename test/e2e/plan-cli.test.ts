/**
 * `sms-reconcile plan` end to end: the real CLI as a subprocess against the embedded server
 * (in-process, manual clock) through --endpoint-url with AWS credentials from the environment, a
 * temp working directory and --state file. Formats, exit codes, saved plans (applied, and refused
 * once a job was changed behind the plan's back with the real SDK), a state of another target, and
 * the default embedded target.
 */
import { GetReplicationJobsCommand, UpdateReplicationJobCommand } from '@aws-sdk/client-sms';
import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import schema from '../../schemas/plan.v1.schema.json' with { type: 'json' };
import { awsEnv, runCli, show, type CliResult } from '../helpers/cli.ts';
import { APPS, CATALOG, web } from '../helpers/manifest-docs.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { allJobs, importCatalog } from '../helpers/sms-world.ts';

const Ajv2020 = Ajv2020Module.default;
const addFormats = addFormatsModule.default;
const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats(ajv, ['uuid', 'date-time']);
const validatePlanJson = ajv.compile(schema);

const REPO = new URL('../..', import.meta.url).pathname;


let a: TestServer;
let b: TestServer;
let dir: string;
let env: NodeJS.ProcessEnv;
let state: string;

const plan = (args: readonly string[], endpoint = a.server.url) => runCli(['plan', '-f', 'm', '--endpoint-url', endpoint, '--state', state, ...args], { cwd: dir, env });
const firstLine = (r: CliResult) => r.stdout.split('\n')[0];
const targetLine = () => `Target: SMS endpoint ${a.server.url} (us-east-1)`;

beforeAll(async () => {
  [a, b] = await Promise.all([startTestServer(), startTestServer()]);
  await Promise.all([importCatalog(a), importCatalog(b)]);
  dir = mkdtempSync(join(tmpdir(), 'sms-plan-e2e-'));
  mkdirSync(join(dir, 'm'));
  writeFileSync(join(dir, 'm/catalog.yaml'), CATALOG);
  writeFileSync(join(dir, 'm/web.yaml'), web(12));
  writeFileSync(join(dir, 'm/apps.yaml'), APPS);
  env = awsEnv(join(dir, '.aws'), a.server.credentials);
  state = join(dir, 'state.json');
});

afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('plan against an endpoint (sequential: each step builds on the last)', () => {
  it('text: names the target first, lists the creates, exit 2 with --detailed-exitcode, writes nothing', async () => {
    const r = await plan(['--detailed-exitcode']);
    expect(r.code, show(r)).toBe(2);
    expect(firstLine(r)).toBe(targetLine());
    expect(r.stdout).toContain('State: none yet');
    expect(r.stdout).toMatch(/\+ ReplicationJob\/web-01 .*will be created/);
    expect(r.stdout).toMatch(/Plan: 3 to create/);
    expect(r.stderr).toBe('');
    expect(existsSync(state)).toBe(false);
    // Without --detailed-exitcode a plan with changes is a success.
    const r0 = await plan([]);
    expect(r0.code, show(r0)).toBe(0);
  });

  it('json: validates against schemas/plan.v1.schema.json, names the target, one API call per list', async () => {
    const r = await plan(['--format', 'json']);
    expect(r.code, show(r)).toBe(0);
    const json = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(validatePlanJson(json), JSON.stringify(validatePlanJson.errors)).toBe(true);
    expect(json['target']).toEqual({ endpoint: a.server.url, region: 'us-east-1', kind: 'remote', id: null });
    expect(json['targetDescription']).toBe(`SMS endpoint ${a.server.url} (us-east-1)`);
    expect(json['apiCalls']).toEqual({ GetServers: 1, GetReplicationJobs: 1, GetConnectors: 1 });
    const changes = json['changes'] as { action: string; address: string }[];
    expect(changes.filter((c) => c.action !== 'no-op').map((c) => `${c.action} ${c.address}`).sort()).toEqual([
      'create ReplicationJob/web-01',
      expect.stringMatching(/^create ReplicationJobSet\/apps\[s-[0-9a-f]{8}\]$/),
      expect.stringMatching(/^create ReplicationJobSet\/apps\[s-[0-9a-f]{8}\]$/),
    ]);
  });

  it('markdown: a heading naming the target and the summary, the full diff collapsible', async () => {
    const r = await plan(['--format', 'markdown']);
    expect(r.code, show(r)).toBe(0);
    expect(firstLine(r)).toBe(`### Plan for SMS endpoint ${a.server.url} (us-east-1): 3 to create (1 unchanged). Destructive: none.`);
    expect(r.stdout).toContain('<details><summary>Full diff</summary>');
  });

  it('--out then `apply PLANFILE` carries out exactly that plan', async () => {
    const p = await plan(['--out', 'first.plan']);
    expect(p.code, show(p)).toBe(0);
    expect(p.stdout).toContain('Saved the plan to first.plan');
    expect(existsSync(state)).toBe(false);
    const r = await runCli(['apply', 'first.plan', '--auto-approve', '--endpoint-url', a.server.url, '--state', state], { cwd: dir, env });
    expect(r.code, show(r)).toBe(0);
    expect(firstLine(r)).toBe(targetLine());
    expect(r.stdout).toMatch(/Apply complete: 3 created/);
    const jobs = await allJobs(a);
    expect(jobs).toHaveLength(3);
    expect(jobs.find((j) => j.vmServer?.vmName === 'app-02')).toMatchObject({ frequency: 24, licenseType: 'BYOL', description: 'the second app server' });
    expect(existsSync(state)).toBe(true);
  });

  it('after the apply: no changes, exit 0 with --detailed-exitcode', async () => {
    const r = await plan(['--detailed-exitcode']);
    expect(r.code, show(r)).toBe(0);
    expect(firstLine(r)).toBe(targetLine());
    expect(r.stdout).toMatch(/State: .*serial/);
  });

  it('a saved plan is refused after a job was changed behind its back (UpdateReplicationJob with the SDK), naming the job', async () => {
    writeFileSync(join(dir, 'm/web.yaml'), web(6));
    const p = await plan(['--out', 'stale.plan', '--detailed-exitcode']);
    expect(p.code, show(p)).toBe(2);
    expect(p.stdout).toMatch(/~ ReplicationJob\/web-01/);
    const job = (await allJobs(a)).find((j) => j.vmServer?.vmName === 'web-01')!;
    await a.sms.send(new UpdateReplicationJobCommand({ replicationJobId: job.replicationJobId, description: 'edited in the console' }));
    const before = readFileSync(state, 'utf8');

    const r = await runCli(['apply', 'stale.plan', '--auto-approve', '--endpoint-url', a.server.url, '--state', state], { cwd: dir, env });
    expect(r.code, show(r)).toBe(1);
    expect(r.stderr).toContain(`ReplicationJob/web-01: job ${job.replicationJobId} was changed since the plan`);
    expect(r.stderr).toMatch(/Error \[plan-stale\]: refusing to apply a stale plan; nothing was changed/);
    const after = (await a.sms.send(new GetReplicationJobsCommand({ replicationJobId: job.replicationJobId }))).replicationJobList![0]!;
    expect(after.frequency).toBe(12);
    expect(readFileSync(state, 'utf8')).toBe(before);
  });

  it('exit 3 with --detailed-exitcode when the plan deletes (a managed set removed from the manifests)', async () => {
    rmSync(join(dir, 'm/apps.yaml'));
    const r = await plan(['--detailed-exitcode']);
    expect(r.code, show(r)).toBe(3);
    expect(r.stdout).toMatch(/- ReplicationJobSet\/apps\[s-[0-9a-f]{8}\] .*will be deleted/);
    writeFileSync(join(dir, 'm/apps.yaml'), APPS);
  });

  it('a state made for another target is refused: exit 1, both targets named, the state untouched', async () => {
    const before = readFileSync(state, 'utf8');
    const r = await runCli(['plan', '-f', 'm', '--endpoint-url', b.server.url, '--state', state], { cwd: dir, env: { ...env, ...awsEnv(join(dir, '.aws-b'), b.server.credentials) } });
    expect(r.code, show(r)).toBe(1);
    expect(r.stderr).toContain(`Error [state-target-mismatch]: the state at ${state} belongs to remote ${a.server.url} (us-east-1), not to remote ${b.server.url} (us-east-1)`);
    expect(r.stderr).toMatch(/hint: /);
    expect(r.stdout).toBe('');
    expect(readFileSync(state, 'utf8')).toBe(before);
  });
});

describe('the default target', () => {
  it('`plan -f examples/quickstart` with no endpoint runs the embedded server and says so first', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'sms-plan-embedded-'));
    try {
      cpSync(join(REPO, 'examples'), join(cwd, 'examples'), { recursive: true });
      const r = await runCli(['plan', '-f', 'examples/quickstart'], { cwd, env: awsEnv(join(cwd, '.aws'), { accessKeyId: 'AKIDNOTUSED000000000', secretAccessKey: 'unused' }) });
      expect(r.code, show(r)).toBe(0);
      expect(firstLine(r)).toMatch(/^Target: embedded SMS server/);
      expect(r.stdout).toMatch(/\+ ServerCatalog\/catalog .*will be imported/);
      expect(readdirSync(join(cwd, '.sms-reconcile'))).toEqual(['embedded']);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
