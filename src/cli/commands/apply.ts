import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { stringify } from 'yaml';
import { checkManifests } from '../../manifest/check.ts';
import { loadManifests, STDIN_PATH } from '../../manifest/load.ts';
import type { DesiredSet } from '../../model/desired.ts';
import { isSmsReconcileError, SmsReconcileError, userError } from '../../model/errors.ts';
import { ioMessage, output, type IoMessage } from '../../model/messages.ts';
import { ACTION_INFO } from '../../reconcile/action.ts';
import { applyPlan, type ApplyResult } from '../../reconcile/apply.ts';
import { isStateOnlyDelete } from '../../reconcile/change.ts';
import type { ObservedSet } from '../../reconcile/observed.ts';
import type { ManifestRoots } from '../../model/manifest-roots.ts';
import { decodePlanFile, staleReasons } from '../../reconcile/plan-file.ts';
import { effectiveChanges, hasDestructive, type Plan, type PlanOptions } from '../../reconcile/plan.ts';
import { applyEventsTo, applyMessage } from '../../reconcile/apply-messages.ts';
import { systemClock, type ApplyPorts } from '../../reconcile/ports.ts';
import { waitForFirstRuns, type WaitOptions } from '../../reconcile/wait.ts';
import { blockingWave, runnable, waveJobs } from '../../reconcile/waves.ts';
import { serviceNowMs } from '../../sms/api.ts';
import { applyCounts, applyOutcome, renderApplyReport } from '../../report/render-apply.ts';
import { renderPlanText } from '../../report/render-text.ts';
import { renderHeld, renderWaitingForWave, renderWaveOpened, renderWaveStopped, renderWaveTimeout } from '../../report/render-waves.ts';
import { openStateStore } from '../../state/open.ts';
import type { StateStore } from '../../state/store.ts';
import type { CommandContext, GlobalOptions, RegisterCommand } from '../context.ts';
import { parseDuration } from '../duration.ts';
import { ExitCode } from '../io.ts';
import { maxConcurrentJobs } from '../job-limit.ts';
import { openTarget, type Target } from '../target.ts';
import { buildPlan, loadDesired, observeAll, parseMaxWave, readAfterRecovery, readPrior, recordReplicationStarts } from '../workflow.ts';

interface ApplyFlags {
  filename?: string[];
  autoApprove?: boolean;
  allowDestroy?: boolean;
  parallelism: string;
  wait?: boolean;
  waitTimeout: string;
  progressInterval: string;
  failFast?: boolean;
  lockTimeout: string;
  inventory?: string;
  maxWave?: string;
}

const EXAMPLES = `
Examples:
  $ sms-reconcile apply -f examples/quickstart --auto-approve
  $ sms-reconcile apply -f manifests/ --auto-approve --allow-destroy --parallelism 8
  $ sms-reconcile plan -f manifests/ --out plan.json && sms-reconcile apply plan.json --auto-approve
  $ sms-reconcile apply -f manifests/ --auto-approve --wait      # until each new job has its first AMI
  $ sms-reconcile apply -f examples/waves --auto-approve --wait  # wave by wave, each once the one before replicated
  $ sms-reconcile apply -f manifests/ --auto-approve --max-wave 1   # wave 1 only: later waves wait for a person
  $ kustomize build overlays/prod | sms-reconcile apply -f - --auto-approve

Deletes and replaces need --allow-destroy when not confirmed at a terminal; lifecycle.preventDestroy
blocks them whatever the flags. A failed operation stops only what depends on it (later operations
on its server); everything else still runs, the apply exits 1 and names each failure, and the next
apply retries only what failed or was skipped (--fail-fast: start nothing new after the first
failure). Ctrl-C stops starting new operations and lets running ones finish; a second Ctrl-C stops
at once (the next apply finishes the work).`;

export const registerApply: RegisterCommand = (program, ctx) => {
  program
    .command('apply')
    .description('make the live jobs match the manifests (or carry out a saved plan exactly)')
    .argument('[planfile]', 'a plan saved with `plan --out`')
    .option('-f, --filename <path...>', 'manifest files or directories; - reads a YAML stream from stdin (needs --auto-approve)')
    .option('--auto-approve', 'do not ask for confirmation')
    .option('--allow-destroy', 'allow deletes and replaces without a confirmation at a terminal')
    .option('--parallelism <n>', 'operations at once (at most one per server)', '4')
    .option('--wait', 'wait until each created job has completed its first replication run, showing progress')
    .option('--wait-timeout <duration>', 'how long --wait and internal waits may take', '30m')
    .option('--progress-interval <duration>', 'with --wait and stdout not a terminal: the most often a summary line is printed', '30s')
    .option('--fail-fast', 'start no new operation after the first failure (default: keep going with what does not depend on it)')
    .option('--lock-timeout <duration>', 'how long to wait for a state lock held by another run (e.g. 30s, 5m)', '0s')
    .option('--inventory <file>', 'inventory of the embedded server (default: examples/inventory.yaml)')
    .option('--max-wave <n>', 'hold every change of the jobs of waves after N (spec.wave): an approval step')
    .addHelpText('after', EXAMPLES)
    .action(async (planfile: string | undefined, flags: ApplyFlags) => {
      ctx.setExit(await runApply(ctx, planfile, flags));
    });
};

