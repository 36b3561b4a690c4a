import { lstatSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { Option } from 'commander';
import { writeFileAtomic } from '../../atomic-file.ts';
import { desiredToDocuments } from '../../manifest/normalize.ts';
import { userError } from '../../model/errors.ts';
import { encodePlanFile } from '../../reconcile/plan-file.ts';
import { detailedExitCode, type Plan } from '../../reconcile/plan.ts';
import { output, type IoMessage } from '../../model/messages.ts';
import { renderPlanJsonChunks, renderPlanJsonString } from '../../report/render-json.ts';
import { DEFAULT_MARKDOWN_MAX_CHARS, PART_MARKER, renderPlanMarkdownParts, renderPlanMarkdownWithin } from '../../report/render-markdown.ts';
import { renderPlanText } from '../../report/render-text.ts';
import { openStateStore } from '../../state/open.ts';
import { serviceNowMs } from '../../sms/api.ts';
import type { CommandContext, RegisterCommand } from '../context.ts';
import { ExitCode } from '../io.ts';
import { maxConcurrentJobs } from '../job-limit.ts';
import type { ObservedSet } from '../../reconcile/observed.ts';
import { isEmbeddedTarget, openTarget, type Target } from '../target.ts';
import { buildPlan, checkAddresses, loadDesired, observeAll, parseMaxWave, readPrior } from '../workflow.ts';

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
  maxChars?: string;
  split?: string;
  omitUnchanged?: boolean;
  maxWave?: string;
}

export const PLAN_EXAMPLES = `
Examples:
  $ sms-reconcile plan -f examples/quickstart
  $ sms-reconcile plan -f manifests/ --out plan.json --format markdown > plan.md
  $ sms-reconcile plan -f manifests/ --format markdown --split plan-md/   # plan-1.md, plan-2.md, ...
  $ kustomize build overlays/prod | sms-reconcile plan -f - --format json --omit-unchanged
  $ sms-reconcile plan -f manifests/ --detailed-exitcode; echo $?   # 0 none, 2 changes, 3 destructive
  $ sms-reconcile plan -f manifests/ --target ReplicationJob/web-01 --replace ReplicationJob/web-01

Exit status: 0 success (with --detailed-exitcode: no changes), 1 error, 2 changes present,
3 changes that include a delete or replace. Changes held by a wave's gate or --max-wave count as
pending (2).`;

/** How `plan` renders beyond the format: the Markdown budget and the JSON's no-op entries. */
export interface RenderPlanOptions {
  readonly planFile?: string;
  /** Markdown: most characters (code points); 0 = unbounded. Default DEFAULT_MARKDOWN_MAX_CHARS. */
  readonly maxChars?: number;
  /** JSON: leave no-op entries out of `changes`. */
  readonly omitUnchanged?: boolean;
}

export function renderPlan(plan: Plan, format: PlanFormat, color: boolean, opts: RenderPlanOptions = {}): string {
  switch (format) {
    case 'json':
      return renderPlanJsonString(plan, { ...(opts.planFile ? { planFile: opts.planFile } : {}), omitUnchanged: opts.omitUnchanged === true });
    case 'markdown': {
      const maxChars = opts.maxChars ?? DEFAULT_MARKDOWN_MAX_CHARS;
      const r = renderPlanMarkdownWithin(plan, { color: false, maxChars, artifact: opts.planFile === undefined ? undefined : basename(opts.planFile) });
      if (!r.ok) throw tooSmall(maxChars, r.minimum);
      return r.text;
    }
    case 'text':
      return renderPlanText(plan, { color });
  }
}

function tooSmall(maxChars: number, minimum: number) {
  return userError('bad-max-chars', `--max-chars ${maxChars} is below what this plan's heading needs: at least ${minimum}`, `pass --max-chars ${minimum} or more (0: unbounded; default ${DEFAULT_MARKDOWN_MAX_CHARS})`);
}

/** Checks the flags that only some formats take, before anything is read. */
function checkFormatFlags(flags: PlanFlags): number | undefined {
  if (flags.omitUnchanged === true && flags.format !== 'json') throw userError('bad-flag', '--omit-unchanged applies to --format json', 'text and markdown never list unchanged jobs; they count them');
  for (const [flag, given] of [['--max-chars', flags.maxChars], ['--split', flags.split]] as const) {
    if (given !== undefined && flags.format !== 'markdown') throw userError('bad-flag', `${flag} applies to --format markdown`, `e.g. \`sms-reconcile plan -f manifests/ --format markdown ${flag} ${flag === '--split' ? 'plan-md/' : '60000'}\``);
  }
  if (flags.maxChars === undefined) return undefined;
  const n = Number(flags.maxChars);
  if (!/^\d+$/.test(flags.maxChars) || !Number.isSafeInteger(n)) throw userError('bad-max-chars', `--max-chars ${flags.maxChars} is not a whole number of characters`, `e.g. --max-chars 65000 (0: unbounded; default ${DEFAULT_MARKDOWN_MAX_CHARS})`);
  return n;
}

/** Names --split gives its parts. */
const PART_FILE = /^plan-\d+\.md$/;

/**
 * Writes the parts as DIR/plan-1.md, plan-2.md, ... and removes the parts of an earlier run beyond
 * them. Refuses, before writing anything, when a plan-N.md there was not written by sms-reconcile
 * (it lacks the part marker); other files in DIR are left alone.
 */
