import { Option } from 'commander';
import { loadManifests } from '../../manifest/load.ts';
import { output } from '../../model/messages.ts';
import { renderDiagnosticsJson, renderDiagnosticsText } from '../../report/render-diagnostics.ts';
import type { RegisterCommand } from '../context.ts';
import { ExitCode } from '../io.ts';

const EXAMPLES = `
Examples:
  $ sms-reconcile validate -f examples/quickstart
  $ sms-reconcile validate -f manifests/ extra-job.yaml --strict
  $ sms-reconcile validate -f manifests/ --format json | jq '.diagnostics[] | .code'
  $ kustomize build overlays/prod | sms-reconcile validate -f -     # positions as <stdin>:line:column

Offline: no API call, no state access, no network. Exit status: 0 when clean (warnings allowed
unless --strict), 1 when there are errors. Codes are listed in the README's manifest reference.
`;

interface ValidateOptions {
  readonly filename: string[];
  readonly format: 'text' | 'json';
  readonly strict?: boolean;
}

/** `sms-reconcile validate -f PATH... [--format text|json] [--strict]`: every problem in every file, in one run. */
export const registerValidate: RegisterCommand = (program, ctx) => {
  program
    .command('validate')
    .description('check manifests offline: every problem in every file, with file:line:column and a hint')
    .requiredOption('-f, --filename <path...>', 'manifest files or directories (directories: *.yaml and *.yml, recursively); - reads a YAML stream from stdin')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('--strict', 'fail on warnings too')
    .addHelpText('after', EXAMPLES)
    .action(async (opts: ValidateOptions) => {
      const result = await loadManifests(opts.filename, { cwd: ctx.io.cwd, stdin: ctx.io.stdin });
      const { summary } = result;
      const failed = summary.errors > 0 || (opts.strict === true && summary.warnings > 0);
      if (opts.format === 'json') {
        ctx.host.notify(output('validate.result', renderDiagnosticsJson(result.diagnostics, summary, !failed)));
      } else {
        const color = ctx.globals().color && ctx.io.stdout.isTTY === true;
        const text = renderDiagnosticsText(result.diagnostics, summary, { color, sourceLine: (file, line) => result.sources.get(file)?.lineText(line) });
        ctx.host.notify(output('validate.result', text));
      }
      ctx.setExit(failed ? ExitCode.error : ExitCode.ok);
    });
};
