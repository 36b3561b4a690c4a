import { Ajv2020, type Options, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

/**
 * The one way this project builds a JSON Schema (2020-12) validator for the schemas in schemas/:
 * strict mode, plus the string formats those schemas use. Compile each schema once per process.
 */
export function createAjv(options: Options = {}): Ajv2020 {
  const ajv = new Ajv2020({ strict: true, ...options });
  // ajv-formats is CommonJS: under NodeNext its default import is module.exports, the plugin is `.default`.
  addFormatsModule.default(ajv, ['date-time', 'uuid']);
  return ajv;
}

/**
 * A validator compiled on its first use: compiling a schema costs tens of milliseconds, which a
 * command that never validates against it (`--help`, a remote target's inventory) should not pay.
 */
export function lazyValidator(compile: () => ValidateFunction): () => ValidateFunction {
  let fn: ValidateFunction | undefined;
  return () => (fn ??= compile());
}
