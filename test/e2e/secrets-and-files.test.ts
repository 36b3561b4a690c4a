/**
 * Issue #21, end to end (the CLI as a subprocess against the embedded server run by the test): no
 * password, secret key, session token or endpoint userinfo in any output, file or log; exported
 * and plan files that cannot be redirected or silently overwritten.
 */
import { existsSync, lstatSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Credential } from '../../src/server/auth.ts';
import { closeImportedServer, removeWorkspaces, startImportedServer, workspace, type ImportedServer, type Workspace } from '../helpers/apply-cli.ts';
import { jobsFor } from '../helpers/apply-harness.ts';
import { runCli } from '../helpers/cli.ts';

const TEMP: Credential = {
  accessKeyId: 'ASIASECRETSTEST00001',
  secretAccessKey: 'Secr3t/Access+Key-0000000000000000000000',
  sessionToken: 'S3ss10n-T0k3n//with+chars=',
};
const USER = 'us3r-n4me';
const PASS = 'pa55-w0rd-x9';
const PG_PASSWORD = 'p/ss?w#rd';
/** Every form a secret could take in output. */
const SECRETS = [USER, PASS, TEMP.secretAccessKey, TEMP.sessionToken!, encodeURIComponent(TEMP.secretAccessKey), encodeURIComponent(TEMP.sessionToken!), PG_PASSWORD, encodeURIComponent(PG_PASSWORD), 'w#rd'];

let s: ImportedServer;

beforeAll(async () => {
  s = await startImportedServer(4);
  await s.t.control.addCredentials(TEMP);
});

afterAll(async () => {
  await closeImportedServer(s);
  await removeWorkspaces();
});

function expectNoSecret(texts: readonly string[]): void {
  const all = texts.join('\n');
  for (const secret of SECRETS) expect(all, `found ${secret}`).not.toContain(secret);
}

/** Every file under `dir`, recursively (links not followed). */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

describe('no secret in any output', () => {
  let ws: Workspace;
  let withUserinfo: string;
  const outputs: string[] = [];

  beforeAll(async () => {
    ws = await workspace({ url: s.endpoint.url, region: s.endpoint.region, credentials: TEMP }, 'secrets');
    withUserinfo = s.endpoint.url.replace('http://', `http://${USER}:${PASS}@`);
  });

  async function run(args: readonly string[], code = 0, env: NodeJS.ProcessEnv = {}) {
    const r = await ws.run([...args, '--log-level', 'debug', '--log-format', 'json'], { endpointUrl: withUserinfo, env });
    outputs.push(r.stdout, r.stderr);
    expect(r.code, `${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(code);
    return r;
  }

  it('userinfo in --endpoint-url: plan, apply PLANFILE with the same URL, export, state, status; none of them shows it', async () => {
    const m = await ws.writeManifests(jobsFor(1, 2));
    await run(['plan', '-f', m, '--out', 'plan.json', '--detailed-exitcode'], 2);
    await run(['plan', '-f', m, '--format', 'json', '--detailed-exitcode'], 2);
    const plan = JSON.parse(readFileSync(join(ws.dir, 'plan.json'), 'utf8')) as { plan: { target: { endpoint: string } } };
    expect(plan.plan.target.endpoint).toBe(s.endpoint.url);
    // The saved plan matches the same URL: the target check compares the stripped forms.
    const applied = await run(['apply', 'plan.json', '--auto-approve']);
    expect(applied.stdout).toMatch(/Apply complete: 2 created/);
    const state = JSON.parse(readFileSync(ws.statePath, 'utf8')) as { target: { endpoint: string } };
    expect(state.target.endpoint).toBe(s.endpoint.url);
    await run(['export', '--out', 'exported']);
    await run(['state', 'list']);
    await run(['status']);
    await run(['plan', '-f', m, '--format', 'markdown']);
    const files = filesUnder(ws.dir).filter((f) => !f.endsWith('aws-config') && !f.endsWith('aws-credentials'));
    expect(files.some((f) => f.endsWith('plan.json'))).toBe(true);
    expect(files.some((f) => f.endsWith('state.json'))).toBe(true);
    expect(files.filter((f) => f.includes('exported')).length).toBeGreaterThan(0);
    expectNoSecret([...outputs, ...files.map((f) => readFileSync(f, 'utf8'))]);
    // The logs did carry the requests (so they were looked at).
    expect(outputs.join('\n')).toMatch(/"level":20/);
  });

  it('a broken endpoint URL with userinfo: the error names it without the userinfo', async () => {
    const r = await ws.run(['plan', '-f', 'manifests'], { endpointUrl: `http://${USER}:${PASS}@[not-a-host` });
    outputs.push(r.stdout, r.stderr);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Error \[bad-endpoint\]: --endpoint-url 'http:\/\/\[not-a-host' is not a URL/);
    expectNoSecret([r.stdout, r.stderr]);
  });

  for (const via of ['--state', 'SMS_RECONCILE_STATE'] as const) {
    it(`a postgres password with '/', '?' and '#' in ${via}: not in any output, the error names scheme and host`, async () => {
      // Not ws.run: it appends its own --state.
      const pgRun = (url: string) =>
        runCli(['state', 'list', ...(via === '--state' ? ['--state', url] : []), '--log-level', 'debug', '--log-format', 'json'], {
          cwd: ws.dir,
          env: { ...ws.env, ...(via === '--state' ? {} : { SMS_RECONCILE_STATE: url }) },
        });
      const r = await pgRun(`postgres://smsr:${PG_PASSWORD}@127.0.0.1:55432/smsr_test`);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('postgres://***@127.0.0.1:55432/smsr_test');
      expect(r.stderr).toMatch(/hint: .*percent-encode/);
      expectNoSecret([r.stdout, r.stderr]);
      // Encoded, the URL is valid; the (wrong) password is refused by the server, or the server is
      // not there: either way the message shows postgres://smsr:***@host:port/db.
      const r2 = await pgRun(`postgres://smsr:${encodeURIComponent(PG_PASSWORD)}@127.0.0.1:55432/smsr_test`);
      expect(r2.code).toBe(1);
      expect(r2.stderr).toContain('postgres://smsr:***@127.0.0.1:55432/smsr_test');
      expectNoSecret([r2.stdout, r2.stderr]);
    });
  }
});

