/**
 * The other half of forward-auth (the first is `GET /auth/verify` in routes/auth.ts): where nginx
 * sends a request that `auth_request` refused (`error_page 401 = /_gatehouse/sign-in`).
 *
 * nginx's `auth_request` can only pass 2xx/401/403 through, so the redirect to sign in cannot
 * come from /auth/verify itself; and nginx cannot URL-encode the original URL into a query
 * string, so it hands it over in `X-Original-URL` and this route builds the redirect:
 *
 * - a browser navigation (Sec-Fetch-Mode: navigate, or an HTML Accept from a browser without
 *   Fetch Metadata) → 302 to `/login?return_to=<the protected URL>`, so after signing in the
 *   browser comes back to the page it asked for;
 * - anything else (fetch/XHR, API clients) → the 401 problem, never a redirect (DESIGN.md: "A 401
 *   from an API route is always JSON, never a redirect").
 *
 * Trust: the header is not trusted for anything. A client calling this route directly with a
 * forged X-Original-URL only gets the redirect it could have typed itself, and the URL still goes
 * through the return_to allow-list here and again at /login (SECURITY.md E.21).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../../config/types.js';
import { MAX_RETURN_TO_LENGTH, safeReturnTo } from '../../oidc/return-to.js';
import { sendProblem } from '../problem.js';

export const ORIGINAL_URL_HEADER = 'x-original-url';

export interface ForwardAuthRoutesOptions {
  readonly config: Config;
}

/** True for a top-level browser navigation (Fetch Metadata first, Accept as the fallback). */
export function isBrowserNavigation(request: FastifyRequest): boolean {
  const mode = request.headers['sec-fetch-mode'];
  if (typeof mode === 'string') return mode === 'navigate';
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  const accept = request.headers.accept ?? '';
  return /(^|,)\s*text\/html\s*(;|,|$)/i.test(accept);
}

export async function forwardAuthRoutes(
  app: FastifyInstance,
  options: ForwardAuthRoutesOptions,
): Promise<void> {
  const { config } = options;

  app.get(
    '/auth/sign-in',
    {
      schema: {
        summary: 'Forward-auth: send an unauthenticated visitor to sign in',
        description:
          'For nginx `error_page 401` after `auth_request`: browser navigations get 302 to `/login?return_to=` the URL in `X-Original-URL` (checked against the allow-list); other requests get 401.',
        tags: ['forward-auth'],
        response: { 302: { description: 'To /login', type: 'null' }, 401: { $ref: 'Problem#' } },
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      if (!isBrowserNavigation(request)) return sendProblem(reply, 'not_authenticated');
      const raw = request.headers[ORIGINAL_URL_HEADER];
      const original = typeof raw === 'string' && raw.length <= MAX_RETURN_TO_LENGTH ? raw : undefined;
      const login = new URL(`${config.publicUrl}${config.routePrefix}/login`);
      login.searchParams.set('return_to', safeReturnTo(original, config));
      return reply.redirect(login.toString(), 302);
    },
  );
}
