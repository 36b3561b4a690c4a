/**
 * Source text and positions. A LineIndex finds line starts lazily, only as far into the text as the
 * positions asked for, so a parse that stops early (a hostile file past its document or depth limit)
 * never scans the rest; offset -> line:column is then a binary search, O(log lines).
 *
 * Invariants: lines and columns are 1-based; columns count UTF-16 code units (as editors do); a line's
 * text excludes its '\n' and a trailing '\r' (CRLF files give the same positions as LF files).
 */

export type PathSegment = string | number;

export class LineIndex {
  /** Offset of the first character of each line found so far; starts[0] === 0. */
  private readonly starts: number[] = [0];
  /** Every '\n' before this offset has its line in `starts`. */
  private scanned = 0;

  constructor(readonly text: string) {}

  /** Finds line starts until the line holding `offset` (or the end of the text) is known. */
  private scanTo(offset: number): void {
    const text = this.text;
    while (this.scanned <= offset && this.scanned < text.length) {
      const nl = text.indexOf('\n', this.scanned);
      if (nl === -1) {
        this.scanned = text.length;
        return;
      }
      this.starts.push(nl + 1);
      this.scanned = nl + 1;
    }
  }

  /** The number of lines (scans the whole text). */
  get lineCount(): number {
    this.scanTo(this.text.length);
    return this.starts.length;
  }

  /** The 1-based line and column of a 0-based offset (clamped into the text). */
  position(offset: number): { line: number; column: number } {
    const o = Math.max(0, Math.min(offset, this.text.length));
    this.scanTo(o);
    const starts = this.starts;
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((starts[mid] as number) <= o) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1, column: o - (starts[low] as number) + 1 };
  }

  /** The text of a 1-based line without its line ending, or undefined past the end. */
  lineText(line: number): string | undefined {
    while (this.starts.length <= line && this.scanned < this.text.length) this.scanTo(this.scanned);
    const start = this.starts[line - 1];
    if (start === undefined) return undefined;
    const next = this.starts[line];
    let end = next === undefined ? this.text.length : next - 1;
    if (end > start && this.text.charCodeAt(end - 1) === 13) end--;
    return this.text.slice(start, end);
  }
}

/** Splits a JSON pointer (`/spec/servers/0/server`) into segments, unescaping ~1 and ~0. */
export function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Builds a JSON pointer from segments. */
export function toPointer(segments: readonly PathSegment[]): string {
  return segments.map((s) => '/' + String(s).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

/** A path for people: `spec.servers[2].server.vmName`. */
export function displayPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number' || /^\d+$/.test(s)) out += `[${s}]`;
    else out += out === '' ? s : `.${s}`;
  }
  return out === '' ? '(document)' : out;
}
