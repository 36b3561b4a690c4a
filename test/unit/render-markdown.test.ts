import { describe, expect, it } from 'vitest';
import type { Plan } from '../../src/reconcile/plan.ts';
import {
  codePoints, DEFAULT_MARKDOWN_MAX_CHARS, escapeMarkdown, PART_MARKER, renderPlanMarkdown, renderPlanMarkdownParts, renderPlanMarkdownWithin,
} from '../../src/report/render-markdown.ts';
import {
  emptyPlan, FIXTURE_PLANS, firstRunPlan, hostilePlan, kitchenSinkPlan, refreshOnlyPlan, targetedPlan, wavePlan,
} from '../fixtures/plans/plans.ts';

const md = (p: Plan, refreshOnly?: boolean): string => renderPlanMarkdown(p, { color: false, refreshOnly });
const lines = (text: string): string[] => text.split('\n');

/** Cells of a Markdown table row, honouring backslash escapes. */
function cells(row: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < row.length; i++) {
    const ch = row[i]!;
    if (ch === '\\') {
      cur += ch + (row[i + 1] ?? '');
      i++;
    } else if (ch === '|') {
      out.push(cur.trim());
      cur = '';
    } else {
      cur += ch;
    }
  }
  out.push(cur.trim());
  return out.slice(1, -1);
}

