/**
 * Adoption, for real, in a temporary copy of the repository: jobs made by hand (with the official
 * AWS SDK, against `sms-reconcile server` on the embedded server's data directory), then taken
 * under management with `export` (into a folder git ignores, as examples/adopt/README.md does),
 * `export --no-adopt` + apply, and `import`. (test/e2e/readme.test.ts and examples-together.test.ts
 * run the README's own adopt commands.)
 */
import { CreateReplicationJobCommand, GetServersCommand, ImportServerCatalogCommand, SMSClient, type Server } from '@aws-sdk/client-sms';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { copyRepo, killCopyProcesses, removeAllCopies, type RepoCopy } from '../helpers/repo-copy.ts';

const EMBEDDED = '.sms-reconcile/embedded';
const OUT = '.sms-reconcile/adopt/manifests';

let copy: RepoCopy;
/** Job id by VM name, for the jobs made by hand. */
const byHand = new Map<string, string>();

beforeAll(async () => {
  copy = await copyRepo({ prefix: 'smsr-adopt' });
});

afterEach(async () => {
  await killCopyProcesses();
});

afterAll(async () => {
  await removeAllCopies();
});

/**
 * Runs `sms-reconcile server` on the embedded data directory while `work` makes jobs with the SDK,
 * then stops it (SIGTERM) before the CLI opens the same directory again.
 */
