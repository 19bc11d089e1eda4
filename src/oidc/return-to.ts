/**
 * Where the browser may go after sign-in (SECURITY E21): a same-origin path, resolved against the
 * frontend's origin, or an absolute http(s) URL whose origin is allow-listed. Everything else —
 * protocol-relative `//evil`, backslash forms (`/\evil`, `\/evil`, `/%5Cevil`), tabs, newlines and
 * other control characters anywhere (browsers strip them, turning `/\t/evil` into `//evil`),
 * `@`-userinfo, look-alike suffixes, `javascript:`/`data:`/other schemes, over-long values — falls
 * back to FRONTEND_URL. The check is an allow-list: we only say yes to shapes we understand.
 */
import type { Config } from '../config/types.js';
import { hasControlOrSpace } from './text.js';

export const MAX_RETURN_TO_LENGTH = 2048;
/**
 * The longest return_to kept (resolved): it is sealed into the transaction cookie, and a long one
 * per `/login` is how a cross-site page could fill the Cookie header (SECURITY.md 44).
 */
export const MAX_STORED_RETURN_TO_LENGTH = 1024;

/** Percent-encoded backslash or control characters: decoded by some servers/proxies downstream. */
const FORBIDDEN_ENCODED = /%(?:5c|[01][0-9a-f]|7f)/i;

export function safeReturnTo(raw: string | undefined, config: Config): string {
  const fallback = config.frontendUrl;
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_RETURN_TO_LENGTH) return fallback;
  if (hasControlOrSpace(raw) || raw.includes('\\') || FORBIDDEN_ENCODED.test(raw)) return fallback;

  if (raw.startsWith('/')) {
    // A path: exactly one leading slash. `//host` is protocol-relative; `/%2F…` decodes to it.
    if (raw.startsWith('//') || /^\/%2f/i.test(raw)) return fallback;
    let url: URL;
    try {
      url = new URL(raw, config.frontendOrigin);
    } catch {
      return fallback;
    }
    if (url.href.length > MAX_STORED_RETURN_TO_LENGTH) return fallback;
    return url.origin === config.frontendOrigin && !startsLikeAuthority(url) ? url.href : fallback;
  }

  // Absolute: only http(s) with an allow-listed origin and no userinfo.
  if (!/^https?:\/\/[^/]/i.test(raw)) return fallback;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return fallback;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return fallback;
  if (url.username !== '' || url.password !== '') return fallback;
  // `@` before the path means userinfo even when the parser accepted it oddly; refuse outright.
  const authority = raw.slice(raw.indexOf('//') + 2).split(/[/?#]/, 1)[0] ?? '';
  if (authority.includes('@')) return fallback;
  if (startsLikeAuthority(url) || url.href.length > MAX_STORED_RETURN_TO_LENGTH) return fallback;
  return config.allowedReturnOrigins.includes(url.origin) ? url.href : fallback;
}

/**
 * SECURITY.md 49: a path that, once dot segments are resolved (`/..//evil.com`, `/a/../%2e%2e//x`),
 * begins with `//` or `/\` is read as an authority by a frontend that puts it in `location` or a
 * link, so it falls back like a protocol-relative value.
 */
function startsLikeAuthority(url: URL): boolean {
  return /^\/[/\\]/.test(url.pathname) || /^\/%5c/i.test(url.pathname);
}
