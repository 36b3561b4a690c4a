/**
 * Manifest roots: the `-f` paths a plan was made from, as the state records them for each resource
 * it writes, so that a plan made from other manifests can say whose jobs it would delete.
 *
 * A root is the `-f` path relative to the working directory, with '/' separators and no trailing
 * '/' ('.' for the directory itself), or `<stdin>` for `-f -`. PURE: the CLI resolves paths
 * (cli/manifest-roots.ts); this module only compares normalized strings.
 */

/** The root of manifests read from standard input (`-f -`). */
export const STDIN_ROOT = '<stdin>';

/** This plan's roots, and the root each manifest file (by its display name) was found under. */
export interface ManifestRoots {
  /** In `-f` order, without duplicates. */
  readonly roots: readonly string[];
  /** Display name of a manifest file (as in source positions) -> its root. */
  readonly rootOfFile: ReadonlyMap<string, string>;
}

/**
 * The root a file belongs to: the most specific of `roots` that is the file itself or a directory
 * above it. Both are normalized relative paths (see the module comment).
 */
export function fileRoot(file: string, roots: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const root of roots) {
    const under =
      file === root ||
      (root === '.' && !file.startsWith('../') && file !== '..' && !file.startsWith('/')) ||
      file.startsWith(`${root.endsWith('/') ? root.slice(0, -1) : root}/`);
    if (under && (best === undefined || best === '.' || root.length > best.length)) best = root;
  }
  return best;
}
