// Regenerates the manifest reference in README.md (between the manifest-reference markers) from
// schemas/manifest.v1.schema.json and the diagnostic-code table.
//   node --import tsx scripts/gen-manifest-reference.ts           rewrite README.md
//   node --import tsx scripts/gen-manifest-reference.ts --check   exit 1 when README.md is stale
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { REFERENCE_BEGIN, REFERENCE_END, withManifestReference } from '../src/manifest/reference.ts';

const readmePath = fileURLToPath(new URL('../README.md', import.meta.url));
const readme = readFileSync(readmePath, 'utf8');
if (!readme.includes(REFERENCE_BEGIN) || !readme.includes(REFERENCE_END)) {
  process.stderr.write(`README.md has no ${REFERENCE_BEGIN} ... ${REFERENCE_END} markers\n`);
  process.exit(1);
}
const next = withManifestReference(readme);
if (process.argv.includes('--check')) {
  if (next !== readme) {
    process.stderr.write('README.md manifest reference is stale: run node --import tsx scripts/gen-manifest-reference.ts\n');
    process.exit(1);
  }
  process.stdout.write('README.md manifest reference is up to date\n');
} else if (next !== readme) {
  writeFileSync(readmePath, next);
  process.stdout.write('README.md manifest reference regenerated\n');
} else {
  process.stdout.write('README.md manifest reference already up to date\n');
}
