import { describe, it, expect, afterEach } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadServerCredentials, credentialLookup } from '../../src/server/credentials.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sms-creds-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

const ENV_PAIR = { SMS_SERVER_ACCESS_KEY_ID: 'AKIAENVKEY0000000001', SMS_SERVER_SECRET_ACCESS_KEY: 'env/secret+value0000000000000000000000000' };

describe('loadServerCredentials', () => {
  it('uses SMS_SERVER_ACCESS_KEY_ID / SMS_SERVER_SECRET_ACCESS_KEY and writes nothing', () => {
    const dir = tempDir();
    const got = loadServerCredentials(dir, { ...ENV_PAIR, PATH: '/bin' });
    expect(got).toEqual({ origin: 'env', credentials: [{ accessKeyId: ENV_PAIR.SMS_SERVER_ACCESS_KEY_ID, secretAccessKey: ENV_PAIR.SMS_SERVER_SECRET_ACCESS_KEY }] });
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('adds SMS_SERVER_SESSION_TOKEN when set', () => {
    const got = loadServerCredentials(':memory:', { ...ENV_PAIR, SMS_SERVER_SESSION_TOKEN: 'tok' });
    expect(got.origin).toBe('env');
    expect(got.credentials[0]?.sessionToken).toBe('tok');
  });

  it('the environment wins over an existing credentials file', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'credentials.json'), JSON.stringify({ accessKeyId: 'AKIAFILE', secretAccessKey: 's' }));
    expect(loadServerCredentials(dir, ENV_PAIR).credentials[0]?.accessKeyId).toBe(ENV_PAIR.SMS_SERVER_ACCESS_KEY_ID);
  });

  it('refuses a half-set environment, naming the missing variable', () => {
    expect(() => loadServerCredentials(':memory:', { SMS_SERVER_ACCESS_KEY_ID: 'AKIAONLY' })).toThrow(
      /SMS_SERVER_SECRET_ACCESS_KEY is missing/,
    );
    expect(() => loadServerCredentials(':memory:', { SMS_SERVER_SECRET_ACCESS_KEY: 'only-secret' })).toThrow(/SMS_SERVER_ACCESS_KEY_ID is missing/);
    expect(() => loadServerCredentials(':memory:', { SMS_SERVER_SESSION_TOKEN: 'tok' })).toThrow(/SMS_SERVER_SESSION_TOKEN is set/);
  });

  it('refuses an access key id that would break the Authorization header', () => {
    expect(() => loadServerCredentials(':memory:', { ...ENV_PAIR, SMS_SERVER_ACCESS_KEY_ID: 'AKIA/BAD' })).toThrow(/SMS_SERVER_ACCESS_KEY_ID must be/);
  });

  it('generates a key pair, writes it 0600 in a 0700 data dir, and reads the same pair back next time', () => {
    const dir = path.join(tempDir(), 'nested', 'data');
    const first = loadServerCredentials(dir, {});
    const file = path.join(dir, 'credentials.json');
    expect(first.origin).toBe('generated');
    expect(first.file).toBe(file);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    expect(fs.readdirSync(dir)).toEqual(['credentials.json']); // no temp file left behind
    const [cred] = first.credentials;
    expect(cred?.accessKeyId).toMatch(/^AKIA[A-Z2-7]{16}$/);
    expect(cred?.secretAccessKey).toMatch(/^[A-Za-z0-9+/]{40}$/);
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ accessKeyId: cred?.accessKeyId, secretAccessKey: cred?.secretAccessKey });

    const second = loadServerCredentials(dir, {});
    expect(second).toEqual({ origin: 'file', file, credentials: [{ accessKeyId: cred?.accessKeyId, secretAccessKey: cred?.secretAccessKey }] });
  });

  it('generated pairs differ between data dirs', () => {
    const a = loadServerCredentials(tempDir(), {}).credentials[0];
    const b = loadServerCredentials(tempDir(), {}).credentials[0];
    expect(a?.accessKeyId).not.toBe(b?.accessKeyId);
    expect(a?.secretAccessKey).not.toBe(b?.secretAccessKey);
  });

  it('reads a hand-written credentials file, with an optional session token', () => {
    const dir = tempDir();
    const file = path.join(dir, 'credentials.json');
    fs.writeFileSync(file, JSON.stringify({ accessKeyId: 'AKIAHAND', secretAccessKey: 'hand-secret', sessionToken: 'tok' }), { mode: 0o600 });
    expect(loadServerCredentials(dir, {})).toEqual({
      origin: 'file',
      file,
      credentials: [{ accessKeyId: 'AKIAHAND', secretAccessKey: 'hand-secret', sessionToken: 'tok' }],
    });
  });

  const malformed: Array<[string, string, RegExp]> = [
    ['not JSON', '{"accessKeyId": ', /not valid JSON/],
    ['an array', '[]', /not a JSON object/],
    ['missing secretAccessKey', '{"accessKeyId":"AKIAX"}', /'secretAccessKey' must be a non-empty string/],
    ['an empty secretAccessKey', '{"accessKeyId":"AKIAX","secretAccessKey":""}', /'secretAccessKey' must be a non-empty string/],
    ['a numeric accessKeyId', '{"accessKeyId":12,"secretAccessKey":"s"}', /'accessKeyId' must be a string/],
    ['an unknown field', '{"accessKeyId":"AKIAX","secretAccessKey":"s","secretKey":"t"}', /unknown field\(s\) secretKey/],
    ['a non-string sessionToken', '{"accessKeyId":"AKIAX","secretAccessKey":"s","sessionToken":1}', /'sessionToken'/],
  ];
  it.each(malformed)('refuses a credentials file that is %s, naming the file and never overwriting it', (_name, text, reason) => {
    const dir = tempDir();
    const file = path.join(dir, 'credentials.json');
    fs.writeFileSync(file, text);
    let error: unknown;
    try {
      loadServerCredentials(dir, {});
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(file);
    expect((error as Error).message).toMatch(reason);
    expect(fs.readFileSync(file, 'utf8')).toBe(text);
  });

  it("':memory:' generates a fresh pair and writes nothing", () => {
    const got = loadServerCredentials(':memory:', {});
    expect(got.origin).toBe('generated');
    expect(got.file).toBeUndefined();
    expect(got.credentials).toHaveLength(1);
    expect(got.credentials[0]?.accessKeyId).toMatch(/^AKIA[A-Z2-7]{16}$/);
    expect(fs.existsSync(':memory:')).toBe(false);
  });
});

describe('credentialLookup', () => {
  it('finds a credential by access key id and nothing else', () => {
    const a = { accessKeyId: 'AKIAA', secretAccessKey: 'sa' };
    const b = { accessKeyId: 'AKIAB', secretAccessKey: 'sb', sessionToken: 't', readOnly: true };
    const lookup = credentialLookup([a, b]);
    expect(lookup('AKIAA')).toBe(a);
    expect(lookup('AKIAB')).toBe(b);
    expect(lookup('AKIAC')).toBeUndefined();
    expect(lookup('constructor')).toBeUndefined();
    expect(lookup('akiaa')).toBeUndefined();
  });

  it('refuses an access key id listed twice', () => {
    expect(() => credentialLookup([{ accessKeyId: 'AKIAA', secretAccessKey: 'x' }, { accessKeyId: 'AKIAA', secretAccessKey: 'y' }])).toThrow(/more than once/);
  });
});
