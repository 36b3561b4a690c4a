/**
 * The one registry of the codes the tool reports: every error it raises on purpose, and every event
 * of its JSON log (`--log-format json`). Each code has a doc line; `docs/messages.md` is generated
 * from this file (`node --import tsx scripts/gen-messages-doc.ts`) and a test keeps it true.
 *
 * Codes are a contract: scripts match on them. Renaming one is a breaking change (say so in the
 * CHANGELOG). An SmsReconcileError takes only a registered code (`ErrorCode`), or `sms-<ApiCode>` for
 * an error the SMS API answered with (`SmsErrorCode`). Manifest diagnostics (`SMSR-M...`) have their
 * own registry, with severities: `manifest/diagnostics.ts`.
 */

export interface CodeInfo {
  /** Whose fault it is, as the error's `source` says. */
  readonly source: 'user' | 'remote' | 'internal';
  readonly doc: string;
}

export const ERROR_CODES = {
  // The command line.
  'apply-args': { source: 'user', doc: 'apply was given both a saved plan and -f, or neither.' },
  'approval-needed': { source: 'user', doc: 'apply would change something, and neither a terminal nor --auto-approve can approve it (also `apply -f -` without --auto-approve).' },
  'bad-address': { source: 'user', doc: 'A --target, --replace or import argument is not a resource address.' },
  'bad-endpoint': { source: 'user', doc: '--endpoint-url (or AWS_ENDPOINT_URL_SMS) is not an http(s) URL or `embedded`.' },
  'bad-faults': { source: 'user', doc: 'The server\'s --faults file cannot be read or is invalid.' },
  'bad-flag': { source: 'user', doc: 'A flag was given a value it does not take, or a combination of flags that does not go together.' },
  'bad-inventory': { source: 'user', doc: 'The server\'s --inventory file cannot be read or is invalid.' },
  'bad-max-chars': { source: 'user', doc: '--max-chars is not a whole number, or is below what the Markdown heading needs (the message names the minimum).' },
  'bad-max-connections': { source: 'user', doc: 'server --max-connections is not a positive whole number.' },
  'bad-parallelism': { source: 'user', doc: '--parallelism is not a whole number from 1 to 64.' },
  'bad-max-concurrent-jobs': { source: 'user', doc: '--max-concurrent-jobs (or SMS_RECONCILE_MAX_CONCURRENT_JOBS) is not a whole number of at least 1.' },
  'bad-port': { source: 'user', doc: 'server --port is not a port number.' },
  'invalid-duration': { source: 'user', doc: 'A duration flag (--lock-timeout, --wait-timeout, ...) is not a duration such as 30s, 5m or 1h.' },
  'port-in-use': { source: 'user', doc: 'server --port: another process listens there.' },
  'split-dir-foreign': { source: 'user', doc: 'plan --split DIR holds plan-N.md files that sms-reconcile did not write; they are not replaced.' },
  'destroy-not-allowed': { source: 'user', doc: 'The plan deletes or replaces jobs: review them, then pass --allow-destroy (preventDestroy blocks them whatever the flags).' },
  'internal': { source: 'internal', doc: 'An unexpected error (a bug in sms-reconcile): the message says what failed; please report it.' },
  // The controller.
  'bad-mode': { source: 'user', doc: 'controller --mode is not apply or observe.' },
  'listen-invalid': { source: 'user', doc: 'controller --listen is not HOST:PORT, or that address cannot be bound (not local, or not allowed).' },
  'listen-in-use': { source: 'user', doc: 'controller --listen: another process listens on that port.' },
  'secret-file-missing': { source: 'user', doc: 'A secret or token file (--webhook-secret-file, --ui-token-file) does not exist.' },
  'secret-file-readable': { source: 'user', doc: 'A secret file is readable by group or others: chmod 600 it.' },
  'ui-token-required': { source: 'user', doc: 'controller --listen on a non-loopback address needs --ui-token-file: the dashboard, /status and /metrics are served only with the token.' },
  'secret-file-empty': { source: 'user', doc: 'A secret file is empty (trailing whitespace and newlines are trimmed).' },
  'git-fetch-failed': { source: 'remote', doc: 'A controller cycle could not fetch its git source, and has no earlier revision to fall back on.' },
  'operation-failed': { source: 'remote', doc: 'A controller cycle\'s apply left an operation unfinished without a more precise code (the message says which).' },
  // Manifests.
  'manifest-invalid': { source: 'user', doc: 'The manifests have errors (each reported as an SMSR-M diagnostic above it); nothing was planned.' },
  'manifest-schema-invalid': { source: 'internal', doc: 'A JSON schema shipped with the package does not compile (a broken install).' },
  'desired-duplicate-key': { source: 'internal', doc: 'Two desired resources have one address after normalization (a bug: validation should have caught it).' },
  // Plans and saved plans.
  'plan-failed': { source: 'user', doc: 'The plan cannot be made: a selector matches no server or several, or preventDestroy protects a job the plan would delete.' },
  'plan-file-invalid': { source: 'user', doc: 'The saved plan is not a plan file of this tool (not JSON, or not its schema).' },
  'plan-file-modified': { source: 'user', doc: 'The saved plan was edited after it was written (its digest does not match).' },
  'plan-file-unreadable': { source: 'user', doc: 'The saved plan cannot be read.' },
  'plan-file-version': { source: 'user', doc: 'The saved plan was written by another version of the plan format.' },
  'plan-out-unwritable': { source: 'user', doc: 'plan --out cannot write the plan file there.' },
  'plan-stale': { source: 'user', doc: 'Something moved since the saved plan was made (state serial or lineage, manifests, live jobs); the reasons are listed: plan again.' },
  'plan-stdin-needed': { source: 'user', doc: 'The saved plan was made from -f -: apply it with the same stream piped in again, and --auto-approve.' },
  // Apply.
  'retire-blocked': { source: 'user', doc: 'A retire (cutover: true) cannot be carried out: the server has no job, a run is in progress, or no run has completed; nothing was deleted.' },
  'catalog-import-failed': { source: 'remote', doc: 'The server catalog import ended in a state other than AVAILABLE; the jobs that waited for it were not created.' },
  'wait-interrupted': { source: 'user', doc: 'A wait (for a deletion, an import or a first replication) was interrupted by a signal.' },
  'wait-timeout': { source: 'remote', doc: 'A wait did not end within --wait-timeout; what was done is recorded, and the next run goes on from there.' },
  // Import and export.
  'import-address-taken': { source: 'user', doc: 'import: the state already holds another job at that address.' },
  'import-job-taken': { source: 'user', doc: 'import: the job is already managed at another address.' },
  'import-no-job': { source: 'user', doc: 'import: the target has no job with that id (or it is DELETING or DELETED).' },
  'import-server-mismatch': { source: 'user', doc: 'import: the address selects another server than the job\'s.' },
  'export-empty': { source: 'user', doc: 'export: the target has no live job and no imported catalog.' },
  'export-would-overwrite': { source: 'user', doc: 'export --out would replace a file it did not write, or one changed since (or a symlink); pass --force to replace it.' },
  // State (ARCHITECTURE.md section 5).
  'state-corrupt': { source: 'user', doc: 'The state (snapshot, journal or lock record) is not valid JSON or does not match the schema.' },
  'state-version-newer': { source: 'user', doc: 'The state was written by a newer sms-reconcile (its formatVersion is above the one this build knows).' },
  'state-version-unsupported': { source: 'user', doc: 'The state has an old formatVersion for which no upgrader exists.' },
  'state-locked': { source: 'user', doc: 'Another holder has the state lock (and, after --lock-timeout, still has it); its holder and age are shown.' },
  'state-lock-lost': { source: 'user', doc: 'This process\'s lock was released, force-unlocked or taken over: it may not write any more.' },
  'state-lock-required': { source: 'internal', doc: 'A write was attempted with a lock that this store did not issue, or that was released.' },
  'state-lock-id-mismatch': { source: 'user', doc: 'force-unlock was given an id that is not the id of the current lock.' },
  'state-not-locked': { source: 'user', doc: 'force-unlock found no lock at all.' },
  'state-exists': { source: 'internal', doc: 'A state was initialized where one already exists.' },
  'state-missing': { source: 'user', doc: 'A command that needs a state found none (apply creates it).' },
  'state-unknown-intent': { source: 'internal', doc: 'A journal result named an intent that is not pending (never recorded, or already resolved).' },
  'state-invalid-change': { source: 'internal', doc: 'A state change was malformed (a bad address, a record for another address, ...).' },
  'state-lineage-mismatch': { source: 'user', doc: 'state push was given a state of another lineage (and not --force).' },
  'state-serial-not-newer': { source: 'user', doc: 'state push was given a state whose serial is not newer than the current one (and not --force).' },
  'state-target-mismatch': { source: 'user', doc: 'The state belongs to another endpoint or region than this run\'s: pass the same --endpoint-url/--region, or another --state.' },
  'state-address-invalid': { source: 'user', doc: 'A state command was given something that is not a resource address.' },
  'state-resource-missing': { source: 'user', doc: 'A state command named an address that the state does not hold.' },
  'state-location-invalid': { source: 'user', doc: 'The state location cannot be used as given: a malformed postgres:// URL, a bad --state-schema or --workspace name, or an option that does not apply to a file state.' },
  'state-db-unreachable': { source: 'remote', doc: 'The PostgreSQL server could not be reached: refused, no such host, or no answer within the connect timeout.' },
  'state-db-auth': { source: 'user', doc: 'PostgreSQL refused the login: wrong user or password, or no pg_hba.conf entry for this client.' },
  'state-db-connection-lost': { source: 'remote', doc: 'The connection to PostgreSQL was lost during an operation; the change in flight may or may not have been committed, and the journal lets the next run find out.' },
  'state-db-schema-newer': { source: 'user', doc: 'The database\'s state schema was migrated by a newer sms-reconcile than this one.' },
  'state-db-error': { source: 'remote', doc: 'PostgreSQL refused an operation for another reason (permissions, a missing database, ...): the SQLSTATE is in the message.' },
  'state-io': { source: 'user', doc: 'The file system refused an operation on the state files (the message names the file and the errno).' },
} as const satisfies Record<string, CodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The codes whose registered source is `source`: `userError` takes only user codes. */
export type ErrorCodeOf<S extends CodeInfo['source']> = { [K in ErrorCode]: (typeof ERROR_CODES)[K]['source'] extends S ? K : never }[ErrorCode];

