/**
 * Typed errors. Every error the tool raises on purpose is an SmsReconcileError with a stable `code`
 * from the registry (model/codes.ts; scripts may match on it), a `source` saying whose fault it is,
 * and optionally a hint telling the user what to do next and a manifest position. Anything else
 * that reaches the CLI is a bug.
 */
import type { ErrorCode, ErrorCodeOf, SmsErrorCode } from './codes.ts';

export type ErrorSource = 'user' | 'remote' | 'internal';

export interface SourcePosition {
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
  /** JSON pointer into the document, e.g. `/spec/frequency`. */
  readonly pointer?: string;
}

export interface ErrorOptions {
  readonly source: ErrorSource;
  readonly cause?: unknown;
  readonly hint?: string;
  readonly position?: SourcePosition;
  /** For errors that come back from an API: whether the same call may succeed later. */
  readonly retryable?: boolean;
}

export class SmsReconcileError extends Error {
  readonly code: ErrorCode | SmsErrorCode;
  readonly source: ErrorSource;
  readonly hint: string | undefined;
  readonly position: SourcePosition | undefined;
  readonly retryable: boolean;

  constructor(code: ErrorCode | SmsErrorCode, message: string, options: ErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SmsReconcileError';
    this.code = code;
    this.source = options.source;
    this.hint = options.hint;
    this.position = options.position;
    this.retryable = options.retryable ?? false;
  }
}

export function userError(code: ErrorCodeOf<'user'>, message: string, hint?: string): SmsReconcileError {
  return new SmsReconcileError(code, message, { source: 'user', hint });
}

export function isSmsReconcileError(value: unknown): value is SmsReconcileError {
  return value instanceof SmsReconcileError;
}
