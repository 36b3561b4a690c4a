import { Option } from 'commander';
import { userError } from '../../model/errors.ts';
import { systemClock } from '../../reconcile/ports.ts';
import type { JobProgress } from '../../reconcile/ports.ts';
import { progressOf } from '../../reconcile/wait.ts';
import { ioMessage, output } from '../../model/messages.ts';
import { renderProgressTable } from '../../report/progress.ts';
import { renderStatusExtrasText, statusExtras } from '../../report/render-status.ts';
import { serviceNowMs } from '../../sms/api.ts';
import { openStateStore } from '../../state/open.ts';
import type { RegisterCommand } from '../context.ts';
import { parseDuration } from '../duration.ts';
import { ExitCode } from '../io.ts';
import { maxConcurrentJobs } from '../job-limit.ts';
import { openTarget } from '../target.ts';
import { buildPlan, loadDesired, observeAll, readPrior } from '../workflow.ts';
import type { CommandContext } from '../context.ts';
import type { DesiredSet } from '../../model/desired.ts';
import type { ObservedSet } from '../../reconcile/observed.ts';
import type { WaveGate } from '../../reconcile/waves.ts';
import type { StateDocument } from '../../state/codec.ts';
import type { Target } from '../target.ts';
import { renderWaveTable } from '../../report/render-waves.ts';

/** The waves and their gates now: the plan's, made from the same bulk read (nothing is changed). */
function wavesNow(ctx: CommandContext, w: { desired: DesiredSet; observed: ObservedSet; prior: StateDocument; target: Target; maxConcurrentJobs: number }): readonly WaveGate[] {
  const plan = buildPlan(ctx, { ...w, options: { targets: [], replace: [], refreshOnly: false }, now: new Date(serviceNowMs(w.target.api, Date.now())), apiCalls: {} });
  return plan.waves ?? [];
}

interface StatusFlags {
  format: 'text' | 'json';
  watch?: boolean;
  interval: string;
  progressInterval: string;
  inventory?: string;
  filename?: string[];
}

/** `sms-reconcile status`: the managed jobs as the service sees them now, one bulk read per refresh. */
export const registerStatus: RegisterCommand = (program, ctx) => {
  program
    .command('status')
    .description('show the managed jobs (job state, latest run, latest AMI, next run), the migrated servers with their final AMIs, and the jobs near their 90-day limit')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('--watch', 'refresh until interrupted (a live table on a terminal; otherwise a line per job event and a summary now and then)')
    .option('--interval <duration>', 'refresh interval with --watch', '2s')
    .option('--progress-interval <duration>', 'with --watch and stdout not a terminal: the most often a summary line is printed', '30s')
    .option('--inventory <file>', 'inventory of the embedded server')
    .option('-f, --filename <path...>', 'the manifests: also show each wave (spec.wave): declared, created, replicated, failed, gate')
    .addHelpText('after', `
Examples:
  $ sms-reconcile status
  $ sms-reconcile status -f examples/waves       # and the waves, with their gates
  $ sms-reconcile status --watch
  $ sms-reconcile status --format json | jq '.jobs[] | select(.latestAmiId == null)'`)
    .action(async (flags: StatusFlags) => {
      const g = ctx.globals();
      const jobLimit = maxConcurrentJobs(g);
      const intervalMs = parseDuration(flags.interval, '--interval');
      const progressIntervalMs = parseDuration(flags.progressInterval, '--progress-interval');
      const logger = ctx.host.logger();
      ctx.host.setProgressInterval(progressIntervalMs);
      const store = openStateStore(g.state, ctx.io.cwd);
      if ((await store.head()) === undefined) {
        await store.close();
        throw userError('state-missing', `there is no state at ${store.location}`, 'apply some manifests first, or pass --state');
      }
      const desired = flags.filename === undefined ? undefined : (await loadDesired(ctx, flags.filename)).desired;
      const target = await openTarget(g, ctx.io, { inventory: flags.inventory, logger });
      let stopped = false;
      const stop = () => {
        stopped = true;
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      try {
        const prior = await readPrior(store, target);
        if (!prior) throw userError('state-missing', `there is no state at ${store.location}`, 'apply some manifests first, or pass --state');
        const managed = Object.values(prior.resources)
          .filter((r) => r.replicationJobId !== undefined)
          .map((r) => ({ address: r.address, replicationJobId: r.replicationJobId as string }))
          .sort((a, b) => (a.address < b.address ? -1 : 1));
        const color = g.color && ctx.io.stdout.isTTY === true;
        for (;;) {
          // With -f, one bulk read and a plan give the waves (reconcile/waves.ts); else the jobs alone.
          const observed = desired === undefined ? undefined : await observeAll(target.api);
          const listing = observed?.allJobs ?? (await target.api.getReplicationJobs());
          const waves = desired === undefined || observed === undefined ? undefined : wavesNow(ctx, { desired, observed, prior, target, maxConcurrentJobs: jobLimit });
          const live = new Map(listing.map((j) => [j.replicationJobId, j]));
          const jobs: JobProgress[] = managed.map((m) => progressOf(m.address, live.get(m.replicationJobId), m.replicationJobId));
          const extras = statusExtras(Object.values(prior.resources), listing, serviceNowMs(target.api, Date.now()) / 1000, jobLimit);
          if (flags.format === 'json') {
            ctx.host.notify(output('status.jobs', `${JSON.stringify({ target: target.description, at: new Date().toISOString(), jobs, ...extras, ...(waves === undefined ? {} : { waves }) })}\n`));
          } else if (flags.watch) {
            // A table redrawn in place on a terminal, else the job events and a summary now and then (cli/io-host.ts).
            ctx.host.notify(ioMessage('status.progress', 'info', `${jobs.length} job(s)`, { jobs, header: `${target.description} - ${new Date().toISOString()}` }));
          } else {
            ctx.host.notify(output('status.jobs', `${target.description}\n${renderProgressTable(jobs, color)}\n${renderStatusExtrasText(extras)}${waves === undefined ? '' : `\n${renderWaveTable(waves)}`}`));
          }
          if (!flags.watch || stopped) break;
          await systemClock.sleep(intervalMs);
          if (stopped) break;
        }
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        await store.close();
        await target.close();
      }
      ctx.setExit(ExitCode.ok);
    });
};
