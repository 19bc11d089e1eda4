/**
 * The checks behind `gatehouse doctor`. The static ones read only the Config (URLs, cookie,
 * CORS, proxy); the live ones reach the provider and the database, each bounded by its timeout.
 * Every check answers with lines an operator can act on; none prints a secret.
 */
import { isIP } from 'node:net';
import { isLoopbackHost } from '../config/index.js';
import type { Config } from '../config/types.js';
import { GOOGLE_ISSUER } from '../core/google.js';
import { createProviderHttpClient, type ProviderFetch } from '../oidc/http-client.js';
import type { Store } from '../store/types.js';
import { describe } from './context.js';
import type { Status } from './output.js';

export interface Check {
  readonly group: string;
  readonly status: Status;
  readonly message: string;
}

type Add = (status: Status, message: string) => void;

function adder(checks: Check[], group: string): Add {
  return (status, message) => checks.push({ group, status, message });
}

/**
 * The site of a host for SameSite purposes: scheme plus registrable domain (RFC 6265bis
 * "schemeful same-site"). Without the Public Suffix List this approximates the registrable
 * domain as the last two labels, or three under a two-letter country code with a generic
 * second level (`example.co.uk`); IP addresses and `localhost` are their own site.
 */
export function siteOf(url: string): string {
  const { protocol, hostname } = new URL(url);
  const host = hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (isIP(host) !== 0 || !host.includes('.')) return `${protocol}//${host}`;
  const labels = host.split('.');
  const generic = new Set(['co', 'com', 'net', 'org', 'gov', 'ac', 'edu']);
  const take =
    labels.length >= 3 && (labels.at(-1) ?? '').length === 2 && generic.has(labels.at(-2) ?? '') ? 3 : 2;
  return `${protocol}//${labels.slice(-take).join('.')}`;
}

/** What to register in Google Cloud Console, and whether Google will accept it. */
export function googleChecks(config: Config, checks: Check[]): void {
  const add = adder(checks, 'Google Cloud Console');
  add('info', `Authorized redirect URI:      ${config.redirectUrl}`);
  add('info', `Authorized JavaScript origin: ${config.publicOrigin}`);
  if (config.oidc.devProvider) {
    add(
      'info',
      'register these for your OAuth client, then set GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET (docs/google-setup.md)',
    );
    return;
  }
  if (config.oidc.issuer !== GOOGLE_ISSUER) {
    add('info', `OIDC_ISSUER is ${config.oidc.issuer}: register the redirect URI with that provider instead`);
    return;
  }
  const redirect = new URL(config.redirectUrl);
  // Google's rules for redirect URIs: https unless localhost, and no raw IP addresses except loopback.
  if (redirect.protocol !== 'https:' && !isLoopbackHost(redirect.hostname)) {
    add(
      'error',
      `Google accepts http redirect URIs only for localhost; make PUBLIC_URL https (${config.redirectUrl})`,
    );
  } else if (
    isIP(redirect.hostname.replace(/^\[(.*)\]$/, '$1')) !== 0 &&
    !isLoopbackHost(redirect.hostname)
  ) {
    add('error', `Google refuses redirect URIs on a raw IP address; use a host name (${config.redirectUrl})`);
  } else {
    add('ok', 'the redirect URI is one Google accepts');
  }
  if (!config.oidc.clientId.endsWith('.apps.googleusercontent.com')) {
    add('warn', 'GOOGLE_CLIENT_ID does not end with .apps.googleusercontent.com: is it the Web client ID?');
  }
}

