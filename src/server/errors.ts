/**
 * Errors the embedded server sends on the wire: `{"__type": code, "message": ...}` with the HTTP status
 * the API reference gives (the `x-amzn-errortype` header carries the code too).
 */

export const API_ERROR_STATUS = {
  // Action errors (API reference, per action).
  InternalError: 500,
  InvalidParameterException: 400,
  MissingRequiredParameterException: 400,
  NoConnectorsAvailableException: 400,
  OperationNotPermittedException: 400,
  ReplicationJobAlreadyExistsException: 400,
  ReplicationJobNotFoundException: 400,
  ReplicationRunLimitExceededException: 400,
  ServerCannotBeReplicatedException: 400,
  TemporarilyUnavailableException: 500,
  UnauthorizedOperationException: 400,
  // Common errors (API reference, Common Errors).
  IncompleteSignature: 400,
  InvalidClientTokenId: 403,
  MissingAuthenticationToken: 403,
  RequestExpired: 400,
  ThrottlingException: 400,
  // Not in the reference's list; the status every AWS service uses for them.
  SignatureDoesNotMatch: 403,
  UnrecognizedClientException: 403,
  SerializationException: 400,
  UnknownOperationException: 400,
  RequestEntityTooLargeException: 413,
  NotFoundException: 404,
} as const;

export type ApiErrorCode = keyof typeof API_ERROR_STATUS;

/** Default messages, from the 2016 model where it had one. */
const DEFAULT_MESSAGES: Partial<Record<ApiErrorCode, string>> = {
  ReplicationJobAlreadyExistsException: 'An active Replication Job already exists for the specified server.',
  ReplicationJobNotFoundException: 'The specified Replication Job cannot be found.',
  NoConnectorsAvailableException:
    'No connectors are available to handle this request. Please associate connector(s) and verify any existing connectors are healthy and can respond to requests.',
  ReplicationRunLimitExceededException: 'This user has exceeded the maximum allowed Replication Run limit.',
  ServerCannotBeReplicatedException: 'The provided server cannot be replicated.',
  UnauthorizedOperationException: 'This user does not have permissions to perform this operation.',
  InternalError: 'An internal error occurred.',
  TemporarilyUnavailableException: 'The service is temporarily unavailable.',
};

export class ApiError extends Error {
  readonly code: ApiErrorCode;
  readonly status: number;

  constructor(code: ApiErrorCode, message?: string) {
    super(message ?? DEFAULT_MESSAGES[code] ?? code);
    this.name = 'ApiError';
    this.code = code;
    this.status = API_ERROR_STATUS[code];
  }
}

export const invalidParameter = (message: string): ApiError => new ApiError('InvalidParameterException', message);
export const missingParameter = (member: string): ApiError =>
  new ApiError('MissingRequiredParameterException', `The request is missing a required parameter: ${member}.`);
export const notPermitted = (message: string): ApiError => new ApiError('OperationNotPermittedException', message);
