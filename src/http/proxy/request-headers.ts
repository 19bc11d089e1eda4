/**
 * What the upstream receives (DESIGN.md "Proxy mode", SECURITY.md J.51): the client's headers
 * minus hop-by-hop headers, minus every Gatehouse credential (the session cookie, the login
 * transaction cookies, a Gatehouse bearer token), minus every client-sent identity header
 * (`X-Auth-*`, `X-Gatehouse-*`) and forwarding header; then the identity Gatehouse vouches for
 * and `X-Forwarded-*` as Gatehouse saw them. The upstream never holds a Gatehouse credential,
 * and no client can speak for Gatehouse.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { readBearer } from '../credentials.js';
import { encodeIdentityHeader } from '../identity-headers.js';

/** RFC 9110 §7.6.1 hop-by-hop fields, plus the non-standard ones proxies also drop. */
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  // Node answers `Expect: 100-continue` itself; undici refuses to send the header.
  'expect',
];

/** Forwarding headers are set by Gatehouse from what it believes (TRUST_PROXY), never passed through. */
const FORWARDING = ['forwarded', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-real-ip'];

export interface ProxiedIdentity {
  readonly id: string;
  readonly email: string;
  readonly name: string | null;
  readonly roles: readonly string[];
  readonly groups: readonly string[];
}

export interface RequestHeaderContext {
  /** True for Gatehouse's own cookie names: the session cookie and the login transaction cookies. */
  readonly isGatehouseCookie: (name: string) => boolean;
  /** True when a bearer token is one of Gatehouse's session tokens (valid, expired or revoked). */
  readonly isGatehouseToken: (token: string) => boolean;
  /** The signed-in user, or null on a public path without a session. */
  readonly user: ProxiedIdentity | null;
  readonly requestId: string;
  /** Client address chain, client first, the direct peer last (only hops TRUST_PROXY believes). */
  readonly forwardedFor: readonly string[];
  readonly forwardedProto: string;
  readonly forwardedHost: string | undefined;
  /** PRESERVE_HOST: the client's Host; otherwise the upstream's host is set by the proxy. */
  readonly host: string | undefined;
  /** `X-Gatehouse-Assertion`, when an assertion source is configured and a user is signed in. */
  readonly assertion: string | undefined;
}

/** The Cookie header without Gatehouse's cookies; undefined when nothing is left. */
export function withoutGatehouseCookies(
  header: string | undefined,
  isGatehouseCookie: (name: string) => boolean,
): string | undefined {
  if (header === undefined || header === '') return undefined;
  const kept: string[] = [];
  for (const pair of header.split(';')) {
    const trimmed = pair.trim();
    if (trimmed === '') continue;
    const eq = trimmed.indexOf('=');
    const name = (eq === -1 ? trimmed : trimmed.slice(0, eq)).trim();
    if (!isGatehouseCookie(name)) kept.push(trimmed);
  }
  return kept.length > 0 ? kept.join('; ') : undefined;
}

/** Rewrites `headers` in place into what the upstream receives, and returns it. */
export function upstreamRequestHeaders(
  headers: IncomingHttpHeaders,
  context: RequestHeaderContext,
): IncomingHttpHeaders {
  for (const name of HOP_BY_HOP) delete headers[name];
  for (const name of FORWARDING) delete headers[name];
  for (const name of Object.keys(headers)) {
    if (name.startsWith('x-auth-') || name.startsWith('x-gatehouse-')) delete headers[name];
  }

  const cookie = withoutGatehouseCookies(headers.cookie, context.isGatehouseCookie);
  if (cookie === undefined) delete headers.cookie;
  else headers.cookie = cookie;

  // Read as authentication reads it (src/http/credentials.ts), so what authenticated is what goes.
  const token = readBearer(headers.authorization);
  if (typeof token === 'string' && token !== 'malformed' && context.isGatehouseToken(token)) {
    delete headers.authorization;
  }

  if (context.host !== undefined) headers.host = context.host;

  const { user } = context;
  if (user !== null) {
    headers['x-auth-user-id'] = encodeIdentityHeader(user.id);
    headers['x-auth-email'] = encodeIdentityHeader(user.email);
    if (user.name !== null) headers['x-auth-name'] = encodeIdentityHeader(user.name);
    // Always present for a user, so an upstream can rely on them (an empty value means "none");
    // comma-separated: role names and Workspace group addresses cannot contain a comma.
    headers['x-auth-roles'] = user.roles.join(',');
    headers['x-auth-groups'] = user.groups.map(encodeIdentityHeader).join(',');
    if (context.assertion !== undefined) headers['x-gatehouse-assertion'] = context.assertion;
  }
  headers['x-request-id'] = context.requestId;
  headers['x-forwarded-for'] = context.forwardedFor.join(', ');
  headers['x-forwarded-proto'] = context.forwardedProto;
  if (context.forwardedHost !== undefined) headers['x-forwarded-host'] = context.forwardedHost;
  return headers;
}
