import { readFile } from 'node:fs/promises';
import { output } from '../../model/messages.ts';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { parseAddress } from '../../model/address.ts';
import { decodeState, encodeState, type StateDocument } from '../../state/codec.ts';
import { stateError } from '../../state/errors.ts';
import { openStateStore } from '../../state/open.ts';
import { underLock, type StateStore } from '../../state/store.ts';
import type { CommandContext, RegisterCommand } from '../context.ts';
import type { CliIo } from '../io.ts';
import { parseDuration } from '../duration.ts';
import { registerStateMigrate } from './state-migrate.ts';

const STATE_HELP = `
The state records which addresses this manifest set manages on its target: job ids, the applied
spec, preventDestroy and the journal of pending operations. Location: --state PATH (default
.sms-reconcile/state.json), or SMS_RECONCILE_STATE.

Examples:
  $ sms-reconcile state list
  $ sms-reconcile state show 'ReplicationJob/web-01'
  $ sms-reconcile state rm 'ReplicationJobSet/wave-1[s-12345678]'
  $ sms-reconcile state pull > backup.json
  $ sms-reconcile --state envs/prod.json state push backup.json
`;

/** Opens the store of the global --state option; closes it (releasing any lock) after `body`. */
export async function withStore<T>(ctx: CommandContext, body: (store: StateStore) => Promise<T>): Promise<T> {
  const store = openStateStore(ctx.globals().state, ctx.io.cwd);
  try {
    return await body(store);
  } finally {
    await store.close();
  }
}

async function readState(store: StateStore): Promise<StateDocument> {
  const doc = await store.read();
  if (!doc) {
    throw stateError('state-missing', `there is no state at ${store.location}`, {
      hint: 'the first apply creates it; check --state (or SMS_RECONCILE_STATE) if you expected one',
    });
  }
  return doc;
}

function checkAddress(address: string): void {
  if (!parseAddress(address)) {
    throw stateError('state-address-invalid', `"${address}" is not a resource address`, {
      hint: 'addresses look like ReplicationJob/<name> or ReplicationJobSet/<name>[<serverId>]; `sms-reconcile state list` shows them',
    });
  }
}

function missingResource(address: string, store: StateStore): Error {
  return stateError('state-resource-missing', `the state at ${store.location} has no resource ${address}`, {
    hint: 'run `sms-reconcile state list` to see the addresses it holds',
  });
}

async function readInput(file: string, io: CliIo): Promise<{ text: string; source: string }> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of io.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
    return { text: Buffer.concat(chunks).toString('utf8'), source: 'stdin' };
  }
  const path = resolve(io.cwd, file);
  try {
    return { text: await readFile(path, 'utf8'), source: path };
  } catch (err) {
    throw stateError('state-io', `could not read ${path}: ${(err as Error).message}`, { cause: err, hint: 'check the path of the file to push' });
  }
}

/** `sms-reconcile state list | show ADDR | rm ADDR... | pull | push FILE`. */
export const registerState: RegisterCommand = (program, ctx) => {
  const state = program
    .command('state')
    .description('inspect and edit the state: list, show, rm, pull, push, migrate')
    .addHelpText('after', STATE_HELP);
  registerStateMigrate(state, ctx);
  registerStateList(state, ctx);
  registerStateShow(state, ctx);
  registerStateRm(state, ctx);
  registerStatePull(state, ctx);
  registerStatePush(state, ctx);
};

/** `state list`: the managed addresses and their job ids; a note on stderr for pending operations. */
function registerStateList(state: Command, ctx: CommandContext): void {
  state
    .command('list')
    .description('list the managed addresses, with their replication job ids')
    .addHelpText('after', '\nExamples:\n  $ sms-reconcile state list\n  ReplicationJob/web-01                     sms-job-1a2b3c4d\n')
    .action(async () => {
      await withStore(ctx, async (store) => {
        const doc = await store.read();
        if (!doc) {
          ctx.host.notify(output('state.note', `No state at ${store.location}.\n`, 'info'));
          return;
        }
        const records = Object.values(doc.resources).sort((a, b) => a.address.localeCompare(b.address));
        const width = Math.max(0, ...records.map((r) => r.address.length));
        ctx.host.notify(output('state.list', records.map((r) => `${r.address.padEnd(width)}  ${r.replicationJobId ?? (r.migrated === undefined ? '-' : `migrated (${r.migrated.amiId})`)}\n`).join('')));
        if (doc.pending.length > 0) {
          ctx.host.notify(output('state.note', `${doc.pending.length} operation(s) pending from an interrupted run; the next apply resolves them.\n`, 'warn'));
        }
      });
    });
}

