/**
 * The controller advances migration waves by itself (issue 19): three waves of three VMs against
 * the embedded server run by the test (manual clock). Nobody applies: the controller creates wave
 * 1, lists waves 2 and 3 as held in /status, exports the gates in /metrics (checked by promtool
 * when it is installed), and creates each next wave in the cycle that finds its gate open, as
 * each job's first run shows in GetReplicationRuns.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { WAVES, waveDocs } from '../helpers/waves.ts';
import { closeImportedServer, removeWorkspaces, startImportedServer, workspace, type ImportedServer } from '../helpers/apply-cli.ts';
import { startController, type ControllerStatus } from '../helpers/controller.ts';

const docs = waveDocs;

let s: ImportedServer | undefined;
afterEach(async () => {
  if (s) await closeImportedServer(s);
  s = undefined;
});
afterAll(() => removeWorkspaces());

interface WaveStatus { wave: number; declared: number; created: number; replicated: number; open: boolean }
const wavesOf = (st: ControllerStatus) => (st as ControllerStatus & { waves: WaveStatus[] }).waves;

function promtool(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

describe('controller: waves advance without a person', { timeout: 300_000 }, () => {
  it('creates wave 1, holds waves 2 and 3, and creates each next wave once the one before has replicated', async () => {
    s = await startImportedServer(9);
    const { t, api } = s;
    const ws = await workspace(s.endpoint, 'controller-waves');
    const m = await ws.writeManifests(docs);
    const c = await startController(ws, m);

    // Wave 1 is created; the six others are pending as held, and the gates say why.
    const first = await c.waitForStatus((st) => st.jobs.length === 3 && st.pending.filter((p) => p.why === 'held').length === 6);
    expect(first.jobs.map((j) => j.address).every((a) => a.startsWith('ReplicationJobSet/wave-1['))).toBe(true);
    expect(wavesOf(first).map((w) => [w.wave, w.open])).toEqual([[1, true], [2, false], [3, false]]);
    const metrics = (await c.get('/metrics')).text;
    expect(metrics).toMatch(/^sms_reconcile_wave_gate_open\{wave="1"\} 1$/m);
    expect(metrics).toMatch(/^sms_reconcile_wave_gate_open\{wave="2"\} 0$/m);
    expect(metrics).toMatch(/^sms_reconcile_wave_jobs\{wave="1",state="created"\} 3$/m);
    expect(metrics).toMatch(/^sms_reconcile_wave_jobs\{wave="3",state="declared"\} 3$/m);
    const tool = promtool();
    if (tool !== undefined) {
      const file = join(ws.dir, 'metrics.txt');
      writeFileSync(file, metrics);
      expect(() => execFileSync('sh', ['-c', `${tool} check metrics < ${file}`], { encoding: 'utf8' })).not.toThrow();
    }

    // Time passes on the server; the controller's cycles do the rest.
    const clock = { running: true };
    const pump = (async () => {
      while (clock.running) {
        await t.advance(15);
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    try {
      await c.waitForStatus((st) => st.jobs.length === 9 && wavesOf(st).every((w) => w.replicated === 3 && w.open) && st.pending.length === 0, 180_000);
    } finally {
      clock.running = false;
      await pump;
    }
    expect((await c.get('/metrics')).text).toMatch(/^sms_reconcile_wave_jobs\{wave="3",state="replicated"\} 3$/m);

    // The order, as the service saw it: each wave's first runs start after the wave before's completed.
    const first_ = new Map<string, { started: number; completed: number }>();
    for (const j of await api.getReplicationJobs()) {
      const { runs } = await api.getReplicationRuns(j.replicationJobId);
      const r = [...runs].sort((a, b) => (a.scheduledStartTime ?? 0) - (b.scheduledStartTime ?? 0))[0];
      first_.set(j.vmServer?.vmName ?? '?', { started: r?.scheduledStartTime ?? Number.NaN, completed: r?.completedTime ?? Number.POSITIVE_INFINITY });
    }
    for (const [earlier, later] of [[WAVES[0]!, WAVES[1]!], [WAVES[1]!, WAVES[2]!]] as const) {
      const completed = Math.max(...earlier.vms.map((v) => first_.get(v)?.completed ?? Number.POSITIVE_INFINITY));
      const started = Math.min(...later.vms.map((v) => first_.get(v)?.started ?? Number.NEGATIVE_INFINITY));
      expect(started, `wave ${later.wave}`).toBeGreaterThanOrEqual(completed);
    }
    c.proc.kill('SIGTERM');
    await c.proc.waitForExit(30_000);
  });
});
