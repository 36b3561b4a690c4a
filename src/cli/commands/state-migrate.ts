/**
 * `sms-reconcile state migrate --from A --to B`: copies a state between stores (file to
 * PostgreSQL, PostgreSQL to file, between pg databases, schemas or workspaces), keeping its
 * lineage and serial.
 *
 * Invariants:
 * - Both states are locked for the whole copy (the source first), so nothing changes either of
 *   them meanwhile; the target is written by one `replace` (one transaction / one atomic rename).
 * - A target that already holds another non-empty state is refused (another lineage, or the same
 *   lineage at a serial not below the source's with other content) unless --force. The same state
 *   at the same serial is a no-op. Nothing is written when refused.
 * - After the write, the target is read back and compared with the source: a difference is an error.
 */
import { output } from '../../model/messages.ts';
import type { Command } from 'commander';
import type { StateDocument } from '../../state/codec.ts';
import { stateError } from '../../state/errors.ts';
import { openStateStore } from '../../state/open.ts';
import { underLock, type StateStore } from '../../state/store.ts';
import type { CommandContext } from '../context.ts';
import { parseDuration } from '../duration.ts';

const HELP = `
Copies the whole state, its lineage and serial included, from one store to another: a file
(.sms-reconcile/state.json) and a PostgreSQL URL, either way, or two PostgreSQL locations. In a
URL, ?schema=NAME&workspace=NAME pick the schema and workspace (defaults sms_reconcile, default).
--from defaults to the --state location (with --state-schema and --workspace). Both states stay
locked during the copy. A target holding a different, non-empty state is refused unless --force.

Examples:
  $ sms-reconcile state migrate --to 'postgres://ci@db.internal:5432/infra?sslmode=require&workspace=prod'
  $ sms-reconcile state migrate --from 'postgres://ci@db.internal/infra?workspace=prod' --to prod-backup.json
  $ sms-reconcile state migrate --from 'postgres://db/infra?workspace=staging' --to 'postgres://db/infra?workspace=prod' --force
`;

interface MigrateFlags {
  from?: string;
  to: string;
  force?: boolean;
  lockTimeout: string;
}

/** JSON with object keys sorted at every level: equal states give equal text, whatever their key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

function isEmpty(doc: StateDocument): boolean {
  return Object.keys(doc.resources).length === 0 && doc.pending.length === 0;
}

/** Why `incoming` may not overwrite `current` without --force, or undefined when it may. */
function refusal(current: StateDocument, incoming: StateDocument, to: StateStore): Error | undefined {
  if (isEmpty(current)) return undefined;
  if (current.lineage !== incoming.lineage) {
    return stateError(
      'state-lineage-mismatch',
      `${to.location} already holds another state (lineage ${current.lineage}, serial ${current.serial}, ${Object.keys(current.resources).length} resource(s)); the source is lineage ${incoming.lineage}`,
      { hint: 'check --to; to overwrite that state anyway, add --force; nothing was written' },
    );
  }
  if (current.serial >= incoming.serial) {
    return stateError(
      'state-serial-not-newer',
      `${to.location} already holds this state at serial ${current.serial}, with other content than the source at serial ${incoming.serial}: copying would lose its newer changes`,
      { hint: 'migrate the other way, or add --force to overwrite it; nothing was written' },
    );
  }
  return undefined;
}

async function migrate(ctx: CommandContext, flags: MigrateFlags): Promise<void> {
  const g = ctx.globals();
  if (flags.from !== undefined && (g.stateSchema !== undefined || g.workspace !== undefined)) {
    throw stateError('state-location-invalid', '--state-schema and --workspace apply to --state, not to --from/--to', {
      hint: "put them in the URLs instead: --from 'postgres://...?schema=NAME&workspace=NAME'",
    });
  }
  const timeoutMs = parseDuration(flags.lockTimeout, '--lock-timeout');
  const source = openStateStore(flags.from ?? g.state, ctx.io.cwd);
  const target = openStateStore(flags.to, ctx.io.cwd);
  try {
    if (source.location === target.location) {
      throw stateError('state-location-invalid', `--from and --to name the same state (${source.location})`, { hint: 'give another --to' });
    }
    const missing = () =>
      stateError('state-missing', `there is no state at ${source.location} to migrate`, {
        hint: 'check --from (default: --state or SMS_RECONCILE_STATE); nothing was written',
      });
    if (!(await source.head())) throw missing(); // before locking: a lock would create files or rows
    await underLock(source, { operation: 'state migrate (source)', timeoutMs }, async () => {
      const doc = await source.read();
      if (!doc) throw missing();
      await underLock(target, { operation: 'state migrate', timeoutMs }, async (lock) => {
        const current = await target.read();
        if (current && canonical(current) === canonical(doc)) {
          ctx.host.notify(output('state.migrated', `${target.location} already holds this state (lineage ${doc.lineage}, serial ${doc.serial}); nothing to do.\n`));
          return;
        }
        const refused = current && flags.force !== true ? refusal(current, doc, target) : undefined;
        if (refused) throw refused;
        const force = current !== undefined && (flags.force === true || isEmpty(current));
        const { serial } = await target.replace(lock, doc, { force });
        const written = await target.read();
        if (!written || canonical(written) !== canonical({ ...doc, serial })) {
          throw stateError('state-corrupt', `the state read back from ${target.location} differs from the one written`, {
            source: 'internal',
            hint: `the source at ${source.location} is unchanged; check the target store`,
          });
        }
        ctx.host.notify(output(
          'state.migrated',
          `Migrated the state from ${source.location} to ${target.location}: lineage ${doc.lineage}, serial ${serial}, ` +
            `${Object.keys(doc.resources).length} resource(s), ${doc.pending.length} pending intent(s).\n`,
        ));
        if (serial !== doc.serial) ctx.host.notify(output('state.note', `The serial moved from ${doc.serial} to ${serial}: the target held this lineage at serial ${current?.serial}.\n`, 'warn'));
      });
    });
  } finally {
    await source.close();
    await target.close();
  }
}

/** Adds `migrate` to the `state` command. */
export function registerStateMigrate(state: Command, ctx: CommandContext): void {
  state
    .command('migrate')
    .description('copy the state to another store (file <-> postgres://, or between pg workspaces), keeping lineage and serial')
    .option('--from <path|url>', 'the state to copy (default: the --state location)')
    .requiredOption('--to <path|url>', 'where to copy it: a file path or postgres://...')
    .option('--force', 'overwrite a different, non-empty state at --to')
    .option('--lock-timeout <duration>', 'wait this long for a busy lock on either state (e.g. 30s, 5m)', '0')
    .addHelpText('after', HELP)
    .action(async (flags: MigrateFlags) => {
      await migrate(ctx, flags);
    });
}
