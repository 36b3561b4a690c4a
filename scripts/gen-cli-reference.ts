// Regenerates the CLI reference in README.md (between the cli-reference markers) from --help.
//   node --import tsx scripts/gen-cli-reference.ts           rewrite README.md
//   node --import tsx scripts/gen-cli-reference.ts --check   exit 1 when README.md is stale
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderCliReference } from '../src/cli/reference.ts';
import { replaceSection } from '../src/report/doc-sections.ts';

const readmePath = fileURLToPath(new URL('../README.md', import.meta.url));
const readme = readFileSync(readmePath, 'utf8');
const next = replaceSection(readme, 'cli-reference', await renderCliReference());
if (process.argv.includes('--check')) {
  if (next !== readme) {
    process.stderr.write('README.md CLI reference is stale: run node --import tsx scripts/gen-cli-reference.ts\n');
    process.exit(1);
  }
  process.stdout.write('README.md CLI reference is up to date\n');
} else {
  writeFileSync(readmePath, next);
  process.stdout.write(next === readme ? 'README.md CLI reference already up to date\n' : 'README.md CLI reference regenerated\n');
}
