/**
 * The state commands end to end. A few runs spawn `node bin/sms-reconcile.mjs` (the real entry
 * point, exit codes and streams); the rest call the CLI's `main` in-process with injected streams
 * (each spawn costs ~0.4 s of CPU). Every run works on real files in a temp directory.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { encodeState, type StateDocument } from '../../src/state/codec.ts';
import { collector } from '../helpers/cli.ts';
import { namedJob, stateWith } from '../helpers/state-fixtures.ts';

const BIN = fileURLToPath(new URL('../../bin/sms-reconcile.mjs', import.meta.url));

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env['SMS_RECONCILE_STATE'];
  return env;
}

/** Spawns the binary. */
function spawnCli(cwd: string, args: readonly string[], input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

/** Runs `main` in this process with its own streams and working directory. */
async function cli(cwd: string, args: readonly string[], input?: string): Promise<Run> {
  const stdout = collector();
  const stderr = collector();
  const code = await main(args, { stdout: stdout.stream, stderr: stderr.stream, stdin: Readable.from([Buffer.from(input ?? '')]), env: cleanEnv(), cwd });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sms-state-cli-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function workdir(): Promise<string> {
  const dir = join(root, randomUUID().slice(0, 8));
  await mkdir(dir);
  return dir;
}

/** A state with three job-set records and `ReplicationJob/web`. */
function sampleState(): StateDocument {
  const doc = stateWith(3, { serial: 5 });
  return { ...doc, resources: { ...doc.resources, 'ReplicationJob/web': namedJob('web') } };
}

/** Writes a lock record as a live sms-reconcile of this host would (this test process is the holder). */
async function writeLiveLock(cwd: string, ageMs: number): Promise<{ id: string; created: string }> {
  const id = randomUUID();
  const created = new Date(Date.now() - ageMs).toISOString();
  await writeFile(
    join(cwd, '.sms-reconcile', 'state.json.lock'),
    `${JSON.stringify({ formatVersion: 1, id, holder: { host: hostname(), pid: process.pid }, operation: 'apply', created, expires: new Date(Date.now() + 600_000).toISOString() })}\n`,
  );
  return { id, created };
}

describe('sms-reconcile state, through bin/sms-reconcile.mjs', () => {
  it('push, list and pull a state; a busy lock fails with its holder until force-unlock', async () => {
    const cwd = await workdir();
    const doc = sampleState();
    await writeFile(join(cwd, 'in.json'), encodeState(doc));

    const pushed = await spawnCli(cwd, ['state', 'push', 'in.json']);
    expect(pushed).toMatchObject({ code: 0, stderr: '' });
    expect(pushed.stdout).toContain(`lineage ${doc.lineage}, serial 5`);
    const statePath = join(cwd, '.sms-reconcile', 'state.json');
    expect(((await stat(statePath)).mode & 0o777).toString(8)).toBe('600');
    expect(((await stat(join(cwd, '.sms-reconcile'))).mode & 0o777).toString(8)).toBe('700');

    const { id, created } = await writeLiveLock(cwd, 90_000);
    const [list, pull, busy] = await Promise.all([
      spawnCli(cwd, ['state', 'list']),
      spawnCli(cwd, ['state', 'pull']),
      spawnCli(cwd, ['state', 'rm', 'ReplicationJob/web']),
    ]);
    expect(list.code).toBe(0);
    const lines = list.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^ReplicationJob\/web\s+sms-job-0000abcd$/);
    expect(lines[1]).toMatch(/^ReplicationJobSet\/fleet\[s-00000000\]\s+sms-job-10000000$/);
    expect(pull.code).toBe(0);
    expect(JSON.parse(pull.stdout)).toEqual(doc);

    expect(busy.code).toBe(1);
    expect(busy.stderr).toContain('Error [state-locked]');
    expect(busy.stderr).toContain(`held by pid ${process.pid} on ${hostname()} for "apply" since ${created} (1m`);
    expect(busy.stderr).toContain('--lock-timeout');
    expect(busy.stderr).toContain(`sms-reconcile force-unlock ${id}`);

    const unlocked = await spawnCli(cwd, ['force-unlock', id]);
    expect(unlocked.code).toBe(0);
    expect(unlocked.stdout).toContain(`Removed lock ${id}`);
    await expect(stat(`${statePath}.lock`)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('exits 1 with the typed error for a corrupt state, leaving the file as it was', async () => {
    const cwd = await workdir();
    const corrupt = '{\n  "formatVersion": 1,\n  "lineage": \n';
    await writeFile(join(cwd, 's.json'), corrupt);
    const run = await spawnCli(cwd, ['state', 'list', '--state', 's.json']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Error [state-corrupt]');
    expect(run.stderr).toContain('line 4, column 1');
    expect(run.stderr).not.toContain('Internal error');
    expect(await readFile(join(cwd, 's.json'), 'utf8')).toBe(corrupt);
  });
});

describe('sms-reconcile state, in process', () => {
  it('show and rm a record; rm keeps the state before the run as .backup', async () => {
    const cwd = await workdir();
    const doc = sampleState();
    await writeFile(join(cwd, 'in.json'), encodeState(doc));
    expect((await cli(cwd, ['state', 'push', 'in.json'])).code).toBe(0);

    const show = await cli(cwd, ['state', 'show', 'ReplicationJob/web']);
    expect(show.code).toBe(0);
    expect(JSON.parse(show.stdout)).toEqual(namedJob('web'));
    const missing = await cli(cwd, ['state', 'show', 'ReplicationJob/nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('Error [state-resource-missing]');
    expect(missing.stderr).toContain('hint: run `sms-reconcile state list`');

    const rmMissing = await cli(cwd, ['state', 'rm', 'ReplicationJob/web', 'ReplicationJob/nope']);
    expect(rmMissing.code).toBe(1);
    expect(rmMissing.stderr).toContain('Error [state-resource-missing]');
    const removed = await cli(cwd, ['state', 'rm', 'ReplicationJob/web', 'ReplicationJobSet/fleet[s-00000001]']);
    expect(removed.code).toBe(0);
    expect(removed.stdout).toContain('Removed ReplicationJob/web (job sms-job-0000abcd stays in SMS, no longer managed).');
    const after = JSON.parse((await cli(cwd, ['state', 'pull'])).stdout) as StateDocument;
    expect(after.serial).toBe(6); // both removals are one change
    expect(after.lineage).toBe(doc.lineage);
    expect(Object.keys(after.resources).sort()).toEqual(['ReplicationJobSet/fleet[s-00000000]', 'ReplicationJobSet/fleet[s-00000002]']);
    const statePath = join(cwd, '.sms-reconcile', 'state.json');
    expect(await readFile(`${statePath}.backup`, 'utf8')).toBe(encodeState(doc));
    await expect(stat(`${statePath}.lock`)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('push refuses an older serial and another lineage unless --force; reads stdin with -', async () => {
    const cwd = await workdir();
    const doc = sampleState();
    await writeFile(join(cwd, 'in.json'), encodeState(doc));
    await writeFile(join(cwd, 'foreign.json'), encodeState(stateWith(1, { serial: 50 })));
    expect((await cli(cwd, ['--state', 'custom/s.json', 'state', 'push', 'in.json'])).code).toBe(0);
    expect((await cli(cwd, ['state', 'rm', 'ReplicationJob/web', '--state', 'custom/s.json'])).code).toBe(0);

    const older = await cli(cwd, ['--state', 'custom/s.json', 'state', 'push', 'in.json']);
    expect(older.code).toBe(1);
    expect(older.stderr).toContain('Error [state-serial-not-newer]');
    expect(older.stderr).toContain('hint:');
    const foreign = await cli(cwd, ['--state', 'custom/s.json', 'state', 'push', 'foreign.json']);
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toContain('Error [state-lineage-mismatch]');

    const forced = await cli(cwd, ['--state', 'custom/s.json', 'state', 'push', '--force', '-'], encodeState(doc));
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain('Pushed stdin');
    const now = JSON.parse(await readFile(join(cwd, 'custom', 's.json'), 'utf8')) as StateDocument;
    expect(now.serial).toBe(7);
    expect(now.resources['ReplicationJob/web']).toEqual(namedJob('web'));
  });

  it('force-unlock refuses a wrong id and a missing lock; --lock-timeout is parsed', async () => {
    const cwd = await workdir();
    await writeFile(join(cwd, 'in.json'), encodeState(sampleState()));
    expect((await cli(cwd, ['state', 'push', 'in.json'])).code).toBe(0);
    const { id } = await writeLiveLock(cwd, 1_000);
    const wrong = await cli(cwd, ['force-unlock', randomUUID()]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('Error [state-lock-id-mismatch]');
    expect(wrong.stderr).toContain(`force-unlock ${id}`);
    const badTimeout = await cli(cwd, ['state', 'rm', 'ReplicationJob/web', '--lock-timeout', 'soon']);
    expect(badTimeout.code).toBe(1);
    expect(badTimeout.stderr).toContain('Error [invalid-duration]');
    const waited = await cli(cwd, ['state', 'rm', 'ReplicationJob/web', '--lock-timeout', '300ms']);
    expect(waited.code).toBe(1);
    expect(waited.stderr).toMatch(/locked after waiting 0s: lock/);
    expect((await cli(cwd, ['force-unlock', id])).code).toBe(0);
    const none = await cli(cwd, ['force-unlock', id]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('Error [state-not-locked]');
  });

  it('refuses a newer format version, saying which', async () => {
    const cwd = await workdir();
    const newer = JSON.stringify({ ...sampleState(), formatVersion: 2 });
    await writeFile(join(cwd, 's.json'), newer);
    const run = await cli(cwd, ['--state', 's.json', 'state', 'pull']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Error [state-version-newer]');
    expect(run.stderr).toContain('formatVersion 2');
    expect(run.stderr).toContain('upgrade sms-reconcile');
    expect(await readFile(join(cwd, 's.json'), 'utf8')).toBe(newer);
  });

  it('recovers from a corrupt state with push --force, keeping the corrupt file as .backup', async () => {
    const cwd = await workdir();
    const corrupt = '{"formatVersion": 1, "lineage": "x", ';
    await writeFile(join(cwd, 's.json'), corrupt);
    await writeFile(join(cwd, 'good.json'), encodeState(sampleState()));
    const refused = await cli(cwd, ['--state', 's.json', 'state', 'push', 'good.json']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Error [state-corrupt]');
    expect(refused.stderr).toContain('state push --force');
    expect(await readFile(join(cwd, 's.json'), 'utf8')).toBe(corrupt);
    const forced = await cli(cwd, ['--state', 's.json', 'state', 'push', '--force', 'good.json']);
    expect(forced.code).toBe(0);
    expect((await cli(cwd, ['--state', 's.json', 'state', 'list'])).stdout.trimEnd().split('\n')).toHaveLength(4);
    expect(await readFile(join(cwd, 's.json.backup'), 'utf8')).toBe(corrupt);
  });

  it('has help with examples, and clear errors for bad arguments and an empty location', async () => {
    const cwd = await workdir();
    const help = await cli(cwd, ['state', 'push', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Example');
    expect(help.stdout).toContain('--lock-timeout');
    const unlockHelp = await cli(cwd, ['force-unlock', '--help']);
    expect(unlockHelp.code).toBe(0);
    expect(unlockHelp.stdout).toContain('Example');
    const list = await cli(cwd, ['state', 'list']);
    expect(list).toMatchObject({ code: 0, stdout: '' });
    expect(list.stderr).toContain('No state at');
    const pull = await cli(cwd, ['state', 'pull']);
    expect(pull.code).toBe(1);
    expect(pull.stderr).toContain('Error [state-missing]');
    const badAddress = await cli(cwd, ['state', 'rm', 'web']);
    expect(badAddress.code).toBe(1);
    expect(badAddress.stderr).toContain('Error [state-address-invalid]');
    const pg = await cli(cwd, ['--state', 'postgres://admin:hunter2@db/state', 'state', 'list']);
    expect(pg.code).toBe(1);
    expect(pg.stderr).toContain('Error [state-db-unreachable]');
    expect(pg.stderr).not.toContain('hunter2');
    await expect(stat(join(cwd, '.sms-reconcile'))).rejects.toMatchObject({ code: 'ENOENT' }); // reading creates nothing
  });
});
