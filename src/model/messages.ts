/**
 * The one message stream (the shape of the AWS CDK toolkit-lib's IoMessage/IoHost). The library and
 * the commands never print: they notify an IoHost of typed messages, and the edge decides what a
 * person or a script sees. The CLI's host (cli/io-host.ts) renders them as text, JSON lines or TTY
 * progress; the controller's host logs them. Every code is registered in model/codes.ts with a doc
 * line; docs/messages.md documents the envelope and every code.
 */
import type { MessageCode } from './codes.ts';

/** `result` is a command's output (stdout); the others are the log's levels. */
export type MessageLevel = 'error' | 'warn' | 'result' | 'info' | 'debug' | 'trace';

export interface IoMessage<C extends MessageCode = MessageCode, D = Readonly<Record<string, unknown>>> {
  /** Epoch milliseconds. */
  readonly time: number;
  readonly level: MessageLevel;
  readonly code: C;
  /** The human text: a log record's `msg`, or what the terminal shows. */
  readonly message: string;
  /** The fields a script reads (a JSON log record's fields beside `event`). */
  readonly data: D;
}

/** Where messages go. Implemented at the edge: the CLI renders them, the controller logs them. */
export interface IoHost {
  notify(msg: IoMessage<MessageCode, unknown>): void;
}

/** A message stamped now (commands); the executor stamps with its injected clock instead. */
export function ioMessage<C extends MessageCode, D = Readonly<Record<string, unknown>>>(
  code: C,
  level: MessageLevel,
  message: string,
  data: D = {} as D,
  time: number = Date.now(),
): IoMessage<C, D> {
  return { time, level, code, message, data };
}

/** A message that carries a command's output text (the `to` of its OUTPUT_CODES entry says where it goes). */
export function output<C extends MessageCode>(code: C, text: string, level: MessageLevel = 'result'): IoMessage<C> {
  return ioMessage(code, level, text);
}
