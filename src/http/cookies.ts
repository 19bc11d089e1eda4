/**
 * Gatehouse's cookies, in one place: how they are read from a request and how they are set on a
 * reply (`reply.setSession`, `reply.clearSession`, `reply.setLoginTransaction`,
 * `reply.clearLoginTransactions` — decorators, as @fastify/cookie's `reply.setCookie`).
 *
 * The session cookie (DESIGN.md "Sign-in flow" 3, SECURITY.md 24): `__Host-gatehouse` over
 * https (`__Secure-gatehouse` with a cookie domain, `gatehouse` on plain-http development; the
 * name is chosen by config/), HttpOnly, `Secure` whenever PUBLIC_URL is https, `SameSite=Lax`
 * (a `Strict` cookie set at the end of the provider's cross-site redirect chain would not be
 * sent on the first navigation — one of the tutorial's defects), `Path=/`, and a lifetime equal
 * to the session's absolute expiry: the token inside is short-lived and renewed in place.
 *
 * Login-transaction cookies (SECURITY.md 5): one per attempt, HttpOnly, `SameSite=Lax` (sent on
 * the provider's top-level redirect back), `Secure` like the session cookie, short-lived.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config/types.js';
import type { IssuedToken } from '../session/types.js';

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

declare module 'fastify' {
  interface FastifyReply {
    /** Sets the session cookie carrying `token`, living until the session's absolute expiry. */
    setSession(token: IssuedToken, sessionExpiresAt: Date): FastifyReply;
    /** Expires the session cookie (same name, path and domain). */
    clearSession(): FastifyReply;
    /** Sets one login-transaction cookie (sealed by oidc/). */
    setLoginTransaction(cookie: { name: string; value: string; maxAgeSeconds: number }): FastifyReply;
    /** Expires the named login-transaction cookies. */
    clearLoginTransactions(names: Iterable<string>): FastifyReply;
  }
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

export type CookieRead =
  | { readonly kind: 'none' }
  | { readonly kind: 'one'; readonly value: string }
  | { readonly kind: 'duplicate' };

const NONE: CookieRead = { kind: 'none' };
const DUPLICATE: CookieRead = { kind: 'duplicate' };

/**
 * Reads one cookie on the hot path without parsing every cookie: a single scan of the Cookie
 * header that also notices a duplicated cookie (two values for one name is either a
 * cookie-tossing attack from a sibling domain or a broken client: refused, SECURITY.md F.27).
 */
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

/**
 * All cookies whose name starts with `prefix` (login transactions), values as sent (no
 * percent-decoding: sealed values are base64url). The first of a duplicated name wins.
 */
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

async function cookieRules(app: FastifyInstance, options: { config: Config }): Promise<void> {
  const { config } = options;
  const cleared = clearSessionCookie(config);
  const txOptions = { httpOnly: true, secure: config.cookie.secure, sameSite: 'lax', path: '/' } as const;

  // The session cookie is written as a header at once rather than through reply.setCookie: a
  // streamed (hijacked) reply, such as POST /chat's event stream, skips the onSend hook that
  // writes setCookie's cookies, and a renewed cookie would be lost. Fastify appends set-cookie.
  const clearedHeader = app.serializeCookie(cleared.name, '', cleared.options);
  app.decorateReply('setSession', function setSession(token: IssuedToken, sessionExpiresAt: Date) {
    const cookie = sessionCookie(config, token, sessionExpiresAt);
    return this.header('set-cookie', app.serializeCookie(cookie.name, cookie.value, cookie.options));
  });
  app.decorateReply('clearSession', function clearSession() {
    return this.header('set-cookie', clearedHeader);
  });
  app.decorateReply(
    'setLoginTransaction',
    function setLoginTransaction(cookie: { name: string; value: string; maxAgeSeconds: number }) {
      return this.setCookie(cookie.name, cookie.value, { ...txOptions, maxAge: cookie.maxAgeSeconds });
    },
  );
  app.decorateReply('clearLoginTransactions', function clearLoginTransactions(names: Iterable<string>) {
    for (const name of names) this.clearCookie(name, txOptions);
    return this;
  });
}

export default fp(cookieRules, {
  fastify: '5.x',
  name: 'gatehouse-cookies',
  dependencies: ['@fastify/cookie'],
});