/** Whether the session cookie will be set and sent, given PUBLIC_URL, FRONTEND_URL and COOKIE_DOMAIN. */
export function cookieChecks(config: Config, checks: Check[]): void {
  const add = adder(checks, 'Cookie');
  const pub = new URL(config.publicUrl);
  const front = new URL(config.frontendUrl);
  const name = config.cookie.name;
  if (pub.protocol === 'https:') {
    if (config.cookie.domain === undefined) {
      add('ok', `${name}: Secure, HttpOnly, SameSite=Lax, host-only (the __Host- prefix applies over https)`);
    } else {
      add(
        'ok',
        `${name}: Secure, HttpOnly, SameSite=Lax, shared with ${config.cookie.domain} and its subdomains (__Host- is not possible with a Domain attribute, so __Secure-)`,
      );
    }
  } else if (isLoopbackHost(pub.hostname)) {
    add(
      'warn',
      `${name}: plain http on loopback, so no Secure flag and no __Host- prefix — fine for development only`,
    );
  } else {
    add(
      'error',
      `PUBLIC_URL is plain http on ${pub.hostname}: the cookie travels in clear text and __Host- is not possible; use https`,
    );
  }

  if (front.origin === pub.origin) {
    add('ok', 'FRONTEND_URL has the same origin as PUBLIC_URL: the cookie is sent on every request');
  } else if (front.protocol === 'https:' && pub.protocol === 'http:') {
    add(
      'error',
      'FRONTEND_URL is https but PUBLIC_URL is http: browsers block the https page from calling the http API (mixed content)',
    );
  } else if (siteOf(front.href) === siteOf(pub.href)) {
    add(
      'ok',
      `FRONTEND_URL (${front.origin}) is same-site with PUBLIC_URL: the SameSite=Lax cookie is sent on its fetch calls (with credentials: 'include')`,
    );
  } else {
    add(
      'error',
      `FRONTEND_URL (${front.origin}) is cross-site to PUBLIC_URL (${pub.origin}): the SameSite=Lax cookie is not sent on the frontend's API calls and browsers block third-party cookies; serve both under one site (app.example.com and api.example.com) or the API under the frontend's origin`,
    );
  }
  if (config.cookie.domain !== undefined) {
    const domain = config.cookie.domain.replace(/^\./, '');
    const covers = (host: string) => host === domain || host.endsWith(`.${domain}`);
    if (!covers(front.hostname)) {
      add(
        'info',
        `COOKIE_DOMAIN ${domain} does not cover the frontend host ${front.hostname} (the cookie is still sent to PUBLIC_URL)`,
      );
    }
  }
}

/** CORS origins against the frontend and the cookie; TRUST_PROXY against the URLs. */
export function corsAndProxyChecks(config: Config, checks: Check[]): void {
  const add = adder(checks, 'CORS and proxy');
  const pub = new URL(config.publicUrl);
  const front = new URL(config.frontendUrl);
  if (front.origin !== pub.origin && !config.corsOrigins.includes(front.origin)) {
    add(
      'warn',
      `the frontend (${front.origin}) is another origin but not in CORS_ORIGINS: its fetch calls to the API will be blocked; add it`,
    );
  }
  for (const origin of config.corsOrigins) {
    if (
      pub.protocol === 'https:' &&
      origin.startsWith('http:') &&
      !isLoopbackHost(new URL(origin).hostname)
    ) {
      add('warn', `CORS origin ${origin} is plain http while PUBLIC_URL is https`);
    }
    if (siteOf(origin) !== siteOf(pub.href)) {
      add(
        'warn',
        `CORS origin ${origin} is cross-site: the session cookie is not sent from there (only Bearer tokens work)`,
      );
    }
  }
  if (
    config.corsOrigins.length > 0 &&
    !checks.some((c) => c.group === 'CORS and proxy' && c.status !== 'ok')
  ) {
    add('ok', `CORS allows ${config.corsOrigins.join(', ')} with credentials`);
  } else if (config.corsOrigins.length === 0 && front.origin === pub.origin) {
    add('ok', 'CORS off: the frontend is same-origin and needs none');
  }

  if (config.trustProxy.length === 0) {
    if (pub.protocol === 'https:') {
      add(
        'warn',
        "PUBLIC_URL is https but TRUST_PROXY is off: behind a TLS-terminating proxy, client addresses in logs, rate limits and the audit trail will all be the proxy's; set TRUST_PROXY to its address",
      );
    } else {
      add('ok', 'TRUST_PROXY off: X-Forwarded-* headers are ignored');
    }
  } else {
    add('ok', `X-Forwarded-* believed only from ${config.trustProxy.join(', ')}`);
    if (pub.protocol === 'http:' && isLoopbackHost(pub.hostname) && pub.port === String(config.port)) {
      add(
        'warn',
        "TRUST_PROXY is set but PUBLIC_URL is Gatehouse's own loopback address: is PUBLIC_URL the proxy's URL?",
      );
    }
    if (!isLoopbackHost(config.host)) {
      add('info', `listening on ${config.host}: make sure clients cannot reach Gatehouse around the proxy`);
    }
  }
}