async function desiredFromPlanFile(documents: readonly unknown[], file: string): Promise<DesiredSet> {
  const text = documents.map((d) => stringify(d)).join('---\n');
  const check = checkManifests([{ file: `${file} (saved manifests)`, content: text }]);
  if (!check.desired) throw new SmsReconcileError('plan-file-invalid', `${file}: its saved manifests do not check: ${check.diagnostics.map((d) => d.summary).join('; ')}`, { source: 'user', hint: 'run plan again' });
  return check.desired;
}

/** The flags of apply, checked before anything is read. */
interface ApplySettings {
  readonly parallelism: number;
  readonly lockTimeoutMs: number;
  readonly waitTimeoutMs: number;
  readonly progressIntervalMs: number;
  readonly maxConcurrentJobs: number;
  readonly maxWave: number | undefined;
}

function checkApplyFlags(planfile: string | undefined, flags: ApplyFlags, globals: GlobalOptions): ApplySettings {
  if ((planfile === undefined) === (flags.filename === undefined)) {
    throw userError('apply-args', 'apply takes either -f PATH... or a PLANFILE', 'e.g. `sms-reconcile apply -f examples/quickstart` or `sms-reconcile apply plan.json`');
  }
  if (flags.filename?.includes(STDIN_PATH) === true && flags.autoApprove !== true) {
    throw userError('approval-needed', 'apply -f - reads the manifests from stdin, so it cannot ask for confirmation there', 'review the plan (`... | sms-reconcile plan -f -`), then pass --auto-approve');
  }
  const parallelism = Number(flags.parallelism);
  if (!Number.isInteger(parallelism) || parallelism < 1 || parallelism > 64) throw userError('bad-parallelism', `--parallelism ${flags.parallelism} is not a whole number from 1 to 64`, 'the default is 4');
  return {
    parallelism,
    lockTimeoutMs: parseDuration(flags.lockTimeout, '--lock-timeout'),
    waitTimeoutMs: parseDuration(flags.waitTimeout, '--wait-timeout'),
    progressIntervalMs: parseDuration(flags.progressInterval, '--progress-interval'),
    maxConcurrentJobs: maxConcurrentJobs(globals),
    maxWave: parseMaxWave(flags.maxWave),
  };
}

/** What to apply: the manifests now, or a saved plan (checked for tampering before anything else). */
interface ApplyInput {
  readonly desired: DesiredSet;
  readonly saved?: { readonly plan: Plan; readonly manifestPaths: readonly string[] };
  readonly roots?: ManifestRoots;
}

async function readApplyInput(ctx: CommandContext, planfile: string | undefined, flags: ApplyFlags): Promise<ApplyInput> {
  if (planfile === undefined) return loadDesired(ctx, flags.filename ?? []);
  const file = resolve(ctx.io.cwd, planfile);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw userError('plan-file-unreadable', `cannot read the plan file ${planfile}`, 'check the path; make one with `sms-reconcile plan -f ... --out FILE`');
  }
  const pf = decodePlanFile(text, planfile);
  if (pf.manifestPaths.includes(STDIN_PATH) && flags.autoApprove !== true) {
    throw userError('approval-needed', `${planfile} was made from -f - (stdin): its manifests are piped in again to check it is not stale, so apply cannot ask for confirmation there`, 'pipe the same manifests in and pass --auto-approve');
  }
  return { desired: await desiredFromPlanFile(pf.documents, planfile), saved: { plan: pf.plan, manifestPaths: pf.manifestPaths } };
}

