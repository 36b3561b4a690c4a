import { fileURLToPath } from 'node:url';

/**
 * The package's root directory (where package.json, examples/ and schemas/ are). This module sits
 * one level below the root both as a source file (src/paths.ts) and inside the built bundle
 * (dist/sms-reconcile.mjs, see scripts/build.mjs), so one relative URL serves both: every path to a
 * file shipped with the package goes through here, never through its own `import.meta.url`.
 */
export const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** A file shipped with the package, by its path from the root (`examples/inventory.yaml`). */
export function packageFile(relative: string): string {
  return PACKAGE_ROOT + relative;
}
