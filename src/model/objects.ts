/** The object without its undefined members (so JSON, deep-equal and spreads see only what is set). */
export function withoutUndefined<T extends object>(o: T): T {
  // A loop, not Object.fromEntries(Object.entries(...)): plan calls this for every change it makes.
  const out: Record<string, unknown> = {};
  const from = o as Record<string, unknown>;
  for (const key of Object.keys(from)) {
    const v = from[key];
    if (v !== undefined) out[key] = v;
  }
  return out as T;
}