/** `state show ADDR`: the record of one address, as JSON. */
function registerStateShow(state: Command, ctx: CommandContext): void {
  state
    .command('show')
    .description('print the record of one address as JSON')
    .argument('<address>', 'resource address')
    .addHelpText('after', "\nExamples:\n  $ sms-reconcile state show 'ReplicationJobSet/wave-1[s-12345678]'\n")
    .action(async (address: string) => {
      checkAddress(address);
      await withStore(ctx, async (store) => {
        const record = (await readState(store)).resources[address];
        if (!record) throw missingResource(address, store);
        ctx.host.notify(output('state.record', `${JSON.stringify(record, null, 2)}\n`));
      });
    });
}

/** `state rm ADDR...`: removes the records in one write under the lock (none if one is missing); the jobs stay in SMS. */
function registerStateRm(state: Command, ctx: CommandContext): void {
  state
    .command('rm')
    .description('stop managing addresses: remove their records (the jobs stay in SMS, untouched)')
    .argument('<address...>', 'resource addresses')
    .option('--lock-timeout <duration>', 'wait this long for a busy state lock (e.g. 30s, 5m)', '0')
    .addHelpText('after', "\nExamples:\n  $ sms-reconcile state rm 'ReplicationJob/web-01' --lock-timeout 1m\n")
    .action(async (addresses: string[], opts: { lockTimeout: string }) => {
      for (const a of addresses) checkAddress(a);
      const timeoutMs = parseDuration(opts.lockTimeout);
      await withStore(ctx, (store) =>
        underLock(store, { operation: 'state rm', timeoutMs }, async (lock) => {
          const doc = await readState(store);
          const unique = [...new Set(addresses)];
          for (const a of unique) if (!doc.resources[a]) throw missingResource(a, store);
          const { serial } = await store.writeResources(lock, unique.map((address) => ({ address, record: null })), 'state rm');
          const removed = unique.map((a) => {
            const jobId = doc.resources[a]?.replicationJobId;
            return `Removed ${a}${jobId ? ` (job ${jobId} stays in SMS, no longer managed)` : ''}.\n`;
          });
          ctx.host.notify(output('state.removed', removed.join('')));
          ctx.host.notify(output('state.note', `State serial ${serial}.\n`, 'info'));
        }),
      );
    });
}

/** `state pull`: the whole state as JSON (encodeState), fit for `state push`. */
function registerStatePull(state: Command, ctx: CommandContext): void {
  state
    .command('pull')
    .description('print the whole state as JSON on stdout')
    .addHelpText('after', '\nExamples:\n  $ sms-reconcile state pull > state-copy.json\n')
    .action(async () => {
      await withStore(ctx, async (store) => {
        ctx.host.notify(output('state.pulled', encodeState(await readState(store))));
      });
    });
}

/** `state push FILE`: replaces the state under the lock; another lineage or an older serial only with --force. */
function registerStatePush(state: Command, ctx: CommandContext): void {
  state
    .command('push')
    .description('replace the state with FILE (- for stdin); refuses another lineage or an older serial unless --force')
    .argument('<file>', 'a state JSON file, as `state pull` prints it')
    .option('--force', 'replace even a state of another lineage, or with an older serial')
    .option('--lock-timeout <duration>', 'wait this long for a busy state lock (e.g. 30s, 5m)', '0')
    .addHelpText(
      'after',
      '\nExamples:\n  $ sms-reconcile state pull > s.json   # edit s.json, raising "serial"\n  $ sms-reconcile state push s.json\n\nThe replaced state is kept beside it as state.json.backup.\n',
    )
    .action(async (file: string, opts: { force?: boolean; lockTimeout: string }) => {
      const timeoutMs = parseDuration(opts.lockTimeout);
      const { text, source } = await readInput(file, ctx.io);
      const doc = decodeState(text, { source });
      await withStore(ctx, (store) =>
        underLock(store, { operation: 'state push', timeoutMs }, async (lock) => {
          const { serial } = await store.replace(lock, doc, { force: opts.force === true });
          ctx.host.notify(output('state.pushed', `Pushed ${source} to ${store.location}: lineage ${doc.lineage}, serial ${serial}.\n`));
        }),
      );
    });
}