/** The section of `text` between the diff fence lines. */
function diffBody(text: string): string[] {
  const all = lines(text);
  const open = all.findIndex((l) => /^`{3,}diff$/.test(l));
  const fence = all[open]!.replace('diff', '');
  const close = all.findIndex((l, i) => i > open && l === fence);
  return all.slice(open + 1, close);
}

describe('renderPlanMarkdown', () => {
  it('starts with a heading that names the target and gives the summary', () => {
    expect(lines(md(kitchenSinkPlan))[0]).toBe(
      '### Plan for embedded SMS server (us-east-1, .sms-reconcile/embedded): 2 to delete (1 state only), 1 to replace, 1 catalog import, 1 to disassociate, 2 to retire (1 blocked), 2 to create, 1 to update, 1 to adopt, 1 to move, 1 run to start, 1 to record in state (3 unchanged). Destructive: 1 delete, 1 replace.',
    );
    expect(lines(md(emptyPlan))[0]).toBe('### Plan for embedded SMS server (us-east-1, .sms-reconcile/embedded): No changes. The live jobs match the manifests.');
    expect(lines(md(firstRunPlan))[2]).toBe(
      'State: none yet (first apply creates it) · Read: GetServers ×1, GetReplicationJobs ×1, GetConnectors ×1 · Planned at 2026-11-26T20:00:00Z',
    );
  });

  it('puts destructive changes in a caution alert before the table', () => {
    const text = md(kitchenSinkPlan);
    expect(text).toContain(
      [
        '> [!CAUTION]',
        '> **2 destructive changes**: they delete live jobs; a non-interactive apply needs `--allow-destroy`.',
        '> - **delete** ReplicationJob/old (sms-job-12345678, server s-1a2b3c4d web-09): removed from the manifests',
        '> - **replace** ReplicationJob/db (sms-job-22222222, server s-2b3c4d5e db-01): runOnce cannot change on a live job (forces replacement: runOnce)',
      ].join('\n'),
    );
    expect(text.indexOf('[!CAUTION]')).toBeLessThan(text.indexOf('| Action |'));
    expect(text).not.toContain('ReplicationJob/gone (sms');
    expect(md(firstRunPlan)).not.toContain('[!CAUTION]');
  });

  it('has a table of the changes, destructive first, without no-op rows', () => {
    const shuffled = { ...kitchenSinkPlan, changes: [...kitchenSinkPlan.changes].reverse() };
    const rows = lines(md(shuffled)).filter((l) => l.startsWith('| `'));
    expect(rows).toHaveLength(14);
    expect(rows.map((r) => cells(r)[0])).toEqual([
      '`-/+` replace', '`-` delete', '`-` delete', '`~` record', '`>` start-run', '`->` move', '`<=` adopt', '`~` update', '`+` create', '`+` create',
      '`=>` retire', '`=>` retire', '`-` disassociate-connector', '`+` import-catalog',
    ]);
    expect(cells(rows[10] ?? '')[3]).toBe('blocked: cutover requested, but dc-08 has no completed replication');
    expect(cells(rows[11] ?? '')[3]).toBe('retire: delete the job, keep ami-0123456789abcdef0, record as migrated');
    for (const r of rows) expect(cells(r)).toHaveLength(5);
    const update = rows.find((r) => r.startsWith('| `~` update'))!;
    expect(cells(update)).toEqual([
      '`~` update',
      'ReplicationJobSet/fleet\\[s-5e6f7081\\]',
      'sms-job-44444444, server s-5e6f7081 web-05',
      'frequency: 24 → 12; nextReplicationRunStartTime: (not set) → 2026-11-26T21:00:00Z; description: "old" → "new"',
      'the live job differs from the manifest',
    ]);
    expect(md(kitchenSinkPlan)).toContain('\n\n3 unchanged.\n');
  });

  it('holds the full per-field diff in a collapsed block', () => {
    const text = md(kitchenSinkPlan);
    expect(text).toContain('<details><summary>Full diff</summary>\n\n```diff\n');
    expect(text.trimEnd().endsWith('```\n\n</details>')).toBe(true);
    const body = diffBody(text);
    expect(body.slice(0, 8)).toEqual([
      '- ReplicationJob/old  (sms-job-12345678, server s-1a2b3c4d web-09) will be deleted',
      '      reason: removed from the manifests',
      '-/+ ReplicationJob/db  (sms-job-22222222, server s-2b3c4d5e db-01) will be replaced',
      '      reason: runOnce cannot change on a live job',
      '-     frequency: 24',
      '+     frequency: 12',
      '-     runOnce: false  # forces replacement',
      '+     runOnce: true  # forces replacement',
    ]);
    expect(body).toContain('+     seedReplicationTime: 2026-11-26T20:00:00Z');
    // A field that was not set shows only its new value.
    expect(body).toContain('+     nextReplicationRunStartTime: 2026-11-26T21:00:00Z');
    expect(body.join('\n')).not.toContain('nextReplicationRunStartTime: (not set)');
  });

  it('lists warnings and drift', () => {
    const text = md(kitchenSinkPlan);
    expect(text).toContain(
      '#### Warnings\n\n- ReplicationJob/web-04: seedReplicationTime is create-only; plan with --replace ReplicationJob/web-04 to apply it — at ReplicationJob/web-04 (manifests/web.yaml:12:5)\n- the plan would leave 51 active jobs; the account allows 50',
    );
    expect(text).toContain('| ReplicationJob/web-04 | sms-job-88888888 | nextReplicationRunStartTime | 2026-11-26T20:00:00Z | 2026-11-26T22:00:00Z |');
  });

  it('renders refresh-only reports as drift without changes', () => {
    const text = md(refreshOnlyPlan);
    expect(lines(text)[0]).toBe('### Refresh only for embedded SMS server (us-east-1, .sms-reconcile/embedded): 2 drifted fields');
    expect(text).toContain('| ReplicationJob/web-01 | sms-job-4d5e6f70 | description | "web" | "changed by hand" |');
    const asRefresh = md(kitchenSinkPlan, true);
    expect(asRefresh).not.toMatch(/\| Action \||\[!CAUTION\]|<details>/);
  });

  it('says when nothing changes, with no table and no diff', () => {
    expect(md(emptyPlan)).not.toMatch(/\| Action \||<details>|\[!CAUTION\]/);
  });

  it('notes a targeted plan', () => {
    expect(md(targetedPlan)).toContain(
      '> [!NOTE]\n> Targeted plan (--target ReplicationJob/web-01): other changes are not shown, and the live jobs may still differ from the manifests after apply.',
    );
  });

  it('escapes pipes, backticks, HTML and mentions in values, and keeps them verbatim in the diff', () => {
    const text = md(hostilePlan);
    expect(lines(text)[0]).toBe('### Plan for https://sms.example.test/\\`x\\` \\| y: 1 to update. Destructive: none.');
    const row = lines(text).find((l) => l.startsWith('| `~`'))!;
    const c = cells(row);
    expect(c).toHaveLength(5);
    expect(c[1]).toBe('ReplicationJobSet/fleet\\[s-0000\\|\\`x\\`\\]');
    expect(c[3]).toBe('description: "a\\|b" → "c \\`d\\` \\`\\`\\`e\\`\\`\\` &lt;/details&gt; \\\\u001b\\[2J"');
    expect(c[4]).toBe('line one line two &lt;b&gt;bold&lt;/b&gt; @&#8203;octocat');
    const outsideDiff = text.slice(0, text.indexOf('<details>'));
    expect(outsideDiff).not.toMatch(/<b>|<\/details>|@octocat/);
    const driftRow = lines(text).find((l) => l.includes('roleName'))!;
    expect(cells(driftRow)).toEqual(['ReplicationJobSet/fleet\\[s-0000\\|\\`x\\`\\]', 'sms-job-99999999', 'roleName', '"a\\|b"', '"\\`c\\`"']);
    // The fence is longer than the longest backtick run inside, so ``` in a value cannot close it.
    expect(text).toContain('\n````diff\n');
    expect(diffBody(text)).toContain('+     description: "c `d` ```e``` </details> \\u001b[2J"');
    expect(escapeMarkdown('a|b`c*d_e<f>&g\nh')).toBe('a\\|b\\`c\\*d\\_e&lt;f&gt;&amp;g h');
  });

  it('never writes ANSI, even when colour is asked for', () => {
    for (const [name, p] of Object.entries(FIXTURE_PLANS)) {
      for (const color of [false, true]) {
        const text = renderPlanMarkdown(p, { color });
        expect(text.includes(String.fromCharCode(27)), name).toBe(false);
        expect(text.includes(String.fromCharCode(0x9b)), name).toBe(false);
      }
    }
  });
});

