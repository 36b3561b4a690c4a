/**
 * Vitest global setup of the projects that run the CLI (e2e, slow): the bin runs dist/ and never
 * builds, so the bundle is rebuilt here when a source file is newer than it. `npm test` builds first
 * anyway; this keeps `npx vitest --project e2e` after an edit from testing stale code.
 */
import { build, bundleIsFresh } from '../scripts/build.mjs';

export default async function setup(): Promise<void> {
  if (!bundleIsFresh()) await build();
}
