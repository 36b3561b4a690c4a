import path from 'node:path';
import { fileRoot, STDIN_ROOT, type ManifestRoots } from '../model/manifest-roots.ts';

/** A path as a manifest root: relative to `cwd`, '/' separators, '.' for `cwd` itself; `-` is `<stdin>`. */
export function rootPath(arg: string, cwd: string): string {
  if (arg === '-' || arg === STDIN_ROOT) return STDIN_ROOT;
  const rel = path.relative(cwd, path.resolve(cwd, arg));
  return rel === '' ? '.' : rel.split(path.sep).join('/');
}

/** The roots of `-f ARGS` and the root of each manifest file read (by display name). */
export function manifestRoots(args: readonly string[], files: Iterable<string>, cwd: string): ManifestRoots {
  const roots = [...new Set(args.map((a) => rootPath(a, cwd)))];
  const rootOfFile = new Map<string, string>();
  for (const file of files) {
    const root = fileRoot(rootPath(file, cwd), roots);
    if (root !== undefined) rootOfFile.set(file, root);
  }
  return { roots, rootOfFile };
}
