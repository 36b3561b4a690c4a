/**
 * Bad input (issue 2): a few thousand random and mutated requests against one server, over raw
 * node:http. Random bytes, mutated JSON bodies for each of the 11 actions, random and duplicated
 * headers, mutated targets, mutated Authorization headers, presigned query strings and signatures,
 * and correctly signed requests with mutated bodies. Every answer must be a 4xx with a JSON
 * `{__type, message}` body and an `x-amzn-requestid` (a correctly signed request may get a 200),
 * never a 5xx, a hang or a dropped connection. Afterwards the server still answers and its data is
 * exactly what it was, plus the jobs that correctly signed creates were told about.
 *
 * Reproduce a failure with FUZZ_SEED=<seed> (printed in the test name); FUZZ_CASES sets the count.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import {
  CreateReplicationJobCommand, GetConnectorsCommand, GetReplicationJobsCommand, GetReplicationRunsCommand, GetServersCommand,
  ImportServerCatalogCommand, type ReplicationJob, type Server,
} from '@aws-sdk/client-sms';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { allJobs } from '../helpers/sms-world.ts';

const SEED = Number(process.env['FUZZ_SEED'] ?? 20161024);
const CASES = Number(process.env['FUZZ_CASES'] ?? 3000);
const CONCURRENCY = 16;
const MiB = 1024 * 1024;
const PREFIX = 'AWSServerMigrationService_V2016_10_24.';
const ACTIONS = [
  'CreateReplicationJob', 'DeleteReplicationJob', 'DeleteServerCatalog', 'DisassociateConnector', 'GetConnectors', 'GetReplicationJobs',
  'GetReplicationRuns', 'GetServers', 'ImportServerCatalog', 'StartOnDemandReplicationRun', 'UpdateReplicationJob',
] as const;
type Action = (typeof ACTIONS)[number];
/** The catalog-wide actions: a correctly signed one with an object body would change the catalog, so those get only broken bodies. */
const CATALOG_ACTIONS: readonly Action[] = ['DeleteServerCatalog', 'ImportServerCatalog'];
const AUTH_CODES = ['MissingAuthenticationToken', 'InvalidClientTokenId', 'IncompleteSignature', 'SignatureDoesNotMatch', 'RequestExpired'];
const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';

// ---------------------------------------------------------------------------------------------
// Seeded randomness

