/**
 * The YAML 1.2 core schema's plain-scalar resolution, by yaml's own tests (yaml/dist/schema/core/*.js
 * and common/null.js), in the order yaml tries them: null, bool, int, float; anything else is a
 * string. Shared by the fast parse paths (fast-parse.ts, block-subset.ts) so that they give the
 * values parse.ts gives.
 */
export const CORE_SCALARS: readonly (readonly [tag: string, forms: readonly (readonly [RegExp, (s: string) => unknown])[]])[] = [
  ['null', [[/^(?:~|[Nn]ull|NULL)?$/, () => null]]],
  ['bool', [[/^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/, (s) => s[0] === 't' || s[0] === 'T']]],
  [
    'int',
    [
      [/^0o[0-7]+$/, (s) => parseInt(s.substring(2), 8)],
      [/^[-+]?[0-9]+$/, (s) => parseInt(s, 10)],
      [/^0x[0-9a-fA-F]+$/, (s) => parseInt(s.substring(2), 16)],
    ],
  ],
  [
    'float',
    [
      [/^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/, (s) => (s.slice(-3).toLowerCase() === 'nan' ? NaN : s[0] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY)],
      [/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/, (s) => parseFloat(s)],
      [/^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/, (s) => parseFloat(s)],
    ],
  ],
];

/** Could `s` be anything but a string? (Every non-string core form starts with one of these, or is empty.) */
const MAYBE_NOT_STRING = /^(?:$|[-+.~0-9nNtTfF])/;

/** The value of a plain scalar under the core schema. */
export function resolvePlain(s: string): unknown {
  if (!MAYBE_NOT_STRING.test(s)) return s;
  for (const [, forms] of CORE_SCALARS) {
    for (const [test, construct] of forms) if (test.test(s)) return construct(s);
  }
  return s;
}
