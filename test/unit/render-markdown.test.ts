import { describe, expect, it } from 'vitest';
import type { Plan } from '../../src/reconcile/plan.ts';
import { escapeMarkdown, renderPlanMarkdown } from '../../src/report/render-markdown.ts';
import {
  emptyPlan, FIXTURE_PLANS, firstRunPlan, hostilePlan, kitchenSinkPlan, refreshOnlyPlan, targetedPlan,
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
      '### Plan for embedded SMS server (us-east-1, .sms-reconcile/embedded): 2 to delete (1 state only), 1 to replace, 1 catalog import, 1 to disassociate, 2 to create, 1 to update, 1 to adopt, 1 to move, 1 run to start, 1 to record in state (3 unchanged). Destructive: 1 delete, 1 replace.',
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
    expect(rows).toHaveLength(12);
    expect(rows.map((r) => cells(r)[0])).toEqual([
      '`-/+` replace', '`-` delete', '`-` delete', '`~` record', '`>` start-run', '`->` move', '`<=` adopt', '`~` update', '`+` create', '`+` create',
      '`-` disassociate-connector', '`+` import-catalog',
    ]);
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
