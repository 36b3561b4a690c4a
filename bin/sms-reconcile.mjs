#!/usr/bin/env node
// Entry point. Runs the bundle that scripts/build.mjs makes from src/ (built by `npm ci`, and again
// here whenever a source file is newer than it); when it cannot be built, the TypeScript sources
// through tsx.
import { freshBundle } from '../scripts/build.mjs';

const bundle = await freshBundle();
let main;
if (bundle) {
  ({ main } = await import(bundle));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
// The command is done. A request that failed leaves a timer of @smithy/node-http-handler 2.x
// armed for requestTimeout + connectionTimeout (35 s; it is cleared only on success), which kept a
// failed plan alive for 35 s after its error. Exit once the output had a moment to drain; a
// process with nothing pending exits before this (the timer is unref'd).
setTimeout(() => process.exit(), 500).unref();
