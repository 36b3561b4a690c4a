/**
 * A piped `apply --wait` of 10 new jobs (issue 15, read as CLARIFICATIONS.md says): the output after
 * the plan comes from events (operation lines; per job: first seen, stage changed, run completed
 * with its AMI) plus a summary line at most every --progress-interval, so its length does not grow
 * with how long replication takes. The same apply at two replication speeds (runSeconds 14 and 35)
 * prints the same lines but for the summaries and the stage changes a 2 s refresh happens to see.
 * The real binary against an embedded server with a real clock.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { endpointOf, removeWorkspaces, workspace } from '../helpers/apply-cli.ts';
import { jobsFor } from '../helpers/apply-harness.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { generatedInventory } from '../helpers/sms-world.ts';
import { SdkSmsApi } from '../../src/sms/client.ts';

const servers: TestServer[] = [];

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await removeWorkspaces();
});

/** The lines after the plan of `apply --wait` of 10 new jobs, on a server whose runs take `runSeconds`. */
async function applyWait(runSeconds: number): Promise<string[]> {
  const t = await startTestServer({ clock: 'real', inventory: generatedInventory({ vms: 10 }), settings: { runSeconds, catalogImportSeconds: 1, maxConcurrentJobs: 1000 } });
  servers.push(t);
  const endpoint = endpointOf(t.server);
  const api = new SdkSmsApi({ endpoint: endpoint.url, region: endpoint.region, credentials: endpoint.credentials });
  try {
    await api.importServerCatalog();
    while ((await api.getServerCatalogStatus()).status !== 'AVAILABLE') await new Promise((r) => setTimeout(r, 200));
  } finally {
    api.destroy();
  }
  const ws = await workspace(endpoint, `wait-${runSeconds}`);
  const m = await ws.writeManifests(jobsFor(1, 10));
  const r = await ws.run(['apply', '-f', m, '--auto-approve', '--wait', '--progress-interval', '10s'], { timeoutMs: 150_000 });
  expect(r.code, r.stdout + r.stderr).toBe(0);
  const lines = r.stdout.trimEnd().split('\n');
  const first = lines.findIndex((l) => /: CreateReplicationJob\.\.\.$/.test(l));
  expect(first).toBeGreaterThan(0);
  return lines.slice(first);
}

const isSummary = (l: string) => /^Progress: \d+ of 10 replicated, \d+ running, \d+ failed$/.test(l);
const isStage = (l: string) => / stage (Converting|Preparing)$/.test(l);

describe('piped apply --wait of 10 jobs', () => {
  it('prints events and a summary now and then, not a line per job per refresh; the count does not grow with the run time', { timeout: 200_000 }, async () => {
    const [fast, slow] = await Promise.all([applyWait(14), applyWait(35)]);
    for (const [lines, runSeconds] of [[fast, 14], [slow, 35]] as const) {
      const out = lines.join('\n');
      expect(lines.at(-1), out).toBe('All 10 new job(s) completed their first replication run.');
      // Each job's first replication is reported with its AMI.
      for (let n = 1; n <= 10; n++) expect(out).toMatch(new RegExp(`^ReplicationJob/job-00${String(n).padStart(2, '0')} sms-job-[0-9a-f]+: (run completed: AMI|.*latest AMI) ami-[0-9a-f]{17}$`, 'm'));
      const events = lines.filter((l) => !isSummary(l));
      expect(new Set(events).size, `no event line twice:\n${out}`).toBe(events.length);
      expect(lines.filter(isSummary).length, out).toBeLessThanOrEqual(Math.ceil(runSeconds / 10) + 2);
      expect(lines.filter(isStage).length, out).toBeLessThanOrEqual(20);
      // About 6 lines a job (start, created, first seen, 2 stages, completed), and the closing lines.
      expect(lines.length - lines.filter(isSummary).length, out).toBeLessThanOrEqual(6 * 10 + 4);
    }
    // The same lines at both speeds, but for the summaries and the stage changes a refresh caught.
    const events = (lines: string[]) => lines.filter((l) => !isSummary(l) && !isStage(l)).length;
    expect(events(slow)).toBe(events(fast));
    console.info(`piped apply --wait of 10 jobs: ${fast.length} lines after the plan at runSeconds 14 (${fast.filter(isSummary).length} summaries), ${slow.length} at runSeconds 35 (${slow.filter(isSummary).length} summaries)`);
  });
});
