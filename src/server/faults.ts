import { ApiError } from './errors.ts';

/**
 * Faults for tests and benchmarks, from a faults file (`--faults FILE`) or the control endpoint.
 * - `throttle`: a token bucket per action class (`read` = Get*, `mutate` = the rest); an empty
 *   bucket answers ThrottlingException (HTTP 400, as the reference's Common Errors say).
 * - `errors`: per-request probabilities of InternalError / TemporarilyUnavailableException (500)
 *   and ThrottlingException (400): "throttle 20% of requests", whatever the request rate.
 * - `latencyMs`: added before each answer.
 * - `actions`: when given, faults apply to these actions only.
 * Faulted requests change nothing: they are answered before the handler runs.
 */
export interface FaultSpec {
  readonly throttle?: { readonly read?: BucketSpec; readonly mutate?: BucketSpec };
  readonly errors?: { readonly InternalError?: number; readonly TemporarilyUnavailableException?: number; readonly ThrottlingException?: number };
  readonly latencyMs?: number;
  readonly actions?: readonly string[];
}

export interface BucketSpec {
  readonly ratePerSecond: number;
  /** Defaults to ratePerSecond (one second's worth). */
  readonly burst?: number;
}

export function checkFaultSpec(value: unknown): FaultSpec {
  const problems: string[] = [];
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObj(value)) throw new Error('faults must be an object');
  for (const key of Object.keys(value)) {
    if (!['throttle', 'errors', 'latencyMs', 'actions'].includes(key)) problems.push(`unknown key '${key}'`);
  }
  const t = value['throttle'];
  if (t !== undefined) {
    if (!isObj(t)) problems.push('throttle must be an object');
    else for (const [k, b] of Object.entries(t)) {
      if (k !== 'read' && k !== 'mutate') problems.push(`throttle.${k}: expected read or mutate`);
      else if (!isObj(b) || typeof b['ratePerSecond'] !== 'number' || b['ratePerSecond'] <= 0) problems.push(`throttle.${k}.ratePerSecond must be a positive number`);
      else if (b['burst'] !== undefined && (typeof b['burst'] !== 'number' || b['burst'] < 1)) problems.push(`throttle.${k}.burst must be >= 1`);
    }
  }
  const e = value['errors'];
  if (e !== undefined) {
    if (!isObj(e)) problems.push('errors must be an object');
    else for (const [k, p] of Object.entries(e)) {
      if (k !== 'InternalError' && k !== 'TemporarilyUnavailableException' && k !== 'ThrottlingException') {
        problems.push(`errors.${k}: expected InternalError, TemporarilyUnavailableException or ThrottlingException`);
      }
      else if (typeof p !== 'number' || p < 0 || p > 1) problems.push(`errors.${k} must be a probability from 0 to 1`);
    }
  }
  const l = value['latencyMs'];
  if (l !== undefined && (typeof l !== 'number' || l < 0 || l > 60_000)) problems.push('latencyMs must be a number from 0 to 60000');
  const a = value['actions'];
  if (a !== undefined && (!Array.isArray(a) || a.some((x) => typeof x !== 'string'))) problems.push('actions must be a list of action names');
  if (problems.length > 0) throw new Error(`invalid faults: ${problems.join('; ')}`);
  return value as FaultSpec;
}

class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(private readonly spec: BucketSpec, now: number) {
    this.tokens = spec.burst ?? spec.ratePerSecond;
    this.last = now;
  }

  take(now: number): boolean {
    const cap = this.spec.burst ?? this.spec.ratePerSecond;
    this.tokens = Math.min(cap, this.tokens + ((now - this.last) / 1000) * this.spec.ratePerSecond);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export class Faults {
  private spec: FaultSpec = {};
  private buckets: { read?: TokenBucket; mutate?: TokenBucket } = {};

  constructor(
    private readonly monotonicMs: () => number,
    private readonly random: () => number,
  ) {}

  set(spec: FaultSpec): void {
    this.spec = spec;
    const now = this.monotonicMs();
    this.buckets = {
      read: spec.throttle?.read ? new TokenBucket(spec.throttle.read, now) : undefined,
      mutate: spec.throttle?.mutate ? new TokenBucket(spec.throttle.mutate, now) : undefined,
    };
  }

  current(): FaultSpec {
    return this.spec;
  }

  latencyMs(action: string): number {
    return this.applies(action) ? (this.spec.latencyMs ?? 0) : 0;
  }

  /** The injected error for this request, if any. */
  check(action: string, mutating: boolean): ApiError | undefined {
    if (!this.applies(action)) return undefined;
    const bucket = mutating ? this.buckets.mutate : this.buckets.read;
    if (bucket && !bucket.take(this.monotonicMs())) return new ApiError('ThrottlingException', 'Rate exceeded');
    const e = this.spec.errors;
    if (e) {
      const r = this.random();
      const internal = e.InternalError ?? 0;
      const unavailable = internal + (e.TemporarilyUnavailableException ?? 0);
      if (r < internal) return new ApiError('InternalError');
      if (r < unavailable) return new ApiError('TemporarilyUnavailableException');
      if (r < unavailable + (e.ThrottlingException ?? 0)) return new ApiError('ThrottlingException', 'Rate exceeded');
    }
    return undefined;
  }

  private applies(action: string): boolean {
    return this.spec.actions === undefined || this.spec.actions.includes(action);
  }
}
