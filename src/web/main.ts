/// <reference lib="dom" />
/**
 * The dashboard: polls /api/dashboard every POLL_MS, shows the counts, the leader and the revision,
 * and the view the URL's hash names (#/estate, #/job/<address>, #/plan, #/cycles, #/waves). A
 * failed request shows a banner and keeps the last data.
 */
import { h, replace, time } from './dom.ts';
import { EstateView } from './estate.ts';
import { countsOf, type Dashboard, type JobDetail } from './model.ts';
import { cyclesView, jobView, planView, wavesView } from './views.ts';

const POLL_MS = 3000;

class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

async function getJson<T>(path: string): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, { credentials: 'same-origin', headers: { accept: 'application/json' } });
  } catch {
    throw new ApiError(0, 'the controller does not answer');
  }
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`;
    try {
      message = ((await res.json()) as { error?: string }).error ?? message;
    } catch {
      // not JSON
    }
    throw new ApiError(res.status, message);
  }
  return (await res.json()) as T;
}

const app = {
  data: undefined as Dashboard | undefined,
  estate: new EstateView(),
  job: undefined as { address: string; detail?: JobDetail; error?: string } | undefined,
  banner: h('div', { id: 'banner', role: 'alert', hidden: true }),
  counts: h('ul', { id: 'counts', 'aria-label': 'Counts' }),
  meta: h('p', { id: 'meta' }),
  main: h('main', { id: 'main' }),
  nav: h('nav', { 'aria-label': 'Views' }),
};

function route(): { view: string; address?: string } {
  const hash = location.hash.replace(/^#\/?/, '');
  if (hash.startsWith('job/')) return { view: 'job', address: decodeURIComponent(hash.slice(4)) };
  return { view: ['plan', 'cycles', 'waves'].includes(hash) ? hash : 'estate' };
}

function showBanner(message: string | undefined, signIn = false): void {
  app.banner.hidden = message === undefined;
  replace(app.banner, message ?? '', signIn ? h('a', { href: '/login' }, ' Sign in again') : '');
}

function renderHeader(d: Dashboard, now: number): void {
  const c = countsOf(d.rows);
  const items: [string, number, string][] = [
    ['jobs', c.jobs, 'neutral'], ['replicated', c.replicated, 'ok'], ['running', c.running, 'ok'],
    ['failed', c.failed, 'bad'], ['drifted', c.drifted, 'warn'], ['pending', c.pending, 'wait'],
  ];
  replace(app.counts, ...items.map(([label, n, t]) => h('li', { class: `count tone-${t}`, 'data-count': label }, h('strong', {}, String(n)), ` ${label}`)));
  const last = d.lastCycle;
  replace(
    app.meta,
    h('span', { class: `badge tone-${d.leader ? 'ok' : 'wait'}`, id: 'leader' }, d.leader ? 'leader' : 'standby'),
    ` ${d.identity}`,
    d.leader ? '' : ` · leader: ${d.holder ?? 'none'}`,
    ` · revision ${d.revision ?? '(files)'}`,
    ` · mode ${d.mode}${d.allowDestroy ? ', --allow-destroy' : ''}`,
    ' · last cycle ',
    last ? h('span', {}, last.result, ' ', time(last.startedAt, now)) : 'none yet',
    d.running ? ' · a cycle is running' : '',
    ' · next cycle ',
    d.nextCycleAt !== null && Date.parse(d.nextCycleAt) > now ? time(d.nextCycleAt, now) : d.running ? 'after this one' : 'due',
  );
}

async function renderJob(address: string, now: number): Promise<HTMLElement> {
  try {
    const detail = await getJson<JobDetail>(`/api/job?address=${encodeURIComponent(address)}`);
    return jobView(detail, now);
  } catch (err) {
    const e = err as ApiError;
    return h('section', { id: 'view-job' }, h('p', {}, h('a', { href: '#/estate' }, '← Estate')), h('h2', {}, address), h('p', { class: 'empty' }, e.status === 404 ? 'This job is not in the last cycle.' : e.message));
  }
}

let rendering = 0;
async function render(): Promise<void> {
  const d = app.data;
  const r = route();
  app.nav.querySelectorAll('a').forEach((a) => a.setAttribute('aria-current', a.getAttribute('href') === `#/${r.view}` ? 'page' : 'false'));
  if (!d) return;
  const now = Date.now();
  renderHeader(d, now);
  const ticket = ++rendering;
  let view: HTMLElement;
  if (r.view === 'job' && r.address !== undefined) view = await renderJob(r.address, now);
  else if (r.view === 'plan') view = planView(d.plan);
  else if (r.view === 'cycles') view = cyclesView(d, now);
  else if (r.view === 'waves') view = wavesView(d);
  else {
    app.estate.update(d.rows, now);
    view = app.estate.el;
  }
  if (ticket !== rendering) return;
  if (app.main.firstChild !== view) replace(app.main, view);
  if (!d.hasEstate) showBanner(d.leader ? 'Waiting for the first cycle to read the estate…' : 'This controller is a standby: the leader holds the estate.');
}

async function poll(): Promise<void> {
  try {
    app.data = await getJson<Dashboard>('/api/dashboard');
    showBanner(undefined);
    await render();
  } catch (err) {
    const e = err as ApiError;
    showBanner(`The controller's API failed: ${e.message}. Showing the last data; retrying every ${POLL_MS / 1000} s.`, e.status === 401);
  } finally {
    setTimeout(() => void poll(), POLL_MS);
  }
}

function start(): void {
  replace(app.nav, ...[['estate', 'Estate'], ['plan', 'Plan'], ['cycles', 'Cycles'], ['waves', 'Waves']].map(([id, label]) => h('a', { href: `#/${id}` }, label ?? '')));
  const root = document.getElementById('app');
  if (!root) return;
  replace(root, h('header', {}, h('h1', {}, 'sms-reconcile'), app.nav, app.counts, app.meta), app.banner, app.main);
  replace(app.main, h('p', { class: 'empty' }, 'Loading…'));
  window.addEventListener('hashchange', () => void render());
  void poll();
}

start();
