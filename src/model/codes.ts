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
  // The controller.
  'bad-mode': { source: 'user', doc: 'controller --mode is not apply or observe.' },
  'listen-invalid': { source: 'user', doc: 'controller --listen is not HOST:PORT, or that address cannot be bound (not local, or not allowed).' },
  'listen-in-use': { source: 'user', doc: 'controller --listen: another process listens on that port.' },
  'secret-file-missing': { source: 'user', doc: 'A secret or token file (--webhook-secret-file, --ui-token-file) does not exist.' },
  'secret-file-readable': { source: 'user', doc: 'A secret file is readable by group or others: chmod 600 it.' },
  'ui-token-required': { source: 'user', doc: 'controller --listen on a non-loopback address needs --ui-token-file: the dashboard, /status and /metrics are served only with the token.' },
  'secret-file-empty': { source: 'user', doc: 'A secret file is empty (trailing whitespace and newlines are trimmed).' },
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

/** The events of the JSON log: the `event` field of a log record. */
export const EVENT_CODES = {
  'apply.phase': 'A phase of the apply starts (catalog, destroy, create, ...), with how many operations it holds.',
  'apply.recovered': 'An operation that a crashed run left pending was resolved by observing the live jobs: whether it happened.',
  'apply.start': 'An operation starts (debug level).',
  'apply.done': 'An operation succeeded, with its duration and, for a create, the job id.',
  'apply.failed': 'An operation failed: address, VM name, server id, operation, SMS code and message, and what the next apply does (onRerun).',
  'apply.skipped': 'A change was not attempted because it depends on a failure (because names it).',
  'apply.waiting': 'The apply waits for something (a deletion, the catalog import).',
  'apply.stopping': 'A signal asked the apply to stop: no new operation is started.',
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
} as const satisfies Record<string, string>;

export type EventCode = keyof typeof EVENT_CODES;
