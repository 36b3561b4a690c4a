import { describe, expect, it } from 'vitest';
import { isSecretParam, redactUrl, stripUserinfo } from '../../src/model/redact.ts';

describe('redactUrl: the one redaction of URLs', () => {
  it.each([
    ['postgres://smsr:smsr-test-pw@127.0.0.1:55432/smsr_test', 'postgres://smsr:***@127.0.0.1:55432/smsr_test'],
    ['postgres://smsr:p%2Fss%3Fw%23rd@db.example:5432/app?sslmode=require', 'postgres://smsr:***@db.example:5432/app?sslmode=require'],
    // Too broken to tell user from password: all of it between :// and the last @ is masked.
    ['postgres://smsr:p/ss?w#rd@127.0.0.1:55432/smsr_test', 'postgres://***@127.0.0.1:55432/smsr_test'],
    ['postgres://u:12/x@host/db', 'postgres://***@host/db'],
    ['postgresql://a:b@c@host:1/db', 'postgresql://a:***@host:1/db'],
    ['postgres://user@host/db', 'postgres://user@host/db'],
    ['postgres://host/db?password=hunter2&sslmode=require&sslpassword=x1', 'postgres://host/db?password=***&sslmode=require&sslpassword=***'],
    ['http://127.0.0.1:4573/?X-Amz-Signature=abc&X-Amz-Security-Token=tok&X-Amz-Date=1', 'http://127.0.0.1:4573/?X-Amz-Signature=***&X-Amz-Security-Token=***&X-Amz-Date=1'],
    ['not a url: p/ss', 'not a url: p/ss'],
  ])('%s -> %s', (input, expected) => {
    expect(redactUrl(input)).toBe(expected);
  });

  it('removes endpoint userinfo entirely, user and password both', () => {
    expect(stripUserinfo('http://user:pw@127.0.0.1:4573')).toBe('http://127.0.0.1:4573');
    expect(stripUserinfo('https://only-user@sms.example.com/')).toBe('https://sms.example.com/');
    expect(stripUserinfo('http://u:p/w?x#y@host:1')).toBe('http://host:1');
    expect(stripUserinfo('http://127.0.0.1:4573')).toBe('http://127.0.0.1:4573');
  });

  it('knows the secret query parameters', () => {
    for (const p of ['password', 'sslpassword', 'PASSWORD', 'X-Amz-Security-Token', 'x-amz-signature', 'aws_session_token', 'client_secret']) expect(isSecretParam(p), p).toBe(true);
    for (const p of ['sslmode', 'schema', 'workspace', 'X-Amz-Date', 'X-Amz-Credential', 'user']) expect(isSecretParam(p), p).toBe(false);
  });
});
