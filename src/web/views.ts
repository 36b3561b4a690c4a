/// <reference lib="dom" />
/** The job detail, plan, cycles and waves views: each a function from the data to an element. */
import { h, show, time } from './dom.ts';
import { badge } from './estate.ts';
import { wavesOf, type CycleRecord, type Dashboard, type JobDetail, type PlanItem, type RunView, type Wave } from './model.ts';

function table(caption: string, head: readonly string[], rows: readonly (readonly (Node | string)[])[], empty: string, id?: string): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'empty', id }, empty);
  return h(
    'table',
    { class: 'grid', id },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, ...head.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((c) => h('td', {}, c))))),
  );
}

const WHY: Record<string, string> = {
  'observe-mode': 'observe mode (--mode observe): reported, never applied',
  'destroy-not-allowed': 'destructive: waits for --allow-destroy',
  'retire-blocked': 'cutover: the retire waits (no job, a run in progress, or no completed run yet)',
  failed: 'failed last cycle: retried next cycle',
  'not-started': 'not started (stopped, or waiting for another change)',
  held: "held: its wave's gate is closed (an earlier wave has not replicated) or --max-wave holds it",
};

export function whyText(why: string): string {
  return WHY[why] ?? why;
}

function runRows(runs: readonly RunView[], now: number): (Node | string)[][] {
  return runs.map((r) => [
    r.replicationRunId,
    r.type ?? '—',
    badge(r.state),
    [r.stage, r.progress].filter(Boolean).join(' · ') || '—',
    r.amiId ?? '—',
    time(r.scheduledStartTime, now, true),
    time(r.completedTime, now, true),
    r.statusMessage ?? '',
  ]);
}

function facts(d: JobDetail, now: number): HTMLElement[] {
  const r = d.row;
  const pairs: [string, Node | string, string?][] = [
    ['VM name', r.vmName ?? '—', 'job-vm'],
    ['Server', r.serverId ?? '—'],
    ['Job', r.replicationJobId ?? 'no job yet'],
    ['Job state', h('span', {}, badge(r.state), r.statusMessage ? ` ${r.statusMessage}` : '')],
    ['Latest AMI', r.latestAmiId ?? '—'],
    ['Next run', time(r.nextRunAt, now, true)],
    ['Wave', r.wave],
    ['Manifest', r.source ?? '—', 'job-source'],
    ['Description', r.description ?? '—', 'job-description'],
    ['Plan', h('span', {}, badge(d.action === 'no-op' ? 'COMPLETED' : 'PENDING', d.action), ` ${d.reason}`), 'job-reason'],
  ];
  if (r.pending) pairs.push(['Pending because', whyText(r.pending.why)]);
  if (r.error) pairs.push(['Last error', h('span', { class: 'err' }, h('code', {}, r.error.code), ` ${r.error.operation ?? ''}: ${r.error.message}`), 'job-error']);
  return pairs.flatMap(([k, v, id]) => [h('dt', {}, k), h('dd', { id }, v)]);
}

/** Job detail: the declared spec beside the live one, the plan's diff and reason, the runs. */
export function jobView(d: JobDetail, now: number): HTMLElement {
  const r = d.row;
  const fields = [...new Set([...Object.keys(d.declared ?? {}), ...Object.keys(d.live ?? {})])].sort();
  const changed = new Set(d.diff.map((f) => f.field));
  return h(
    'section',
    { id: 'view-job' },
    h('p', {}, h('a', { href: '#/estate' }, '← Estate')),
    h('h2', {}, r.address),
    h('dl', { class: 'facts' }, ...facts(d, now)),
    h('h3', {}, 'Declared and live'),
    table('Declared spec beside the live job; changed fields are marked', ['Field', 'Declared', 'Live', ''], fields.map((f) => [f, show(d.declared?.[f]), show(d.live?.[f]), changed.has(f) ? h('span', { class: 'badge tone-warn' }, 'differs') : '']), 'Nothing declared or live.', 'job-spec'),
    h('h3', {}, 'Diff (the plan’s fields)'),
    table('Fields the plan changes', ['Field', 'Live', 'Declared'], d.diff.map((f) => [f.field, show(f.before), show(f.after)]), 'No field differs.', 'job-diff'),
    d.replaceBecause && d.replaceBecause.length > 0 ? h('p', {}, `Replaced because: ${d.replaceBecause.join('; ')}`) : null,
    h('h3', {}, 'Replication runs'),
    table('Runs, newest first', ['Run', 'Type', 'State', 'Stage', 'AMI', 'Scheduled', 'Completed', 'Message'], runRows(d.runs, now), 'No replication run yet.', 'job-runs'),
  );
}