function writeParts(dir: string, parts: readonly string[]): string[] {
  mkdirSync(dir, { recursive: true });
  const ours: string[] = [];
  const foreign: string[] = [];
  for (const name of readdirSync(dir)) {
    if (!PART_FILE.test(name)) continue;
    const file = join(dir, name);
    // A symlink is never ours: parts are plain files, replaced by rename (never written through).
    const mine = lstatSync(file).isFile() && PART_MARKER.test(readFileSync(file, 'utf8'));
    (mine ? ours : foreign).push(name);
  }
  if (foreign.length > 0) {
    throw userError('split-dir-foreign', `--split ${dir}: ${foreign.sort().join(', ')} ${foreign.length === 1 ? 'was' : 'were'} not written by sms-reconcile; refusing to replace ${foreign.length === 1 ? 'it' : 'them'}`, 'move those files away, or give --split a directory of its own');
  }
  const written = parts.map((text, i) => {
    const file = join(dir, `plan-${i + 1}.md`);
    writeFileAtomic(file, text, 0o644);
    return file;
  });
  for (const name of ours) if (Number(/\d+/.exec(name)?.[0]) > parts.length) rmSync(join(dir, name));
  return written;
}

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `sms-reconcile plan -f PATH...`: what apply would do, and why; nothing is changed. */
export const registerPlan: RegisterCommand = (program, ctx) => {
  program
    .command('plan')
    .description('show what apply would change, and why, without changing anything')
    .requiredOption('-f, --filename <path...>', 'manifest files or directories; - reads a YAML stream from stdin')
    .option('--out <file>', 'save the plan, for `apply PLANFILE`')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'markdown']).default('text'))
    .option('--detailed-exitcode', 'exit 0 with no changes, 2 with changes, 3 with deletes or replaces')
    .option('--refresh-only', 'only report drift: live values changed outside sms-reconcile')
    .option('--target <address>', 'limit the plan to this address (repeatable)', collect, [])
    .option('--replace <address>', 'plan this job to be replaced (repeatable)', collect, [])
    .option('--inventory <file>', 'inventory of the embedded server (default: examples/inventory.yaml)')
    .option('--max-chars <n>', `markdown: at most this many characters (code points), cutting what does not fit and saying so (default ${DEFAULT_MARKDOWN_MAX_CHARS}, under GitHub's 65,536; 0: unbounded)`)
    .option('--split <dir>', 'markdown: write the whole plan as <dir>/plan-1.md, plan-2.md, ... each within --max-chars (prints their paths)')
    .option('--omit-unchanged', 'json: leave unchanged (no-op) jobs out of "changes"; "summary" still counts them')
    .option('--max-wave <n>', 'hold every change of the jobs of waves after N (spec.wave): an approval step')
    .addHelpText('after', PLAN_EXAMPLES)
    .action(async (flags: PlanFlags) => {
      const code = await runPlan(ctx, flags);
      ctx.setExit(code);
    });
};

async function runPlan(ctx: CommandContext, flags: PlanFlags): Promise<number> {
  const maxChars = checkFormatFlags(flags);
  checkAddresses('--target', flags.target);
  checkAddresses('--replace', flags.replace);
  const maxWave = parseMaxWave(flags.maxWave);
  const g = ctx.globals();
  const jobLimit = maxConcurrentJobs(g);
  const logger = ctx.host.logger();
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
        options: { targets: flags.target, replace: flags.replace, refreshOnly: flags.refreshOnly === true, ...(maxWave === undefined ? {} : { maxWave }) },
        maxConcurrentJobs: jobLimit,
        now: new Date(serviceNowMs(target.api, Date.now())),
        apiCalls: target.api.calls(),
        manifestRoots: roots,
      });
      const color = g.color && ctx.io.stdout.isTTY === true;
      // Rendered before anything is written: a budget too small for this plan writes nothing. JSON
      // cannot fail to render: it is made piece by piece as it is written (a 100,000-job plan is
      // 150 MB), after the saved plan.
      let rendered: IoMessage<'plan.rendered' | 'plan.parts'> | { readonly pieces: Iterable<string> };
      const split = flags.split;
      if (split !== undefined) {
        const r = renderPlanMarkdownParts(plan, { color: false, maxChars: maxChars ?? DEFAULT_MARKDOWN_MAX_CHARS });
        if (!r.ok) throw tooSmall(maxChars ?? DEFAULT_MARKDOWN_MAX_CHARS, r.minimum);
        rendered = output('plan.parts', writeParts(resolve(ctx.io.cwd, split), r.parts).map((f) => `${join(split, basename(f))}\n`).join(''));
      } else if (flags.format === 'json') {
        rendered = { pieces: renderPlanJsonChunks(plan, { ...(flags.out ? { planFile: flags.out } : {}), omitUnchanged: flags.omitUnchanged === true }) };
      } else {
        rendered = output('plan.rendered', renderPlan(plan, flags.format, color, { planFile: flags.out, maxChars, omitUnchanged: flags.omitUnchanged }));
      }
      if (flags.out) {
        const saved = resolve(ctx.io.cwd, flags.out);
        // Atomic, and never through a symlink planted at that name.
        try {
          writeFileAtomic(saved, encodePlanFile(plan, desiredToDocuments(desired), flags.filename), 0o600);
        } catch (err) {
          throw userError('plan-out-unwritable', `cannot write the plan to ${flags.out}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, 'give --out a path in a directory that exists and that you can write');
        }
      }
      if ('pieces' in rendered) {
        for (const piece of rendered.pieces) {
          ctx.host.notify(output('plan.rendered', piece));
          await ctx.host.outputFlowing();
        }
      } else ctx.host.notify(rendered);
      if (flags.out && flags.format === 'text') ctx.host.notify(output('plan.saved', `\nSaved the plan to ${flags.out}. Apply exactly it with: sms-reconcile apply ${flags.out}\n`));
      if (flags.detailedExitcode) return detailedExitCode(plan);
      return ExitCode.ok;
    } finally {
      await store.close();
    }
  } finally {
    await target?.close();
  }
}
