import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../../atomic-file.ts';
import { join, relative, resolve } from 'node:path';
import { stringify } from 'yaml';
import { NAME_MAX_LENGTH, type Address } from '../../model/address.ts';
import { userError } from '../../model/errors.ts';
import { liveSpec } from '../../reconcile/diff.ts';
import { isTerminated } from '../../reconcile/observed.ts';
import { createLogger } from '../../report/logger.ts';
import type { ReplicationJobInfo, ServerInfo } from '../../sms/api.ts';
import { openStateStore } from '../../state/open.ts';
import type { ResourceWrite } from '../../state/codec.ts';
import type { RegisterCommand } from '../context.ts';
import { parseDuration } from '../duration.ts';
import { ExitCode } from '../io.ts';
import { packageFile } from '../../paths.ts';
import { openTarget } from '../target.ts';
import { observeAll } from '../workflow.ts';
import { adoptionRecord, withLockedState } from './import.ts';

const SCHEMA_PATH = packageFile('schemas/manifest.v1.schema.json');

/** An address-safe name from a VM name: lowercase, runs of other characters become '-'. */
export function safeName(vmName: string): string {
  const s = vmName.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  return (s || 'job').slice(0, NAME_MAX_LENGTH).replace(/-+$/, '');
}

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

interface ExportedJob {
  readonly name: string;
  readonly job: ReplicationJobInfo;
  readonly document: Record<string, unknown>;
}

/** The manifest document that describes a live job exactly (every value it reports; the schedule, which moves by itself, left out). */
function describe(name: string, job: ReplicationJobInfo, server: ServerInfo | undefined, servers: readonly ServerInfo[]): Record<string, unknown> {
  const v = server?.vmServer ?? job.vmServer;
  const sameName = servers.filter((s) => s.vmServer.vmName === v?.vmName && s.vmServer.vmManagerName === v?.vmManagerName);
  const selector =
    v?.vmName && v.vmManagerName && sameName.length === 1
      ? { vmName: v.vmName, vmManagerName: v.vmManagerName }
      : v?.vmServerAddress?.vmId && v.vmServerAddress.vmManagerId
        ? { vmId: v.vmServerAddress.vmId, vmManagerId: v.vmServerAddress.vmManagerId }
        : { serverId: job.serverId };
  const s = liveSpec(job);
  const spec: Record<string, unknown> = { server: selector };
  if (s.runOnce) spec['runOnce'] = true;
  else if (s.frequency !== undefined) spec['frequency'] = s.frequency;
  for (const f of ['licenseType', 'roleName', 'description', 'numberOfRecentAmisToKeep', 'encrypted', 'kmsKeyId'] as const) {
    if (s[f] !== undefined) spec[f] = s[f];
  }
  return { apiVersion: 'sms-reconcile/v1', kind: 'ReplicationJob', metadata: { name }, spec };
}

