import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

/**
 * The only place that imports pino. Logs go to stderr (stdout is for plans and data): pretty lines
 * on a TTY, JSON lines otherwise or with `--log-format json`. Credentials and signatures are
 * redacted wherever they appear under the usual names.
 */
export type { Logger };

export interface LoggerOptions {
  readonly level: string;
  readonly format?: 'pretty' | 'json' | undefined;
  readonly stream?: NodeJS.WritableStream & { isTTY?: boolean };
  readonly color?: boolean;
}

export const REDACT_PATHS = [
  'secretAccessKey', '*.secretAccessKey', 'sessionToken', '*.sessionToken', 'authorization', '*.authorization',
  'headers.authorization', 'headers["x-amz-security-token"]', 'password', '*.password', 'connectionString', '*.connectionString',
];

export function createLogger(opts: LoggerOptions): Logger {
  const stream = opts.stream ?? process.stderr;
  const format = opts.format ?? (stream.isTTY ? 'pretty' : 'json');
  const base = { level: opts.level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: undefined };
  if (format === 'json') return pino(base, stream);
  return pino(base, pretty({ destination: stream, colorize: opts.color ?? false, ignore: 'pid,hostname', translateTime: 'HH:MM:ss.l', sync: true }));
}

export const silentLogger: Logger = pino({ level: 'silent' });

