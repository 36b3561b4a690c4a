/**
 * Used by scripts/build.mjs only: Ajv standalone code for every validator set of the project, which
 * the bundle carries in place of model/precompiled-validators.ts (see model/json-schema.ts). Each
 * set is built by its own `ajv()`, the one the sources compile at run time, with `code` set.
 */
import { createRequire } from 'node:module';
import type standaloneModule from 'ajv/dist/standalone/index.js';
import { MANIFEST_VALIDATORS } from './manifest/validate.ts';
import type { ValidatorSet } from './model/json-schema.ts';
import { INVENTORY_VALIDATORS } from './server/inventory.ts';
import { STATE_VALIDATORS } from './state/codec.ts';

/** From node_modules, like the Ajv instances it reads (json-schema.ts): one copy of Ajv's codegen. */
const standalone = createRequire(import.meta.url)('ajv/dist/standalone/index.js') as typeof standaloneModule;

export const VALIDATOR_SETS: readonly ValidatorSet<string>[] = [MANIFEST_VALIDATORS, STATE_VALIDATORS, INVENTORY_VALIDATORS];

/** Set name -> an ES module exporting one validate function per name of the set's `refs`. */
export function standaloneValidators(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const set of VALIDATOR_SETS) {
    if (out[set.name] !== undefined) throw new Error(`two validator sets are named ${set.name}`);
    out[set.name] = standalone.default(set.ajv({ source: true, esm: true }), { ...set.refs });
  }
  return out;
}
