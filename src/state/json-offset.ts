/**
 * The offset of the first JSON syntax error in a text, for error messages that point at it:
 * JSON.parse does not always say where (V8's messages name a position for some errors only). Pure.
 */

class Bad extends Error {}

/** A recursive-descent scan of JSON that stops at the first offset where the text stops being JSON. */
class JsonScanner {
  i = 0;

  constructor(private readonly text: string) {}

  fail(): never {
    throw new Bad();
  }

  ws(): void {
    const t = this.text;
    while (this.i < t.length && (t[this.i] === ' ' || t[this.i] === '\t' || t[this.i] === '\n' || t[this.i] === '\r')) this.i++;
  }

  literal(word: string): void {
    for (const ch of word) {
      if (this.text[this.i] !== ch) this.fail();
      this.i++;
    }
  }

  string(): void {
    const t = this.text;
    if (t[this.i] !== '"') this.fail();
    this.i++;
    for (;;) {
      if (this.i >= t.length) this.fail();
      const c = t.charCodeAt(this.i);
      if (c === 34) {
        this.i++;
        return;
      }
      if (c < 32) this.fail();
      if (c === 92) this.escape();
      else this.i++;
    }
  }

  /** After a backslash: one escape (`\n`, `\u00e9`, ...). */
  private escape(): void {
    const t = this.text;
    this.i++;
    const e = t[this.i];
    if (e === 'u') {
      for (let k = 1; k <= 4; k++) {
        if (!/[0-9a-fA-F]/.test(t[this.i + k] ?? '')) {
          this.i += k;
          this.fail();
        }
      }
      this.i += 5;
    } else if (e !== undefined && '"\\/bfnrt'.includes(e)) this.i++;
    else this.fail();
  }

  number(): void {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(this.text.slice(this.i, this.i + 400));
    if (!m || m[0] === '' || m[0] === '-') this.fail();
    this.i += m[0].length;
  }

  value(depth: number): void {
    if (depth > 1000) this.fail();
    this.ws();
    const c = this.text[this.i];
    if (c === '{') this.object(depth);
    else if (c === '[') this.array(depth);
    else if (c === '"') this.string();
    else if (c === 't') this.literal('true');
    else if (c === 'f') this.literal('false');
    else if (c === 'n') this.literal('null');
    else this.number();
  }

  private object(depth: number): void {
    this.i++;
    this.ws();
    if (this.text[this.i] === '}') {
      this.i++;
      return;
    }
    for (;;) {
      this.ws();
      this.string();
      this.ws();
      if (this.text[this.i] !== ':') this.fail();
      this.i++;
      this.value(depth + 1);
      if (this.closes('}')) return;
    }
  }

  private array(depth: number): void {
    this.i++;
    this.ws();
    if (this.text[this.i] === ']') {
      this.i++;
      return;
    }
    for (;;) {
      this.value(depth + 1);
      if (this.closes(']')) return;
    }
  }

  /** After a member: true at the closing bracket (consumed), false at a comma (consumed); else fails. */
  private closes(close: string): boolean {
    this.ws();
    const c = this.text[this.i];
    if (c === ',' || c === close) {
      this.i++;
      return c === close;
    }
    return this.fail();
  }
}

/**
 * The offset of the first JSON syntax error in `text`. Assumes `text` is not valid JSON; returns
 * text.length when the error is a premature end.
 */
export function jsonErrorOffset(text: string): number {
  const scan = new JsonScanner(text);
  try {
    scan.value(0);
    scan.ws();
  } catch (err) {
    if (!(err instanceof Bad)) throw err;
  }
  return Math.min(scan.i, text.length);
}
