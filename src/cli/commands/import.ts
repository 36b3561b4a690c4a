import { parseAddress, type Address } from '../../model/address.ts';
import { output } from '../../model/messages.ts';
import { userError } from '../../model/errors.ts';
import { liveSpec } from '../../reconcile/live-spec.ts';
import type { ReplicationJobInfo } from '../../sms/api.ts';
import type { ResourceRecord } from '../../state/codec.ts';
import { openStateStore } from '../../state/open.ts';
import { underLock, type StateLock, type StateStore } from '../../state/store.ts';
import type { RegisterCommand } from '../context.ts';
import { parseDuration } from '../duration.ts';
import { ExitCode } from '../io.ts';
import { openTarget, type Target } from '../target.ts';
import { readPrior } from '../workflow.ts';

/** A state record for a live job being taken under management (import, export). */
export function adoptionRecord(address: Address, job: ReplicationJobInfo, at: Date): ResourceRecord {
  const parsed = parseAddress(address);
  return {
    address,
    kind: parsed?.kind ?? 'ReplicationJob',
    replicationJobId: job.replicationJobId,
    serverId: job.serverId,
    appliedSpec: liveSpec(job),
    preventDestroy: false,
    updatedAt: at.toISOString(),
  };
}

/**
 * Locks the state (refusing one made for another target) and runs `body`; `ensureState` creates the
 * state for this target when there is none, so a command that fails before writing leaves nothing.
 */
export async function withLockedState<T>(
  store: StateStore,
  target: Target,
  operation: string,
  lockTimeoutMs: number,
  body: (lock: StateLock, ensureState: () => Promise<void>) => Promise<T>,
): Promise<T> {
  return underLock(store, { operation, timeoutMs: lockTimeoutMs }, async (lock) => {
    let exists = (await readPrior(store, target)) !== undefined;
    return body(lock, async () => {
      if (!exists) await store.initialize(lock, target.identity);
      exists = true;
    });
  });
}

export const registerImport: RegisterCommand = (program, ctx) => {
  program
    .command('import')
    .description('adopt one existing replication job explicitly: record it in state under ADDRESS')
    .argument('<address>', 'the address its manifest declares, e.g. ReplicationJob/web-01')
    .argument('<replicationJobId>', 'the live job, e.g. sms-job-1a2b3c4d')
    .option('--lock-timeout <duration>', 'how long to wait for a state lock', '0s')
    .option('--inventory <file>', 'inventory of the embedded server')
    .addHelpText('after', `
Examples:
  $ sms-reconcile import ReplicationJob/web-01 sms-job-1a2b3c4d
  $ sms-reconcile import 'ReplicationJobSet/wave-1[s-12345678]' sms-job-0f0f0f0f

No API mutation: the job is only recorded. The next plan compares it with its manifest.`)
    .action(async (address: string, jobId: string, flags: { lockTimeout: string; inventory?: string }) => {
      const parsed = parseAddress(address);
      if (!parsed || (parsed.kind !== 'ReplicationJob' && parsed.kind !== 'ReplicationJobSet')) {
        throw userError('bad-address', `${address} is not a job address`, 'use ReplicationJob/<name> or ReplicationJobSet/<name>[<serverId>]');
      }
      const g = ctx.globals();
      const logger = ctx.host.logger();
      const store = openStateStore(g.state, ctx.io.cwd);
      const target = await openTarget(g, ctx.io, { inventory: flags.inventory, logger });
      try {
        await withLockedState(store, target, 'import', parseDuration(flags.lockTimeout, '--lock-timeout'), async (lock, ensureState) => {
          const job = await target.api.getReplicationJob(jobId);
          if (!job || job.state === 'DELETED' || job.state === 'DELETING') {
            throw userError('import-no-job', `${target.description} has no live job ${jobId}`, 'list the live jobs with `sms-reconcile export` or `aws sms get-replication-jobs`');
          }
          if (parsed.serverId !== undefined && parsed.serverId !== job.serverId) {
            throw userError('import-server-mismatch', `${address} names server ${parsed.serverId}, but ${jobId} replicates ${job.serverId}`, `use ReplicationJobSet/${parsed.name}[${job.serverId}]`);
          }
          const doc = await store.read();
          const existing = doc?.resources[address];
          if (existing) throw userError('import-address-taken', `${address} is already in state (job ${existing.replicationJobId ?? '?'})`, `remove it first with \`sms-reconcile state rm ${address}\``);
          const other = Object.values(doc?.resources ?? {}).find((r) => r.replicationJobId === jobId);
          if (other) throw userError('import-job-taken', `${jobId} is already managed as ${other.address}`, 'one job, one address');
          await ensureState();
          await store.writeResources(lock, [{ address, record: adoptionRecord(address, job, new Date()) }], `import ${jobId}`);
          ctx.host.notify(output('import.done', `Imported ${jobId} (server ${job.serverId}${job.vmServer?.vmName ? `, ${job.vmServer.vmName}` : ''}) as ${address}.\n`));
        });
      } finally {
        await store.close();
        await target.close();
      }
      ctx.setExit(ExitCode.ok);
    });
};
