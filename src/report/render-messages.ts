/**
 * docs/messages.md, rendered from the registries: the error codes and JSON log events of
 * model/codes.ts and the manifest diagnostics of manifest/diagnostics.ts. Pure; the file is written
 * by scripts/gen-messages-doc.ts and kept true by test/unit/messages-doc.test.ts.
 */
import { DIAGNOSTIC_CODES } from '../manifest/diagnostics.ts';
import { ERROR_CODES, EVENT_CODES, OUTPUT_CODES, PLAN_PROBLEM_CODES, PLAN_WARNING_CODES, type CodeInfo, type OutputInfo } from '../model/codes.ts';

function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

export function renderMessagesDoc(): string {
  const errors = Object.entries(ERROR_CODES as Record<string, CodeInfo>).sort(([a], [b]) => a.localeCompare(b));
  const events = Object.entries(EVENT_CODES as Record<string, string>);
  const outputs = Object.entries(OUTPUT_CODES as Record<string, OutputInfo>);
  const diagnostics = Object.entries(DIAGNOSTIC_CODES);
  return [
    '# Messages: error codes, log events, output, plan warnings, manifest diagnostics',
    '',
    '<!-- Generated from src/model/codes.ts and src/manifest/diagnostics.ts by `node --import tsx scripts/gen-messages-doc.ts`: edit those, then regenerate. -->',
    '',
    'These codes are a contract: scripts and alerting may match on them, and a rename is a breaking',
    'change (the CHANGELOG says so). The CLI prints an error as `Error [CODE]: message` with a',
    '`hint:` line.',
    '',
    ...ENVELOPE,
    '',
    '## Errors',
    '',
    'An error the SMS API answered with is `sms-<ApiCode>` (for example `sms-ThrottlingException`,',
    '`sms-ServerCannotBeReplicatedException`); failures below the API are `sms-endpoint-unreachable`',
    'and `sms-malformed-response`. Source says whose fault it is: the user (input, flags, state), the',
    'remote side (SMS, PostgreSQL), or the tool itself (a bug: please report it).',
    '',
    '| code | source | meaning |',
    '|---|---|---|',
    ...errors.map(([code, info]) => `| \`${code}\` | ${info.source} | ${cell(info.doc)} |`),
    '',
    '## JSON log events',
    '',
    'Each is one JSON line on stderr (with `--log-format json`, or when stderr is not a terminal) at',
    'its level, when `--log-level` lets it through (default warn; the controller\'s default is info).',
    '',
    '| event | meaning |',
    '|---|---|',
    ...events.map(([code, doc]) => `| \`${code}\` | ${cell(doc)} |`),
    '',
    '## Output',
    '',
    'Messages whose text is what a person sees: a command\'s output on stdout (plans, reports, tables,',
    'JSON documents), or a note on stderr. They are shown as text whatever `--log-format` and',
    '`--log-level` say, and are not log records.',
    '',
    '| code | to | meaning |',
    '|---|---|---|',
    ...outputs.map(([code, info]) => `| \`${code}\` | ${info.to} | ${cell(info.doc)} |`),
    '',
    '## Plan warnings and problems',
    '',
    'A plan\'s `warnings[].code` (every rendering; `schemas/plan.v1.schema.json` lists them), and the',
    'problems that stop a plan (`plan-failed`), each printed as `file:line:column: error CODE: message`.',
    '',
    '| code | kind | meaning |',
    '|---|---|---|',
    ...Object.entries(PLAN_WARNING_CODES).map(([code, doc]) => `| \`${code}\` | warning | ${cell(doc)} |`),
    ...Object.entries(PLAN_PROBLEM_CODES).map(([code, doc]) => `| \`${code}\` | problem | ${cell(doc)} |`),
    '',
    '## Manifest diagnostics',
    '',
    'Reported by `validate`, `plan` and `apply` as `file:line:column: severity CODE: message`.',
    '',
    '| code | name | severity | meaning |',
    '|---|---|---|---|',
    ...diagnostics.map(([code, d]) => `| \`${code}\` | ${d.name} | ${d.severity} | ${cell(d.meaning)} |`),
    '',
  ].join('\n');
}

/** The envelope of a message, and of its JSON log line: the contract scripts read. */
const ENVELOPE = [
  '## The message stream',
  '',
  'Every command, the executor and the controller report through one stream of typed messages',
  '(`src/model/messages.ts`, the shape of the AWS CDK toolkit-lib\'s IoMessage): `{time, level, code,',
  'message, data}`. The CLI renders each one in one place (`src/cli/io-host.ts`): a log event as a log',
  'record, an output as text, apply and status progress as a table redrawn in place on a terminal.',
  '',
  '| member | meaning |',
  '|---|---|',
  '| `time` | When it happened, epoch milliseconds. |',
  '| `level` | `error`, `warn`, `info`, `debug` or `trace`; `result` for a command\'s output. |',
  '| `code` | One of the codes below: a log event or an output. |',
  '| `message` | The human text: a log record\'s `msg`, or the text an output shows. |',
  '| `data` | The fields a script reads. |',
  '',
  'A log event with `--log-format json` is one JSON object per line on stderr:',
  '',
  '```json',
  '{"level":50,"time":1765000000000,"event":"apply.failed","address":"ReplicationJob/web-01","action":"create","operation":"CreateReplicationJob","vmName":"web-01","serverId":"s-1a2b3c4d","code":"ServerCannotBeReplicatedException","message":"...","outcome":"refused","onRerun":"retry","error":"...","msg":"ReplicationJob/web-01: CreateReplicationJob failed: ..."}',
  '```',
  '',
  '| field | meaning |',
  '|---|---|',
  '| `level` | The message\'s level as a number: 10 trace, 20 debug, 30 info, 40 warn, 50 error. |',
  '| `time` | Epoch milliseconds. |',
  '| `event` | The message\'s `code` (a JSON log event below). |',
  '| `msg` | The message\'s human text. |',
  '| the others | The message\'s `data`, one field each (an event\'s own `code`, such as the SMS error code of `apply.failed`, is a data field). Secrets under the usual names are `[redacted]`. |',
  '',
  'The embedded server\'s own records (`server.*`) carry an `event` too; a record without one comes',
  'from a library below (none is written by sms-reconcile\'s own code).',
];