/** An error the SMS API answered with (`sms-ThrottlingException`), or one below it (`sms-endpoint-unreachable`, `sms-malformed-response`). */
export type SmsErrorCode = `sms-${string}`;

/**
 * The events of the JSON log: the `event` field of a log record (and the `code` of its IoMessage,
 * model/messages.ts). They go to the log (stderr) at their level; the apply's events are also shown
 * as lines on stdout.
 */
export const EVENT_CODES = {
  'apply.phase': 'A phase of the apply starts (catalog, destroy, create, ...), with how many operations it holds.',
  'apply.recovered': 'An operation that a crashed run left pending was resolved by observing the live jobs: whether it happened.',
  'apply.start': 'An operation starts (debug level).',
  'apply.done': 'An operation succeeded, with its duration and, for a create, the job id.',
  'apply.failed': 'An operation failed: address, VM name, server id, operation, SMS code and message, and what the next apply does (onRerun).',
  'apply.skipped': 'A change was not attempted because it depends on a failure (because names it).',
  'apply.waiting': 'The apply waits for something (a deletion, the catalog import).',
  'apply.stopping': 'A signal asked the apply to stop: no new operation is started.',
  'apply.wave': 'apply --wait waited for a wave: its number, its jobs, and how many failed (then the later waves are not started).',
  'apply.summary': 'The apply ended: counts per outcome (created, updated, failed, skipped, ...) and its duration.',
  'controller.started': 'The controller started: its listen address, identity, mode, interval, lease backend and state.',
  'controller.leadership': 'This controller became the leader or a standby; names the previous and the new holder.',
  'controller.lease-error': 'Renewing or taking the leader lease failed (the controller stays or becomes a standby).',
  'controller.trigger': 'A cycle was asked for, with the reason (debug level); triggers during a cycle coalesce into one more.',
  'controller.fetch-failed': 'git fetch of the source failed; the last good revision stays in use.',
  'controller.cycle-start': 'A cycle starts, with the revision it reads.',
  'controller.recovered': 'A cycle resolved an operation that an earlier run left pending.',
  'controller.operation-done': 'An operation of a cycle\'s apply succeeded.',
  'controller.operation-failed': 'An operation of a cycle\'s apply failed: the VM and the SMS code; later cycles retry it.',
  'controller.cycle': 'A cycle ended: result (success, failed, invalid, partial), revision, duration, changes, drift, errors.',
  'controller.cycle-error': 'An error of a cycle that is not one operation\'s (invalid manifests, an unreachable endpoint, a held state lock, ...), with its code.',
  'controller.webhook': 'POST /reconcile was accepted and triggered a cycle.',
  'controller.webhook-refused': 'POST /reconcile was refused (unsigned, wrongly signed, too large, or not from loopback without a secret).',
  'controller.ui-signin-refused': 'The dashboard\'s sign-in form was given a wrong token.',
  'controller.http-error': 'The HTTP listener failed to answer a request.',
  'controller.stopping': 'A signal asked the controller to stop: the running cycle finishes, then the lease and lock are released.',
  'controller.exit-deadline': 'The graceful stop did not finish within its deadline: the controller exits 1.',
  'controller.exit-now': 'A second signal: the controller exits at once (130); the journal keeps the state correct.',
  'controller.stopped': 'The controller stopped after releasing its lease and the state lock.',
  'server.started': 'sms-reconcile server started: its region, data directory, clock and access key id; the text says where the credentials come from (info).',
  'server.stopping': 'A signal stops sms-reconcile server (info).',
  'server.non-loopback': 'The embedded server listens on an address other machines can reach; it is meant for tests and demos.',
  'server.request': 'One request to the embedded server: its action, status, duration and error code (debug level).',
  'server.response-failed': 'The embedded server could not write a response (the client went away).',
  'server.unexpected-error': 'A request to the embedded server failed in an unexpected way (a bug): it was answered InternalError.',
} as const satisfies Record<string, string>;

