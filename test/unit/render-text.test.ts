import { describe, expect, it } from 'vitest';
import { ACTION_INFO, ACTIONS } from '../../src/reconcile/action.ts';
import { isStateOnlyDelete } from '../../src/reconcile/change.ts';
import type { Plan } from '../../src/reconcile/plan.ts';
import { renderPlanText } from '../../src/report/render-text.ts';
import {
  emptyPlan, FIXTURE_PLANS, firstRunPlan, hostilePlan, kitchenSinkPlan, refreshOnlyPlan, replaceRequestedPlan, targetedPlan,
} from '../fixtures/plans/plans.ts';

const ESC = String.fromCharCode(27);
const SGR = new RegExp(`${ESC}\\[[0-9;]*m`, 'g');
const plain = (p: Plan, refreshOnly?: boolean): string => renderPlanText(p, { color: false, refreshOnly });
const linesOf = (text: string): string[] => text.replace(/\n$/, '').split('\n');

const KITCHEN_SINK = `Target: embedded SMS server (us-east-1, .sms-reconcile/embedded)
State: lineage 1a2b3c4d… serial 7
Read: GetServers ×1, GetReplicationJobs ×1, GetConnectors ×1

Note: Migrated: 1 server cut over (its job retired, AMIs kept; \`sms-reconcile status\` lists the final AMIs).

Destructive changes (2): these delete live jobs; a non-interactive apply needs --allow-destroy
  - ReplicationJob/old  (sms-job-12345678, server s-1a2b3c4d web-09) will be deleted
      reason: removed from the manifests
  -/+ ReplicationJob/db  (sms-job-22222222, server s-2b3c4d5e db-01) will be replaced
      reason: runOnce cannot change on a live job
      ~ frequency: 24 -> 12
      ~ runOnce: false -> true  # forces replacement

Removed from state only (1): the live job is already gone
  - ReplicationJob/gone  (sms-job-33333333, server s-3c4d5e6f) will be removed from state only
      reason: removed from the manifests; the job is already gone

Changes (11):
  + ServerCatalog/main  will be imported
      reason: the server catalog is NOT_IMPORTED
  - Connector/old-dc  (connector c-0123456789abcdef0) will be disassociated
      reason: the manifest says associated: false
  => ReplicationJob/dc-07  (sms-job-abababab, server s-abababab dc-07) will be retired (job deleted, AMIs kept, server recorded as migrated)
      reason: cutover: the latest run completed with ami-0123456789abcdef0
      final AMI: ami-0123456789abcdef0
  => ReplicationJob/dc-08  (sms-job-cdcdcdcd, server s-cdcdcdcd dc-08) is blocked: apply refuses to retire it, and deletes nothing
      blocked: cutover requested, but dc-08 has no completed replication
  + ReplicationJob/web-01  (server s-4d5e6f70 web-01) will be created
      reason: no job exists for this server
      + frequency: 12
      + seedReplicationTime: 2026-11-26T20:00:00Z
      + licenseType: "AWS"
      + roleName: "sms"
      + description: "web tier"
      + numberOfRecentAmisToKeep: 3
      + encrypted: false
  + ReplicationJob/app-01  (server resolved after catalog import) will be created
      reason: no job exists for this server
      + frequency: 24
  ~ ReplicationJobSet/fleet[s-5e6f7081]  (sms-job-44444444, server s-5e6f7081 web-05) will be updated in place
      reason: the live job differs from the manifest
      ~ frequency: 24 -> 12
      ~ nextReplicationRunStartTime: (not set) -> 2026-11-26T21:00:00Z
      ~ description: "old" -> "new"
  <= ReplicationJob/web-02  (sms-job-55555555, server s-6f708192 web-02) will be adopted
      reason: a live job exists for this server and is not in state
      then update:
        ~ licenseType: "BYOL" -> "AWS"
  -> ReplicationJob/web-3 -> ReplicationJob/web-03  (sms-job-66666666, server s-708192a3) has moved
      reason: renamed; the server is the same
  > ReplicationJob/app  (sms-job-77777777, server s-8192a3b4) will start an on-demand run
      reason: the onDemandRun token changed
      token: "release-42"
      description: "before cutover"
  ~ ReplicationJob/steady-0  (sms-job-99999999, server s-9a0b1c2d) will be updated in state only
      reason: lifecycle.preventDestroy is now true
      lifecycle.preventDestroy: false -> true

Warning: ReplicationJob/web-04: seedReplicationTime is create-only; plan with --replace ReplicationJob/web-04 to apply it
  at ReplicationJob/web-04 (manifests/web.yaml:12:5)
Warning: the plan would leave 51 active jobs; the account allows 50

Changed outside sms-reconcile (applied -> live):
  ~ ReplicationJob/web-04  (sms-job-88888888)
      ~ frequency: 12 -> 24
      ~ nextReplicationRunStartTime: 2026-11-26T20:00:00Z -> 2026-11-26T22:00:00Z

Plan: 2 to delete (1 state only), 1 to replace, 1 catalog import, 1 to disassociate, 2 to retire (1 blocked), 2 to create, 1 to update, 1 to adopt, 1 to move, 1 run to start, 1 to record in state (3 unchanged). Destructive: 1 delete, 1 replace.
`;

