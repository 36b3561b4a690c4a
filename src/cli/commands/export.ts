import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { userError } from '../../model/errors.ts';
import { checkExport, exportDocuments, exportText, type ExportCheck } from '../../reconcile/export.ts';
import { createLogger } from '../../report/logger.ts';
import { openStateStore } from '../../state/open.ts';
import type { RegisterCommand } from '../context.ts';
import { parseDuration } from '../duration.ts';
import { ExitCode } from '../io.ts';
import { rootPath } from '../manifest-roots.ts';
import { packageFile } from '../../paths.ts';
import { openTarget } from '../target.ts';
import { observeAll } from '../workflow.ts';
import { withLockedState } from './import.ts';

const SCHEMA_PATH = packageFile('schemas/manifest.v1.schema.json');

export const registerExport: RegisterCommand = (program, ctx) => {
  program
    .command('export')
    .description('write manifests that describe the live jobs, and record them in state, to adopt an existing estate in one step')
    .option('--out <dir>', 'write one file per job or job set (and catalog.yaml) into this directory; default: print to stdout')
    .option('--no-adopt', 'only write the manifests; do not record the jobs in state')
    .option('--lock-timeout <duration>', 'how long to wait for a state lock', '0s')
    .option('--inventory <file>', 'inventory of the embedded server')
    .addHelpText('after', `
Examples:
  $ sms-reconcile export --out manifests/
  $ sms-reconcile plan -f manifests/        # no changes: the exported jobs are now managed

Jobs that are DELETING, DELETED or FAILED are left out; jobs already in state keep their address
(members of a ReplicationJobSet are written as that set, listing their servers), with the fields,
lifecycle.preventDestroy and onDemandRun token the state records. The closing line says what
\`plan\` on the exported manifests shows: export plans them before it says so.`)
    .action(async (flags: { out?: string; adopt: boolean; lockTimeout: string; inventory?: string }) => {
      const g = ctx.globals();
      const logger = createLogger({ level: g.logLevel, format: g.logFormat, stream: ctx.io.stderr, color: g.color });
      const store = openStateStore(g.state, ctx.io.cwd);
      const target = await openTarget(g, ctx.io, { inventory: flags.inventory, logger });
      try {
        await withLockedState(store, target, 'export', parseDuration(flags.lockTimeout, '--lock-timeout'), async (lock, ensureState) => {
          const observed = await observeAll(target.api);
          const doc = await store.read();
          const root = flags.out === undefined ? undefined : rootPath(flags.out, ctx.io.cwd);
          const exported = exportDocuments(observed, doc, { at: new Date().toISOString(), ...(root !== undefined ? { manifestRoot: root } : {}) });
          const catalog = exported.documents.some((d) => d.document['kind'] === 'ServerCatalog');
          const manifestsWritten = exported.documents.length - (catalog ? 1 : 0);

          if (flags.out) {
            const dir = resolve(ctx.io.cwd, flags.out);
            mkdirSync(dir, { recursive: true });
            const header = `# yaml-language-server: $schema=${relative(dir, SCHEMA_PATH)}\n`;
            for (const e of exported.documents) writeFileSync(join(dir, `${e.file}.yaml`), header + exportText(e));
            ctx.io.stdout.write(`Wrote ${manifestsWritten} job manifest(s)${catalog ? ' and catalog.yaml' : ''} to ${flags.out}.\n`);
          } else {
            ctx.io.stdout.write(exported.documents.map(exportText).join('---\n'));
          }
          if (flags.adopt) {
            await ensureState();
            if (exported.adopt.length > 0) await store.writeResources(lock, exported.adopt, `export: adopt ${exported.adopt.length} job(s)`);
            // The closing claim is checked: the exported documents, planned against this world and the state now.
            const check = checkExport(exported.documents, observed, await store.read(), Date.now() / 1000);
            ctx.io.stderr.write(`Recorded ${exported.adopt.length} job(s) in state ${store.location}; ${describeCheck(check)}\n`);
          }
          if (exported.jobs === 0 && !catalog) throw userError('export-empty', `${target.description} has no live jobs and no imported catalog`, 'nothing to export');
        });
      } finally {
        await store.close();
        await target.close();
      }
      ctx.setExit(ExitCode.ok);
    });
};

/** What a plan on the exported manifests shows, as the end of export's closing sentence. */
function describeCheck(check: ExportCheck): string {
  if (check.problems.length === 0 && check.changes.length === 0) return '`plan` on the exported manifests shows no changes.';
  const lines = [
    ...check.problems.map((p) => `  error ${p.code}: ${p.message}`),
    ...check.changes.map((c) => `  ${c.action} ${c.address}: ${c.reason}`),
  ];
  const what = check.problems.length > 0 ? `${check.problems.length} problem(s)` : `${check.changes.length} change(s)`;
  return `but \`plan\` on the exported manifests shows ${what} (review them before you apply these manifests):\n${lines.join('\n')}`;
}

