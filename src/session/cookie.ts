/**
 * Cookie and Authorization-header rules for session tokens; pure helpers used by http/.
 *
 * The session cookie (DESIGN.md "Sign-in flow" 3, SECURITY.md 24): `__Host-gatehouse` over
 * https (`__Secure-gatehouse` with a cookie domain, `gatehouse` on plain-http development; the
 * name is chosen by config/), HttpOnly, `Secure` whenever PUBLIC_URL is https, `SameSite=Lax`
 * (a `Strict` cookie set at the end of the provider's cross-site redirect chain would not be
 * sent on the first navigation — one of the tutorial's defects), `Path=/`, and a lifetime equal
 * to the session's absolute expiry: the token inside is short-lived and renewed in place.
 */
import type { Config } from '../config/types.js';
import type { IssuedToken } from './types.js';

export interface SessionCookieOptions {
  readonly httpOnly: true;
  readonly secure: boolean;
  readonly sameSite: 'lax';
  readonly path: '/';
  readonly domain?: string;
  readonly expires: Date;
}

export interface SessionCookie {
  readonly name: string;
  readonly value: string;
  readonly options: SessionCookieOptions;
}

function cookieOptions(config: Config, expires: Date): SessionCookieOptions {
  const { name, secure, domain } = config.cookie;
  // RFC 6265bis §4.1.3: browsers drop a `__Host-` cookie with Domain or without Secure, and a
  // `__Secure-` cookie without Secure; refuse to emit one silently.
  if (name.startsWith('__Host-') && (!secure || domain !== undefined)) {
    throw new TypeError('a __Host- cookie must be Secure and have no Domain');
  }
  if (name.startsWith('__Secure-') && !secure) throw new TypeError('a __Secure- cookie must be Secure');
  const options = { httpOnly: true, secure, sameSite: 'lax', path: '/', expires } as const;
  return domain === undefined ? options : { ...options, domain };
}

/** The cookie carrying `token`, living as long as the session may (its absolute expiry). */
export function sessionCookie(config: Config, token: IssuedToken, sessionExpiresAt: Date): SessionCookie {
  if (!(sessionExpiresAt instanceof Date) || Number.isNaN(sessionExpiresAt.getTime())) {
    throw new TypeError('sessionExpiresAt must be a valid Date');
  }
  return { name: config.cookie.name, value: token.token, options: cookieOptions(config, sessionExpiresAt) };
}

/** The same cookie, emptied and expired: the browser deletes it (same name, path and domain). */
export function clearSessionCookie(config: Config): SessionCookie {
  return { name: config.cookie.name, value: '', options: cookieOptions(config, new Date(0)) };
}

/**
 * RFC 6750 §2.1: `credentials = "Bearer" 1*SP b64token` (token68 characters), the scheme
 * case-insensitive (RFC 9110 §11.1).
 */
const TOKEN68 = /^[A-Za-z0-9._~+/-]+=*$/;
const BEARER_SCHEME = /^bearer(?:\s|$)/i;

/** "bearer" in any case at the start, compared by character code (no lower-cased copy). */
function startsWithBearer(h: string): boolean {
  // c | 0x20 folds an ASCII capital onto its small letter and maps nothing else onto b, e, a or r.
  return (
    (h.charCodeAt(0) | 0x20) === 0x62 &&
    (h.charCodeAt(1) | 0x20) === 0x65 &&
    (h.charCodeAt(2) | 0x20) === 0x61 &&
    (h.charCodeAt(3) | 0x20) === 0x72 &&
    (h.charCodeAt(4) | 0x20) === 0x65 &&
    (h.charCodeAt(5) | 0x20) === 0x72
  );
}

/**
 * The bearer token of an Authorization header:
 * - `undefined` when there is no header, or it uses another scheme (for example `Basic` added
 *   by a proxy in front): not a Gatehouse credential, so the cookie still decides;
 * - `'malformed'` when it says Bearer but is not exactly one token68 value: the caller answers
 *   401 `invalid_token` rather than falling back to the cookie.
 * Tokens in the query string are never read (SECURITY.md 33).
 */
export function readBearer(authorizationHeader: string | undefined): string | undefined | 'malformed' {
  if (typeof authorizationHeader !== 'string') return undefined;
  // On every Bearer request: the same grammar as /^bearer +(token68)$/i, without a capture (the
  // regular expression cost ~0.4 µs more per request on a session token's length).
  const h = authorizationHeader;
  if (h.length > 7 && h.charCodeAt(6) === 0x20 && startsWithBearer(h)) {
    let start = 7;
    while (h.charCodeAt(start) === 0x20) start++;
    const token = h.slice(start);
    if (TOKEN68.test(token)) return token;
  }
  return BEARER_SCHEME.test(h.trimStart()) ? 'malformed' : undefined;
}
