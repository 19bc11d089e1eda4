/**
 * CSRF protection for cookie-authenticated state-changing requests (SECURITY.md G.31).
 * SameSite=Lax already keeps the cookie off cross-site POSTs in current browsers; this is the
 * second, browser-independent layer: the request's `Origin` must be one of ours, or, when a
 * browser sends no Origin, `Sec-Fetch-Site` must not say cross-site. Requests without the session
 * cookie, and Bearer-authenticated ones (a header no other site can make a browser send), are exempt.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config/types.js';
import { readCookie } from './cookies.js';
import { readBearer } from './credentials.js';
import { sendProblem } from './problem.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function isAllowedOrigin(
  headers: { origin?: string | undefined; 'sec-fetch-site'?: string | string[] | undefined },
  trusted: ReadonlySet<string>,
): boolean {
  const origin = headers.origin;
  const site = headers['sec-fetch-site'];
  // Browsers send `Origin: null` for a same-origin form post from a page whose Referrer-Policy is
  // no-referrer; Fetch Metadata (which page script cannot forge) still tells where it came from.
  if (origin === 'null') return site === 'same-origin';
  if (origin !== undefined) return trusted.has(origin);
  // No Origin: a non-browser client, or an old browser; Fetch Metadata tells browsers apart.
  return site === undefined || site === 'same-origin' || site === 'none';
}

async function csrfPlugin(app: FastifyInstance, options: { config: Config }): Promise<void> {
  const trusted = new Set(options.config.trustedOrigins);
  const cookieName = options.config.cookie.name;
  app.addHook('onRequest', (request, reply, done) => {
    if (SAFE_METHODS.has(request.method)) return done();
    // Routes that check their own CSRF token (the GIS redirect mode's g_csrf_token double submit,
    // posted by accounts.google.com, so never from one of our origins: SECURITY.md 58).
    if (
      (request.routeOptions.config as { csrfDoubleSubmit?: boolean } | undefined)?.csrfDoubleSubmit === true
    )
      return done();
    if (readCookie(request.headers.cookie, cookieName).kind === 'none') return done();
    const bearer = readBearer(request.headers.authorization);
    if (typeof bearer === 'string') return done();
    if (isAllowedOrigin(request.headers as { origin?: string; 'sec-fetch-site'?: string }, trusted))
      return done();
    request.log.info(
      { origin: request.headers.origin, site: request.headers['sec-fetch-site'] },
      'csrf rejected',
    );
    sendProblem(reply, 'csrf_rejected', 'This request came from a site that is not allowed to act for you.');
  });
}

export default fp(csrfPlugin, { fastify: '5.x', name: 'gatehouse-csrf' });
