/**
 * `sms-reconcile server` as a subprocess: the ready line, loopback binding, start-up errors (port in
 * use, bad inventory, bad faults file), clean shutdown on SIGTERM/SIGINT with the data intact,
 * file modes, and the help text.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateReplicationJobCommand, GetConnectorsCommand, GetReplicationJobsCommand, GetServersCommand, ImportServerCatalogCommand, SMSClient,
} from '@aws-sdk/client-sms';
import { ControlClient } from '../../src/server/control-client.ts';
import { killAllCliProcesses, runCli, startCliServer, type CliServer } from '../helpers/subprocess.ts';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sms-server-cli-'));
  dirs.push(d);
  return d;
}

const clients: SMSClient[] = [];
function smsFor(s: CliServer): SMSClient {
  const c = new SMSClient({ endpoint: s.url, region: s.region, credentials: s.credentials, maxAttempts: 1 });
  clients.push(c);
  return c;
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await killAllCliProcesses();
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function mode(file: string): number {
  return statSync(file).mode & 0o777;
}

describe('sms-reconcile server (subprocess)', () => {
  it('prints "listening on http://127.0.0.1:PORT" when ready, bound to loopback only, and serves the SDK', async () => {
    const server = await startCliServer({ dataDir: join(tempDir(), 'data') });
    expect(server.stdout()).toMatch(/^listening on http:\/\/127\.0\.0\.1:\d+\n$/);
    expect(server.host).toBe('127.0.0.1');
    expect(server.port).toBeGreaterThan(0);
    const out = await smsFor(server).send(new GetConnectorsCommand({}));
    expect(out.connectorList?.length).toBe(3);

    // Not reachable on a non-loopback address of this machine (when it has one).
    const external = Object.values(networkInterfaces())
      .flat()
      .find((i) => i !== undefined && i.family === 'IPv4' && !i.internal);
    if (external) {
      const refused = await new Promise<string>((resolve) => {
        const sock = connect({ host: external.address, port: server.port });
        sock.once('connect', () => {
          sock.destroy();
          resolve('connected');
        });
        sock.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      });
      expect(refused).toBe('ECONNREFUSED');
    }
  });

  it('--log-level warn is obeyed from the first line: only the plain `listening on` line before the first request', async () => {
    for (const args of [['--log-level', 'warn'], ['--log-level=warn']]) {
      const server = await startCliServer({ dataDir: join(tempDir(), 'data'), args });
      // Nothing else, and `listening on` is a plain line, not a log record.
      expect(server.stdout()).toMatch(/^listening on http:\/\/127\.0\.0\.1:\d+\n$/);
      expect(server.stderr()).toBe('');
      await smsFor(server).send(new GetConnectorsCommand({}));
      const exit = await server.stop();
      expect(exit.code).toBe(0);
      expect(server.stderr()).toBe('');
    }
    // Without --log-level the server says more (info): where its credentials are, among others.
    const chatty = await startCliServer({ dataDir: join(tempDir(), 'data') });
    await chatty.stop();
    expect(chatty.stderr()).toMatch(/"level":30.*credentials /);
  });

  it('exits 1 with a clear message when --port is in use', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const dir = tempDir();
      const r = await runCli(['server', '--port', String(port), '--data', join(dir, 'data')]);
      expect(r.code).toBe(1);
      expect(r.stdout).not.toContain('listening on');
      expect(r.stderr).toContain(`Error [port-in-use]: port ${port} on 127.0.0.1 is already in use`);
      expect(r.stderr).toContain('--port 0');
      expect(r.stderr).not.toContain('Internal error');
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it('exits 1 naming file:line for an inventory that fails its schema', async () => {
    const dir = tempDir();
    const file = join(dir, 'inventory.yaml');
    writeFileSync(
      file,
      [
        'apiVersion: sms-reconcile/v1',
        'kind: Inventory',
        'vmManagers:',
        '  - vmManagerId: m-1',
        '    vmManagerName: vc.example.com',
        '    vmManagerType: NOT_A_TYPE',
        '    vms: []',
        'connectors: []',
        '',
      ].join('\n'),
    );
    const r = await runCli(['server', '--port', '0', '--data', join(dir, 'data'), '--inventory', file]);
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain('listening on');
    expect(r.stderr).toContain('Error [bad-inventory]');
    expect(r.stderr).toContain(`${file}:6:`);
    expect(r.stderr).toContain('vmManagerType');
    expect(r.stderr).not.toContain('Internal error');
    // Nothing was created for a server that never started.
    expect(existsSync(join(dir, 'data'))).toBe(false);
  });

  it('exits 1 naming file:line for an inventory that is not valid YAML', async () => {
    const dir = tempDir();
    const file = join(dir, 'inventory.yaml');
    writeFileSync(file, 'apiVersion: sms-reconcile/v1\nkind: Inventory\nvmManagers: [\n  {vmManagerId: a\nconnectors: []\n');
    const r = await runCli(['server', '--port', '0', '--data', join(dir, 'data'), '--inventory', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Error [bad-inventory]');
    expect(r.stderr).toMatch(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+`));
    expect(r.stderr).not.toContain('Internal error');
  });

  it('exits 1 with a user error (not an internal error) when the --inventory file does not exist', async () => {
    const dir = tempDir();
    const file = join(dir, 'missing.yaml');
    const r = await runCli(['server', '--port', '0', '--data', join(dir, 'data'), '--inventory', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(file);
    expect(r.stderr).not.toContain('Internal error');
  });

  it('exits 1 with a user error for a --max-connections that is not a positive whole number', async () => {
    for (const value of ['0', 'many', '-5', '1.5']) {
      const r = await runCli(['server', '--port', '0', '--data', ':memory:', '--max-connections', value]);
      expect(r.code, value).toBe(1);
      expect(r.stderr).toContain(`Error [bad-max-connections]: --max-connections ${value} is not a positive whole number`);
      expect(r.stderr).not.toContain('Internal error');
    }
  });

  it('a missing --inventory file is not blamed on a valid --faults file', async () => {
    const dir = tempDir();
    const faults = join(dir, 'faults.yaml');
    writeFileSync(faults, 'latencyMs: 5\n');
    const missing = join(dir, 'missing.yaml');
    const r = await runCli(['server', '--port', '0', '--data', join(dir, 'data'), '--faults', faults, '--inventory', missing]);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toContain(`cannot read ${faults}`);
    expect(r.stderr).toContain(missing);
  });

  it('exits 1 for a faults file that fails its checks, and for one that does not exist', async () => {
    const dir = tempDir();
    const bad = join(dir, 'faults.yaml');
    writeFileSync(bad, 'throttle:\n  read: {ratePerSecond: -1}\nerrors:\n  InternalError: 2\nbogus: true\n');
    const r = await runCli(['server', '--port', '0', '--data', join(dir, 'data'), '--faults', bad]);
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain('listening on');
    expect(r.stderr).toContain('Error [bad-faults]: invalid faults:');
    expect(r.stderr).toContain("unknown key 'bogus'");
    expect(r.stderr).toContain('throttle.read.ratePerSecond must be a positive number');
    expect(r.stderr).toContain('errors.InternalError must be a probability from 0 to 1');
    expect(r.stderr).not.toContain('Internal error');

    const missing = join(dir, 'nope.yaml');
    const r2 = await runCli(['server', '--port', '0', '--data', join(dir, 'data'), '--faults', missing]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain(`Error [bad-faults]: invalid faults: cannot read ${missing}`);
  });

  it('exits 1 with a bad-faults user error for a faults file that is not YAML', async () => {
    const dir = tempDir();
    const bad = join(dir, 'faults.yaml');
    writeFileSync(bad, 'latencyMs: [\n');
    const r = await runCli(['server', '--port', '0', '--data', join(dir, 'data'), '--faults', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Error [bad-faults]');
    expect(r.stderr).not.toContain('Internal error');
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`exits 0 on ${signal}, and a restart on the same data directory has every write`, async () => {
      const dataDir = join(tempDir(), 'data');
      const first = await startCliServer({ dataDir, args: ['--clock', 'manual'] });
      const sms = smsFor(first);
      await sms.send(new ImportServerCatalogCommand({}));
      await new ControlClient(first.url, first.region, first.credentials).advanceClock(5);
      const servers = (await sms.send(new GetServersCommand({}))).serverList ?? [];
      expect(servers.length).toBe(40);
      const seed = new Date(Date.now() + 3600_000);
      const created = await sms.send(new CreateReplicationJobCommand({ serverId: servers[0]!.serverId, seedReplicationTime: seed, frequency: 6, description: signal }));
      const before = (await sms.send(new GetReplicationJobsCommand({}))).replicationJobList;

      first.kill(signal);
      const exit = await first.waitForExit(10_000);
      expect(exit).toMatchObject({ code: 0, signal: null });
      expect(exit.stderr).not.toContain('Internal error');

      const second = await startCliServer({ dataDir, args: ['--clock', 'manual'] });
      expect(second.credentials).toEqual(first.credentials);
      const sms2 = smsFor(second);
      const after = (await sms2.send(new GetReplicationJobsCommand({}))).replicationJobList;
      expect(after).toEqual(before);
      expect(after?.[0]?.replicationJobId).toBe(created.replicationJobId);
      expect(after?.[0]?.description).toBe(signal);
      const servers2 = await sms2.send(new GetServersCommand({}));
      expect(servers2.serverCatalogStatus).toBe('AVAILABLE');
      expect(servers2.serverList?.find((s) => s.serverId === servers[0]!.serverId)?.replicationJobId).toBe(created.replicationJobId);
      const stopped = await second.stop();
      expect(stopped).toEqual({ code: 0, signal: null });
    });
  }

  it('writes the generated credentials file and the database with mode 0600', async () => {
    const dataDir = join(tempDir(), 'data');
    const server = await startCliServer({ dataDir });
    expect(server.stderr()).toContain(`credentials in ${join(dataDir, 'credentials.json')}`);
    expect(server.credentials.accessKeyId).toMatch(/^AKIA[A-Z2-7]{16}$/);
    expect(mode(join(dataDir, 'credentials.json'))).toBe(0o600);
    expect(mode(join(dataDir, 'sms-server.db'))).toBe(0o600);
    // WAL side files carry the database's mode while the server runs.
    for (const side of ['sms-server.db-wal', 'sms-server.db-shm']) {
      if (existsSync(join(dataDir, side))) expect(mode(join(dataDir, side))).toBe(0o600);
    }
    // The secret never reaches the logs.
    expect(server.stderr() + server.stdout()).not.toContain(server.credentials.secretAccessKey);
    await smsFor(server).send(new GetConnectorsCommand({}));
    expect(await server.stop()).toEqual({ code: 0, signal: null });
  });

  it('uses SMS_SERVER_ACCESS_KEY_ID / SMS_SERVER_SECRET_ACCESS_KEY when set, and writes no credentials file', async () => {
    const dataDir = join(tempDir(), 'data');
    const env = { SMS_SERVER_ACCESS_KEY_ID: 'AKIASERVERCLITEST001', SMS_SERVER_SECRET_ACCESS_KEY: 'server-cli-test-secret-0000000000000000' };
    const server = await startCliServer({ dataDir, env });
    expect(server.stderr()).toContain('credentials from the environment');
    expect(existsSync(join(dataDir, 'credentials.json'))).toBe(false);
    const out = await smsFor(server).send(new GetConnectorsCommand({}));
    expect(out.connectorList?.length).toBe(3);
    const wrong = new SMSClient({ endpoint: server.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIAOTHER00000000000', secretAccessKey: 'x' }, maxAttempts: 1 });
    clients.push(wrong);
    await expect(wrong.send(new GetConnectorsCommand({}))).rejects.toMatchObject({ name: 'InvalidClientTokenId' });
  });

  it('--help lists every flag', async () => {
    const r = await runCli(['server', '--help']);
    expect(r.code).toBe(0);
    for (const flag of ['--host <host>', '--port <port>', '--data <dir>', '--inventory <file>', '--clock <mode>', '--faults <file>', '--control', '--max-connections <n>', '--help']) {
      expect(r.stdout).toContain(flag);
    }
    // --region is the global option; the help says so.
    expect(r.stdout).toContain('--region');
    expect(r.stdout).toContain('Usage: sms-reconcile server [options]');
    const top = await runCli(['--help']);
    expect(top.stdout).toContain('--region <region>');
  });
});