describe('renderPlanMarkdownWithin / renderPlanMarkdownParts: a plan that fits where it is posted', () => {
  const wave = wavePlan(400, 3, 2);
  const addresses = wave.changes.filter((c) => c.action !== 'no-op').map((c) => escapeMarkdown(c.address));
  const within = (p: Plan, maxChars: number, artifact?: string): string => {
    const r = renderPlanMarkdownWithin(p, { color: false, maxChars, artifact });
    if (!r.ok) throw new Error(`refused; minimum ${r.minimum}`);
    return r.text;
  };

  it('counts code points, as GitHub does (an astral character is one)', () => {
    expect(codePoints('a→😀')).toBe(3);
    expect('a→😀'.length).toBe(4);
  });

  it('a plan that fits is the unbounded rendering, whatever the budget', () => {
    for (const p of Object.values(FIXTURE_PLANS)) expect(within(p, DEFAULT_MARKDOWN_MAX_CHARS)).toBe(md(p));
    expect(within(wave, 0)).toBe(md(wave));
  });

  it('400 creates and 3 deletes: at most 65,000 characters, the summary, the 3 deletes in full, the table in plan order, and a last line saying what was left out', () => {
    expect(codePoints(md(wave))).toBeGreaterThan(100_000);
    const text = within(wave, DEFAULT_MARKDOWN_MAX_CHARS, 'plan.json');
    expect(codePoints(text)).toBeLessThanOrEqual(65_000);
    expect(lines(text)[0]).toBe(`${lines(md(wave))[0]}`);
    expect(lines(text)[0]).toContain('3 to delete, 400 to create (2 unchanged). Destructive: 3 delete.');
    for (let i = 1; i <= 3; i++) {
      expect(text).toContain(`> - **delete** ReplicationJob/legacy-${i} (sms-job-d000000${i - 1}, server s-d000000${i - 1} legacy-${i}): removed from the manifests`);
    }
    const rows = lines(text).filter((l) => l.startsWith('| `'));
    expect(rows.length).toBeGreaterThan(100);
    expect(rows.map((r) => cells(r)[1])).toEqual(addresses.slice(0, rows.length));
    expect(text).not.toContain('<details>');
    const last = lines(text.trimEnd()).at(-1);
    expect(last).toBe(`… ${403 - rows.length} more changes, and the full diff: see the plan artifact \`plan.json\``);
    expect(text.endsWith('\n')).toBe(true);
  });

  it('when the destructive changes alone do not fit, the heading says so and lists their addresses', () => {
    const many = wavePlan(0, 400);
    const text = within(many, 10_000);
    expect(codePoints(text)).toBeLessThanOrEqual(10_000);
    expect(lines(text)[0]).toMatch(/\. The 400 destructive changes are listed by address only, \d+ of them \(too long to show\)\.$/);
    const listed = lines(text).filter((l) => /^> - ReplicationJob\/legacy-\d+$/.test(l));
    expect(listed.length).toBeGreaterThan(50);
    expect(lines(text.trimEnd()).at(-1)).toMatch(/^… the destructive changes in full, 400 changes, and the full diff: run `sms-reconcile plan` for the whole plan$/);
    // Room for every address (but not the details): all of them, said in the heading.
    const roomy = within(wavePlan(0, 40), 4_000);
    expect(lines(roomy)[0]).toMatch(/The 40 destructive changes are listed by address only \(too long to show in full\)\.$/);
    expect(lines(roomy).filter((l) => /^> - ReplicationJob\/legacy-\d+$/.test(l))).toHaveLength(40);
  });

  it('refuses a budget below what the heading needs, naming the minimum', () => {
    const r = renderPlanMarkdownWithin(wave, { color: false, maxChars: 200 });
    expect(r.ok).toBe(false);
    const minimum = (r as { minimum: number }).minimum;
    expect(minimum).toBeGreaterThan(200);
    expect(renderPlanMarkdownWithin(wave, { color: false, maxChars: minimum }).ok).toBe(true);
    expect(renderPlanMarkdownParts(wave, { color: false, maxChars: 200 }).ok).toBe(false);
  });

  it('--split: parts within the limit that together name every one of the 403 addresses, in order; the first says how many', () => {
    const r = renderPlanMarkdownParts(wave, { color: false, maxChars: DEFAULT_MARKDOWN_MAX_CHARS });
    if (!r.ok) throw new Error('refused');
    const k = r.parts.length;
    expect(k).toBeGreaterThan(1);
    for (const part of r.parts) expect(codePoints(part)).toBeLessThanOrEqual(65_000);
    expect(lines(r.parts[0]!)[0]).toBe(lines(md(wave))[0]);
    expect(r.parts[0]).toContain(`\n\nPart 1 of ${k}.\n\n`);
    r.parts.forEach((part, i) => {
      if (i > 0) expect(lines(part)[0]).toBe(`### Plan for embedded SMS server (us-east-1, .sms-reconcile/embedded), part ${i + 1} of ${k}`);
      expect(lines(part.trimEnd()).at(-1)).toBe(`<!-- sms-reconcile plan part ${i + 1} of ${k} -->`);
      expect(part).toMatch(PART_MARKER);
    });
    const rows = r.parts.flatMap((part) => lines(part).filter((l) => l.startsWith('| `')));
    expect(rows.map((row) => cells(row)[1])).toEqual(addresses);
    // The full diff too, every change of it, each piece in its own collapsed block.
    const diffHeads = r.parts.flatMap((part) => lines(part).filter((l) => /^(-|\+) Replication/.test(l)));
    expect(diffHeads).toHaveLength(403);
    // A small budget: more parts, each within it.
    const small = renderPlanMarkdownParts(wave, { color: false, maxChars: 5_000 });
    if (!small.ok) throw new Error('refused');
    for (const part of small.parts) expect(codePoints(part)).toBeLessThanOrEqual(5_000);
    expect(small.parts.flatMap((part) => lines(part).filter((l) => l.startsWith('| `'))).map((row) => cells(row)[1])).toEqual(addresses);
  });
});
