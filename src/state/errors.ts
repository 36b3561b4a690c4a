import { ERROR_CODES, type ErrorCode } from '../model/codes.ts';
import { SmsReconcileError, type ErrorSource } from '../model/errors.ts';

/** The codes of the errors the state layer raises on purpose: those of the registry (model/codes.ts) named `state-*`. */
export type StateErrorCode = Extract<ErrorCode, `state-${string}`>;

export const STATE_ERROR_CODES = (Object.keys(ERROR_CODES) as ErrorCode[]).filter((c): c is StateErrorCode => c.startsWith('state-'));

export interface StateErrorOptions {
  readonly source?: ErrorSource;
  readonly hint?: string;
  readonly cause?: unknown;
}

/** Makes a typed state error; `source` defaults to 'user' (the state or its use is at fault). */
export function stateError(code: StateErrorCode, message: string, options: StateErrorOptions = {}): SmsReconcileError {
  return new SmsReconcileError(code, message, {
    source: options.source ?? 'user',
    hint: options.hint,
    cause: options.cause,
  });
}

/** True when `err` is an SmsReconcileError with the given state code. */
export function hasStateCode(err: unknown, code: StateErrorCode): err is SmsReconcileError {
  return err instanceof SmsReconcileError && err.code === code;
}
