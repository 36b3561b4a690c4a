import { ApiError, invalidParameter, missingParameter } from '../errors.ts';
import { DEFAULT_MAX_RESULTS, MAX_MAX_RESULTS } from '../paginate.ts';

/**
 * Request-member checks shared by the handlers. A member of the wrong JSON type is a
 * SerializationException (as AWS JSON services answer); a well-typed value out of range or outside
 * an enum is an InvalidParameterException; a missing required member is a
 * MissingRequiredParameterException. JSON null counts as absent. Unknown members are ignored, as the
 * AWS services do for forward compatibility.
 */
export type Input = Readonly<Record<string, unknown>>;

function typeError(name: string, expected: string, value: unknown): ApiError {
  const got = Array.isArray(value) ? 'array' : typeof value;
  return new ApiError('SerializationException', `Member '${name}' must be ${expected}, but the request has a ${got}.`);
}

const present = (input: Input, name: string): boolean => input[name] !== undefined && input[name] !== null;

export function optionalString(input: Input, name: string, maxLength = 1024): string | undefined {
  if (!present(input, name)) return undefined;
  const v = input[name];
  if (typeof v !== 'string') throw typeError(name, 'a string', v);
  if (v.length > maxLength) throw invalidParameter(`${name} must be at most ${maxLength} characters long.`);
  return v;
}

export function requiredString(input: Input, name: string, maxLength = 1024): string {
  const v = optionalString(input, name, maxLength);
  if (v === undefined || v === '') throw missingParameter(name);
  return v;
}

export function optionalBoolean(input: Input, name: string): boolean | undefined {
  if (!present(input, name)) return undefined;
  const v = input[name];
  if (typeof v !== 'boolean') throw typeError(name, 'a boolean', v);
  return v;
}

export function optionalInteger(input: Input, name: string, min: number, max: number, unit = ''): number | undefined {
  if (!present(input, name)) return undefined;
  const v = input[name];
  if (typeof v !== 'number') throw typeError(name, 'a number', v);
  if (!Number.isInteger(v) || v < min || v > max) {
    throw invalidParameter(`${name} must be a whole number${unit} from ${min} to ${max}; the request has ${v}.`);
  }
  return v;
}

/** Timestamps travel as epoch seconds; fractions are truncated to whole seconds (BEHAVIOR.md). */
export function optionalTimestamp(input: Input, name: string): number | undefined {
  if (!present(input, name)) return undefined;
  const v = input[name];
  if (typeof v !== 'number') throw typeError(name, 'a timestamp in epoch seconds', v);
  if (!Number.isFinite(v) || v < 0 || v > 253402300799) throw invalidParameter(`${name} is not a valid timestamp.`);
  return Math.floor(v);
}

export function requiredTimestamp(input: Input, name: string): number {
  const v = optionalTimestamp(input, name);
  if (v === undefined) throw missingParameter(name);
  return v;
}

export function optionalEnum<T extends string>(input: Input, name: string, values: readonly T[]): T | undefined {
  const v = optionalString(input, name);
  if (v === undefined) return undefined;
  if (!(values as readonly string[]).includes(v)) {
    throw invalidParameter(`${name} must be one of ${values.join(', ')}; the request has '${v}'.`);
  }
  return v as T;
}

export function maxResults(input: Input): number {
  return optionalInteger(input, 'maxResults', 1, MAX_MAX_RESULTS) ?? DEFAULT_MAX_RESULTS;
}

export function nextToken(input: Input): string | undefined {
  const v = optionalString(input, 'nextToken', 2048);
  return v === '' ? undefined : v;
}

/** IAM role names: 1-64 of [A-Za-z0-9+=,.@_-]. */
export const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;
