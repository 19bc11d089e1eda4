/**
 * The URL side of the configuration: PUBLIC_URL and what derives from it (redirect, frontend,
 * origins) and the cookie rules, which depend on PUBLIC_URL's scheme and host.
 */

import { isIP } from 'node:net';
import {
  baseUrlString,
  fail,
  isLoopbackHost,
  type Parsed,
  parseDomain,
  parseEach,
  parseHttpUrl,
  parseOrigin,
  quote,
  unique,
} from './parse.js';
import type { EnvReader } from './reader.js';
import type { Config } from './types.js';

export type ResolvedUrls = Pick<
  Config,
  | 'publicUrl'
  | 'publicOrigin'
  | 'redirectUrl'
  | 'frontendUrl'
  | 'frontendOrigin'
  | 'allowedReturnOrigins'
  | 'corsOrigins'
  | 'routePrefix'
  | 'trustedOrigins'
  | 'cookie'
>;

const COOKIE_BASE_NAME = 'gatehouse';

function parseCookieDomain(raw: string): Parsed<string> {
  // A leading dot is legacy syntax (RFC 6265 §5.2.3 ignores it); accept and drop it.
  const parsed = parseDomain(raw.trim().replace(/^\./, ''));
  return parsed.ok ? parsed : fail(`${quote(raw)} is not a domain name: write it like example.com`);
}

/** `undefined` when PORT was invalid (already reported) and PUBLIC_URL depends on it. */
function resolvePublicUrl(reader: EnvReader, production: boolean, port: number | undefined): URL | undefined {
  let url: URL | undefined;
  if (reader.isSet('PUBLIC_URL')) {
    url = reader.read('PUBLIC_URL', (raw) => parseHttpUrl(raw), undefined);
  } else if (port === 0) {
    reader.problem(
      'PUBLIC_URL',
      'must be set when PORT=0: the external URL cannot be known before the port is chosen (for example http://127.0.0.1:PORT)',
    );
  } else if (port !== undefined) {
    url = new URL(`http://127.0.0.1:${port}`);
  }
  if (url === undefined || url.protocol === 'https:' || !production) return url;
  if (isLoopbackHost(url.hostname)) {
    reader.warn(
      `PUBLIC_URL is plain http in production (${url.origin}); accepted because the host is loopback, so cookies are not marked Secure`,
    );
    return url;
  }
  reader.problem(
    'PUBLIC_URL',
    'must be https in production: over plain http the session cookie and sign-in travel in clear text (http is accepted only on a loopback host)',
  );
  return undefined;
}

function resolveCookie(reader: EnvReader, publicUrl: URL | undefined): Config['cookie'] | undefined {
  const domain = reader.read('COOKIE_DOMAIN', parseCookieDomain, undefined);
  if (publicUrl === undefined || (domain === undefined && reader.isSet('COOKIE_DOMAIN'))) return undefined;
  const host = publicUrl.hostname.toLowerCase();
  if (domain !== undefined) {
    if (isIP(host.replace(/^\[(.*)\]$/, '$1')) !== 0) {
      reader.problem(
        'COOKIE_DOMAIN',
        "cannot be used when PUBLIC_URL's host is an IP address; leave it unset",
      );
      return undefined;
    }
    if (host !== domain && !host.endsWith(`.${domain}`)) {
      reader.problem(
        'COOKIE_DOMAIN',
        `${quote(domain)} is neither ${quote(host)} (the host of PUBLIC_URL) nor a parent domain of it; browsers would reject the cookie`,
      );
      return undefined;
    }
    if (host !== domain && !domain.includes('.')) {
      reader.problem(
        'COOKIE_DOMAIN',
        `${quote(domain)} is a top-level domain; browsers refuse cookies for it`,
      );
      return undefined;
    }
  }
  const secure = publicUrl.protocol === 'https:';
  // RFC 6265bis §4.1.3: `__Host-` requires Secure, Path=/ and no Domain; `__Secure-` only Secure.
  let name = COOKIE_BASE_NAME;
  if (secure) name = domain === undefined ? `__Host-${COOKIE_BASE_NAME}` : `__Secure-${COOKIE_BASE_NAME}`;
  const transactionPrefix = secure ? `__Host-${COOKIE_BASE_NAME}-tx-` : `${COOKIE_BASE_NAME}-tx-`;
  return { name, secure, domain, transactionPrefix };
}

export function resolveUrls(
  reader: EnvReader,
  production: boolean,
  port: number | undefined,
  routePrefix: string | undefined,
): ResolvedUrls | undefined {
  const publicParsed = resolvePublicUrl(reader, production, port);
  const publicUrl = publicParsed === undefined ? undefined : baseUrlString(publicParsed);

  const redirectGiven = reader.read('REDIRECT_URL', (raw) => parseHttpUrl(raw), undefined);
  const frontendGiven = reader.read('FRONTEND_URL', (raw) => parseHttpUrl(raw), undefined);
  const returnOrigins = reader.read('ALLOWED_RETURN_ORIGINS', (raw) => parseEach(raw, parseOrigin), []);
  const corsOrigins = reader.read('CORS_ORIGINS', (raw) => parseEach(raw, parseOrigin), []);
  const cookie = resolveCookie(reader, publicParsed);

  if (
    publicParsed === undefined ||
    publicUrl === undefined ||
    routePrefix === undefined ||
    (redirectGiven === undefined && reader.isSet('REDIRECT_URL')) ||
    (frontendGiven === undefined && reader.isSet('FRONTEND_URL')) ||
    returnOrigins === undefined ||
    corsOrigins === undefined ||
    cookie === undefined
  ) {
    return undefined;
  }

  const publicOrigin = publicParsed.origin;
  const redirectUrl = redirectGiven?.href ?? `${publicUrl}${routePrefix}/auth`;
  if (new URL(redirectUrl).origin !== publicOrigin) {
    // The login-transaction cookie is set by /login on PUBLIC_URL's origin; a callback on another
    // origin never receives it, so every sign-in would fail with login_expired.
    reader.warn(
      `REDIRECT_URL (${new URL(redirectUrl).origin}) is not on PUBLIC_URL's origin (${publicOrigin}): the login-transaction cookie will not reach the callback unless a proxy maps both to one origin`,
    );
  }
  const frontendUrl = frontendGiven?.href ?? `${publicUrl}/`;
  const frontendOrigin = new URL(frontendUrl).origin;

  return {
    publicUrl,
    publicOrigin,
    redirectUrl,
    frontendUrl,
    frontendOrigin,
    allowedReturnOrigins: unique([frontendOrigin, publicOrigin, ...returnOrigins]),
    routePrefix,
    corsOrigins: unique(corsOrigins),
    trustedOrigins: unique([publicOrigin, frontendOrigin, ...corsOrigins]),
    cookie,
  };
}