export const registerExport: RegisterCommand = (program, ctx) => {
  program
    .command('export')
    .description('write manifests that describe the live jobs, and record them in state, to adopt an existing estate in one step')
    .option('--out <dir>', 'write one file per job (and catalog.yaml) into this directory; default: print to stdout')
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

Jobs that are DELETING, DELETED or FAILED are left out; jobs already in state keep their address.`)
    .action(async (flags: { out?: string; adopt: boolean; force?: boolean; lockTimeout: string; inventory?: string }) => {
      const g = ctx.globals();
      const logger = createLogger({ level: g.logLevel, format: g.logFormat, stream: ctx.io.stderr, color: g.color });
      const store = openStateStore(g.state, ctx.io.cwd);
      const target = await openTarget(g, ctx.io, { inventory: flags.inventory, logger });
      try {
        await withLockedState(store, target, 'export', parseDuration(flags.lockTimeout, '--lock-timeout'), async (lock, ensureState) => {
          const observed = await observeAll(target.api);
          const doc = await store.read();
          const byJob = new Map(Object.values(doc?.resources ?? {}).map((r) => [r.replicationJobId, r]));
          const used = new Set(Object.values(doc?.resources ?? {}).map((r) => r.address));
          const exported: ExportedJob[] = [];
          let skipped = 0;
          for (const job of observed.jobs.values()) {
            if (job.state === 'DELETING' || (isTerminated(job) && !(job.state === 'COMPLETED' && job.runOnce))) continue;
            const tracked = byJob.get(job.replicationJobId);
            if (tracked && tracked.kind !== 'ReplicationJob') {
              skipped += 1;
              continue;
            }
            let name = tracked ? tracked.address.slice('ReplicationJob/'.length) : safeName(job.vmServer?.vmName ?? job.serverId);
            if (!tracked) {
              const stem = name;
              for (let i = 2; used.has(`ReplicationJob/${name}`); i++) name = `${stem.slice(0, NAME_MAX_LENGTH - String(i).length - 1)}-${i}`;
              used.add(`ReplicationJob/${name}`);
            }
            exported.push({ name, job, document: describe(name, job, observed.servers.get(job.serverId), observed.catalog.servers) });
          }
          exported.sort((a, b) => (a.name < b.name ? -1 : 1));
          const catalog = observed.catalog.status === 'AVAILABLE' ? { apiVersion: 'sms-reconcile/v1', kind: 'ServerCatalog', metadata: { name: 'catalog' }, spec: { imported: true } } : undefined;

          if (flags.out) {
            const dir = resolve(ctx.io.cwd, flags.out);
            mkdirSync(dir, { recursive: true });
            const header = `# yaml-language-server: $schema=${relative(dir, SCHEMA_PATH)}\n`;
            const files: Array<[string, string]> = [
              ...(catalog ? [[join(dir, 'catalog.yaml'), exportedFile(header + stringify(catalog))] as [string, string]] : []),
              ...exported.map((e): [string, string] => [join(dir, `${e.name}.yaml`), exportedFile(header + stringify(e.document))]),
            ];
            // Every file is checked before any is written: a refusal changes nothing.
            if (!flags.force) {
              for (const [file] of files) {
                const why = notReplaceable(file);
                if (why !== undefined) {
                  throw userError('export-would-overwrite', `refusing to replace ${relative(ctx.io.cwd, file) || file}: ${why}`, 'move it away, export into another --out directory, or pass --force to replace it');
                }
              }
            }
            // Temp file, fsync, rename: never half-written, never written through a symlink.
            for (const [file, text] of files) writeFileAtomic(file, text, 0o644);
            ctx.io.stdout.write(`Wrote ${exported.length} job manifest(s)${catalog ? ' and catalog.yaml' : ''} to ${relative(ctx.io.cwd, dir) || '.'}.\n`);
          } else {
            ctx.io.stdout.write([...(catalog ? [catalog] : []), ...exported.map((e) => e.document)].map((d) => stringify(d)).join('---\n'));
          }
          if (skipped > 0) ctx.io.stderr.write(`Left out ${skipped} job(s) that ReplicationJobSets in state manage.\n`);
          if (flags.adopt) {
            const at = new Date();
            const writes: ResourceWrite[] = exported
              .filter((e) => !byJob.has(e.job.replicationJobId))
              .map((e) => ({ address: `ReplicationJob/${e.name}` as Address, record: adoptionRecord(`ReplicationJob/${e.name}`, e.job, at) }));
            await ensureState();
            if (writes.length > 0) await store.writeResources(lock, writes, `export: adopt ${writes.length} job(s)`);
            ctx.io.stderr.write(`Recorded ${writes.length} job(s) in state ${store.location}; \`plan\` on the exported manifests shows no changes.\n`);
          }
          if (exported.length === 0 && !catalog) throw userError('export-empty', `${target.description} has no live jobs and no imported catalog`, 'nothing to export');
        });
      } finally {
        await store.close();
        await target.close();
      }
      ctx.setExit(ExitCode.ok);
    });
};

