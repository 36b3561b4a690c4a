/**
 * RFC 3339 date-times <-> epoch seconds. Manifests write timestamps as RFC 3339 strings with a
 * timezone (`2026-03-01T02:00:00Z`, `2026-03-01T03:00:00+01:00`); the model and the wire hold whole
 * epoch seconds.
 *
 * Invariants:
 * - Only `YYYY-MM-DD(T|t| )hh:mm:ss[.fraction](Z|z|+hh:mm|-hh:mm)` is accepted, with a real calendar
 *   date (2026-02-30 is refused), hours 0-23, minutes 0-59, seconds 0-59 (60 only as a leap second
 *   at 23:59 UTC, which counts as the next second: POSIX time has no leap seconds).
 * - Fractions of a second are truncated (the service keeps whole seconds), so parse is many-to-one.
 * - Dates before 1970-01-01T00:00:00Z are refused: the service's timestamps are non-negative.
 * - formatRfc3339(parseRfc3339(s)) is the canonical UTC form (`...Z`, no fraction), and
 *   parseRfc3339(formatRfc3339(n)) === n for every whole n >= 0.
 */

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;
const NO_ZONE = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const COMPACT_ZONE = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?[+-]\d{2}(\d{2})?$/;

export type TimestampParse =
  | { readonly ok: true; readonly epochSeconds: number }
  | { readonly ok: false; readonly reason: string; readonly hint: string };

const EXAMPLE = 'e.g. 2026-03-01T02:00:00Z, or 2026-03-01T03:00:00+01:00';

function fail(reason: string, hint = `write an RFC 3339 date-time with a timezone, ${EXAMPLE}`): TimestampParse {
  return { ok: false, reason, hint };
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

export function parseRfc3339(text: string): TimestampParse {
  const m = RFC3339.exec(text);
  if (!m) {
    if (DATE_ONLY.test(text)) return fail('has a date but no time and no timezone', `add a time and a timezone, e.g. ${text}T00:00:00Z`);
    if (NO_ZONE.test(text)) return fail('has no timezone', `add Z for UTC or an offset such as +01:00, e.g. ${text}Z`);
    if (COMPACT_ZONE.test(text)) return fail('has a timezone offset without a colon', 'write the offset as +hh:mm, e.g. +01:00');
    return fail('is not an RFC 3339 date-time');
  }
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i]));
  const y = year as number;
  const mo = month as number;
  const d = day as number;
  const h = hour as number;
  const mi = minute as number;
  const s = second as number;
  if (mo < 1 || mo > 12) return fail(`has month ${m[2]}, which does not exist`);
  if (d < 1 || d > daysInMonth(y, mo)) return fail(`is not a real date: ${m[1]}-${m[2]} has no day ${m[3]}`, `this month has ${daysInMonth(y, mo)} days`);
  if (h > 23) return fail(`has hour ${m[4]}, which does not exist`, 'hours run from 00 to 23');
  if (mi > 59) return fail(`has minute ${m[5]}, which does not exist`, 'minutes run from 00 to 59');
  let offsetMinutes = 0;
  if (m[8] === undefined) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return fail(`has timezone offset ${m[9]}${m[10]}:${m[11]}, which does not exist`);
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  if (s > 60) return fail(`has second ${m[6]}, which does not exist`, 'seconds run from 00 to 59');
  const utcMinuteOfDay = (((h * 60 + mi - offsetMinutes) % 1440) + 1440) % 1440;
  if (s === 60 && utcMinuteOfDay !== 23 * 60 + 59) return fail('has second 60 outside a leap second (23:59:60 UTC)', 'seconds run from 00 to 59');
  // Date.UTC maps years 0-99 to 1900-1999: refuse early years before it sees them.
  if (y < 1969) return fail('is before 1970-01-01T00:00:00Z', 'use a date in the service era');
  const ms = Date.UTC(y, mo - 1, d, h, mi, s) - offsetMinutes * 60_000;
  const epochSeconds = Math.floor(ms / 1000);
  if (epochSeconds < 0) return fail('is before 1970-01-01T00:00:00Z', 'use a date in the service era');
  return { ok: true, epochSeconds };
}

/** The canonical manifest form of whole epoch seconds: UTC, no fraction. */
export function formatRfc3339(epochSeconds: number): string {
  return new Date(Math.floor(epochSeconds) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