/** The plan: pending changes grouped by action, destructive ones first and marked, with why. */
export function planView(items: readonly PlanItem[]): HTMLElement {
  const groups = new Map<string, PlanItem[]>();
  const ordered = [...items].sort((a, b) => Number(b.destructive) - Number(a.destructive) || a.action.localeCompare(b.action) || a.address.localeCompare(b.address));
  for (const i of ordered) groups.set(i.action, [...(groups.get(i.action) ?? []), i]);
  const sections = [...groups].map(([action, list]) =>
    h(
      'section',
      { class: 'plan-group', 'data-action': action },
      h('h3', {}, `${action} (${list.length})`, list[0]?.destructive ? h('span', { class: 'badge tone-bad' }, ' destructive') : ''),
      table(
        `${action}: pending changes`,
        ['Address', 'VM name', 'Wave', 'Why pending', 'Plan says'],
        list.map((i) => [h('a', { href: `#/job/${encodeURIComponent(i.address)}` }, i.address), i.vmName ?? '—', i.wave, whyText(i.why), i.reason]),
        '',
      ),
    ),
  );
  return h('section', { id: 'view-plan' }, h('h2', {}, `Pending changes (${items.length})`), ...(sections.length > 0 ? sections : [h('p', { class: 'empty' }, 'Nothing pending: the estate matches the manifests.')]));
}

function cycleRow(c: CycleRecord, now: number): (Node | string)[] {
  return [
    time(c.startedAt, now, true),
    badge(c.result === 'success' ? 'COMPLETED' : c.result === 'partial' ? 'PENDING' : 'FAILED', c.result),
    c.revision ?? '—',
    `${(c.durationMs / 1000).toFixed(1)} s`,
    `${c.changes.planned} planned, ${c.changes.applied} applied, ${c.changes.pending} pending`,
    c.errors.length === 0 ? '—' : c.errors.map((e) => `${e.code}${e.address ? ` (${e.address})` : ''}`).join(', '),
  ];
}

/** The last cycles and the leadership changes. */
export function cyclesView(d: Dashboard, now: number): HTMLElement {
  return h(
    'section',
    { id: 'view-cycles' },
    h('h2', {}, `Cycles (last ${d.cycles.length})`),
    table('Controller cycles, newest first', ['Started', 'Result', 'Revision', 'Duration', 'Changes', 'Errors'], d.cycles.map((c) => cycleRow(c, now)), 'No cycle has finished yet.', 'cycles'),
    h('h2', {}, 'Leadership'),
    table('Leadership changes of this controller, newest first', ['When', 'This controller', 'Holder'], d.leadership.map((l) => [time(l.at, now, true), badge(l.leader ? 'ACTIVE' : 'PENDING', l.leader ? 'leader' : 'standby'), l.holder ?? '—']), 'No leadership change yet.', 'leadership'),
  );
}

/** A wave's gate: `open`, or `closed` and what it waits for. */
function gateBadge(w: Wave): Node {
  if (w.gateOpen) return badge('ACTIVE', w.heldByMaxWave ? 'open, held by --max-wave' : 'open');
  return badge('PENDING', w.waitingFor === undefined ? 'closed' : `closed: waits for wave ${w.waitingFor}`);
}

/** Per wave: declared, created, replicated, failed, and the gate (the controller's plan: reconcile/waves.ts). */
export function wavesView(d: Dashboard): HTMLElement {
  const declared = (d.waves ?? []).length > 0;
  return h(
    'section',
    { id: 'view-waves' },
    h('h2', {}, 'Waves'),
    h('p', {}, declared ? "A wave's jobs are created once every job of every earlier wave has completed its first replication run." : 'No manifest declares a wave (spec.wave): every job is in none.'),
    table('Waves', ['Wave', 'Declared', 'Created', 'Replicated', 'Failed', 'Gate'], wavesOf(d.rows, d.waves ?? []).map((w) => [w.name, String(w.declared), String(w.created), String(w.replicated), String(w.failed), gateBadge(w)]), '', 'waves'),
  );
}

