import type { MessageCode } from '../model/codes.ts';
import type { IoHost, IoMessage } from '../model/messages.ts';
import type { Logger } from './logger.ts';

/**
 * A message of the stream (model/messages.ts) as a log record: `{level, time, event: code, ...data,
 * msg: message}`, the JSON line docs/messages.md documents. A `result` is logged at info; data that
 * is not an object is logged as `data`. Records below the logger's level are not built.
 */
export function logMessage(logger: Logger, m: IoMessage<MessageCode, unknown>): void {
  const level = m.level === 'result' ? 'info' : m.level;
  if (!logger.isLevelEnabled(level)) return;
  const fields = typeof m.data === 'object' && m.data !== null && !Array.isArray(m.data) ? m.data : { data: m.data };
  logger[level]({ event: m.code, ...fields }, m.message);
}

/** An IoHost that logs every message it is told (the controller's). */
export function logHost(logger: Logger): IoHost {
  return { notify: (m) => logMessage(logger, m) };
}
