/**
 * The one redaction of secrets in URLs, for every place a URL can be shown or stored: PostgreSQL
 * state locations (valid or not, whatever characters the password holds), endpoint URLs with
 * userinfo, and secret query parameters. Pure string work: no URL parser decides what is secret,
 * since a password with an unencoded '/', '?' or '#' makes a parser see another URL (or none).
 *
 * The userinfo is everything between '://' and the LAST '@' (a password may hold '@' too). When
 * it holds '/', '?' or '#' the text is too broken to tell user from password: all of it is masked
 * (`postgres://***@host:5432/db`), and the scheme and host are still shown.
 */

/** Query parameters whose values are secrets (compared case-insensitively). */
const SECRET_PARAM = /^(?:(?:ssl)?password|passwd|pwd|secret|client_secret|[a-z_-]*secret_access_key|[a-z_-]*session_token|x-amz-security-token|x-amz-signature|access_token|token|signature|sig)$/i;

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;
const MASK = '***';

/** Whether a query parameter's value is a secret (password, sslpassword, tokens, signatures). */
export function isSecretParam(name: string): boolean {
  return SECRET_PARAM.test(name);
}

export interface RedactOptions {
  /**
   * 'mask-password' (the default): keep the user, mask the password (`user:***@`), as for state
   * locations, where the user identifies the database. 'remove': drop the userinfo entirely, as
   * for endpoint URLs, whose userinfo is never needed.
   */
  readonly userinfo?: 'mask-password' | 'remove';
}

/** `text` with its password or userinfo and its secret query parameters masked; text that is not a URL is returned as it is. */
export function redactUrl(text: string, opts: RedactOptions = {}): string {
  const scheme = SCHEME.exec(text);
  if (scheme === null) return text;
  const start = scheme[0].length;
  const at = text.lastIndexOf('@');
  if (at < start) return scheme[0] + maskSecretParams(text.slice(start));
  const userinfo = text.slice(start, at);
  const rest = maskSecretParams(text.slice(at + 1));
  if (opts.userinfo === 'remove') return scheme[0] + rest;
  if (/[/?#]/.test(userinfo)) return `${scheme[0]}${MASK}@${rest}`;
  const colon = userinfo.indexOf(':');
  return `${scheme[0]}${colon < 0 ? userinfo : `${userinfo.slice(0, colon)}:${MASK}`}@${rest}`;
}

/** An endpoint URL without userinfo (and secret parameters masked): what is stored, shown and compared. */
export function stripUserinfo(url: string): string {
  return redactUrl(url, { userinfo: 'remove' });
}

function maskSecretParams(text: string): string {
  return text.replace(/([?&;])([^=&#;]+)=([^&#;]*)/g, (whole, sep: string, name: string) => {
    let decoded = name;
    try {
      decoded = decodeURIComponent(name);
    } catch {
      // An undecodable name is compared as it is.
    }
    return isSecretParam(decoded) ? `${sep}${name}=${MASK}` : whole;
  });
}