export type EventCode = keyof typeof EVENT_CODES;

/**
 * The messages that carry a command's output or a note for the person at the terminal: shown as
 * text on `to` whatever --log-format and --log-level say, never as log records (the bytes a user
 * sees stay the same). `result` messages are the command's output on stdout.
 */
export interface OutputInfo {
  readonly to: 'stdout' | 'stderr';
  readonly doc: string;
}

export const OUTPUT_CODES = {
  'cli.version': { to: 'stdout', doc: '--version: the version.' },
  'cli.usage': { to: 'stdout', doc: '--help: the usage of the program or a command.' },
  'cli.usage-error': { to: 'stderr', doc: 'The command line does not parse (an unknown option, a missing argument), with the usage hint.' },
  'cli.error': { to: 'stderr', doc: 'A command failed: `Error [CODE]: message`, then a `hint:` line when there is one; the code is one of the errors below.' },
  'cli.internal-error': { to: 'stderr', doc: 'An unexpected error (a bug): its stack.' },
  'manifest.diagnostics': { to: 'stderr', doc: 'plan and apply: the manifests\' diagnostics (file:line:column: severity CODE: message), with the offending line.' },
  'validate.result': { to: 'stdout', doc: 'validate: the diagnostics and the summary, as text or as the JSON report (--format json).' },
  'plan.rendered': { to: 'stdout', doc: 'plan: the plan, as text, JSON or Markdown (--format).' },
  'plan.parts': { to: 'stdout', doc: 'plan --split DIR: the paths of the Markdown parts written.' },
  'plan.saved': { to: 'stdout', doc: 'plan --out FILE (text format): where the plan was saved, and how to apply exactly it.' },
  'plan.warning': { to: 'stderr', doc: 'A plan warning shown before its problems (a delete of jobs another manifest set declared).' },
  'plan.problem': { to: 'stderr', doc: 'A reason the plan cannot be made (one of the plan problem codes below), with its manifest position and hint.' },
  'apply.plan': { to: 'stdout', doc: 'apply: the plan it carries out (text), before asking for approval; again for the jobs that waited for a catalog import.' },
  'apply.confirm': { to: 'stdout', doc: 'apply at a terminal: the question whether to perform the plan (only "yes" is accepted).' },
  'apply.begin': { to: 'stdout', doc: 'apply: approved, the operations start (a blank line between the plan and their lines).' },
  'apply.cancelled': { to: 'stdout', doc: 'apply: the confirmation was not "yes"; nothing was changed.' },
  'apply.stale': { to: 'stderr', doc: 'apply PLANFILE: why the saved plan is stale (the plan-stale error follows).' },
  'apply.progress': { to: 'stdout', doc: 'apply --wait: the created jobs\' replication progress: a table redrawn in place on a terminal, else a line per job event and a summary at most every --progress-interval.' },
  'apply.report': { to: 'stdout', doc: 'apply: the report of what was done, what failed and what was skipped.' },
  'apply.waited': { to: 'stdout', doc: 'apply --wait: whether every new job completed its first replication run.' },
  'apply.waves': { to: 'stdout', doc: 'apply: the waves whose changes are held and what each waits for; with --wait, each wave waited for, its gate opening, or where the advance stopped (a failed replication, a member without a job, --wait-timeout).' },
  'apply.stop-now': { to: 'stderr', doc: 'apply: a second signal; the process exits at once (130).' },
  'status.jobs': { to: 'stdout', doc: 'status: the managed jobs now, as a table or one JSON line (--format json).' },
  'status.progress': { to: 'stdout', doc: 'status --watch: the table redrawn in place on a terminal, else a line per job event and a summary now and then.' },
  'state.list': { to: 'stdout', doc: 'state list: one line per managed address with its job id.' },
  'state.record': { to: 'stdout', doc: 'state show ADDR: the record as JSON.' },
  'state.removed': { to: 'stdout', doc: 'state rm: one line per address removed (its job stays in SMS).' },
  'state.pulled': { to: 'stdout', doc: 'state pull: the whole state as JSON.' },
  'state.pushed': { to: 'stdout', doc: 'state push: the state replaced, with its lineage and serial.' },
  'state.migrated': { to: 'stdout', doc: 'state migrate: the state copied (or already there), with its lineage, serial and counts.' },
  'state.note': { to: 'stderr', doc: 'A state command\'s note: no state there, operations pending, the serial written or moved.' },
  'lock.removed': { to: 'stdout', doc: 'force-unlock: the lock that was broken (id, holder, age).' },
  'import.done': { to: 'stdout', doc: 'import: the job recorded, with its server and VM.' },
  'export.manifests': { to: 'stdout', doc: 'export: the manifests (YAML on stdout), or with --out how many files were written.' },
  'export.adopted': { to: 'stderr', doc: 'export: how many jobs were recorded in state, and what plan shows on the exported manifests.' },
  'server.listening': { to: 'stdout', doc: 'server: the URL it listens on.' },
} as const satisfies Record<string, OutputInfo>;

