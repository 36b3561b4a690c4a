/**
 * The dashboard's server-side rules (src/controller/ui.ts) and the --ui-token-file checks at start:
 * the token in constant-time compares, the cookie derived from it, ETags, loopback hosts.
 */
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSecretFile } from '../../src/cli/commands/controller.ts';
import { authorized, etagMatches, isLoopbackHost, sameSecret, sessionCookie, sessionValue } from '../../src/controller/ui.ts';

const request = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;
const token = Buffer.from('s3cret-token');

describe('dashboard token', () => {
  it('takes the bearer token or the session cookie, nothing else', () => {
    expect(authorized(request({}), undefined)).toBe(true);
    expect(authorized(request({}), token)).toBe(false);
    expect(authorized(request({ authorization: 'Bearer s3cret-token' }), token)).toBe(true);
    expect(authorized(request({ authorization: 'bearer s3cret-token' }), token)).toBe(true);
    expect(authorized(request({ authorization: 'Bearer s3cret-toke' }), token)).toBe(false);
    expect(authorized(request({ authorization: 'Basic czNjcmV0LXRva2Vu' }), token)).toBe(false);
    expect(authorized(request({ cookie: `a=b; sms_reconcile_ui=${sessionValue(token)}` }), token)).toBe(true);
    expect(authorized(request({ cookie: 'sms_reconcile_ui=s3cret-token' }), token)).toBe(false);
    expect(authorized(request({ cookie: `sms_reconcile_ui=${sessionValue(Buffer.from('other'))}` }), token)).toBe(false);
  });

  it('the cookie is HttpOnly, SameSite=Strict and does not hold the token', () => {
    const c = sessionCookie(token);
    expect(c).toContain('HttpOnly');
    expect(c).toContain('SameSite=Strict');
    expect(c).not.toContain('s3cret-token');
  });

  it('compares secrets of any lengths', () => {
    expect(sameSecret('abc', 'abc')).toBe(true);
    expect(sameSecret('abc', 'abcd')).toBe(false);
    expect(sameSecret('', 'abc')).toBe(false);
  });

  it('--ui-token-file: trimmed; empty or group/world-readable files are refused, naming the flag', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ui-token-'));
    const file = join(dir, 'token');
    await writeFile(file, 'tok  \n\n');
    await chmod(file, 0o600);
    expect(readSecretFile(file, '--ui-token-file').toString()).toBe('tok');
    await chmod(file, 0o640);
    expect(() => readSecretFile(file, '--ui-token-file')).toThrow(/--ui-token-file .* readable by group or others/);
    await writeFile(file, ' \n');
    await chmod(file, 0o600);
    expect(() => readSecretFile(file, '--ui-token-file')).toThrow(/--ui-token-file .* is empty/);
    expect(() => readSecretFile(join(dir, 'none'), '--ui-token-file')).toThrow(/--ui-token-file .*no such file/);
  });
});

describe('dashboard HTTP helpers', () => {
  it('matches ETags in If-None-Match lists', () => {
    expect(etagMatches('"a", "b"', '"b"')).toBe(true);
    expect(etagMatches('*', '"b"')).toBe(true);
    expect(etagMatches('"a"', '"b"')).toBe(false);
    expect(etagMatches(undefined, '"b"')).toBe(false);
  });

  it('knows loopback hosts', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', 'example.com']) expect(isLoopbackHost(host), host).toBe(false);
  });
});
