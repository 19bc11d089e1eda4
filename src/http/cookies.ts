/**
 * Reading the session cookie on the hot path without parsing every cookie: a single scan of the
 * Cookie header that also notices a duplicated session cookie (two values for one name is either
 * a cookie-tossing attack from a sibling domain or a broken client: refused, SECURITY.md F.27).
 */

export type CookieRead =
  | { readonly kind: 'none' }
  | { readonly kind: 'one'; readonly value: string }
  | { readonly kind: 'duplicate' };

const NONE: CookieRead = { kind: 'none' };
const DUPLICATE: CookieRead = { kind: 'duplicate' };

export function readCookie(header: string | undefined, name: string): CookieRead {
  if (!header) return NONE;
  let found: string | undefined;
  let start = 0;
  const length = header.length;
  while (start < length) {
    let end = header.indexOf(';', start);
    if (end === -1) end = length;
    // Skip leading spaces of this pair.
    let i = start;
    while (i < end && (header.charCodeAt(i) === 32 || header.charCodeAt(i) === 9)) i++;
    if (header.startsWith(name, i) && header.charCodeAt(i + name.length) === 61 /* = */) {
      if (found !== undefined) return DUPLICATE;
      found = header.slice(i + name.length + 1, end).trim();
    }
    start = end + 1;
  }
  return found === undefined ? NONE : { kind: 'one', value: found };
}

/** All cookies whose name starts with `prefix` (login transactions), decoded leniently. */
export function readCookiesWithPrefix(header: string | undefined, prefix: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    const name = part.slice(0, eq).trim();
    if (!name.startsWith(prefix) || Object.hasOwn(out, name)) continue;
    out[name] = part.slice(eq + 1).trim();
  }
  return out;
}
