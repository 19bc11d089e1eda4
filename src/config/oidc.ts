/**
 * The OpenID provider settings: issuer, client credentials, scopes, timeouts, and when the
 * embedded development provider stands in (only on loopback, or with DEV_PROVIDER=anywhere;
 * never in production — SECURITY.md 48). Production refuses to start without real credentials.
 */

import { createHmac } from 'node:crypto';
import { GOOGLE_ISSUER } from '../core/google.js';
import { fail, isLoopbackHost, ok, type Parsed, parseDuration, parseEnum, quote, unique } from './parse.js';
import type { EnvReader } from './reader.js';
import type { Config } from './types.js';

export const DEV_CLIENT_ID = 'gatehouse-dev';
const DEV_CLIENT_LABEL = 'gatehouse dev-idp client';

/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), separated by spaces. */
function parseScopes(raw: string): Parsed<string> {
  const scopes = unique(raw.split(/\s+/).filter((scope) => scope !== ''));
  const bad = scopes.find((scope) => !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(scope));
  if (bad !== undefined)
    return fail(`${quote(bad)} is not a scope: scopes are separated by spaces, like "openid email profile"`);
  if (!scopes.includes('openid'))
    return fail('must include openid (OpenID Connect Core §3.1.2.1), like "openid email profile"');
  return ok(scopes.join(' '));
}

/**
 * The issuer is kept exactly as written (after trimming): OpenID Connect Discovery §4.3 and
 * ID-token validation compare it to `iss` by simple string comparison.
 */
function parseIssuer(raw: string): Parsed<{ issuer: string; insecure: boolean }> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return fail('is not an https URL: write it like https://accounts.google.com');
  }
  if (
    url.username !== '' ||
    url.password !== '' ||
    url.search !== '' ||
    url.hash !== '' ||
    /[?#]/.test(raw)
  ) {
    return fail('must not contain a user name, password, query or fragment (OpenID Connect Discovery §2)');
  }
  if (url.protocol === 'https:') return ok({ issuer: raw, insecure: false });
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return ok({ issuer: raw, insecure: true });
  if (url.protocol === 'http:') {
    return fail(
      'must be https: plain http is accepted only on a loopback host (127.0.0.0/8, ::1, localhost)',
    );
  }
  return fail('must be an https URL, like https://accounts.google.com');
}

