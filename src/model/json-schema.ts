import { createRequire } from 'node:module';
import type * as ajv2020 from 'ajv/dist/2020.js';
import type { Ajv2020, CodeOptions, Options, ValidateFunction } from 'ajv/dist/2020.js';
import type addFormatsModule from 'ajv-formats';
import { PRECOMPILED } from './precompiled-validators.ts';

/**
 * Ajv and ajv-formats are required when a schema is first compiled, not imported: the bundle
 * validates with precompiled code (below) and so never loads the compiler (~280 KB of JavaScript
 * at every start). The sources and the build load them from node_modules.
 */
const requireFromHere = createRequire(import.meta.url);

/**
 * The one way this project builds a JSON Schema (2020-12) validator for the schemas in schemas/:
 * strict mode, plus the string formats those schemas use.
 */
export function createAjv(options: Options = {}): Ajv2020 {
  const ajvModule = requireFromHere('ajv/dist/2020.js') as typeof ajv2020;
  // ajv-formats is CommonJS: module.exports is the plugin, also as `.default`.
  const addFormats = requireFromHere('ajv-formats') as typeof addFormatsModule;
  const ajv = new ajvModule.Ajv2020({ strict: true, ...options });
  addFormats.default(ajv, ['date-time', 'uuid']);
  return ajv;
}

/**
 * Named validators compiled from one Ajv instance (its options, keywords and schemas).
 *
 * Compiling costs: ~40 ms for the manifest schema and ~40 ms for the state schema, twice that with
 * Ajv checking each schema against the 2020-12 meta-schema first - ~150 ms of every plan. So the
 * bundle carries them precompiled: scripts/build.mjs generates Ajv's standalone code for every
 * set in model/validator-sets.ts (the same `ajv()`, with `code` set) in place of
 * precompiled-validators.ts. The sources (tests, tsx) compile on first use, as before.
 */
export interface ValidatorSet<K extends string> {
  /** Unique among the sets (the key of PRECOMPILED). */
  readonly name: string;
  /** The configured instance holding the schemas; `code` is given when precompiling. */
  readonly ajv: (code?: CodeOptions) => Ajv2020;
  /** Validator name -> the schema `$id` (or `$id#/$defs/...`) it validates against. */
  readonly refs: Readonly<Record<K, string>>;
}

/** The validators of `set`, compiled on first use (a command that never validates pays nothing), or precompiled. */
export function lazyValidators<K extends string>(set: ValidatorSet<K>): () => Readonly<Record<K, ValidateFunction>> {
  let fns: Readonly<Record<K, ValidateFunction>> | undefined;
  return () => (fns ??= (PRECOMPILED[set.name] as Readonly<Record<K, ValidateFunction>> | undefined) ?? compileSet(set));
}

function compileSet<K extends string>(set: ValidatorSet<K>): Record<K, ValidateFunction> {
  const ajv = set.ajv();
  const out: Partial<Record<K, ValidateFunction>> = {};
  for (const key of Object.keys(set.refs) as K[]) {
    const fn = ajv.getSchema(set.refs[key]);
    if (fn === undefined) throw new Error(`internal: validator set ${set.name} has no schema ${set.refs[key]}`);
    out[key] = fn;
  }
  return out as Record<K, ValidateFunction>;
}