describe('files that cannot be redirected or silently replaced', () => {
  let ws: Workspace;
  beforeAll(async () => {
    ws = await workspace(s.endpoint, 'files');
  });

  it('export --out refuses to replace a hand-written or edited file, changing nothing; --force replaces it', async () => {
    const out = join(ws.dir, 'out');
    await mkdir(out, { recursive: true });
    const handWritten = '# my own notes about the catalog\napiVersion: sms-reconcile/v1\nkind: ServerCatalog\nmetadata: { name: catalog }\nspec: { imported: true }\n';
    writeFileSync(join(out, 'catalog.yaml'), handWritten);
    const state = join(ws.dir, 'fresh-state.json');
    const refused = await ws.run(['export', '--out', 'out', '--state', state]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/Error \[export-would-overwrite\]: refusing to replace out\/catalog\.yaml: it was not written by sms-reconcile export/);
    expect(refused.stderr).toMatch(/hint: .*--force/);
    expect(readFileSync(join(out, 'catalog.yaml'), 'utf8')).toBe(handWritten);
    expect(readdirSync(out)).toEqual(['catalog.yaml']);
    expect(existsSync(state)).toBe(false);

    const forced = await ws.run(['export', '--out', 'out', '--state', state, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    const written = readFileSync(join(out, 'catalog.yaml'), 'utf8');
    expect(written).toMatch(/^# sms-reconcile export sha256:[0-9a-f]{64} /);
    // Unchanged since export wrote it: replaced without --force.
    expect((await ws.run(['export', '--out', 'out', '--state', state])).code).toBe(0);
    // Edited: refused again.
    writeFileSync(join(out, 'catalog.yaml'), written.replace('imported: true', 'imported: false'));
    const edited = await ws.run(['export', '--out', 'out', '--state', state]);
    expect(edited.code).toBe(1);
    expect(edited.stderr).toMatch(/it was changed since sms-reconcile export wrote it/);
  });

  it('export --out and plan --out never write through a symlink', async () => {
    const victim = join(ws.dir, 'victim.txt');
    writeFileSync(victim, 'do not touch\n');
    await mkdir(join(ws.dir, 'linked'), { recursive: true });
    symlinkSync(victim, join(ws.dir, 'linked', 'catalog.yaml'));
    const refused = await ws.run(['export', '--out', 'linked', '--no-adopt']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/refusing to replace linked\/catalog\.yaml: it is a symbolic link/);
    const forced = await ws.run(['export', '--out', 'linked', '--no-adopt', '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(lstatSync(join(ws.dir, 'linked', 'catalog.yaml')).isSymbolicLink()).toBe(false);
    expect(readFileSync(victim, 'utf8')).toBe('do not touch\n');

    const m = await ws.writeManifests(jobsFor(1, 1));
    symlinkSync(victim, join(ws.dir, 'plan.json'));
    const plan = await ws.run(['plan', '-f', m, '--out', 'plan.json']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(lstatSync(join(ws.dir, 'plan.json')).isSymbolicLink()).toBe(false);
    expect((lstatSync(join(ws.dir, 'plan.json')).mode & 0o777).toString(8)).toBe('600');
    expect(readFileSync(victim, 'utf8')).toBe('do not touch\n');
  });
});
