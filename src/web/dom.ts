/// <reference lib="dom" />
/**
 * The dashboard's only way to make DOM: elements with attributes and children, where every string
 * child becomes a text node. No data ever goes through innerHTML.
 */

export type Child = Node | string | number | null | undefined | false;
export type Attrs = Record<string, string | number | boolean | undefined | ((e: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (k === 'class') el.className = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: readonly Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

/** Replaces an element's children. */
export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** "12 s ago", "in 3 min", ... */
export function relative(iso: string | null | undefined, now: number): string {
  if (!iso) return '';
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '';
  const s = Math.round((t - now) / 1000);
  const a = Math.abs(s);
  if (a === 0) return 'now';
  const n = a < 60 ? `${a} s` : a < 3600 ? `${Math.round(a / 60)} min` : a < 86400 ? `${Math.round(a / 3600)} h` : `${Math.round(a / 86400)} d`;
  return s <= 0 ? `${n} ago` : `in ${n}`;
}

/** "2026-12-07 15:50:01 UTC" */
export function absolute(iso: string | null | undefined): string {
  if (!iso) return '';
  const t = Date.parse(iso);
  return Number.isFinite(t) ? `${new Date(t).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}` : iso;
}

/** A <time>: relative text, absolute in its title (and `both` shows the two). */
export function time(iso: string | null | undefined, now: number, both = false): HTMLElement | string {
  if (!iso) return '—';
  const rel = relative(iso, now);
  return h('time', { datetime: iso, title: absolute(iso) }, both ? `${rel} (${absolute(iso)})` : rel);
}

/** A value of any type as text. */
export function show(v: unknown): string {
  if (v === undefined) return '—';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}