export type OutputCode = keyof typeof OUTPUT_CODES;

/** The code of every message of the stream (model/messages.ts): a log event or an output. */
export type MessageCode = EventCode | OutputCode;

export function isEventCode(code: string): code is EventCode {
  return Object.hasOwn(EVENT_CODES, code);
}

export function isOutputCode(code: string): code is OutputCode {
  return Object.hasOwn(OUTPUT_CODES, code);
}

/** The warnings of a plan (its `warnings[].code`, in every rendering); the plan schema lists them in this order. */
export const PLAN_WARNING_CODES = {
  'no-healthy-connector': 'No healthy connector serves the VM manager of a job to create (or none will once a planned disassociation is done): CreateReplicationJob would fail.',
  'server-busy': 'The server\'s previous job is DELETING: apply waits for DELETED before creating the new one.',
  'catalog-not-imported': 'The server catalog is not imported: jobs that need it resolve after the import the plan starts.',
  'on-demand-limit': 'The job has had its on-demand runs for the last 24 hours: the service would refuse another.',
  'on-demand-not-ready': 'The service refuses an on-demand run now (the seed run has not completed, or a run is in progress).',
  'concurrent-job-limit': "Creates wait for the account's concurrent-job limit (--max-concurrent-jobs): they are held until slots free up.",
  'create-only-change': 'A create-only field (seedReplicationTime) differs from the live job: not applied unless planned with --replace ADDRESS.',
  'match-empty': 'A ReplicationJobSet\'s spec.match selects no server in the catalog.',
  'job-terminated': 'The job is FAILED: a new job is created, or --replace is needed for an update.',
  'next-run-in-past': 'nextReplicationRunStartTime is in the past and is not applied.',
  'create-drops-next-run': 'A new job starts at seedReplicationTime: its nextReplicationRunStartTime is applied by a later apply, once the seed run has ended.',
  'foreign-root-delete': 'The plan deletes jobs that another manifest set (another -f root) declared.',
  'job-expiring': 'SMS terminates a job 90 days after its replication began: this one reaches day 75 (15 days left) or day 83 (7 days left). Cut over, or ask AWS Support for an extension.',
  'job-expired': 'The job passed its 90 days and SMS terminated it: a new job is created only with --replace ADDRESS.',
} as const satisfies Record<string, string>;

export type PlanWarningCode = keyof typeof PLAN_WARNING_CODES;

/** The problems that prevent a plan (the plan-failed error lists them, each with its position). */
export const PLAN_PROBLEM_CODES = {
  'selector-no-match': 'A spec.server selector matches no server in the catalog (the message names the near candidates).',
  'selector-ambiguous': 'A spec.server selector matches several servers (the message names them): narrow it.',
  'server-claimed-twice': 'Two addresses select the same server; a server can have one job.',
  'server-in-two-waves': 'Two documents put the same server in different waves (spec.wave): reported at both positions, each naming the other file.',
  'prevent-destroy': 'lifecycle.preventDestroy protects a job the plan would delete or replace.',
} as const satisfies Record<string, string>;

export type PlanProblemCode = keyof typeof PLAN_PROBLEM_CODES;
