/**
 * The message registries and their doc: docs/messages.md is what scripts/gen-messages-doc.ts renders
 * from src/model/codes.ts and src/manifest/diagnostics.ts; every JSON log event the sources emit is
 * registered; every registered code is raised somewhere (no dead entries). That every error raised
 * has a registered code is the compiler's job (SmsReconcileError takes only ErrorCode | sms-*).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, EVENT_CODES, OUTPUT_CODES, PLAN_PROBLEM_CODES, PLAN_WARNING_CODES } from '../../src/model/codes.ts';
import { renderMessagesDoc } from '../../src/report/render-messages.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return p.endsWith('.ts') && !p.endsWith(path.join('model', 'codes.ts')) ? [p] : [];
  });
}
const src = sources(path.join(ROOT, 'src')).map((f) => readFileSync(f, 'utf8')).join('\n');

describe('docs/messages.md', () => {
  it('is generated from the registries (run node --import tsx scripts/gen-messages-doc.ts)', () => {
    expect(readFileSync(path.join(ROOT, 'docs/messages.md'), 'utf8')).toBe(renderMessagesDoc());
  });

  it('lists every error code, event, output and plan code, each with a doc line', () => {
    const doc = renderMessagesDoc();
    for (const code of [...Object.keys(ERROR_CODES), ...Object.keys(EVENT_CODES), ...Object.keys(OUTPUT_CODES), ...Object.keys(PLAN_WARNING_CODES), ...Object.keys(PLAN_PROBLEM_CODES)]) {
      expect(doc).toContain(`| \`${code}\` |`);
    }
    for (const info of [...Object.values(ERROR_CODES), ...Object.values(OUTPUT_CODES)]) expect(info.doc.length).toBeGreaterThan(10);
    for (const doc of [...Object.values(EVENT_CODES), ...Object.values(PLAN_WARNING_CODES), ...Object.values(PLAN_PROBLEM_CODES)]) expect(doc.length).toBeGreaterThan(10);
  });
});

describe('the registries match the sources', () => {
  it('every JSON log event the sources emit is registered', () => {
    // Log records written straight to a logger, and messages (model/messages.ts; the compiler checks those too).
    const emitted = new Set([...src.matchAll(/(?:event: |ioMessage\(|output\()'([a-z][a-z.-]*)'/g)].map((m) => m[1]!));
    expect(emitted.size).toBeGreaterThan(5);
    expect([...emitted].filter((e) => !(e in EVENT_CODES) && !(e in OUTPUT_CODES)).sort()).toEqual([]);
  });

  it('every registered code is raised or emitted somewhere in the sources (no dead entries)', () => {
    const all = [...Object.keys(ERROR_CODES), ...Object.keys(EVENT_CODES), ...Object.keys(OUTPUT_CODES), ...Object.keys(PLAN_WARNING_CODES), ...Object.keys(PLAN_PROBLEM_CODES)];
    const dead = all.filter((code) => !src.includes(`'${code}'`));
    expect(dead).toEqual([]);
  });
});
