/**
 * What the client receives from the upstream: the response as it came, except a `Set-Cookie`
 * naming one of Gatehouse's cookies (SECURITY.md J.51) — an upstream must not be able to plant,
 * replace or clear the session cookie or a login transaction — and hop-by-hop headers, which
 * describe the upstream connection, not the client's.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'trailer',
];

/**
 * A predicate for Gatehouse's cookie names. Cookie-name prefixes (`__Host-`, `__Secure-`) and
 * case are ignored: an upstream's `__host-GATEHOUSE` must not shadow or replace ours either.
 */
export function gatehouseCookieNames(
  sessionCookie: string,
  transactionPrefix: string,
): (name: string) => boolean {
  const strip = (name: string): string => name.toLowerCase().replace(/^__(host|secure)-/, '');
  const session = strip(sessionCookie);
  const transaction = strip(transactionPrefix);
  return (name) => {
    const bare = strip(name.trim());
    return bare === session || bare.startsWith(transaction);
  };
}

function cookieName(setCookie: string): string {
  const eq = setCookie.indexOf('=');
  const semi = setCookie.indexOf(';');
  const end = eq === -1 ? (semi === -1 ? setCookie.length : semi) : eq;
  return setCookie.slice(0, end).trim();
}

/** Rewrites the upstream's response headers (in place) into what the client receives. */
export function clientResponseHeaders<T extends IncomingHttpHeaders | OutgoingHttpHeaders>(
  headers: T,
  isGatehouseCookie: (name: string) => boolean,
): T {
  for (const name of HOP_BY_HOP) delete headers[name];
  const setCookie = headers['set-cookie'];
  if (setCookie !== undefined) {
    const list = Array.isArray(setCookie) ? setCookie : [String(setCookie)];
    const kept = list.filter((line) => !isGatehouseCookie(cookieName(line)));
    if (kept.length === 0) delete headers['set-cookie'];
    else headers['set-cookie'] = kept;
  }
  return headers;
}
