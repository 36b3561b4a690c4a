import { SmsReconcileError } from '../model/errors.ts';

/** Codes the service answers that are worth retrying (throttling and server faults). */
export const RETRYABLE_CODES: ReadonlySet<string> = new Set([
  'ThrottlingException', 'Throttling', 'TooManyRequestsException', 'RequestLimitExceeded', 'InternalError', 'InternalFailure',
  'TemporarilyUnavailableException', 'ServiceUnavailable', 'RequestTimeout',
]);

/**
 * Refusals that a retry in the same run would only repeat: the request is wrong for this server or
 * job, or the world disagrees with it (a racing writer made the job first). Never retried, even
 * when an endpoint answers them with a 5xx.
 */
export const TERMINAL_CODES: ReadonlySet<string> = new Set([
  'ServerCannotBeReplicatedException', 'InvalidParameterException', 'MissingRequiredParameterException', 'ReplicationJobAlreadyExistsException',
  'ReplicationJobNotFoundException', 'ReplicationRunLimitExceededException', 'NoConnectorsAvailableException', 'OperationNotPermittedException',
  'UnauthorizedOperationException',
]);

export const THROTTLING_CODES: ReadonlySet<string> = new Set(['ThrottlingException', 'Throttling', 'TooManyRequestsException', 'RequestLimitExceeded']);

/**
 * A failed SMS call. `apiCode` is the service's error code (e.g. ReplicationJobNotFoundException),
 * or one of ours for failures below the API: `endpoint-unreachable`, `malformed-response`.
 */
export class SmsApiError extends SmsReconcileError {
  readonly apiCode: string;
  readonly action: string;
  readonly httpStatus: number | undefined;
  readonly throttled: boolean;
  /** The message without the action prefix. */
  readonly detail: string;

  constructor(action: string, apiCode: string, message: string, opts: { httpStatus?: number; cause?: unknown; hint?: string; retryable?: boolean }) {
    const retryable = opts.retryable ?? (!TERMINAL_CODES.has(apiCode) && (RETRYABLE_CODES.has(apiCode) || (opts.httpStatus !== undefined && opts.httpStatus >= 500)));
    super(`sms-${apiCode}`, `${action} failed: ${apiCode}: ${message}`, { source: 'remote', cause: opts.cause, hint: opts.hint, retryable });
    this.name = 'SmsApiError';
    this.apiCode = apiCode;
    this.detail = message;
    this.action = action;
    this.httpStatus = opts.httpStatus;
    this.throttled = THROTTLING_CODES.has(apiCode) || opts.httpStatus === 429;
  }
}

export function isSmsApiError(e: unknown, apiCode?: string): e is SmsApiError {
  return e instanceof SmsApiError && (apiCode === undefined || e.apiCode === apiCode);
}

/**
 * The call definitely did not take effect: the service answered with a refusal (a terminal code,
 * any 4xx, or throttling past the retry budget). A 5xx or a network failure leaves the outcome
 * unknown.
 */
export function isDefiniteRefusal(e: unknown): e is SmsApiError {
  if (!isSmsApiError(e) || e.retryable) return false;
  return TERMINAL_CODES.has(e.apiCode) || (e.httpStatus !== undefined && e.httpStatus < 500);
}
