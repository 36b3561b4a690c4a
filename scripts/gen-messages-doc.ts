// Regenerates docs/messages.md from the code registries (src/model/codes.ts,
// src/manifest/diagnostics.ts).
//   node --import tsx scripts/gen-messages-doc.ts           rewrite docs/messages.md
//   node --import tsx scripts/gen-messages-doc.ts --check   exit 1 when it is stale
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderMessagesDoc } from '../src/report/render-messages.ts';

const path = fileURLToPath(new URL('../docs/messages.md', import.meta.url));
let current = '';
try {
  current = readFileSync(path, 'utf8');
} catch {
  // not written yet
}
const next = renderMessagesDoc();
if (process.argv.includes('--check')) {
  if (next !== current) {
    process.stderr.write('docs/messages.md is stale: run node --import tsx scripts/gen-messages-doc.ts\n');
    process.exit(1);
  }
  process.stdout.write('docs/messages.md is up to date\n');
} else if (next !== current) {
  writeFileSync(path, next);
  process.stdout.write('docs/messages.md regenerated\n');
} else {
  process.stdout.write('docs/messages.md already up to date\n');
}