export function resolveOidc(
  reader: EnvReader,
  production: boolean,
  publicUrl: string | undefined,
  secretKey: string | undefined,
  host?: string | undefined,
  routePrefix = '',
): Config['oidc'] | undefined {
  const clientId = reader.raw('GOOGLE_CLIENT_ID');
  const clientSecret = reader.raw('GOOGLE_CLIENT_SECRET');
  const issuerSet = reader.isSet('OIDC_ISSUER');
  const timeoutSeconds = reader.read('OIDC_TIMEOUT', (raw) => parseDuration(raw), 10);
  const clockSkewSeconds = reader.read(
    'OIDC_CLOCK_SKEW',
    (raw) => parseDuration(raw, { allowZero: true }),
    30,
  );
  const scopes = reader.read('OIDC_SCOPES', parseScopes, 'openid email profile');
  const given = reader.read('OIDC_ISSUER', parseIssuer, { issuer: GOOGLE_ISSUER, insecure: false });

  // The development provider only when nothing at all names a provider, and never in production:
  // a half-configured production must fail loudly rather than fall back to "anyone may sign in".
  const noProvider = clientId === undefined && clientSecret === undefined && !issuerSet;
  const reach = reader.read(
    'DEV_PROVIDER',
    (raw) => parseEnum(raw, ['loopback', 'anywhere'] as const),
    'loopback',
  );
  if (production && reach === 'anywhere') {
    reader.problem(
      'DEV_PROVIDER',
      'must not be `anywhere` in production: the development provider never runs there',
    );
  }
  // SECURITY.md 48: it lets anyone sign in as anyone, so by default it runs only where nobody else
  // can reach it — Gatehouse listening on loopback and addressed through a loopback PUBLIC_URL.
  const onLoopback =
    host !== undefined &&
    isLoopbackHost(host) &&
    publicUrl !== undefined &&
    isLoopbackHost(new URL(publicUrl).hostname);
  const devProvider = !production && noProvider && (onLoopback || reach === 'anywhere');
  // Only when HOST and PUBLIC_URL resolved: a bad one is already reported (no cascade).
  if (
    !production &&
    noProvider &&
    !devProvider &&
    reach !== undefined &&
    host !== undefined &&
    publicUrl !== undefined
  ) {
    const reason =
      'is required: the development provider (anyone may sign in as anyone) starts only when HOST and PUBLIC_URL are loopback; set GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET, or DEV_PROVIDER=anywhere to run it here anyway';
    reader.problem('GOOGLE_CLIENT_ID', reason);
    reader.problem('GOOGLE_CLIENT_SECRET', reason);
  }
  let credentialsOk = !(noProvider && !devProvider);
  if (production) {
    if (clientId === undefined) {
      reader.problem(
        'GOOGLE_CLIENT_ID',
        'is required in production (the OAuth client ID from Google Cloud Console)',
      );
    }
    if (clientSecret === undefined) {
      reader.problem(
        'GOOGLE_CLIENT_SECRET',
        'is required in production (the OAuth client secret from Google Cloud Console)',
      );
    }
    credentialsOk = clientId !== undefined && clientSecret !== undefined;
  } else if (!noProvider) {
    const reason =
      clientId === undefined && clientSecret === undefined
        ? 'is required when OIDC_ISSUER is set (the development provider runs only when GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET and OIDC_ISSUER are all unset)'
        : 'is required as well: set GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET together, or neither';
    if (clientId === undefined) reader.problem('GOOGLE_CLIENT_ID', reason);
    if (clientSecret === undefined) reader.problem('GOOGLE_CLIENT_SECRET', reason);
    credentialsOk = clientId !== undefined && clientSecret !== undefined;
  }

  if (
    timeoutSeconds === undefined ||
    clockSkewSeconds === undefined ||
    scopes === undefined ||
    given === undefined
  ) {
    return undefined;
  }
  const common = { devProvider, timeoutSeconds, clockSkewSeconds, scopes };

  if (devProvider) {
    if (publicUrl === undefined || secretKey === undefined) return undefined;
    const issuer = `${publicUrl}${routePrefix}/dev-idp`;
    reader.warn(
      `No GOOGLE_CLIENT_ID/GOOGLE_CLIENT_SECRET configured: the development sign-in provider at ${issuer} is in use and accepts any email address (it never runs in production)`,
    );
    if (!onLoopback) {
      reader.warn(
        `DEV_PROVIDER=anywhere: the development sign-in provider is reachable beyond this machine (HOST ${host ?? '?'}, PUBLIC_URL ${publicUrl}); ANYONE WHO CAN REACH IT CAN SIGN IN AS ANYONE`,
      );
    }
    return {
      ...common,
      issuer,
      clientId: DEV_CLIENT_ID,
      // Derived, not random, so every instance sharing SECRET_KEY agrees on it.
      clientSecret: createHmac('sha256', secretKey).update(DEV_CLIENT_LABEL).digest('base64url'),
      // The embedded provider lives on PUBLIC_URL, which may be plain http in development.
      allowInsecureIssuer: issuer.startsWith('http:'),
    };
  }

  if (given.insecure) {
    reader.warn(
      `OIDC_ISSUER ${given.issuer} is plain http: accepted only because the host is loopback (allowInsecureIssuer); never use this outside local testing`,
    );
  }
  if (!credentialsOk || clientId === undefined || clientSecret === undefined) return undefined;
  return { ...common, issuer: given.issuer, clientId, clientSecret, allowInsecureIssuer: given.insecure };
}
