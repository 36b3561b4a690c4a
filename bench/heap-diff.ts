/**
 * Compares two V8 heap snapshots (`.heapsnapshot`, as written by `--heapsnapshot-signal`): the live
 * heap of each (a snapshot is taken after a full GC, so this is what is reachable), and the kinds of
 * object whose count or size grew most between them. Used to tell a per-cycle leak (a group that
 * grows with every cycle) from the heap and the allocator settling (RSS grows, the live heap does not).
 *
 *   node --import tsx bench/heap-diff.ts BEFORE.heapsnapshot AFTER.heapsnapshot [--top 15]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Snapshot {
  readonly snapshot: { readonly meta: { readonly node_fields: readonly string[]; readonly node_types: readonly [readonly string[], ...unknown[]] } };
  readonly nodes: readonly number[];
  readonly strings: readonly string[];
}

interface Group {
  count: number;
  bytes: number;
}

/** Live objects grouped by kind: objects by constructor name, everything else by V8 node type. */
export function groups(file: string): { total: number; by: Map<string, Group> } {
  const s = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0];
  const width = fields.length;
  const [iType, iName, iSize] = [fields.indexOf('type'), fields.indexOf('name'), fields.indexOf('self_size')];
  const by = new Map<string, Group>();
  let total = 0;
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + iType] as number] ?? '?';
    const bytes = s.nodes[i + iSize] as number;
    const key = type === 'object' || type === 'closure' ? `${type} ${s.strings[s.nodes[i + iName] as number] ?? '?'}` : type;
    const g = by.get(key) ?? { count: 0, bytes: 0 };
    g.count += 1;
    g.bytes += bytes;
    by.set(key, g);
    total += bytes;
  }
  return { total, by };
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '15' } } });
const [before, after] = positionals;
if (!before || !after) {
  process.stderr.write('usage: heap-diff.ts BEFORE.heapsnapshot AFTER.heapsnapshot [--top N]\n');
  process.exit(1);
}
const a = groups(before);
const b = groups(after);
const mb = (n: number): string => `${(n / 1048576).toFixed(1)} MB`;
process.stdout.write(`live heap: ${mb(a.total)} -> ${mb(b.total)} (${(((b.total - a.total) / a.total) * 100).toFixed(1)}%)\n`);
const rows = [...new Set([...a.by.keys(), ...b.by.keys()])].map((k) => {
  const x = a.by.get(k) ?? { count: 0, bytes: 0 };
  const y = b.by.get(k) ?? { count: 0, bytes: 0 };
  return { k, dCount: y.count - x.count, dBytes: y.bytes - x.bytes, count: y.count, bytes: y.bytes };
});
rows.sort((p, q) => q.dBytes - p.dBytes);
process.stdout.write(`largest growth (of ${rows.length} kinds):\n`);
for (const r of rows.slice(0, Number(values.top))) {
  process.stdout.write(`  ${r.dBytes >= 0 ? '+' : ''}${mb(r.dBytes).padStart(9)}  ${r.dCount >= 0 ? '+' : ''}${String(r.dCount).padStart(8)} objects  ${r.k}  (now ${r.count}, ${mb(r.bytes)})\n`);
}
