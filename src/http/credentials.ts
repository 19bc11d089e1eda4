/**
 * What credential a request presents: the session cookie, or an `Authorization: Bearer` header
 * (RFC 6750), read in one place for authentication, CSRF and (later) the proxy's header rules.
 */
import { GatehouseError } from '../errors.js';
import type { TokenCheck } from '../session/types.js';
import { readCookie } from './cookies.js';

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

export type Presented =
  | { readonly kind: 'none' }
  | { readonly kind: 'token'; readonly token: string; readonly via: 'cookie' | 'bearer' }
  | { readonly kind: 'error'; readonly error: GatehouseError; readonly clearCookie: boolean };

const NONE: Presented = { kind: 'none' };

/**
 * The credential of a request; a cookie and a bearer token for different users is refused
 * (SECURITY.md G.33), a malformed header or a duplicated or empty cookie too (F.27). `check` is
 * the session service's hot-path check, used only to compare the two subjects in that case.
 */
export function presentedCredential(
  headers: { readonly authorization?: string | undefined; readonly cookie?: string | undefined },
  cookieName: string,
  check: (token: string) => TokenCheck,
): Presented {
  const bearer = readBearer(headers.authorization);
  const cookie = readCookie(headers.cookie, cookieName);
  if (bearer === 'malformed') {
    return {
      kind: 'error',
      error: new GatehouseError('invalid_token', 'The Authorization header is malformed.'),
      clearCookie: false,
    };
  }
  if (cookie.kind === 'duplicate') {
    return {
      kind: 'error',
      error: new GatehouseError('invalid_token', 'The session cookie was sent more than once.'),
      clearCookie: true,
    };
  }
  if (bearer !== undefined) {
    if (cookie.kind === 'one' && cookie.value !== bearer) {
      const a = check(cookie.value);
      const b = check(bearer);
      const subA = 'claims' in a ? a.claims.sub : undefined;
      const subB = 'claims' in b ? b.claims.sub : undefined;
      if (subA !== undefined && subB !== undefined && subA !== subB) {
        return {
          kind: 'error',
          error: new GatehouseError(
            'conflicting_credentials',
            'The cookie and the bearer token belong to different users.',
          ),
          clearCookie: false,
        };
      }
    }
    return { kind: 'token', token: bearer, via: 'bearer' };
  }
  if (cookie.kind === 'one') {
    if (cookie.value === '') {
      return {
        kind: 'error',
        error: new GatehouseError('invalid_token', 'The session cookie is empty.'),
        clearCookie: true,
      };
    }
    return { kind: 'token', token: cookie.value, via: 'cookie' };
  }
  return NONE;
}
