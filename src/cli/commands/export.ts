import { createHash } from 'node:crypto';
import { output } from '../../model/messages.ts';
import { lstatSync, mkdirSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../../atomic-file.ts';
import { join, relative, resolve } from 'node:path';
import { userError } from '../../model/errors.ts';
import { checkExport, exportDocuments, exportText, type ExportCheck } from '../../reconcile/export.ts';
import { openStateStore } from '../../state/open.ts';
import type { RegisterCommand } from '../context.ts';
import { parseDuration } from '../duration.ts';
import { ExitCode } from '../io.ts';
import { rootPath } from '../manifest-roots.ts';
import { packageFile } from '../../paths.ts';
import { serviceNowMs } from '../../sms/api.ts';
import { openTarget } from '../target.ts';
import { observeAll } from '../workflow.ts';
import { withLockedState } from './import.ts';

const SCHEMA_PATH = packageFile('schemas/manifest.v1.schema.json');

/** The first line of every exported file: the tool and a digest of the lines below it. */
const HEADER = /^# sms-reconcile export sha256:([0-9a-f]{64})\b[^\n]*\n/;

function exportedFile(body: string): string {
  const digest = createHash('sha256').update(body).digest('hex');
  return `# sms-reconcile export sha256:${digest} (export --out replaces this file only while it is unchanged)\n${body}`;
}

/**
 * Why `file` may not be replaced without --force: it is not a regular file (a symlink, say), or it
 * was not written by export, or it was edited since (its digest no longer matches). Undefined when
 * it may be replaced, or does not exist.
 */
function notReplaceable(file: string): string | undefined {
  let st;
  try {
    st = lstatSync(file);
  } catch {
    return undefined;
  }
  if (st.isSymbolicLink()) return 'it is a symbolic link';
  if (!st.isFile()) return 'it is not a regular file';
  const text = readFileSync(file, 'utf8');
  const header = HEADER.exec(text);
  if (header === null) return 'it was not written by sms-reconcile export';
  const body = text.slice(header[0].length);
  return createHash('sha256').update(body).digest('hex') === header[1] ? undefined : 'it was changed since sms-reconcile export wrote it';
}

export const registerExport: RegisterCommand = (program, ctx) => {
  program
    .command('export')
    .description('write manifests that describe the live jobs, and record them in state, to adopt an existing estate in one step')
    .option('--out <dir>', 'write one file per job or job set (and catalog.yaml) into this directory; default: print to stdout')
    .option('--no-adopt', 'only write the manifests; do not record the jobs in state')
    .option('--force', 'with --out: replace files that export did not write, or that were changed since')
    .option('--lock-timeout <duration>', 'how long to wait for a state lock', '0s')
    .option('--inventory <file>', 'inventory of the embedded server')
    .addHelpText('after', `
Examples:
  $ sms-reconcile export --out manifests/
  $ sms-reconcile plan -f manifests/        # no changes: the exported jobs are now managed

Each file written by --out starts with a line naming sms-reconcile export and a digest of the rest;
a later export replaces only files whose digest still matches (--force replaces any).

Jobs that are DELETING, DELETED or FAILED are left out; jobs already in state keep their address
(members of a ReplicationJobSet are written as that set, listing their servers), with the fields,
lifecycle.preventDestroy and onDemandRun token the state records. The closing line says what
\`plan\` on the exported manifests shows: export plans them before it says so.`)
    .action(async (flags: { out?: string; adopt: boolean; force?: boolean; lockTimeout: string; inventory?: string }) => {
      const g = ctx.globals();
      const logger = ctx.host.logger();
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
            const files = exported.documents.map((e): [string, string] => [join(dir, `${e.file}.yaml`), exportedFile(header + exportText(e))]);
            // Every file is checked before any is written: a refusal changes nothing.
            if (!flags.force) {
              for (const [file] of files) {
                const why = notReplaceable(file);
                if (why !== undefined) {
                  throw userError('export-would-overwrite', `refusing to replace ${join(flags.out, relative(dir, file))}: ${why}`, 'move it away, export into another --out directory, or pass --force to replace it');
                }
              }
            }
            // Temp file, fsync, rename: never half-written, never written through a symlink.
            for (const [file, text] of files) writeFileAtomic(file, text, 0o644);
            ctx.host.notify(output('export.manifests', `Wrote ${manifestsWritten} job manifest(s)${catalog ? ' and catalog.yaml' : ''} to ${flags.out}.\n`));
          } else {
            ctx.host.notify(output('export.manifests', exported.documents.map(exportText).join('---\n')));
          }
          if (flags.adopt) {
            await ensureState();
            if (exported.adopt.length > 0) await store.writeResources(lock, exported.adopt, `export: adopt ${exported.adopt.length} job(s)`);
            // The closing claim is checked: the exported documents, planned against this world and the state now.
            const check = checkExport(exported.documents, observed, await store.read(), serviceNowMs(target.api, Date.now()) / 1000);
            ctx.host.notify(output('export.adopted', `Recorded ${exported.adopt.length} job(s) in state ${store.location}; ${describeCheck(check)}\n`, 'info'));
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