/** The configuration loaded (its own warnings — generated secrets, the development provider — come first). */
export function settingsChecks(config: Config, checks: Check[]): void {
  const add = adder(checks, 'Configuration');
  add(
    'ok',
    `loaded (NODE_ENV=${config.nodeEnv}); generated secrets and the development provider are noted above when in use`,
  );
}

/**
 * Discovery and JWKS of the provider, fetched now with OIDC_TIMEOUT through the same bounded
 * client the server uses (http-client.ts: size bound, no redirects), so doctor sees the
 * provider as a sign-in will.
 */
export async function providerChecks(config: Config, checks: Check[]): Promise<void> {
  const add = adder(checks, 'Provider');
  if (config.oidc.devProvider) {
    add('info', `the embedded development provider starts with \`gatehouse serve\` at ${config.oidc.issuer}`);
    return;
  }
  const timeoutMs = config.oidc.timeoutSeconds * 1000;
  const http = createProviderHttpClient({ timeoutMs: timeoutMs + 1_000 });
  try {
    await fetchProvider(config, http.fetch, timeoutMs, add);
  } finally {
    await http.close();
  }
}

async function fetchProvider(
  config: Config,
  fetch: ProviderFetch,
  timeoutMs: number,
  add: Add,
): Promise<void> {
  const discoveryUrl = `${config.oidc.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  let metadata: { issuer?: unknown; jwks_uri?: unknown };
  const started = performance.now();
  try {
    metadata = (await fetchJson(fetch, discoveryUrl, timeoutMs)) as typeof metadata;
  } catch (err) {
    add('error', `discovery unreachable: ${discoveryUrl} (${describe(err)})`);
    return;
  }
  if (metadata.issuer !== config.oidc.issuer) {
    add(
      'error',
      `discovery at ${discoveryUrl} names issuer ${String(metadata.issuer)}, not OIDC_ISSUER ${config.oidc.issuer}`,
    );
    return;
  }
  add('ok', `discovery reachable: ${discoveryUrl} (${Math.round(performance.now() - started)} ms)`);
  if (typeof metadata.jwks_uri !== 'string') {
    add('error', 'discovery has no jwks_uri');
    return;
  }
  try {
    const jwks = (await fetchJson(fetch, metadata.jwks_uri, timeoutMs)) as { keys?: unknown };
    const keys = Array.isArray(jwks.keys) ? jwks.keys.length : 0;
    if (keys === 0) add('error', `JWKS at ${metadata.jwks_uri} has no keys`);
    else add('ok', `JWKS reachable: ${metadata.jwks_uri} (${keys} key${keys === 1 ? '' : 's'})`);
  } catch (err) {
    add('error', `JWKS unreachable: ${metadata.jwks_uri} (${describe(err)})`);
  }
}

async function fetchJson(fetch: ProviderFetch, url: string, timeoutMs: number): Promise<unknown> {
  const response = await fetch(url, {
    signal: AbortSignal.timeout(timeoutMs),
    headers: { accept: 'application/json' },
  });
  // A redirect is never followed: it is an answer that is not the document.
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  try {
    return await response.json();
  } catch {
    throw new Error('not JSON');
  }
}

/** The database answers, and every migration is applied. */
export async function databaseChecks(config: Config, store: Store, checks: Check[]): Promise<void> {
  const add = adder(checks, 'Database');
  try {
    await store.ping();
  } catch (err) {
    add('error', `${config.database.redactedUrl} unreachable: ${describe(err)}`);
    return;
  }
  add('ok', `${config.database.redactedUrl} reachable (${config.database.kind})`);
  try {
    const steps = await store.migrationStatus();
    const pending = steps.filter((s) => s.status === 'pending').length;
    if (pending > 0) add('error', `${pending} migration(s) pending: run \`gatehouse migrate\``);
    else add('ok', `migrated (${steps.length} migration${steps.length === 1 ? '' : 's'} applied)`);
  } catch (err) {
    add('error', `cannot read the migrations: ${describe(err)}`);
  }
}
