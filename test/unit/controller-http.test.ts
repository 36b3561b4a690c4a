/** The controller's input checks: the webhook signature, loopback, --listen and the secret file. */
import { createHmac } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseListen, readSecretFile } from '../../src/cli/commands/controller.ts';
import { main } from '../../src/cli/main.ts';
import { isLoopback, validSignature } from '../../src/controller/http.ts';

describe('validSignature', () => {
  const secret = Buffer.from('s3cret');
  const body = Buffer.from('{"ref":"refs/heads/main"}');
  const good = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
  it('accepts the HMAC-SHA256 of the body, and nothing else', () => {
    expect(validSignature(secret, body, good)).toBe(true);
    expect(validSignature(secret, Buffer.from(`${body.toString()} `), good)).toBe(false);
    expect(validSignature(Buffer.from('other'), body, good)).toBe(false);
    expect(validSignature(secret, body, undefined)).toBe(false);
    expect(validSignature(secret, body, good.replace('sha256=', 'sha1='))).toBe(false);
    expect(validSignature(secret, body, good.slice(0, -2))).toBe(false);
    expect(validSignature(secret, body, 'sha256=not-hex')).toBe(false);
  });
});

describe('isLoopback', () => {
  it('knows IPv4, IPv6 and mapped loopback', () => {
    expect(['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1'].map(isLoopback)).toEqual([true, true, true, true]);
    expect(['10.0.0.1', '::ffff:10.0.0.1', '2001:db8::1', undefined].map(isLoopback)).toEqual([false, false, false, false]);
  });
});

describe('parseListen', () => {
  it('takes HOST:PORT and [IPv6]:PORT; refuses the rest naming --listen', () => {
    expect(parseListen('127.0.0.1:9464')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseListen('[::1]:0')).toEqual({ host: '::1', port: 0 });
    for (const bad of ['9464', 'localhost', ':9464', '127.0.0.1:65536', '127.0.0.1:-1', 'a b:1']) expect(() => parseListen(bad), bad).toThrow(/--listen/);
  });
});

describe('readSecretFile', () => {
  const dirs: string[] = [];
  afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
  it('trims trailing whitespace; refuses a missing, empty, or group/world-readable file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'smsr-secret-'));
    dirs.push(dir);
    const f = join(dir, 'secret');
    await writeFile(f, 'abc \n\n', { mode: 0o600 });
    expect(readSecretFile(f, '--webhook-secret-file').toString()).toBe('abc');
    await chmod(f, 0o640);
    expect(() => readSecretFile(f, '--webhook-secret-file')).toThrow(/readable by group or others/);
    await chmod(f, 0o604);
    expect(() => readSecretFile(f, '--webhook-secret-file')).toThrow(/readable by group or others/);
    await writeFile(join(dir, 'empty'), ' \n', { mode: 0o600 });
    expect(() => readSecretFile(join(dir, 'empty'), '--webhook-secret-file')).toThrow(/empty/);
    expect(() => readSecretFile(join(dir, 'nope'), '--webhook-secret-file')).toThrow(/no such file/);
  });
});

describe('examples/controller', () => {
  it('the systemd unit and the Kubernetes Deployment use only flags that `controller --help` lists', async () => {
    const helpOf = async (args: string[]): Promise<string> => {
      const out = new PassThrough();
      let text = '';
      out.on('data', (c: Buffer) => (text += c.toString()));
      await main([...args, '--help'], { stdout: out, stderr: out, stdin: new PassThrough(), env: {}, cwd: '/' });
      return text;
    };
    const known = new Set([...`${await helpOf(['controller'])}\n${await helpOf([])}`.matchAll(/--[a-z][a-z-]*/g)].map((m) => m[0]));
    const root = new URL('../../examples/controller/', import.meta.url);
    const unit = await readFile(new URL('sms-reconcile-controller.service', root), 'utf8');
    const execStart = /ExecStart=([^\n]*(?:\\\n[^\n]*)*)/.exec(unit)?.[1] ?? '';
    const k8s = parseAllDocuments(await readFile(new URL('kubernetes.yaml', root), 'utf8')).map((d) => d.toJS() as Record<string, unknown>);
    const deployment = k8s.find((d) => d['kind'] === 'Deployment') as { spec: { template: { spec: { containers: { args: string[] }[] } } } };
    const args = deployment.spec.template.spec.containers[0]?.args ?? [];
    expect(args[0]).toBe('controller');
    const used = [...`${execStart} ${args.join(' ')}`.matchAll(/--[a-z][a-z-]*/g)].map((m) => m[0]);
    expect(used.length).toBeGreaterThan(5);
    expect(used.filter((f) => !known.has(f))).toEqual([]);
  });
});
