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
// Every byte of output reaches the reader before the process ends, however slowly it reads: wait
// until stdout and stderr have handed all they hold to the OS, then exit. Not exiting at once: a
// pipe takes 64 KiB, and the rest would be lost. Not waiting for the event loop to empty either: a
// request that failed leaves a timer of @smithy/node-http-handler 2.x armed for 35 s (it is cleared
// only on success), which would keep a failed plan alive that long. A reader that has gone
// (`| head -1`) ends the wait at once (EPIPE; see main.ts).
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
process.exit();

/** Resolves once everything written to `stream` so far has been flushed, or the stream has failed or closed. */
function flushed(stream) {
  return new Promise((resolve) => {
    if (stream.destroyed || stream.writableLength === 0) {
      resolve();
      return;
    }
    stream.once('close', resolve);
    stream.once('error', resolve);
    // Writes complete in order: the callback of an empty write runs once every earlier write has.
    stream.write('', () => resolve());
  });
}