/** SIGINT/SIGTERM: the first asks the apply to stop starting work; a second exits at once. Returns the handler to remove. */
function onStopSignals(ctx: CommandContext, stop: { requested: boolean }): () => void {
  let signals = 0;
  const onSignal = () => {
    signals += 1;
    if (signals > 1) {
      ctx.host.notify(output('apply.stop-now', 'Stopping now. The journal lets the next apply finish the work.\n', 'warn'));
      process.exit(130);
    }
    stop.requested = true;
    ctx.host.notify(applyMessage({ type: 'stopping', reason: 'Stopping: no new operation starts; running ones finish (Ctrl-C again to stop at once).' }, systemClock.now()));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

async function runApply(ctx: CommandContext, planfile: string | undefined, flags: ApplyFlags): Promise<number> {
  const g = ctx.globals();
  const settings = checkApplyFlags(planfile, flags, g);
  const color = g.color && ctx.io.stdout.isTTY === true;
  const logger = ctx.host.logger();
  const input = await readApplyInput(ctx, planfile, flags);
  const store = openStateStore(g.state, ctx.io.cwd);
  const target = await openTarget(g, ctx.io, { inventory: flags.inventory, logger });
  const stop = { requested: false };
  ctx.host.setProgressInterval(settings.progressIntervalMs);
  const offSignals = onStopSignals(ctx, stop);
  let lock;
  try {
    lock = await store.lock({ operation: 'apply', timeoutMs: settings.lockTimeoutMs });
    const run: ApplyRun = { ctx, flags, settings, input, color, stop, store, target, ports: { api: target.api, store, lock, clock: systemClock, events: applyEventsTo(ctx.host, systemClock) } };
    return await planAndApply(run, planfile);
  } finally {
    offSignals();
    await lock?.release();
    await store.close();
    await target.close();
  }
}

/** One apply with its state locked. */
interface ApplyRun {
  readonly ctx: CommandContext;
  readonly flags: ApplyFlags;
  readonly settings: ApplySettings;
  readonly input: ApplyInput;
  readonly color: boolean;
  readonly stop: { requested: boolean };
  readonly store: StateStore;
  readonly target: Target;
  readonly ports: ApplyPorts;
}

async function planAndApply(run: ApplyRun, planfile: string | undefined): Promise<number> {
  const { ctx, store, target, ports, input, color, flags } = run;
  const { prior, observed } = await readAfterRecovery(ports, target);
  const maxWave = run.settings.maxWave;
  const options: PlanOptions = input.saved?.plan.options ?? { targets: [], replace: [], refreshOnly: false, ...(maxWave === undefined ? {} : { maxWave }) };
  const makePlan = (p: typeof prior, o: ObservedSet): Plan =>
    buildPlan(ctx, { desired: input.desired, observed: o, prior: p, target, options, maxConcurrentJobs: run.settings.maxConcurrentJobs, now: new Date(serviceNowMs(target.api, Date.now())), apiCalls: target.api.calls(), manifestRoots: input.roots });
  const plan = input.saved ? await checkSavedPlan(ctx, input.saved, planfile, { target, prior, observed, fresh: () => makePlan(prior, observed) }) : makePlan(prior, observed);
  ctx.host.notify(output('apply.plan', renderPlanText(plan, { color })));
  // Nothing to do, or only held changes (reconcile/waves.ts) without --wait: nothing to approve.
  if (effectiveChanges(plan).length === 0 || (runnable(plan.changes).length === 0 && flags.wait !== true)) {
    await recordReplicationStarts(ports, observed);
    sayHeld(ctx, plan);
    return ExitCode.ok;
  }
  if (!(await approved(ctx, plan, flags))) return ExitCode.error;
  if (!prior) await store.initialize(ports.lock, target.identity);
  const catalogReplan = async () => {
    const next = makePlan(await readPrior(store, target), await observeAll(target.api));
    ctx.host.notify(output('apply.plan', `\nThe catalog is imported; the jobs that waited for it:\n${renderPlanText(next, { color })}\n`));
    return next;
  };
  const fresh = async () => {
    const now = await readAfterRecovery(ports, target);
    return makePlan(now.prior, now.observed);
  };
  const code = await applyByWaves(run, plan, catalogReplan, fresh);
  await recordReplicationStarts(ports, observed);
  return code;
}

/** Which waves wait and for what, when the plan holds changes. */
function sayHeld(ctx: CommandContext, plan: Plan): void {
  const text = renderHeld(plan);
  if (text !== '') ctx.host.notify(output('apply.waves', text));
}

/** Carries out the plan's runnable changes (held ones have no step: reconcile/order.ts). */
function applyNow(run: ApplyRun, plan: Plan, replan: () => Promise<Plan>): Promise<ApplyResult> {
  run.ctx.host.notify(output('apply.begin', '\n', 'info'));
  const { settings, flags } = run;
  return applyPlan(run.ports, plan, { parallelism: settings.parallelism, pollMs: 1000, timeoutMs: settings.waitTimeoutMs, stop: run.stop, failFast: flags.failFast === true, replan });
}

/**
 * A plain apply does what the plan allows now and says which waves wait. `apply --wait` goes wave
 * by wave: it carries out what is open, waits for the wave the held creates wait for (its first
 * replication runs, with the progress display), plans again, and goes on until no create waits
 * for a wave; a failed replication, a member without a job, or --wait-timeout (one deadline for
 * the whole advance) stops it with exit 1, saying where. When the wave waited for has creates
 * that wait for quota, it follows what this apply created and exits 0, saying what waits.
 */
async function applyByWaves(run: ApplyRun, first: Plan, catalogReplan: () => Promise<Plan>, fresh: () => Promise<Plan>): Promise<number> {
  const { ctx, color } = run;
  const deadline = run.ports.clock.now() + run.settings.waitTimeoutMs;
  let plan = first;
  // The plan the executor last ran: after a catalog import, the one made then (it says what waits).
  let ran = first;
  const replan = async () => (ran = await catalogReplan());
  for (;;) {
    ran = plan;
    // A wave some of whose creates wait for quota cannot replicate in this apply: --wait follows
    // what it creates, then exits 0 saying what waits (for quota: a cutover frees the slots).
    const blocking = run.flags.wait === true ? blockingWave(plan.changes) : undefined;
    const wave = blocking !== undefined && plan.changes.some((c) => c.wave === blocking && c.gatedBy?.kind === 'quota') ? undefined : blocking;
    const result = runnable(plan.changes).length > 0 ? await applyNow(run, plan, replan) : undefined;
    if (wave === undefined || (result !== undefined && (applyOutcome(result) !== 'complete' || result.stopped))) {
      const code = result === undefined ? ExitCode.ok : await reportAndWait(run, result);
      if (code === ExitCode.ok) sayHeld(ctx, ran);
      return code;
    }
    if (result !== undefined) {
      ctx.host.notify(summaryMessage(result));
      ctx.host.notify(output('apply.report', renderApplyReport(result, color)));
    }
    if (!(await waitForWave(run, wave, await fresh(), deadline))) return ExitCode.error;
    plan = await fresh();
    ctx.host.notify(output('apply.plan', `\n${renderPlanText(plan, { color })}`));
  }
}

/** Waits until every job of `wave` has its first AMI; false (having said why) when one failed or has no job. */
async function waitForWave(run: ApplyRun, wave: number, plan: Plan, deadline: number): Promise<boolean> {
  const say = (text: string, level: 'result' | 'error' = 'result') => run.ctx.host.notify(output('apply.waves', text, level));
  const { jobs, withoutJob } = waveJobs(plan.changes, wave);
  if (withoutJob.length > 0) {
    say(renderWaveStopped(wave, [], withoutJob), 'error');
    return false;
  }
  say(renderWaitingForWave(wave, jobs.length));
  let progress;
  try {
    progress = await waitForFirstRuns(run.ports, { pollMs: 2000, timeoutMs: Math.max(0, deadline - run.ports.clock.now()), stop: run.stop }, jobs);
  } catch (err) {
    if (isSmsReconcileError(err) && err.code === 'wait-timeout') say(renderWaveTimeout(wave, plan.waves ?? [], run.flags.waitTimeout), 'error');
    throw err;
  }
  const failed = progress.filter((p) => p.latestAmiId === undefined);
  run.ctx.host.notify(ioMessage('apply.wave', failed.length === 0 ? 'info' : 'warn', failed.length === 0 ? `wave ${wave} replicated` : `wave ${wave} did not replicate`, { wave, jobs: jobs.length, failed: failed.length }));
  say(failed.length === 0 ? renderWaveOpened(wave, jobs.length) : renderWaveStopped(wave, failed, []), failed.length === 0 ? 'result' : 'error');
  return failed.length === 0;
}

/** The saved plan, when nothing it was made from has moved; else the plan-stale error with its reasons. */
async function checkSavedPlan(
  ctx: CommandContext,
  saved: NonNullable<ApplyInput['saved']>,
  planfile: string | undefined,
  now: { target: Target; prior: Awaited<ReturnType<typeof readPrior>>; observed: ObservedSet; fresh: () => Plan },
): Promise<Plan> {
  const reasons = staleReasons(saved.plan, {
    target: now.target.identity,
    state: now.prior ? { lineage: now.prior.lineage, serial: now.prior.serial } : undefined,
    manifestDigest: await manifestDigestAt(ctx, saved.manifestPaths),
    observed: now.observed,
    // A plan with waves is made again from its saved manifests: has a gate opened or closed since?
    ...((saved.plan.waves?.length ?? 0) > 0 ? { waves: now.fresh().waves ?? [] } : {}),
  });
  if (reasons.length > 0) {
    ctx.host.notify(output('apply.stale', `The saved plan ${planfile ?? ''} is stale:\n${reasons.map((r) => `  - ${r}`).join('\n')}\n`, 'error'));
    throw userError('plan-stale', 'refusing to apply a stale plan; nothing was changed', 'run plan again and apply the new plan');
  }
  return saved.plan;
}

/** Destructive changes need --allow-destroy; anything needs --auto-approve or a "yes" at a terminal. */
async function approved(ctx: CommandContext, plan: Plan, flags: ApplyFlags): Promise<boolean> {
  if (hasDestructive(plan) && flags.allowDestroy !== true && (flags.autoApprove === true || ctx.io.stdin.isTTY !== true)) {
    const n = plan.changes.filter((c) => ACTION_INFO[c.action].destructive && !isStateOnlyDelete(c)).length;
    throw userError('destroy-not-allowed', `the plan deletes or replaces ${n} job(s); nothing was changed`, 'review the plan, then run again with --allow-destroy (or confirm at a terminal)');
  }
  if (flags.autoApprove === true) return true;
  if (ctx.io.stdin.isTTY !== true) {
    throw userError('approval-needed', 'apply asks for confirmation, but stdin is not a terminal', 'review the plan, then pass --auto-approve');
  }
  ctx.host.notify(output('apply.confirm', '\nDo you want to perform these actions? Only "yes" will be accepted: '));
  const rl = createInterface({ input: ctx.io.stdin });
  const answer = await rl.question('');
  rl.close();
  if (answer.trim() === 'yes') return true;
  ctx.host.notify(output('apply.cancelled', 'Apply cancelled; nothing was changed.\n'));
  return false;
}

/** The report, and --wait's following of the created jobs: a complete apply reports first, a failed one after. */
async function reportAndWait(run: ApplyRun, result: ApplyResult): Promise<number> {
  const { ctx, color } = run;
  const outcome = applyOutcome(result);
  ctx.host.notify(summaryMessage(result));
  if (outcome === 'complete') ctx.host.notify(output('apply.report', renderApplyReport(result, color)));
  let waited: number = ExitCode.ok;
  try {
    if (run.flags.wait && !result.stopped && result.created.length > 0) {
      waited = await waitForCreated(ctx, run.ports, result, { pollMs: 2000, timeoutMs: run.settings.waitTimeoutMs, stop: run.stop });
    }
  } finally {
    if (outcome !== 'complete') ctx.host.notify(output('apply.report', renderApplyReport(result, color)));
  }
  return outcome === 'complete' ? waited : ExitCode.error;
}

async function manifestDigestAt(ctx: CommandContext, paths: readonly string[]): Promise<string | undefined> {
  if (paths.length === 0) return undefined;
  if (paths.includes(STDIN_PATH) && ctx.io.stdin.isTTY === true) {
    throw userError('plan-stdin-needed', 'the saved plan was made from -f - (stdin), and stdin is a terminal', 'pipe the same manifests in: `<render> | sms-reconcile apply PLANFILE --auto-approve`');
  }
  const check = await loadManifests(paths, { cwd: ctx.io.cwd, stdin: ctx.io.stdin });
  return check.desired?.digest;
}

/** --wait: follows the jobs this apply created until each has its first AMI (or ended). */
async function waitForCreated(ctx: CommandContext, ports: ApplyPorts, result: ApplyResult, opts: WaitOptions): Promise<number> {
  const progress = await waitForFirstRuns(ports, opts, result.created);
  const failedRuns = progress.filter((p) => p.latestAmiId === undefined);
  const text =
    failedRuns.length === 0
      ? `All ${progress.length} new job(s) completed their first replication run.\n`
      : `${failedRuns.length} job(s) ended without an AMI: ${failedRuns.map((p) => `${p.address} (${p.jobState}${p.failureReason ? `: ${p.failureReason}` : ''})`).join(', ')}\n`;
  ctx.host.notify(output('apply.waited', text, failedRuns.length === 0 ? 'result' : 'error'));
  return failedRuns.length === 0 ? ExitCode.ok : ExitCode.error;
}

/** The `apply.summary` message: the counts, at warn when the apply did not complete. */
function summaryMessage(r: ApplyResult): IoMessage<'apply.summary'> {
  const outcome = applyOutcome(r);
  return ioMessage('apply.summary', outcome === 'complete' ? 'info' : 'warn', outcome === 'complete' ? 'apply complete' : `apply ${outcome}`, { outcome, ...applyCounts(r), durationMs: r.durationMs });
}
