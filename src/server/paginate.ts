import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { ApiError} from './errors.ts';
import { invalidParameter } from './errors.ts';

/**
 * Opaque, tamper-proof page tokens. A token carries the position after the last item returned and
 * the listing's high-water mark (the largest item sequence number when the first page was read), so
 * a listing never shows an item twice, never skips one that existed when it began, and does not
 * grow while other clients create items. It is bound to the action and the request's filters, and
 * signed with a per-data-directory secret: a forged, foreign, edited or garbage token is refused
 * with InvalidParameterException.
 */
export interface PageCursor {
  readonly after: number;
  readonly highWater: number;
}

export const DEFAULT_MAX_RESULTS = 50;
export const MAX_MAX_RESULTS = 100;

interface TokenBody {
  v: 1;
  a: string;
  b: string;
  k: number;
  w: number;
}

export class PageTokens {
  private readonly secret: Buffer;

  constructor(secret: Buffer) {
    this.secret = secret;
  }

  encode(action: string, binding: string, cursor: PageCursor): string {
    const body: TokenBody = { v: 1, a: action, b: bindingHash(binding), k: cursor.after, w: cursor.highWater };
    const payload = Buffer.from(JSON.stringify(body)).toString('base64url');
    return `${payload}.${this.mac(payload)}`;
  }

  /** The cursor a token stands for, or the start of a new listing when there is no token. */
  decode(token: string | undefined, action: string, binding: string, highWaterNow: number, start: number): PageCursor {
    if (token === undefined) return { after: start, highWater: highWaterNow };
    const bad = (why: string): ApiError => invalidParameter(`The nextToken is not valid: ${why}.`);
    const dot = token.indexOf('.');
    if (dot <= 0 || token.length > 512) throw bad('it is not a token this service issued');
    const payload = token.slice(0, dot);
    // Compare the MAC's text, not its decoded bytes: base64url decoding ignores the last character's
    // padding bits and any stray characters, so an edited token would decode to the same MAC.
    const mac = Buffer.from(token.slice(dot + 1), 'utf8');
    const expected = Buffer.from(this.mac(payload), 'utf8');
    if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) throw bad('it is not a token this service issued');
    let body: TokenBody;
    try {
      body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as TokenBody;
    } catch {
      throw bad('it is not a token this service issued');
    }
    if (body.v !== 1 || body.a !== action) throw bad(`it was issued for another action (${String(body.a)})`);
    if (body.b !== bindingHash(binding)) throw bad('it was issued for a request with other parameters');
    return { after: body.k, highWater: body.w };
  }

  private mac(payload: string): string {
    return createHmac('sha256', this.secret).update(payload).digest().subarray(0, 16).toString('base64url');
  }
}

function bindingHash(binding: string): string {
  return createHash('sha256').update(binding).digest('base64url').slice(0, 16);
}