class Rand {
  private a: number;
  constructor(seed: number) {
    this.a = seed >>> 0;
  }
  next(): number {
    this.a = (this.a + 0x6d2b79f5) >>> 0;
    let t = this.a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  bool(p = 0.5): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
  chars(n: number, alphabet: string): string {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[this.int(alphabet.length)];
    return s;
  }
  /** Weighted choice: [[weight, value], ...]. */
  weighted<T>(choices: readonly (readonly [number, T])[]): T {
    const total = choices.reduce((s, [w]) => s + w, 0);
    let r = this.next() * total;
    for (const [w, v] of choices) {
      r -= w;
      if (r < 0) return v;
    }
    return choices[choices.length - 1]![1];
  }
}

const PRINTABLE = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('');
const TOKEN = 'abcdefghijklmnopqrstuvwxyz0123456789-_';
const HEX = '0123456789abcdef';
const UNICODE = ['é', 'ß', 'Ω', '中文', '日本語', '🚀', '👩‍💻', '\u202e', '\u0000', '\ufeff', '\ud800', '\udfff', '\u2028', 'ｓ', '\t', '\n', '"', '\\'];

// ---------------------------------------------------------------------------------------------
// Request cases

interface Case {
  readonly id: number;
  readonly kind: string;
  readonly method: string;
  readonly path: string;
  readonly headers: OutgoingHttpHeaders;
  readonly body: Buffer;
  /** Send the body in several chunks without a Content-Length. */
  readonly chunked?: boolean;
  /** Correctly signed, to an action: a 200 is acceptable. */
  readonly signedValid: boolean;
  readonly action?: Action;
  /** When set, the error code must be one of these. */
  readonly expect?: readonly string[];
}

interface Outcome {
  readonly status?: number;
  readonly headers?: IncomingHttpHeaders;
  readonly body?: string;
  readonly error?: string;
}

interface Context {
  readonly host: string;
  readonly port: number;
  readonly region: string;
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
  readonly now: number;
  readonly freeServerIds: readonly string[];
  readonly jobIds: readonly string[];
  readonly address: { vmId: string; vmManagerId: string };
  readonly tokens: { servers: string; jobs: string; connectors: string; runs: string };
}

const sha256 = Hash.bind(null, 'sha256');

function signer(ctx: Context, opts: { region?: string; service?: string; secret?: string; accessKeyId?: string; checksum?: boolean } = {}): SignatureV4 {
  return new SignatureV4({
    service: opts.service ?? 'sms',
    region: opts.region ?? ctx.region,
    credentials: { accessKeyId: opts.accessKeyId ?? ctx.credentials.accessKeyId, secretAccessKey: opts.secret ?? ctx.credentials.secretAccessKey },
    sha256,
    applyChecksum: opts.checksum ?? true,
  });
}

function baseHeaders(ctx: Context, target: string): Record<string, string> {
  return { host: `${ctx.host}:${ctx.port}`, 'content-type': JSON_CONTENT_TYPE, 'x-amz-target': target };
}

async function signHeaders(
  s: SignatureV4,
  ctx: Context,
  headers: Record<string, string>,
  body: Buffer,
  signingDate?: Date,
): Promise<Record<string, string>> {
  const signed = await s.sign(
    new HttpRequest({ method: 'POST', protocol: 'http:', hostname: ctx.host, port: ctx.port, path: '/', headers: { ...headers }, body }),
    signingDate ? { signingDate } : {},
  );
  return signed.headers as Record<string, string>;
}

async function presignQuery(
  s: SignatureV4,
  ctx: Context,
  headers: Record<string, string>,
  body: Buffer,
  opts: { expiresIn?: number; signingDate?: Date } = {},
): Promise<{ headers: Record<string, string>; query: [string, string][] }> {
  const signed = await s.presign(
    new HttpRequest({ method: 'POST', protocol: 'http:', hostname: ctx.host, port: ctx.port, path: '/', headers: { ...headers }, body }),
    { expiresIn: opts.expiresIn ?? 300, ...(opts.signingDate ? { signingDate: opts.signingDate } : {}) },
  );
  const query: [string, string][] = [];
  for (const [k, v] of Object.entries(signed.query ?? {})) {
    if (Array.isArray(v)) for (const x of v) query.push([k, x]);
    else if (typeof v === 'string') query.push([k, v]);
  }
  return { headers: signed.headers as Record<string, string>, query };
}

const enc = (s: string): string => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const queryPath = (q: readonly [string, string][]): string => `/?${q.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&')}`;

/** A valid request body for each action, pointing at things the storm may change (never the protected jobs). */
function template(r: Rand, ctx: Context, action: Action): Record<string, unknown> {
  const job = r.pick([...ctx.jobIds, 'sms-job-00000000']);
  switch (action) {
    case 'CreateReplicationJob':
      return {
        serverId: r.pick(ctx.freeServerIds),
        seedReplicationTime: ctx.now + r.range(0, 5 * 86_400),
        frequency: r.range(1, 24),
        runOnce: false,
        licenseType: r.pick(['AWS', 'BYOL']),
        roleName: 'sms-fuzz',
        description: 'fuzz',
        numberOfRecentAmisToKeep: r.range(0, 10),
        encrypted: r.bool(),
        kmsKeyId: 'arn:aws:kms:us-east-1:123456789012:key/fuzz',
      };
    case 'DeleteReplicationJob':
      return { replicationJobId: job };
    case 'DeleteServerCatalog':
    case 'ImportServerCatalog':
      return {};
    case 'DisassociateConnector':
      return { connectorId: 'c-0000000000000000f' };
    case 'GetConnectors':
      return { maxResults: r.range(1, 100), nextToken: ctx.tokens.connectors };
    case 'GetReplicationJobs':
      return r.bool() ? { replicationJobId: job } : { maxResults: r.range(1, 100), nextToken: ctx.tokens.jobs };
    case 'GetReplicationRuns':
      return { replicationJobId: ctx.jobIds[0], maxResults: r.range(1, 100), nextToken: ctx.tokens.runs };
    case 'GetServers':
      return r.bool()
        ? { vmServerAddressList: [ctx.address, { vmId: 'vm-999' }], maxResults: r.range(1, 100) }
        : { maxResults: r.range(1, 100), nextToken: ctx.tokens.servers };
    case 'StartOnDemandReplicationRun':
      return { replicationJobId: job, description: 'fuzz on demand' };
    case 'UpdateReplicationJob':
      return {
        replicationJobId: job,
        frequency: r.range(1, 24),
        nextReplicationRunStartTime: ctx.now + r.range(1, 86_400),
        licenseType: 'AWS',
        roleName: 'sms-fuzz',
        description: 'fuzz update',
        numberOfRecentAmisToKeep: r.range(0, 5),
        encrypted: r.bool(),
        kmsKeyId: 'fuzz-key',
      };
  }
}

const MEMBERS = [
  'serverId', 'seedReplicationTime', 'frequency', 'runOnce', 'licenseType', 'roleName', 'description', 'numberOfRecentAmisToKeep',
  'encrypted', 'kmsKeyId', 'replicationJobId', 'connectorId', 'maxResults', 'nextToken', 'vmServerAddressList',
  'nextReplicationRunStartTime', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'prototype', '', 'x'.repeat(300),
];

/** Raw JSON that JSON.stringify cannot produce, spliced in through a marker. */
const RAW = ['1e999', '-1e999', '123456789012345678901234567890', '-0', '0.0000000000000000000001', '1E+2', '9007199254740993'];

function randomString(r: Rand, maxBytes: number): string {
  return r.weighted<() => string>([
    [4, () => r.chars(r.range(0, 40), PRINTABLE)],
    [3, () => Array.from({ length: r.range(1, 12) }, () => r.pick(UNICODE)).join('')],
    [2, () => r.pick(['', ' ', 'NaN', 'Infinity', '-Infinity', '-1', '1e999', '0x10', 'true', 'null', '{}', '[]', 'sms-job-', 's-', 'c-'])],
    [1, () => 'x'.repeat(r.pick([256, 1025, 2049, 70_000, maxBytes]))],
    [1, () => `sms-job-${r.chars(8, HEX)}`],
    [1, () => `s-${r.chars(8, HEX)}`],
  ])();
}

/** Deep nesting, spliced in as raw text (JSON.stringify itself would overflow the stack). */
function deep(depth: number, asArray: boolean): string {
  return `__DEEP_${depth}_${asArray ? 'a' : 'o'}__`;
}

function expandRaw(text: string): string {
  return text
    .replace(/"__RAW_(\d+)__"/g, (_, i: string) => RAW[Number(i)]!)
    .replace(/"__DEEP_(\d+)_([ao])__"/g, (_, n: string, kind: string) =>
      kind === 'a' ? `${'['.repeat(Number(n))}1${']'.repeat(Number(n))}` : `${'{"a":'.repeat(Number(n))}"x"${'}'.repeat(Number(n))}`,
    );
}

function randomValue(r: Rand, depth = 0): unknown {
  return r.weighted<() => unknown>([
    // Up to just under the 1 MiB body limit with the rest of a template (two of them go over: a 413).
    [4, () => randomString(r, MiB - 1500)],
    [4, () => r.pick([0, -1, 1, 1.5, -0.5, 25, 101, 271, 1e308, -1e308, 2 ** 53, 2 ** 64, 1e-300, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 253402300800, 4102444800, Date.now()])],
    [1, () => `__RAW_${r.int(RAW.length)}__`],
    [2, () => r.bool()],
    [2, () => null],
    [2, () => (depth > 3 ? [] : Array.from({ length: r.range(0, 4) }, () => randomValue(r, depth + 1)))],
    [2, () => (depth > 3 ? {} : Object.fromEntries(Array.from({ length: r.range(0, 4) }, () => [r.pick(MEMBERS), randomValue(r, depth + 1)])))],
    [1, () => deep(r.pick([10, 1000, 20_000]), r.bool())],
    [1, () => Array.from({ length: r.pick([101, 1000]) }, () => ({ vmId: `vm-${r.int(1000)}`, vmManagerId: 'm' }))],
  ])();
}

/** A mutated version of a valid body. */
function mutateBody(r: Rand, base: Record<string, unknown>): Buffer {
  let obj: unknown = { ...base };
  const n = r.range(1, 3);
  for (let i = 0; i < n; i++) {
    const o = obj as Record<string, unknown>;
    const keys = Object.keys(o);
    r.weighted<() => void>([
      [6, () => (o[keys.length > 0 && r.bool(0.8) ? r.pick(keys) : r.pick(MEMBERS)] = randomValue(r))],
      [2, () => keys.length > 0 && delete o[r.pick(keys)]],
      [1, () => (obj = r.pick([[o], 'a string', 42, true, null, []]))],
    ])();
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) break;
  }
  let text = JSON.stringify(obj) ?? 'null';
  text = expandRaw(text);
  if (r.bool(0.3)) {
    text = r.weighted<() => string>([
      [3, () => text.slice(0, r.int(text.length))],
      [2, () => {
        const at = r.int(text.length);
        return text.slice(0, at) + String.fromCharCode(r.int(128)) + text.slice(at + 1);
      }],
      [1, () => text.replace('{', `{"${r.pick(Object.keys(base).length ? Object.keys(base) : ['x'])}": ${JSON.stringify(randomValue(r))},`)],
      [1, () => `\ufeff${text}`],
      [1, () => `${text} ${r.pick(['x', '{}', ',', '\u0000', ']'])}`],
      [1, () => ` \n\t${text}\n `],
    ])();
  }
  return Buffer.from(text, 'utf8');
}

