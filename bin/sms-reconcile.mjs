#!/usr/bin/env node
// Entry point: loads the TypeScript sources through tsx, so a plain `npm ci` is enough to run the CLI.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