describe('renderPlanText', () => {
  it('renders the representative plan exactly', () => {
    expect(plain(kitchenSinkPlan)).toBe(KITCHEN_SINK);
  });

  it('names the target in the first line and ends with the summary line, for every fixture', () => {
    for (const [name, p] of Object.entries(FIXTURE_PLANS)) {
      const lines = linesOf(plain(p));
      expect(lines[0], name).toMatch(/^Target: \S/);
      expect(lines.at(-1), name).toMatch(/^(Plan: .*Destructive: .*\.|No changes\. .*|Refresh only: \d+ drifted fields?\..*)$/);
    }
    expect(linesOf(plain(firstRunPlan))[0]).toBe('Target: https://sms.example.test (eu-west-1)');
  });

  it('shows the state head, or that there is none yet', () => {
    expect(linesOf(plain(kitchenSinkPlan))[1]).toBe('State: lineage 1a2b3c4d… serial 7');
    expect(linesOf(plain(firstRunPlan))[1]).toBe('State: none yet (first apply creates it)');
  });

  it('lists the reads in observation order and leaves zero counts out', () => {
    const p = { ...emptyPlan, apiCalls: { GetConnectors: 1, GetReplicationJobs: 3, GetServers: 2, UpdateReplicationJob: 0 } };
    expect(linesOf(plain(p))[2]).toBe('Read: GetServers ×2, GetReplicationJobs ×3, GetConnectors ×1');
    expect(linesOf(plain({ ...emptyPlan, apiCalls: {} }))[2]).toBe('Read: no API calls');
  });

  it('shows one line per effective change with its glyph, and never lists no-op changes', () => {
    const text = plain(kitchenSinkPlan);
    for (const action of ACTIONS) {
      const lines = linesOf(text).filter((l) => l.startsWith(`  ${ACTION_INFO[action].glyph} `) && l.includes(ACTION_INFO[action].verb));
      if (action === 'no-op') expect(lines).toEqual([]);
      else expect(lines.length, action).toBeGreaterThan(0);
    }
    expect(text).not.toContain('steady-1');
  });

  it('lists deletes and replaces first even when the plan holds them last', () => {
    const shuffled = { ...kitchenSinkPlan, changes: [...kitchenSinkPlan.changes].reverse() };
    const lines = linesOf(plain(shuffled));
    const at = (needle: string) => lines.findIndex((l) => l.includes(needle));
    const firstOther = Math.min(at('will be created'), at('will be updated'), at('will be adopted'), at('has moved'), at('will be imported'));
    expect(at('Destructive changes (2)')).toBeGreaterThan(0);
    expect(at('ReplicationJob/old  (')).toBeLessThan(firstOther);
    expect(at('ReplicationJob/db  (')).toBeLessThan(firstOther);
    expect(at('Destructive changes')).toBeLessThan(at('Removed from state only'));
    expect(at('Removed from state only')).toBeLessThan(at('Changes ('));
    // Within a group the plan's order is kept: reversed input, reversed destructive pair.
    expect(at('ReplicationJob/db  (')).toBeLessThan(at('ReplicationJob/old  ('));
  });

  it('counts every action in the summary, with state-only deletes not destructive', () => {
    const last = linesOf(plain(kitchenSinkPlan)).at(-1);
    expect(last).toContain('2 to delete (1 state only)');
    expect(last).toContain('1 run to start');
    expect(last).toContain('(3 unchanged)');
    expect(last).toMatch(/ Destructive: 1 delete, 1 replace\.$/);
    expect(linesOf(plain(firstRunPlan)).at(-1)).toBe('Plan: 1 to create. Destructive: none.');
    const onlyGone = { ...kitchenSinkPlan, changes: kitchenSinkPlan.changes.filter(isStateOnlyDelete) };
    expect(linesOf(plain(onlyGone)).at(-1)).toBe('Plan: 1 to delete (state only). Destructive: none.');
    expect(plain(onlyGone)).not.toContain('Destructive changes');
  });

  it('says so when nothing changes', () => {
    expect(plain(emptyPlan)).toBe(
      [
        'Target: embedded SMS server (us-east-1, .sms-reconcile/embedded)',
        'State: lineage 1a2b3c4d… serial 7',
        'Read: GetServers ×1, GetReplicationJobs ×1, GetConnectors ×1',
        '',
        'No changes. The live jobs match the manifests.',
        '',
      ].join('\n'),
    );
  });

  it('renders a refresh-only report with drift and no change list', () => {
    const text = plain(refreshOnlyPlan);
    expect(linesOf(text).at(-1)).toBe('Refresh only: 2 drifted fields.');
    expect(text).toContain(['  ~ ReplicationJob/web-01  (sms-job-4d5e6f70)', '      ~ frequency: 12 -> 24', '      ~ description: "web" -> "changed by hand"'].join('\n'));
    // The option overrides the plan's flag: a normal plan rendered refresh-only lists no changes.
    const asRefresh = plain(kitchenSinkPlan, true);
    expect(asRefresh).not.toMatch(/will be|Changes \(|Destructive changes/);
    expect(linesOf(asRefresh).at(-1)).toBe('Refresh only: 2 drifted fields.');
    expect(linesOf(plain({ ...refreshOnlyPlan, drift: [] })).at(-1)).toBe('Refresh only: 0 drifted fields. The live jobs match what was last applied.');
  });

  it('marks a targeted plan and a requested replacement', () => {
    expect(linesOf(plain(targetedPlan))[4]).toBe(
      'Note: Targeted plan (--target ReplicationJob/web-01): other changes are not shown, and the live jobs may still differ from the manifests after apply.',
    );
    const text = plain(replaceRequestedPlan);
    expect(text).toContain('Note: Replacement requested (--replace): ReplicationJob/db.');
    expect(text).toContain(
      [
        '  -/+ ReplicationJob/db  (sms-job-22222222, server s-2b3c4d5e db-01) will be replaced',
        '      reason: --replace ReplicationJob/db',
        '      replaced because: --replace',
        '      lifecycle.preventDestroy is set: apply will refuse this change',
        '      ~ seedReplicationTime: 2026-11-26T20:00:00Z -> 2026-11-27T20:00:00Z',
      ].join('\n'),
    );
  });

  it('writes no escape code at all without colour, even for hostile data', () => {
    for (const [name, p] of Object.entries(FIXTURE_PLANS)) {
      const text = plain(p);
      expect(text.includes(ESC), name).toBe(false);
      const controls = [...text].filter((ch) => ch !== '\n' && ((ch.codePointAt(0) ?? 0) < 0x20 || ((ch.codePointAt(0) ?? 0) >= 0x7f && (ch.codePointAt(0) ?? 0) <= 0x9f)));
      expect(controls, name).toEqual([]);
    }
    const hostile = plain(hostilePlan);
    expect(hostile).toContain('server s-0000|`x` evil\\u001b[31mred\\u009b2J');
    expect(hostile).toContain('Warning: server \\u001b]0;pwned\\u0007 is busy | `x`');
  });

  it('colours glyphs and headings when asked, and only with SGR codes', () => {
    for (const [name, p] of Object.entries(FIXTURE_PLANS)) {
      const coloured = renderPlanText(p, { color: true });
      expect(coloured.includes(ESC), name).toBe(true);
      // Removing the colour codes gives exactly the uncoloured text: colour adds nothing else.
      expect(coloured.replace(SGR, ''), name).toBe(plain(p));
    }
    const coloured = renderPlanText(kitchenSinkPlan, { color: true });
    expect(coloured).toContain(`  ${ESC}[31m-/+${ESC}[0m ReplicationJob/db`);
    expect(coloured).toContain(`  ${ESC}[32m+${ESC}[0m ReplicationJob/web-01`);
    expect(coloured).toContain(`  ${ESC}[33m~${ESC}[0m ReplicationJobSet/fleet`);
    expect(coloured).toContain(`  ${ESC}[36m<=${ESC}[0m ReplicationJob/web-02`);
    expect(coloured).toContain(`${ESC}[31m# forces replacement${ESC}[0m`);
    expect(coloured).toContain(`${ESC}[1mTarget:${ESC}[0m`);
  });
});
