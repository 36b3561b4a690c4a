/// <reference lib="dom" />
/**
 * The estate view: filters, search, sortable headers and a virtualized table. Only the rows in
 * view (plus a margin) are in the DOM, whatever the size of the estate.
 */
import { h, replace, time } from './dom.ts';
import { filterRows, NO_FILTERS, sortRows, tone, type Filters, type Row, type SortKey } from './model.ts';

export const ROW_HEIGHT = 30;
const OVERSCAN = 8;

const COLUMNS: readonly { key: SortKey; label: string }[] = [
  { key: 'address', label: 'Job name' },
  { key: 'vmName', label: 'VM name' },
  { key: 'serverId', label: 'Server' },
  { key: 'replicationJobId', label: 'Job' },
  { key: 'state', label: 'Job state' },
  { key: 'run', label: 'Latest run' },
  { key: 'latestAmiId', label: 'Latest AMI' },
  { key: 'nextRunAt', label: 'Next' },
  { key: 'wave', label: 'Wave' },
  { key: 'drift', label: 'Drift' },
  { key: 'pending', label: 'Pending' },
  { key: 'error', label: 'Last error' },
];

export function badge(state: string | undefined, label = state ?? '—'): HTMLElement {
  return h('span', { class: `badge tone-${tone(state)}` }, label);
}

function runText(r: Row): string {
  const run = r.latestRun;
  if (!run) return '—';
  return [run.state, run.stage, run.progress].filter((x) => x !== undefined && x !== '').join(' · ');
}

function cell(content: Node | string, title?: string): HTMLElement {
  return h('div', { class: 'cell', role: 'cell', title }, content);
}

