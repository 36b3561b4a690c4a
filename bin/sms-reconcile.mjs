#!/usr/bin/env node
// Entry point. Runs the bundle that scripts/build.mjs makes from src/ into dist/ (built by `npm ci`
// and `npm pack` in a checkout; shipped inside the package). Nothing is built here: a checkout whose
// dist/ is missing says so. SMS_RECONCILE_FROM_SOURCE=1 runs the TypeScript sources through tsx
// instead (a development aid: tsx is a dev dependency).
let main;
if (process.env.SMS_RECONCILE_FROM_SOURCE === '1') {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
} else {
  try {
    ({ main } = await import('../dist/sms-reconcile.mjs'));
  } catch (err) {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist/sms-reconcile.mjs')) throw err;
    process.stderr.write('Error: sms-reconcile is not built (dist/sms-reconcile.mjs is missing)\n  hint: run `npm run build` in the checkout (npm ci does it too)\n');
    process.exit(1);
  }
}
process.exitCode = await main(process.argv.slice(2));
// The command is done. A request that failed leaves a timer of @smithy/node-http-handler 2.x
// armed for requestTimeout + connectionTimeout (35 s; it is cleared only on success), which kept a
// failed plan alive for 35 s after its error. Exit once the output had a moment to drain; a
// process with nothing pending exits before this (the timer is unref'd).
setTimeout(() => process.exit(), 500).unref();
