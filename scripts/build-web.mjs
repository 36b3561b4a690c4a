/**
 * The dashboard's part of scripts/build.mjs: src/web/ (plain TypeScript and CSS) bundled and
 * minified for browsers by esbuild, with its two static pages, into dist/web/. Never run by the
 * controller: it serves what this built. Returns esbuild's inputs for build-info.json.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const WEB_STATIC = ['index.html', 'login.html'];

/** The dashboard (src/web/main.ts and app.css), minified for browsers, into `${staging}/web`. */
export async function buildWeb(esbuild, staging, root) {
  const webSrc = join(root, 'src/web');
  const out = join(staging, 'web');
  mkdirSync(out, { recursive: true });
  const result = await esbuild({
    entryPoints: { app: join(webSrc, 'main.ts'), 'app-style': join(webSrc, 'app.css') },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome110', 'firefox110', 'safari16'],
    minify: true,
    outdir: out,
    metafile: true,
    logLevel: 'warning',
    legalComments: 'none',
  });
  renameSync(join(out, 'app-style.css'), join(out, 'app.css'));
  for (const f of WEB_STATIC) writeFileSync(join(out, f), readFileSync(join(webSrc, f)));
  return [...Object.keys(result.metafile.inputs), ...WEB_STATIC.map((f) => relative(root, join(webSrc, f)))];
}

/**
 * Puts a built dist/web in place, file by file: renaming a file over another is atomic, so a
 * concurrent build or a running controller never sees a missing or half-written asset.
 */
export function replaceWeb(staging, dist) {
  const web = join(dist, 'web');
  mkdirSync(web, { recursive: true });
  for (const f of readdirSync(join(staging, 'web'))) renameSync(join(staging, 'web', f), join(web, f));
}