function rowElement(r: Row, index: number, now: number): HTMLElement {
  const row = h(
    'div',
    { class: 'vt-row', role: 'row', 'data-address': r.address },
    cell(h('a', { href: `#/job/${encodeURIComponent(r.address)}`, 'aria-label': r.address }, r.address.replace(/^ReplicationJob\//, '')), r.address),
    cell(r.vmName ?? '—', r.vmName),
    cell(r.serverId ?? '—'),
    cell(r.replicationJobId ?? '—'),
    cell(badge(r.state, r.state === 'NO_JOB' ? 'NO JOB' : r.state), r.statusMessage),
    cell(r.latestRun ? badge(r.latestRun.state, runText(r)) : '—', r.latestRun?.statusMessage),
    cell(r.latestAmiId ?? '—'),
    cell(time(r.nextRunAt, now)),
    cell(r.wave),
    cell(r.drift.length > 0 ? h('span', { class: 'badge tone-warn' }, `drifted: ${r.drift.join(', ')}`) : '—'),
    cell(r.pending ? h('span', { class: `badge ${r.pending.destructive ? 'tone-bad' : 'tone-wait'}` }, `${r.pending.destructive ? '⚠ ' : ''}${r.pending.action}`) : '—', r.pending ? `${r.pending.destructive ? 'destructive; ' : ''}${r.pending.why}` : undefined),
    cell(r.error ? h('span', { class: 'err' }, h('code', {}, r.error.code), ' ', r.error.message) : '—', r.error ? `${r.error.code}: ${r.error.message}` : undefined),
  );
  // Through the CSSOM: the CSP (style-src 'self') blocks style attributes, not this.
  row.style.top = `${index * ROW_HEIGHT}px`;
  return row;
}

export class EstateView {
  readonly el: HTMLElement;
  filters: Filters = { ...NO_FILTERS };
  #sort: SortKey = 'address';
  #desc = false;
  #rows: readonly Row[] = [];
  #shown: Row[] = [];
  #now = Date.now();
  readonly #scroller: HTMLElement;
  readonly #spacer: HTMLElement;
  readonly #header: HTMLElement;
  readonly #summary: HTMLElement;
  readonly #stateSelect: HTMLSelectElement;
  readonly #waveSelect: HTMLSelectElement;
  #frame = 0;

  constructor() {
    this.#stateSelect = h('select', { id: 'filter-state', 'aria-label': 'Job state', onchange: () => this.#setFilter({ state: this.#stateSelect.value }) });
    this.#waveSelect = h('select', { id: 'filter-wave', 'aria-label': 'Wave', onchange: () => this.#setFilter({ wave: this.#waveSelect.value }) });
    const check = (id: 'failed' | 'drifted' | 'pending', label: string) => {
      const box = h('input', { type: 'checkbox', id: `filter-${id}` });
      box.addEventListener('change', () => this.#setFilter({ [id]: box.checked }));
      return h('label', { class: 'check' }, box, label);
    };
    const search = h('input', { type: 'search', id: 'search', placeholder: 'Search address, VM, id, error…', 'aria-label': 'Search' });
    search.addEventListener('input', () => this.#setFilter({ search: search.value }));
    this.#summary = h('span', { id: 'shown', 'aria-live': 'polite' });
    this.#header = h('div', { class: 'vt-head', role: 'row' });
    this.#spacer = h('div', { class: 'vt-spacer', role: 'rowgroup' });
    this.#scroller = h('div', { class: 'vt', id: 'estate-table', role: 'table', 'aria-label': 'Estate', tabindex: 0 }, this.#header, this.#spacer);
    this.#scroller.addEventListener('scroll', () => this.#schedule());
    this.el = h(
      'section',
      { id: 'view-estate' },
      h('div', { class: 'toolbar' }, h('label', {}, 'State ', this.#stateSelect), h('label', {}, 'Wave ', this.#waveSelect), check('failed', 'Failed'), check('drifted', 'Drifted'), check('pending', 'Pending'), search, this.#summary),
      this.#scroller,
    );
    this.#renderHeader();
  }

  update(rows: readonly Row[], now: number): void {
    this.#rows = rows;
    this.#now = now;
    this.#options(this.#stateSelect, 'All states', [...new Set(rows.map((r) => r.state))].sort(), this.filters.state);
    this.#options(this.#waveSelect, 'All waves', [...new Set(rows.map((r) => r.wave))].sort(), this.filters.wave);
    this.#recompute();
  }

  #options(sel: HTMLSelectElement, all: string, values: string[], current: string): void {
    const wanted = ['', ...values];
    if (sel.options.length === wanted.length && wanted.every((v, i) => sel.options[i]?.value === v)) return;
    replace(sel, ...wanted.map((v) => h('option', { value: v }, v === '' ? all : v)));
    sel.value = wanted.includes(current) ? current : '';
  }

  #setFilter(change: Partial<Filters>): void {
    this.filters = { ...this.filters, ...change };
    this.#scroller.scrollTop = 0;
    this.#recompute();
  }

  #recompute(): void {
    this.#shown = sortRows(filterRows(this.#rows, this.filters), this.#sort, this.#desc);
    this.#summary.textContent = `Showing ${this.#shown.length} of ${this.#rows.length} jobs`;
    this.#spacer.style.height = `${this.#shown.length * ROW_HEIGHT}px`;
    this.#render();
  }

  #renderHeader(): void {
    replace(
      this.#header,
      ...COLUMNS.map((c) => {
        const active = c.key === this.#sort;
        const b = h('button', { type: 'button', class: 'sort', 'data-sort': c.key, onclick: () => this.#sortBy(c.key) }, c.label, active ? (this.#desc ? ' ▼' : ' ▲') : '');
        return h('div', { class: 'cell', role: 'columnheader', 'aria-sort': active ? (this.#desc ? 'descending' : 'ascending') : 'none' }, b);
      }),
    );
  }

  #sortBy(key: SortKey): void {
    this.#desc = key === this.#sort ? !this.#desc : false;
    this.#sort = key;
    this.#renderHeader();
    this.#recompute();
  }

  #schedule(): void {
    if (this.#frame !== 0) return;
    this.#frame = requestAnimationFrame(() => {
      this.#frame = 0;
      this.#render();
    });
  }

  /** Puts the rows in view (and OVERSCAN either side) into the DOM. */
  #render(): void {
    const top = this.#scroller.scrollTop;
    const height = this.#scroller.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(this.#shown.length, Math.ceil((top + height) / ROW_HEIGHT) + OVERSCAN);
    const els: HTMLElement[] = [];
    for (let i = first; i < last; i++) {
      const r = this.#shown[i];
      if (r) els.push(rowElement(r, i, this.#now));
    }
    if (this.#shown.length === 0) els.push(h('div', { class: 'empty' }, this.#rows.length === 0 ? 'No jobs yet.' : 'No job matches the filters.'));
    // A refresh must not take the keyboard focus away from the row link it was on.
    const focused = document.activeElement?.closest('.vt-row')?.getAttribute('data-address');
    this.#spacer.replaceChildren(...els);
    if (focused) els.find((e) => e.getAttribute('data-address') === focused)?.querySelector('a')?.focus({ preventScroll: true });
  }
}

