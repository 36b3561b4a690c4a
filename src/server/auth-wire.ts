/**
 * SigV4 as it appears on the wire: the algorithm and terminator, the presigned query's parameter
 * names, and the two answers every check gives (IncompleteSignature for a malformed request,
 * SignatureDoesNotMatch for a wrong one), worded as AWS words them.
 */
import { ApiError } from './errors.ts';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const TERMINATOR = 'aws4_request';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

export const Q_ALGORITHM = 'X-Amz-Algorithm';
export const Q_CREDENTIAL = 'X-Amz-Credential';
export const Q_DATE = 'X-Amz-Date';
export const Q_EXPIRES = 'X-Amz-Expires';
export const Q_SIGNED_HEADERS = 'X-Amz-SignedHeaders';
export const Q_SIGNATURE = 'X-Amz-Signature';
export const Q_TOKEN = 'X-Amz-Security-Token';

export const MSG_INVALID_TOKEN = 'The security token included in the request is invalid.';
export const MSG_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.';

export const incomplete = (message: string): ApiError => new ApiError('IncompleteSignature', message);
export const mismatch = (message = MSG_MISMATCH): ApiError => new ApiError('SignatureDoesNotMatch', message);