function randomBody(r: Rand): Buffer {
  return r.weighted<() => Buffer>([
    [4, () => r.bytes(r.range(1, 2048))],
    [1, () => r.bytes(r.range(2048, 64 * 1024))],
    [1, () => Buffer.from(r.chars(r.range(1, 200), PRINTABLE))],
    [1, () => Buffer.from(r.pick(['{', '}', '[', '"', 'null', 'true', '1', '[]', '"{}"', '{"a":', '{"a":1,}', "{'a':1}", '\u0000{}']))],
  ])();
}

/** Header noise: random names and values, some of them x-amz-*. */
function randomHeaders(r: Rand, into: OutgoingHttpHeaders): void {
  const n = r.range(0, 12);
  for (let i = 0; i < n; i++) {
    const name = r.weighted<() => string>([
      [3, () => r.chars(r.range(1, 20), TOKEN)],
      [2, () => `x-amz-${r.chars(r.range(1, 12), TOKEN)}`],
      [1, () => r.pick(['accept', 'user-agent', 'content-encoding', 'x-amz-content-sha256', 'x-amz-user-agent', 'amz-sdk-request', 'expect-ct', 'date'])],
    ])();
    if (['host', 'content-length', 'transfer-encoding', 'expect', 'connection', 'upgrade', 'te', 'trailer'].includes(name)) continue;
    const value = r.chars(r.range(0, 200), PRINTABLE).trim();
    into[name] = r.bool(0.2) ? [value, r.chars(r.range(0, 50), PRINTABLE).trim()] : value;
  }
}

/** A target that differs from the one given. */
function mutateTarget(r: Rand, target: string): string {
  for (;;) {
    const t = mutateTargetOnce(r, target);
    if (t !== target) return t;
  }
}

function mutateTargetOnce(r: Rand, target: string): string {
  return r.weighted<() => string>([
    [3, () => {
      const at = r.int(target.length);
      return target.slice(0, at) + r.pick([...TOKEN, '.', '_', 'X', ' ']) + target.slice(at + 1);
    }],
    [1, () => target.toLowerCase()],
    [1, () => target.slice(0, r.int(target.length))],
    [1, () => `${target}${r.chars(r.range(1, 5), TOKEN)}`],
    [1, () => r.pick(['', '.', PREFIX, `${PREFIX}.`, `${PREFIX}constructor`, `${PREFIX}__proto__`, `${PREFIX}toString`, 'SmsReconcileControl.Reset', 'SmsReconcileControl.AdvanceClock'])],
    [1, () => 'A'.repeat(r.pick([500, 5000]))],
  ])();
}

function flip(r: Rand, s: string, alphabet: string): string {
  if (s === '') return r.pick([...alphabet]);
  const at = r.int(s.length);
  let c = r.pick([...alphabet]);
  while (c === s[at]) c = r.pick([...alphabet]);
  return s.slice(0, at) + c + s.slice(at + 1);
}

interface AuthParts {
  algorithm: string;
  credential: string;
  signedHeaders: string;
  signature: string;
}

function parseAuth(header: string): AuthParts {
  const m = /^(\S+) Credential=([^,]+), SignedHeaders=([^,]+), Signature=([0-9a-f]+)$/.exec(header);
  if (!m) throw new Error(`unexpected Authorization header shape: ${header}`);
  return { algorithm: m[1]!, credential: m[2]!, signedHeaders: m[3]!, signature: m[4]! };
}

const formatAuth = (a: AuthParts): string => `${a.algorithm} Credential=${a.credential}, SignedHeaders=${a.signedHeaders}, Signature=${a.signature}`;

