import { userError } from '../model/errors.ts';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses `0`, `500ms`, `30s`, `5m`, `1h` (a bare number is seconds) into milliseconds. */
export function parseDuration(text: string, flag = 'duration'): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw userError('invalid-duration', `${flag} "${text}" is not a duration`, 'write it like 0, 500ms, 30s, 5m or 1h');
  return Math.round(Number(m[1]) * (UNITS[m[2] ?? 's'] ?? 1000));
}
