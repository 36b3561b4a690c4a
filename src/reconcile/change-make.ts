import type { Address, ManifestKind } from '../model/address.ts';
import { withoutUndefined } from '../model/objects.ts';
import type { Action } from './action.ts';
import type { Change, ReplaceChange } from './change.ts';

/** Building changes as type-checked literals: `made({ ...base(...), ...members })`. Pure. */

/** The members every change starts with, in this order (a member spread over one keeps its place). */
export function base<K extends ManifestKind, A extends Action>(address: Address, kind: K, action: A, reason: string) {
  return { address, kind, action, reason, fields: [] as const, preventDestroy: false };
}

/** The change without its undefined members. */
export const made = (change: Change): Change => withoutUndefined(change);

/** The members of a change of a live job the address keeps (planExisting). */
export type LiveCommon = Omit<ReplaceChange, keyof ReturnType<typeof base> | 'replaceBecause'>;
