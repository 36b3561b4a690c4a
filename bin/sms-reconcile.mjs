#!/usr/bin/env node
// Entry point: loads the TypeScript sources through tsx, so a plain `npm ci` is enough to run the CLI.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
// The command is done. A request that failed leaves a timer of @smithy/node-http-handler 2.x
// armed for requestTimeout + connectionTimeout (35 s; it is cleared only on success), which kept a
// failed plan alive for 35 s after its error. Exit once the output had a moment to drain; a
// process with nothing pending exits before this (the timer is unref'd).
setTimeout(() => process.exit(), 500).unref();