async function withStandaloneServer(work: (sms: SMSClient, servers: () => Promise<Server[]>) => Promise<void>): Promise<void> {
  const server = copy.spawn(process.execPath, [copy.bin, 'server', '--data', EMBEDDED, '--port', '0']);
  const [, url] = await server.waitForStdout(/^listening on (http:\/\/127\.0\.0\.1:\d+)$/m, 30_000);
  const { accessKeyId, secretAccessKey } = JSON.parse(copy.read(`${EMBEDDED}/credentials.json`)) as { accessKeyId: string; secretAccessKey: string };
  const sms = new SMSClient({ endpoint: url, region: 'us-east-1', credentials: { accessKeyId, secretAccessKey }, maxAttempts: 1 });
  const servers = async () => {
    const out: Server[] = [];
    let nextToken: string | undefined;
    do {
      const page = await sms.send(new GetServersCommand({ nextToken }));
      out.push(...(page.serverList ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    return out;
  };
  try {
    await work(sms, servers);
  } finally {
    sms.destroy();
    server.kill('SIGTERM');
    const exit = await server.waitForExit(15_000);
    expect(exit.code, exit.stderr).toBe(0);
  }
}

async function cli(args: readonly string[], expectCode = 0) {
  const r = await copy.cli(args);
  expect(r.code, `sms-reconcile ${args.join(' ')}: exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`).toBe(expectCode);
  return r;
}

/** `npx sms-reconcile ...`, as the README writes it. */
async function npx(command: string, expectCode = 0) {
  const r = await copy.sh(`npx sms-reconcile ${command}`);
  expect(r.code, `npx sms-reconcile ${command}: exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`).toBe(expectCode);
  return r;
}

function jobOf(servers: Server[], vmName: string): string {
  const s = servers.find((x) => x.vmServer?.vmName === vmName);
  if (!s?.serverId) throw new Error(`no catalog server ${vmName}`);
  return s.serverId;
}

describe('examples/adopt', { timeout: 120_000 }, () => {
  it('1. some jobs exist already, made by hand against the embedded server', async () => {
    await withStandaloneServer(async (sms, servers) => {
      await sms.send(new ImportServerCatalogCommand({}));
      const deadline = Date.now() + 20_000;
      while ((await servers()).length === 0) {
        if (Date.now() > deadline) throw new Error('the catalog import did not finish');
        await new Promise((r) => setTimeout(r, 250));
      }
      const all = await servers();
      const make = async (vmName: string, input: Record<string, unknown>) => {
        const out = await sms.send(new CreateReplicationJobCommand({ serverId: jobOf(all, vmName), seedReplicationTime: new Date(), ...input }));
        byHand.set(vmName, out.replicationJobId ?? '');
      };
      await make('web-03', { frequency: 6, licenseType: 'BYOL', roleName: 'sms', description: 'made by hand', numberOfRecentAmisToKeep: 2 });
      await make('web-04', { frequency: 24, licenseType: 'AWS', encrypted: true });
      await make('db-01', { runOnce: true, description: 'one-off copy' });
    });
    expect([...byHand.values()].every((id) => /^sms-job-[0-9a-f]+$/.test(id))).toBe(true);
  });

  it('2. export --out writes manifests that describe them, and records them in the state', async () => {
    const r = await npx(`export --out ${OUT}`);
    expect(r.stdout).toBe(`Wrote 3 job manifest(s) and catalog.yaml to ${OUT}.\n`);
    expect(r.stderr).toContain(`Recorded 3 job(s) in state ${copy.path('.sms-reconcile/state.json')}; \`plan\` on the exported manifests shows no changes.`);
    expect(readdirSync(copy.path(OUT)).sort()).toEqual(['catalog.yaml', 'db-01.yaml', 'web-03.yaml', 'web-04.yaml']);
    for (const f of readdirSync(copy.path(OUT))) {
      const text = copy.read(join(OUT, f));
      // The export header (tool and digest), then the editor hint, which points at the schema from where the file is.
      expect(text.split('\n')[0]).toMatch(/^# sms-reconcile export sha256:[0-9a-f]{64} /);
      const hint = /^# yaml-language-server: \$schema=(\S+)$/m.exec(text.split('\n')[1] ?? '');
      expect(hint, `${f}: ${text.split('\n')[1]}`).not.toBeNull();
      expect(existsSync(resolve(dirname(copy.path(OUT, f)), hint![1]!)), `${f}: ${hint![1]}`).toBe(true);
    }
    const spec = (f: string) => (parseDocument(copy.read(join(OUT, f))).toJS() as { spec: Record<string, unknown> }).spec;
    // (Service defaults such as encrypted: false may be written too: the values stay the live ones.)
    expect(spec('web-03.yaml')).toMatchObject({
      server: { vmName: 'web-03', vmManagerName: 'vcenter-dc1.example.com' },
      frequency: 6,
      licenseType: 'BYOL',
      roleName: 'sms',
      description: 'made by hand',
      numberOfRecentAmisToKeep: 2,
    });
    expect(spec('web-04.yaml')).toMatchObject({ frequency: 24, licenseType: 'AWS', encrypted: true });
    expect(spec('db-01.yaml')).toMatchObject({ runOnce: true, description: 'one-off copy' });
    expect(spec('db-01.yaml')).not.toHaveProperty('frequency');
    const state = await cli(['state', 'list']);
    for (const [name, id] of byHand) expect(state.stdout).toMatch(new RegExp(`^ReplicationJob/${name}\\s+${id}$`, 'm'));

    await cli(['validate', '-f', OUT, '--strict']);
  });

  it('3. from now on they are managed: the plan is empty (exit 0) until the manifests change', async () => {
    const r = await npx(`plan -f ${OUT} --detailed-exitcode`, 0);
    expect(r.stdout).toContain('No changes. The live jobs match the manifests.');
    // A second export keeps their addresses and records nothing new.
    const again = await cli(['export', '--out', OUT]);
    expect(again.stderr).toContain('Recorded 0 job(s)');
    expect(readdirSync(copy.path(OUT)).sort()).toEqual(['catalog.yaml', 'db-01.yaml', 'web-03.yaml', 'web-04.yaml']);
    // And a change in a manifest is an ordinary update.
    copy.write(`${OUT}/web-03.yaml`, copy.read(`${OUT}/web-03.yaml`).replace('frequency: 6', 'frequency: 8'));
    const changed = await cli(['plan', '-f', OUT, '--detailed-exitcode'], 2);
    expect(changed.stdout).toMatch(/^ {2}~ ReplicationJob\/web-03 .* will be updated in place$/m);
    expect(changed.stdout).toContain('Plan: 1 to update');
    copy.write(`${OUT}/web-03.yaml`, copy.read(`${OUT}/web-03.yaml`).replace('frequency: 8', 'frequency: 6'));
  });

  it('import takes a single job under an address of your choice', async () => {
    await withStandaloneServer(async (sms, servers) => {
      const out = await sms.send(new CreateReplicationJobCommand({ serverId: jobOf(await servers(), 'web-05'), seedReplicationTime: new Date(), frequency: 12, licenseType: 'AWS' }));
      byHand.set('web-05', out.replicationJobId ?? '');
    });
    const id = byHand.get('web-05')!;
    const r = await npx(`import ReplicationJob/web-05 ${id}`);
    expect(r.stdout).toMatch(new RegExp(`^Imported ${id} \\(server s-[0-9a-f]+, web-05\\) as ReplicationJob/web-05\\.$`, 'm'));
    const show = await cli(['state', 'show', 'ReplicationJob/web-05']);
    expect((JSON.parse(show.stdout) as { replicationJobId: string }).replicationJobId).toBe(id);
    copy.write(`${OUT}/web-05.yaml`, 'apiVersion: sms-reconcile/v1\nkind: ReplicationJob\nmetadata: { name: web-05 }\nspec:\n  server: { vmName: web-05 }\n  frequency: 12\n  licenseType: AWS\n');
    const plan = await cli(['plan', '-f', OUT, '--detailed-exitcode'], 0);
    expect(plan.stdout).toContain('No changes. The live jobs match the manifests.');
  });
  it('--no-adopt only writes the manifests; a plan then adopts each job (<=), never creates one, and updates what differs', async () => {
    const fresh = ['--state', '.sms-reconcile/fresh.json'];
    const r = await cli([...fresh, 'export', '--no-adopt', '--out', 'no-adopt']);
    expect(r.stdout).toBe(`Wrote ${byHand.size} job manifest(s) and catalog.yaml to no-adopt.\n`);
    expect(r.stderr).not.toContain('Recorded');
    expect(existsSync(copy.path('.sms-reconcile/fresh.json'))).toBe(false);
    copy.write('no-adopt/web-04.yaml', copy.read('no-adopt/web-04.yaml').replace('frequency: 24', 'frequency: 12'));

    const plan = await cli([...fresh, 'plan', '-f', 'no-adopt', '--detailed-exitcode'], 2);
    for (const name of byHand.keys()) expect(plan.stdout).toMatch(new RegExp(`^  <= ReplicationJob/${name} `, 'm'));
    expect(plan.stdout).not.toMatch(/^ {2}\+ ReplicationJob\//m);
    expect(plan.stdout).toMatch(/^ {2}<= ReplicationJob\/web-04 .*will be adopted\n.*\n {6}then update:\n {8}~ frequency: 24 -> 12$/m);
    expect(plan.stdout).toMatch(new RegExp(`^Plan: ${byHand.size} to adopt`, 'm'));

    const a = await cli([...fresh, 'apply', '-f', 'no-adopt', '--auto-approve']);
    expect(a.stdout).toMatch(new RegExp(`^Apply complete: 0 created, 1 updated, 0 replaced, 0 deleted, ${byHand.size} adopted, 0 moved, 0 runs started in `, 'm'));
    // Recorded: with that state, the plan is empty.
    await cli([...fresh, 'plan', '-f', 'no-adopt', '--detailed-exitcode'], 0);
  });

});