/** One mutation of a correctly signed header-form request; the codes it may get. */
function mutateSigned(r: Rand, headers: Record<string, string | string[]>, body: Buffer): { body: Buffer; expect: readonly string[]; what: string } {
  const auth = parseAuth(headers['authorization'] as string);
  const scope = auth.credential.split('/');
  const set = (a: AuthParts) => (headers['authorization'] = formatAuth(a));
  const mismatch = ['SignatureDoesNotMatch'];
  const incomplete = ['IncompleteSignature'];
  const choices: [number, () => { body?: Buffer; expect: readonly string[]; what: string }][] = [
    [4, () => (set({ ...auth, signature: flip(r, auth.signature, HEX) }), { expect: mismatch, what: 'signature char flipped' })],
    [1, () => {
      const cut = auth.signature.slice(0, r.int(64));
      set({ ...auth, signature: cut });
      return { expect: cut === '' ? incomplete : mismatch, what: 'signature truncated' };
    }],
    [1, () => (set({ ...auth, signature: auth.signature.toUpperCase() }), { expect: mismatch, what: 'signature upper-cased' })],
    [1, () => (set({ ...auth, signature: `${auth.signature}${r.chars(r.range(1, 64), HEX)}` }), { expect: mismatch, what: 'signature extended' })],
    [2, () => (set({ ...auth, credential: [flip(r, scope[0]!, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'), ...scope.slice(1)].join('/') }), { expect: ['InvalidClientTokenId'], what: 'access key id flipped' })],
    [1, () => (set({ ...auth, credential: [scope[0], flip(r, scope[1]!, '0123456789'), ...scope.slice(2)].join('/') }), { expect: mismatch, what: 'scope date flipped' })],
    [1, () => (set({ ...auth, credential: [...scope.slice(0, 2), r.pick(['us-east-2', 'eu-west-1', 'US-EAST-1', '', 'us-east-1 ']), ...scope.slice(3)].join('/') }), { expect: [...mismatch, ...incomplete], what: 'scope region changed' })],
    [1, () => (set({ ...auth, credential: [...scope.slice(0, 3), r.pick(['ec2', 'SMS', 's3', 'sms ', 'smss']), scope[4]].join('/') }), { expect: [...mismatch, ...incomplete], what: 'scope service changed' })],
    [1, () => (set({ ...auth, credential: [...scope.slice(0, 4), r.pick(['aws4_requesT', 'aws4', '', 'aws4_request2'])].join('/') }), { expect: incomplete, what: 'scope terminator changed' })],
    [1, () => (set({ ...auth, credential: r.bool() ? scope.slice(0, r.range(1, 4)).join('/') : [...scope, 'extra'].join('/') }), { expect: incomplete, what: 'scope element count changed' })],
    [1, () => (set({ ...auth, credential: flip(r, auth.credential, PRINTABLE.replace(',', '')) }), { expect: [...AUTH_CODES], what: 'credential char flipped' })],
    [1, () => (set({ ...auth, signedHeaders: auth.signedHeaders.split(';').filter((h) => h !== 'host').join(';') }), { expect: incomplete, what: 'host dropped from SignedHeaders' })],
    [1, () => (set({ ...auth, signedHeaders: `${auth.signedHeaders};x-not-sent` }), { expect: incomplete, what: 'unsent header in SignedHeaders' })],
    [1, () => (set({ ...auth, signedHeaders: auth.signedHeaders.split(';').filter((h) => h !== 'x-amz-target').join(';') }), { expect: incomplete, what: 'x-amz-target dropped from SignedHeaders' })],
    [1, () => (set({ ...auth, signedHeaders: auth.signedHeaders.split(';').reverse().join(';') }), { expect: mismatch, what: 'SignedHeaders reordered' })],
    [1, () => (set({ ...auth, signedHeaders: auth.signedHeaders.toUpperCase() }), { expect: incomplete, what: 'SignedHeaders upper-cased' })],
    [1, () => (set({ ...auth, signedHeaders: auth.signedHeaders.replace(';', ';;') }), { expect: incomplete, what: 'empty SignedHeaders element' })],
    [1, () => (set({ ...auth, signedHeaders: flip(r, auth.signedHeaders, `${TOKEN};`) }), { expect: [...AUTH_CODES], what: 'SignedHeaders char flipped' })],
    [1, () => (set({ ...auth, algorithm: r.pick(['AWS4-HMAC-SHA1', 'aws4-hmac-sha256', 'AWS4-ECDSA-P256-SHA256', 'Bearer', 'Basic']) }), { expect: incomplete, what: 'algorithm changed' })],
    [1, () => {
      const parts = formatAuth(auth).split(', ');
      parts.splice(r.int(parts.length - 1) + 1, 1);
      headers['authorization'] = parts.join(', ');
      return { expect: incomplete, what: 'an Authorization element removed' };
    }],
    [1, () => ((headers['authorization'] = `${formatAuth(auth)}, Signature=${auth.signature}`), { expect: incomplete, what: 'Signature given twice' })],
    [1, () => ((headers['authorization'] = [formatAuth(auth), formatAuth(auth)]), { expect: incomplete, what: 'Authorization header duplicated' })],
    [1, () => ((headers['authorization'] = r.pick(['AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA256 ', 'AWS4-HMAC-SHA256 Credential', 'AWS4-HMAC-SHA256 =,=,=', 'AWS4-HMAC-SHA256 Credential=a/b/c/d/aws4_request, SignedHeaders=host, Signature=00'])), { expect: [...incomplete, ...mismatch, 'InvalidClientTokenId'], what: 'Authorization garbage' })],
    [1, () => ((headers['authorization'] = r.chars(r.range(1, 300), PRINTABLE)), { expect: ['IncompleteSignature', 'MissingAuthenticationToken'], what: 'Authorization random' })],
    [1, () => ((headers['authorization'] = ' '), { expect: ['MissingAuthenticationToken'], what: 'Authorization blank' })],
    [1, () => ((headers['x-amz-date'] = flip(r, headers['x-amz-date'] as string, '0123456789TZ')), { expect: [...incomplete, ...mismatch, 'RequestExpired'], what: 'x-amz-date flipped' })],
    [1, () => ((headers['x-amz-date'] = [headers['x-amz-date'] as string, headers['x-amz-date'] as string]), { expect: incomplete, what: 'x-amz-date duplicated' })],
    [1, () => (delete headers['x-amz-date'], { expect: incomplete, what: 'x-amz-date removed' })],
    [2, () => ({ body: Buffer.concat([body, Buffer.from(' ')]), expect: mismatch, what: 'body changed after signing' })],
    [1, () => ({ body: body.subarray(0, Math.max(0, body.length - 1)), expect: mismatch, what: 'body truncated after signing' })],
    [1, () => ((headers['x-amz-content-sha256'] = flip(r, (headers['x-amz-content-sha256'] as string | undefined) ?? '', HEX)), { expect: [...mismatch, ...incomplete], what: 'x-amz-content-sha256 flipped (added unsigned when the signer sent none)' })],
    [2, () => ((headers['x-amz-target'] = mutateTarget(r, headers['x-amz-target'] as string)), { expect: [...mismatch, ...incomplete], what: 'x-amz-target changed after signing' })],
    [1, () => ((headers['x-amz-target'] = [headers['x-amz-target'] as string, headers['x-amz-target'] as string]), { expect: incomplete, what: 'x-amz-target duplicated' })],
    [1, () => ((headers['content-type'] = r.pick(['application/json', 'text/plain', '', 'application/x-amz-json-1.0'])), { expect: mismatch, what: 'content-type changed after signing' })],
    [1, () => ((headers['host'] = r.pick(['127.0.0.1', 'localhost:1', 'example.com', `127.0.0.1:${headers['host'] === '127.0.0.1:1' ? 2 : 1}`])), { expect: mismatch, what: 'host changed after signing' })],
    [1, () => ((headers['x-amz-security-token'] = r.chars(r.range(1, 100), TOKEN)), { expect: ['IncompleteSignature', 'InvalidClientTokenId'], what: 'unexpected session token' })],
  ];
  const picked = r.weighted(choices)();
  return { body: picked.body ?? body, expect: picked.expect, what: picked.what };
}

/** One mutation of a presigned query string; the codes it may get. */
function mutatePresigned(r: Rand, q: [string, string][], headers: Record<string, string | string[]>): { expect: readonly string[]; what: string } {
  const idx = (k: string) => q.findIndex(([key]) => key === k);
  const mismatch = ['SignatureDoesNotMatch'];
  const incomplete = ['IncompleteSignature'];
  const choices: [number, () => { expect: readonly string[]; what: string }][] = [
    [3, () => {
      const i = idx('X-Amz-Signature');
      q[i] = ['X-Amz-Signature', flip(r, q[i]![1], HEX)];
      return { expect: mismatch, what: 'query signature flipped' };
    }],
    [1, () => {
      const i = idx('X-Amz-Expires');
      q[i] = ['X-Amz-Expires', r.pick(['3600', '604801', '-1', 'abc', '1.5', '99999999'])];
      return { expect: [...mismatch, ...incomplete], what: 'X-Amz-Expires changed' };
    }],
    [1, () => {
      const i = idx('X-Amz-Date');
      q[i] = ['X-Amz-Date', flip(r, q[i]![1], '0123456789TZ')];
      return { expect: [...mismatch, ...incomplete, 'RequestExpired'], what: 'X-Amz-Date flipped' };
    }],
    [1, () => {
      const k = r.pick(['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-SignedHeaders', 'X-Amz-Signature']);
      q.splice(idx(k), 1);
      return { expect: incomplete, what: `${k} removed` };
    }],
    [1, () => {
      const k = r.pick(['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-SignedHeaders', 'X-Amz-Signature', 'X-Amz-Expires']);
      q.push(q[idx(k)]!);
      return { expect: incomplete, what: `${k} duplicated` };
    }],
    [1, () => {
      const i = idx('X-Amz-Credential');
      q[i] = ['X-Amz-Credential', flip(r, q[i]![1], PRINTABLE)];
      return { expect: [...AUTH_CODES], what: 'X-Amz-Credential flipped' };
    }],
    [1, () => {
      const i = idx('x-amz-target');
      q[i] = ['x-amz-target', mutateTarget(r, q[i]![1])];
      return { expect: mismatch, what: 'query x-amz-target changed' };
    }],
    [1, () => {
      q.push([r.chars(r.range(1, 10), TOKEN), r.chars(r.range(0, 20), PRINTABLE)]);
      return { expect: mismatch, what: 'query parameter added' };
    }],
    [1, () => {
      headers['authorization'] = `AWS4-HMAC-SHA256 Credential=${q[idx('X-Amz-Credential')]![1]}, SignedHeaders=host, Signature=${'0'.repeat(64)}`;
      return { expect: incomplete, what: 'both header and query auth' };
    }],
  ];
  return r.weighted(choices)();
}

async function makeCase(r: Rand, ctx: Context, id: number): Promise<Case> {
  const action = r.pick(ACTIONS);
  const target = PREFIX + action;
  const kind = r.weighted<string>([
    [3, 'unsigned-random'],
    [3, 'unsigned-mutated-json'],
    [2, 'unsigned-odd-method-or-path'],
    [6, 'signed-then-mutated'],
    [2, 'presigned-then-mutated'],
    [2, 'signed-wrong-key-or-scope'],
    [1, 'signed-out-of-time'],
    [9, 'signed-mutated-body'],
    [2, 'signed-random-body'],
    [2, 'signed-mutated-target'],
    [1, 'presigned-mutated-body'],
    [1, 'too-large'],
    [1, 'signed-at-limit'],
  ]);
  const common = { id, kind, method: 'POST', path: '/', signedValid: false };

  switch (kind) {
    case 'unsigned-random':
    case 'unsigned-mutated-json': {
      const headers: OutgoingHttpHeaders = { 'content-type': r.bool(0.7) ? JSON_CONTENT_TYPE : r.chars(r.range(0, 30), PRINTABLE).trim() };
      if (r.bool(0.8)) headers['x-amz-target'] = r.bool(0.5) ? target : mutateTarget(r, target);
      if (r.bool(0.2)) headers['x-amz-target'] = [target, mutateTarget(r, target)];
      randomHeaders(r, headers);
      const body = kind === 'unsigned-random' ? randomBody(r) : mutateBody(r, template(r, ctx, action));
      return { ...common, headers, body, chunked: r.bool(0.1), expect: ['MissingAuthenticationToken'] };
    }
    case 'unsigned-odd-method-or-path': {
      const method = r.pick(['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'POST']);
      const path = r.pick(['/', '/x', '//', '/index.html', '/?', '/?a=b', '/%zz', '/..', '/./', `/${r.chars(r.range(1, 100), TOKEN)}`, '/?X-Amz-Algorithm=AWS4-HMAC-SHA256', '/?X-Amz-Signature=%zz', '/?x-amz-target=%E0%A4%A']);
      const headers: OutgoingHttpHeaders = { 'x-amz-target': target };
      randomHeaders(r, headers);
      const pathOnly = path.split('?')[0];
      const expect = pathOnly !== '/' ? ['NotFoundException'] : method !== 'POST' ? ['UnknownOperationException'] : [...AUTH_CODES];
      return { ...common, method, path, headers, body: r.bool() ? randomBody(r) : Buffer.alloc(0), expect };
    }
    case 'signed-then-mutated': {
      const body = Buffer.from(JSON.stringify(template(r, ctx, action)));
      const headers: Record<string, string | string[]> = await signHeaders(signer(ctx, { checksum: r.bool(0.7) }), ctx, baseHeaders(ctx, target), body);
      const m = mutateSigned(r, headers, body);
      return { ...common, kind: `${kind}: ${m.what}`, headers, body: m.body, expect: m.expect };
    }
    case 'presigned-then-mutated': {
      const body = Buffer.from(JSON.stringify(template(r, ctx, action)));
      const p = await presignQuery(signer(ctx), ctx, baseHeaders(ctx, target), body);
      const headers: Record<string, string | string[]> = p.headers;
      const m = mutatePresigned(r, p.query, headers);
      return { ...common, kind: `${kind}: ${m.what}`, path: queryPath(p.query), headers, body, expect: m.expect };
    }
    case 'signed-wrong-key-or-scope': {
      const body = Buffer.from(JSON.stringify(template(r, ctx, action)));
      const variant = r.pick(['secret', 'key', 'region', 'service'] as const);
      const s =
        variant === 'secret' ? signer(ctx, { secret: `${ctx.credentials.secretAccessKey}x` })
        : variant === 'key' ? signer(ctx, { accessKeyId: `AKIA${r.chars(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')}` })
        : variant === 'region' ? signer(ctx, { region: r.pick(['us-west-2', 'eu-central-1', 'cn-north-1']) })
        : signer(ctx, { service: r.pick(['ec2', 'iam', 'sts', 'mgn']) });
      const headers = await signHeaders(s, ctx, baseHeaders(ctx, target), body);
      const expect = variant === 'key' ? ['InvalidClientTokenId'] : ['SignatureDoesNotMatch'];
      return { ...common, kind: `${kind}: ${variant}`, headers, body, expect };
    }
    case 'signed-out-of-time': {
      const body = Buffer.from(JSON.stringify(template(r, ctx, action)));
      const offsetMin = r.pick([-60 * 24 * 8, -120, -16, 16, 120]);
      const date = new Date(Date.now() + offsetMin * 60_000);
      if (r.bool()) {
        const headers = await signHeaders(signer(ctx), ctx, baseHeaders(ctx, target), body, date);
        return { ...common, kind: `${kind}: header ${offsetMin} min`, headers, body, expect: ['RequestExpired'] };
      }
      const p = await presignQuery(signer(ctx), ctx, baseHeaders(ctx, target), body, { signingDate: date, expiresIn: 60 });
      return { ...common, kind: `${kind}: presigned ${offsetMin} min`, path: queryPath(p.query), headers: p.headers, body, expect: ['RequestExpired'] };
    }
    case 'signed-mutated-body':
    case 'signed-random-body':
    case 'presigned-mutated-body': {
      const catalog = CATALOG_ACTIONS.includes(action);
      let body: Buffer;
      if (kind === 'signed-random-body' || catalog) {
        do body = randomBody(r);
        while (body.toString('utf8').trim() === '');
      } else {
        body = mutateBody(r, template(r, ctx, action));
      }
      const headers: OutgoingHttpHeaders = baseHeaders(ctx, target);
      if (r.bool(0.3)) randomHeaders(r, headers);
      const extra = Object.fromEntries(Object.entries(headers).filter(([k]) => k.startsWith('x-amz-') && k !== 'x-amz-target' && k !== 'x-amz-content-sha256' && k !== 'x-amz-date' && k !== 'x-amz-security-token'));
      const unsigned = Object.fromEntries(Object.entries(headers).filter(([k]) => !k.startsWith('x-amz-') && !['host', 'content-type'].includes(k)));
      const toSign: Record<string, string> = {};
      for (const [k, v] of Object.entries({ ...baseHeaders(ctx, target), ...extra })) toSign[k] = Array.isArray(v) ? v.join(',') : String(v);
      // The content type is optional (the body is read as JSON whatever it says).
      if (r.bool(0.15)) delete toSign['content-type'];
      const catalogExpect = catalog ? { expect: ['SerializationException'] } : {};
      if (kind === 'presigned-mutated-body') {
        const p = await presignQuery(signer(ctx), ctx, toSign, body);
        return { ...common, path: queryPath(p.query), headers: { ...unsigned, ...p.headers }, body, signedValid: true, action, ...catalogExpect };
      }
      const signed = await signHeaders(signer(ctx, { checksum: r.bool(0.7) }), ctx, toSign, body);
      return { ...common, headers: { ...unsigned, ...signed }, body, chunked: r.bool(0.1), signedValid: true, action, ...catalogExpect };
    }
    case 'signed-mutated-target': {
      let t: string;
      do t = mutateTarget(r, target);
      while (ACTIONS.some((a) => PREFIX + a === t) || t.startsWith('SmsReconcileControl.'));
      const body = Buffer.from(JSON.stringify(template(r, ctx, action)));
      const base = baseHeaders(ctx, t);
      if (r.bool(0.15)) delete base['x-amz-target'];
      const headers = await signHeaders(signer(ctx), ctx, base, body);
      return { ...common, kind: `${kind}: ${base['x-amz-target'] === undefined ? '(none)' : t.slice(0, 60)}`, headers, body, signedValid: true, expect: ['UnknownOperationException'] };
    }
    case 'signed-at-limit': {
      // A body of exactly 1 MiB, or one byte under, is read and parsed; one byte over is refused.
      const size = MiB - r.pick([0, 1, 100, -1]);
      const base = JSON.stringify({ replicationJobId: ctx.jobIds[0], description: '' });
      const body = Buffer.from(base.replace('"description":""', `"description":"${'d'.repeat(size - base.length)}"`));
      if (body.length !== size) throw new Error(`at-limit body is ${body.length} bytes, not ${size}`);
      const t2 = PREFIX + r.pick(['UpdateReplicationJob', 'StartOnDemandReplicationRun'] as const);
      const headers = await signHeaders(signer(ctx), ctx, baseHeaders(ctx, t2), body);
      const expect = size > MiB ? ['RequestEntityTooLargeException'] : ['InvalidParameterException'];
      return { ...common, kind: `${kind}: ${size} bytes`, headers, body, expect, signedValid: true };
    }
    case 'too-large': {
      const size = r.pick([MiB + 1, MiB + 1000, 2 * MiB]);
      const body = Buffer.alloc(size, 'x');
      body.write('{"description":"', 0);
      if (r.bool()) {
        // Unsigned: a declared length over the limit is refused on it, a chunked body on the missing signature (before any of it is read).
        const chunked = r.bool();
        return { ...common, headers: { 'x-amz-target': target, 'content-type': JSON_CONTENT_TYPE }, body, chunked, expect: [chunked ? 'MissingAuthenticationToken' : 'RequestEntityTooLargeException'] };
      }
      const headers = await signHeaders(signer(ctx), ctx, baseHeaders(ctx, target), body);
      return { ...common, kind: `${kind}: signed`, headers, body, chunked: r.bool(), expect: ['RequestEntityTooLargeException'] };
    }
    default:
      throw new Error(`no generator for ${kind}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Sending

function send(agent: Agent, ctx: Context, c: Case): Promise<Outcome> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (o: Outcome) => {
      if (!settled) {
        settled = true;
        resolve(o);
      }
    };
    // Explicit framing: node:http sends a GET/DELETE/OPTIONS body with neither Content-Length nor
    // chunked encoding, which the server would read as the start of the next request.
    const chunked = c.chunked === true && c.body.length > 1;
    const headers = { ...c.headers, ...(chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(c.body.length) }) };
    let req;
    try {
      req = request(
        { host: ctx.host, port: ctx.port, method: c.method, path: c.path, headers, agent, timeout: 10_000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (b: Buffer) => chunks.push(b));
          res.on('end', () => done({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', (e) => done({ error: `response error: ${e.message}` }));
        },
      );
    } catch (e) {
      // The client refused to build the request (an invalid header made by the generator).
      done({ error: `client refused the request: ${(e as Error).message}` });
      return;
    }
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s (hang)')));
    req.on('error', (e) => done({ error: `connection error: ${e.message}` }));
    if (chunked) {
      const cut = Math.floor(c.body.length / 2);
      req.write(c.body.subarray(0, cut));
      req.end(c.body.subarray(cut));
    } else {
      req.end(c.body);
    }
  });
}

/** Problems with one answer; empty when it is as the issue requires. */
function check(c: Case, o: Outcome, secret: string): string[] {
  if (o.error !== undefined) return [o.error];
  const problems: string[] = [];
  const status = o.status ?? 0;
  const h = o.headers ?? {};
  if (!(status >= 400 && status < 500) && !(status === 200 && c.signedValid)) problems.push(`status ${status}`);
  if (typeof h['x-amzn-requestid'] !== 'string' || !/^[0-9a-f-]{36}$/.test(h['x-amzn-requestid'])) problems.push('no x-amzn-requestid');
  if (h['content-type'] !== JSON_CONTENT_TYPE) problems.push(`content-type ${String(h['content-type'])}`);
  let body: unknown;
  try {
    body = JSON.parse(o.body ?? '');
  } catch {
    problems.push(`body is not JSON: ${(o.body ?? '').slice(0, 200)}`);
    return problems;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) problems.push('body is not a JSON object');
  const b = body as Record<string, unknown>;
  if (status === 200) {
    if ('__type' in b) problems.push('a 200 with an error body');
  } else {
    if (typeof b['__type'] !== 'string' || typeof b['message'] !== 'string' || b['message'] === '') problems.push(`error body ${o.body?.slice(0, 200)}`);
    if (h['x-amzn-errortype'] !== b['__type']) problems.push(`x-amzn-errortype ${String(h['x-amzn-errortype'])} != __type ${String(b['__type'])}`);
    if (c.expect && !c.expect.includes(String(b['__type']))) problems.push(`code ${String(b['__type'])} not in [${c.expect.join(', ')}]: ${String(b['message']).slice(0, 200)}`);
  }
  if ((o.body ?? '').includes(secret)) problems.push('the answer contains the secret key');
  return problems;
}

// ---------------------------------------------------------------------------------------------
// The test

let t: TestServer;
let ctx: Context;
const protectedJobIds: string[] = [];
let before: { jobs: ReplicationJob[]; servers: Server[]; connectors: unknown; runs: Record<string, unknown> };


async function allServers(): Promise<{ status: string | undefined; servers: Server[] }> {
  const out: Server[] = [];
  let nextToken: string | undefined;
  let status: string | undefined;
  do {
    const page = await t.sms.send(new GetServersCommand({ nextToken, maxResults: 100 }));
    status = page.serverCatalogStatus;
    out.push(...(page.serverList ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return { status, servers: out };
}

async function snapshotRuns(ids: readonly string[]): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const id of ids) out[id] = (await t.sms.send(new GetReplicationRunsCommand({ replicationJobId: id }))).replicationRunList;
  return out;
}

describe(`bad input: ${CASES} random and mutated requests (FUZZ_SEED=${SEED})`, () => {
  beforeAll(async () => {
    t = await startTestServer();
    await t.sms.send(new ImportServerCatalogCommand({}));
    await t.advance(5);
    const { servers } = await allServers();
    const byName = new Map(servers.map((s) => [s.vmServer!.vmName!, s.serverId!]));
    const now = Math.floor((await t.control.info()).now);
    const create = async (name: string, extra: Record<string, unknown>) =>
      (await t.sms.send(new CreateReplicationJobCommand({ serverId: byName.get(name)!, seedReplicationTime: new Date(now * 1000), ...extra }))).replicationJobId!;
    // Protected: the storm never names them; they must come out unchanged.
    protectedJobIds.push(
      await create('web-02', { frequency: 12, licenseType: 'AWS', roleName: 'sms', description: 'protected one', numberOfRecentAmisToKeep: 2, encrypted: true, kmsKeyId: 'arn:aws:kms:us-east-1:123456789012:key/p1' }),
      await create('app-01', { runOnce: true, description: 'protected one-time' }),
      await create('db-01', { seedReplicationTime: new Date((now + 86_400) * 1000), frequency: 24 }),
      await create('hr-app-01', { frequency: 1, licenseType: 'BYOL' }),
    );
    // Fodder: correctly signed mutated requests may update, run or delete these.
    const fodder = [await create('batch-01', { frequency: 6 }), await create('batch-02', { seedReplicationTime: new Date((now + 2 * 86_400) * 1000) })];
    await t.advance(60);
    const taken = new Set(['web-02', 'app-01', 'db-01', 'hr-app-01', 'batch-01', 'batch-02'].map((n) => byName.get(n)));
    const token = async (p: Promise<{ nextToken?: string }>) => {
      const tok = (await p).nextToken;
      if (!tok) throw new Error('expected a nextToken');
      return tok;
    };
    const web01 = servers.find((s) => s.vmServer?.vmName === 'web-01')!;
    ctx = {
      host: '127.0.0.1',
      port: t.server.port,
      region: t.server.region,
      credentials: t.server.credentials,
      now: Math.floor((await t.control.info()).now),
      freeServerIds: servers.map((s) => s.serverId!).filter((id) => !taken.has(id)),
      jobIds: fodder,
      address: { vmId: web01.vmServer!.vmServerAddress!.vmId!, vmManagerId: web01.vmServer!.vmServerAddress!.vmManagerId! },
      tokens: {
        servers: await token(t.sms.send(new GetServersCommand({ maxResults: 2 }))),
        jobs: await token(t.sms.send(new GetReplicationJobsCommand({ maxResults: 2 }))),
        connectors: await token(t.sms.send(new GetConnectorsCommand({ maxResults: 1 }))),
        runs: await token(t.sms.send(new GetReplicationRunsCommand({ replicationJobId: fodder[0], maxResults: 1 }))),
      },
    };
    before = {
      jobs: await allJobs(t),
      servers: (await allServers()).servers,
      connectors: (await t.sms.send(new GetConnectorsCommand({}))).connectorList,
      runs: await snapshotRuns(protectedJobIds),
    };
  });

  afterAll(async () => {
    await t?.close();
  });

  it('answers malformed HTTP (raw bytes on a socket) with a 4xx and stays up', async () => {
    const r = new Rand(SEED ^ 0x5eed);
    const valid = 'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}';
    const raws: string[] = [
      'POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}',
      'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}',
      'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n',
      `POST / HTTP/1.1\r\nHost: a\r\nX-Big: ${'x'.repeat(20_000)}\r\n\r\n`,
      'GARBAGE\r\n\r\n',
      'POST / HTTP/9.9\r\nHost: a\r\n\r\n',
      'POST  HTTP/1.1\r\nHost: a\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n',
      'POST / HTTP/1.1\nHost: a\n\n',
    ];
    for (let i = 0; i < 150; i++) {
      const at = r.int(valid.length);
      raws.push(valid.slice(0, at) + r.bytes(r.range(1, 8)).toString('latin1') + valid.slice(at + 1));
    }
    const statuses: string[] = [];
    const bodies: string[] = [];
    await Promise.all(
      raws.map(
        (raw) =>
          new Promise<void>((resolve) => {
            const sock = connect(ctx.port, ctx.host, () => sock.end(Buffer.from(raw, 'latin1')));
            let got = '';
            sock.setEncoding('latin1');
            sock.on('data', (d: string) => (got += d));
            sock.on('error', () => undefined);
            sock.setTimeout(5_000, () => sock.destroy());
            sock.on('close', () => {
              statuses.push(got.slice(0, 12));
              bodies.push(got);
              resolve();
            });
          }),
      ),
    );
    // Every one got a 4xx answer: none a 5xx, none hung, none dropped without an answer.
    expect(statuses.filter((s) => !/^HTTP\/1\.1 4\d\d$/.test(s)), 'status lines that are not 4xx').toEqual([]);
    // And every one in the service's error shape, even those node:http could not parse.
    expect(bodies.filter((b) => !/\r\nx-amzn-requestid: [0-9a-f-]{36}\r\n/i.test(b) || !/\{"__type":"[A-Za-z]+","message":"[^"]+"\}$/.test(b)), 'answers without the JSON error shape').toEqual([]);
    // Still up.
    expect((await t.sms.send(new GetConnectorsCommand({}))).connectorList).toEqual(before.connectors);
  });

  it('answers every one with a 4xx JSON error (or a 200 when correctly signed), and the data stays intact', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const failures: string[] = [];
    const codes = new Map<string, number>();
    const created = new Map<string, string>();
    let ok200 = 0;
    let next = 0;
    const started = performance.now();

    const worker = async () => {
      for (;;) {
        const id = next++;
        if (id >= CASES) return;
        // Each case has its own generator, so case #id is the same whatever order the answers come in.
        let c: Case;
        try {
          c = await makeCase(new Rand((SEED ^ Math.imul(id + 1, 0x9e3779b1)) >>> 0), ctx, id);
        } catch (e) {
          failures.push(`#${id}: the generator failed: ${(e as Error).stack ?? String(e)}`);
          continue;
        }
        const o = await send(agent, ctx, c);
        const problems = check(c, o, ctx.credentials.secretAccessKey);
        if (problems.length > 0) {
          failures.push(`#${c.id} ${c.kind} (${c.method} ${c.path.slice(0, 80)}${c.action ? `, ${c.action}` : ''}, body ${c.body.length} bytes ${JSON.stringify(c.body.subarray(0, 120).toString('latin1'))}): ${problems.join('; ')}`);
          continue;
        }
        if (o.status === 200) {
          ok200++;
          codes.set(`200 ${c.action}`, (codes.get(`200 ${c.action}`) ?? 0) + 1);
          if (c.action === 'CreateReplicationJob') {
            const jobId = (JSON.parse(o.body!) as { replicationJobId: string }).replicationJobId;
            created.set(jobId, (JSON.parse(c.body.toString('utf8')) as { serverId: string }).serverId);
          }
        } else {
          const code = (JSON.parse(o.body!) as { __type: string }).__type;
          codes.set(`${o.status} ${code}`, (codes.get(`${o.status} ${code}`) ?? 0) + 1);
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    } finally {
      agent.destroy();
    }
    const seconds = (performance.now() - started) / 1000;
    const summary = [...codes].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${n} x ${k}`);
    console.info(`fuzz: ${CASES} requests in ${seconds.toFixed(1)} s (FUZZ_SEED=${SEED}), ${ok200} answered 200\n  ${summary.join('\n  ')}`);

    expect(failures.slice(0, 20), `${failures.length} of ${CASES} answers broke the rules (FUZZ_SEED=${SEED})`).toEqual([]);
    // The storm reached the handlers, not only the signature check.
    expect(codes.get('400 SerializationException') ?? 0).toBeGreaterThan(50);
    expect(codes.get('403 SignatureDoesNotMatch') ?? 0).toBeGreaterThan(50);
    expect(codes.get('400 IncompleteSignature') ?? 0).toBeGreaterThan(20);
    expect(codes.get('403 MissingAuthenticationToken') ?? 0).toBeGreaterThan(50);
    expect(codes.get('413 RequestEntityTooLargeException') ?? 0).toBeGreaterThan(5);
    expect(ok200).toBeGreaterThan(20);

    // The server still answers, and its data is what it was plus the creates it acknowledged.
    const jobs = await allJobs(t);
    const expectedIds = new Set([...before.jobs.map((j) => j.replicationJobId!), ...created.keys()]);
    expect(new Set(jobs.map((j) => j.replicationJobId))).toEqual(expectedIds);
    expect(jobs).toHaveLength(expectedIds.size);
    for (const id of protectedJobIds) {
      expect(jobs.find((j) => j.replicationJobId === id), `protected job ${id}`).toEqual(before.jobs.find((j) => j.replicationJobId === id));
    }
    for (const [jobId, serverId] of created) expect(jobs.find((j) => j.replicationJobId === jobId)?.serverId).toBe(serverId);
    expect(await snapshotRuns(protectedJobIds)).toEqual(before.runs);
    expect((await t.sms.send(new GetConnectorsCommand({}))).connectorList).toEqual(before.connectors);
    const after = await allServers();
    expect(after.status).toBe('AVAILABLE');
    expect(after.servers.map((s) => ({ ...s, replicationJobId: undefined, replicationJobTerminated: undefined }))).toEqual(
      before.servers.map((s) => ({ ...s, replicationJobId: undefined, replicationJobTerminated: undefined })),
    );
    const jobOfServer = new Map(after.servers.map((s) => [s.serverId, s.replicationJobId]));
    for (const j of before.jobs) expect(jobOfServer.get(j.serverId)).toBe(j.replicationJobId);
    for (const [jobId, serverId] of created) expect(jobOfServer.get(serverId)).toBe(jobId);
    // No server got two live jobs.
    const live = jobs.filter((j) => !['DELETED', 'FAILED', 'COMPLETED'].includes(j.state ?? ''));
    expect(new Set(live.map((j) => j.serverId)).size).toBe(live.length);
  }, 60_000);
});
