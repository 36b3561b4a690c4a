import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Option } from 'commander';
import { desiredToDocuments } from '../../manifest/normalize.ts';
import { encodePlanFile } from '../../reconcile/plan-file.ts';
import { detailedExitCode, type Plan } from '../../reconcile/plan.ts';
import { createLogger } from '../../report/logger.ts';
import { renderPlanJsonString } from '../../report/render-json.ts';
import { renderPlanMarkdown } from '../../report/render-markdown.ts';
import { renderPlanText } from '../../report/render-text.ts';
import { openStateStore } from '../../state/open.ts';
import type { CommandContext, RegisterCommand } from '../context.ts';
import { ExitCode } from '../io.ts';
import type { ObservedSet } from '../../reconcile/observed.ts';
import { isEmbeddedTarget, openTarget, type Target } from '../target.ts';
import { buildPlan, checkAddresses, loadDesired, observeAll, readPrior } from '../workflow.ts';

export type PlanFormat = 'text' | 'json' | 'markdown';

interface PlanFlags {
  filename: string[];
  out?: string;
  format: PlanFormat;
  detailedExitcode?: boolean;
  refreshOnly?: boolean;
  target: string[];
  replace: string[];
  inventory?: string;
  maxConcurrentJobs: string;
}

export const PLAN_EXAMPLES = `
Examples:
  $ sms-reconcile plan -f examples/quickstart
  $ sms-reconcile plan -f manifests/ --out plan.json --format markdown > plan.md
  $ sms-reconcile plan -f manifests/ --detailed-exitcode; echo $?   # 0 none, 2 changes, 3 destructive
  $ sms-reconcile plan -f manifests/ --target ReplicationJob/web-01 --replace ReplicationJob/web-01

Exit status: 0 success (with --detailed-exitcode: no changes), 1 error, 2 changes present,
3 changes that include a delete or replace.`;

export function renderPlan(plan: Plan, format: PlanFormat, color: boolean, planFile?: string): string {
  switch (format) {
    case 'json':
      return renderPlanJsonString(plan, planFile ? { planFile } : {});
    case 'markdown':
      return renderPlanMarkdown(plan, { color: false });
    case 'text':
      return renderPlanText(plan, { color });
  }
}

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `sms-reconcile plan -f PATH...`: what apply would do, and why; nothing is changed. */
export const registerPlan: RegisterCommand = (program, ctx) => {
  program
    .command('plan')
    .description('show what apply would change, and why, without changing anything')
    .requiredOption('-f, --filename <path...>', 'manifest files or directories')
    .option('--out <file>', 'save the plan, for `apply PLANFILE`')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'markdown']).default('text'))
    .option('--detailed-exitcode', 'exit 0 with no changes, 2 with changes, 3 with deletes or replaces')
    .option('--refresh-only', 'only report drift: live values changed outside sms-reconcile')
    .option('--target <address>', 'limit the plan to this address (repeatable)', collect, [])
    .option('--replace <address>', 'plan this job to be replaced (repeatable)', collect, [])
    .option('--inventory <file>', 'inventory of the embedded server (default: examples/inventory.yaml)')
    .option('--max-concurrent-jobs <n>', "the account's concurrent-job limit, for the preflight check", '50')
    .addHelpText('after', PLAN_EXAMPLES)
    .action(async (flags: PlanFlags) => {
      const code = await runPlan(ctx, flags);
      ctx.setExit(code);
    });
};

async function runPlan(ctx: CommandContext, flags: PlanFlags): Promise<number> {
  checkAddresses('--target', flags.target);
  checkAddresses('--replace', flags.replace);
  const g = ctx.globals();
  const logger = createLogger({ level: g.logLevel, format: g.logFormat, stream: ctx.io.stderr, color: g.color });
  // A remote target is read while the manifests and the state are: its listings cost round trips,
  // the manifests CPU (with 20 ms of latency that hides nearly all of the rest, bench/plan.ts).
  // Reading changes nothing, and an error of the manifests or the state is still the one reported
  // first. The embedded server is started only once the manifests are good: it writes its data
  // directory, and a plan of bad manifests writes nothing.
  let target: Target | undefined;
  let observing: Promise<ObservedSet> | undefined;
  if (!isEmbeddedTarget(g)) {
    target = await openTarget(g, ctx.io, { inventory: flags.inventory, logger });
    observing = observeAll(target.api);
    observing.catch(() => undefined); // awaited below; not an unhandled rejection if we fail first
  }
  try {
    const { desired, roots } = await loadDesired(ctx, flags.filename);
    const store = openStateStore(g.state, ctx.io.cwd);
    try {
      target ??= await openTarget(g, ctx.io, { inventory: flags.inventory, logger });
      const prior = await readPrior(store, target);
      const observed = await (observing ?? observeAll(target.api));
      const plan = buildPlan(ctx, {
        desired,
        observed,
        prior,
        target,
        options: { targets: flags.target, replace: flags.replace, refreshOnly: flags.refreshOnly === true },
        maxConcurrentJobs: Number(flags.maxConcurrentJobs) || 50,
        now: new Date(),
        apiCalls: target.api.calls(),
        manifestRoots: roots,
      });
      let saved: string | undefined;
      if (flags.out) {
        saved = resolve(ctx.io.cwd, flags.out);
        writeFileSync(saved, encodePlanFile(plan, desiredToDocuments(desired), flags.filename), { mode: 0o600 });
      }
      const color = g.color && ctx.io.stdout.isTTY === true;
      ctx.io.stdout.write(renderPlan(plan, flags.format, color, flags.out));
      if (flags.out && flags.format === 'text') ctx.io.stdout.write(`\nSaved the plan to ${flags.out}. Apply exactly it with: sms-reconcile apply ${flags.out}\n`);
      if (flags.detailedExitcode) return detailedExitCode(plan);
      return ExitCode.ok;
    } finally {
      await store.close();
    }
  } finally {
    await target?.close();
  }
}
