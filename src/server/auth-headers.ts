/**
 * Reading a request's headers as SigV4 sees them: lowercase names (node's IncomingHttpHeaders, or
 * headersDistinct to keep repeated headers apart), own properties only.
 */

/** Lowercase names; an array when a header was repeated. */
export type AuthHeaders = Readonly<Record<string, string | string[] | undefined>>;

export function headerRaw(headers: AuthHeaders, name: string): string | string[] | undefined {
  if (!Object.hasOwn(headers, name)) return undefined;
  const value = headers[name];
  return typeof value === 'string' || Array.isArray(value) ? value : undefined;
}

export function headerValue(headers: AuthHeaders, name: string): string | undefined {
  const raw = headerRaw(headers, name);
  return Array.isArray(raw) ? raw.join(',') : raw;
}

export function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
