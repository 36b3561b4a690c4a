/**
 * docs/messages.md, rendered from the registries: the error codes and JSON log events of
 * model/codes.ts and the manifest diagnostics of manifest/diagnostics.ts. Pure; the file is written
 * by scripts/gen-messages-doc.ts and kept true by test/unit/messages-doc.test.ts.
 */
import { DIAGNOSTIC_CODES } from '../manifest/diagnostics.ts';
import { ERROR_CODES, EVENT_CODES, type CodeInfo } from '../model/codes.ts';

function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

export function renderMessagesDoc(): string {
  const errors = Object.entries(ERROR_CODES as Record<string, CodeInfo>).sort(([a], [b]) => a.localeCompare(b));
  const events = Object.entries(EVENT_CODES as Record<string, string>);
  const diagnostics = Object.entries(DIAGNOSTIC_CODES);
  return [
    '# Messages: error codes, log events, manifest diagnostics',
    '',
    '<!-- Generated from src/model/codes.ts and src/manifest/diagnostics.ts by `node --import tsx scripts/gen-messages-doc.ts`: edit those, then regenerate. -->',
    '',
    'These codes are a contract: scripts and alerting may match on them, and a rename is a breaking',
    'change (the CHANGELOG says so). The CLI prints an error as `Error [CODE]: message` with a',
    '`hint:` line; with `--log-format json` every record is one JSON object per line with `level`,',
    '`time`, `msg` and, for the events below, `event` and its fields.',
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
    '| event | meaning |',
    '|---|---|',
    ...events.map(([code, doc]) => `| \`${code}\` | ${cell(doc)} |`),
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
