import type { Address, ManifestKind } from '../model/address.ts';
import { assignDefined } from '../model/objects.ts';
import type { Action } from './action.ts';
import type { Change, ReplaceChange } from './change.ts';

/**
 * Building changes, type-checked: `made(base(...), members, more?)` is the change
 * `{ ...base(...), ...members, ...more }` without its undefined members. Pure.
 *
 * Not written as that spread literal: V8 (Node 20) builds an object literal that adds members after
 * a spread of a non-empty object on a slow path, ~1 µs a member. `{ ...base(...), ...common }` took
 * ~17 µs a change, 1.7 s of a 100,000-job plan; merged by a loop it takes ~2 µs (bench/RESULTS.md,
 * "Session 7").
 */

/** The members every change starts with, in this order (a member merged over one keeps its place, as in a spread). */
export function base<K extends ManifestKind, A extends Action>(address: Address, kind: K, action: A, reason: string) {
  return { address, kind, action, reason, fields: [] as const, preventDestroy: false };
}

/** `{ ...A, ...B }` as TypeScript types a spread: B's members win. */
type Spread<A, B> = Omit<A, keyof B> & B;

/**
 * The change `{ ...head, ...members, ...more }` without its undefined members. The trailing rest
 * parameter is the type check a spread literal passed to `(change: Change)` had: when the merged
 * members are not a Change, the call needs an argument of type never, and does not compile.
 */
export function made<H extends object, M extends Partial<Change>, N extends Partial<Change> = Record<never, never>>(
  head: H,
  members: M,
  more?: N,
  ...notAChange: Spread<Spread<H, M>, N> extends Change ? [] : [mergedMembersAreNotAChange: never]
): Change {
  void notAChange;
  const out: Record<string, unknown> = {};
  assignDefined(out, head);
  assignDefined(out, members);
  if (more !== undefined) assignDefined(out, more);
  return out as unknown as Change;
}

/** The members of a change of a live job the address keeps (planExisting). */
export type LiveCommon = Omit<ReplaceChange, keyof ReturnType<typeof base> | 'replaceBecause'>;
