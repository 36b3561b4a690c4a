/** The object without its undefined members (so JSON, deep-equal and spreads see only what is set). */
export function withoutUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
