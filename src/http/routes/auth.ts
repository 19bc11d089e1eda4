/**
 * Sign-in and sign-out: /login, /auth (the provider's callback), /logout, and /auth/verify for
 * nginx `auth_request`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AssertionIssuer } from '../../assertion/issuer.js';
import type { Config } from '../../config/types.js';
import { type ErrorCode, type GatehouseError, isGatehouseError } from '../../errors.js';
import type { OidcClient } from '../../oidc/client.js';
import { safeReturnTo } from '../../oidc/return-to.js';
import type { LoginResult } from '../../oidc/types.js';
import type { Revocation } from '../../session/revocation.js';
import type { SessionService } from '../../session/service.js';
import { verifyAssertionHeader } from '../assertion-header.js';
import { requestMeta } from '../auth.js';
import { readCookiesWithPrefix } from '../cookies.js';
import { encodeIdentityHeader } from '../identity-headers.js';
import { sendError } from '../problem.js';

export interface AuthRoutesOptions {
  readonly config: Config;
  readonly sessions: SessionService;
  readonly revocation: Revocation;
  readonly oidc: OidcClient;
  /** Per-IP limits for the sign-in routes (SECURITY.md H.36). */
  readonly rateLimit: { max: number; timeWindow: number };
  /** Signs the X-Gatehouse-Assertion of /auth/verify (none in production without keys). */
  readonly assertions?: AssertionIssuer | undefined;
}

/** Failures that send the browser back to the frontend with `?auth_error=`; the rest answer with their status. */
function redirectsToFrontend(code: ErrorCode): boolean {
  return (
    code !== 'bad_request' &&
    code !== 'service_unavailable' &&
    code !== 'directory_unavailable' &&
    code !== 'provider_error' &&
    code !== 'provider_timeout' &&
    code !== 'rate_limited'
  );
}

export function frontendWithError(config: Config, code: ErrorCode): string {
  const url = new URL(config.frontendUrl);
  url.searchParams.set('auth_error', code);
  return url.toString();
}

function noStore(reply: FastifyReply): void {
  // SECURITY.md E.23: callback responses are never cached and never leak the URL as a referrer.
  reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
}

/** Form posts from the demo page's sign-out button expect a navigation, fetch callers a 204. */
function wantsNavigation(request: FastifyRequest): boolean {
  const type = request.headers['content-type'] ?? '';
  return type.startsWith('application/x-www-form-urlencoded') || type.startsWith('multipart/form-data');
}

export async function authRoutes(app: FastifyInstance, options: AuthRoutesOptions): Promise<void> {
  const { config, sessions, revocation, oidc } = options;
  const rateLimit = { rateLimit: options.rateLimit };

  app.get(
    '/login',
    {
      config: rateLimit,
      schema: {
        summary: 'Start signing in',
        description:
          'Redirects to the provider with a fresh state, nonce and PKCE challenge. `return_to` is checked against the allow-list; anything else falls back to FRONTEND_URL.',
        tags: ['sign-in'],
        querystring: {
          type: 'object',
          properties: { return_to: { type: 'string', maxLength: 2048 } },
        },
        response: { 302: { description: 'To the provider', type: 'null' } },
      },
    },
    async (request, reply) => {
      const { return_to } = request.query as { return_to?: string };
      const start = await oidc.beginLogin({ returnTo: safeReturnTo(return_to, config) });
      noStore(reply);
      // SECURITY.md 44: a few attempts per browser, the oldest dropped.
      const txCookies = readCookiesWithPrefix(request.headers.cookie, config.cookie.transactionPrefix);
      reply.clearLoginTransactions(oidc.transactionCookiesToDrop(txCookies));
      reply.setLoginTransaction(start.cookie);
      return reply.redirect(start.url, 302);
    },
  );

  app.get(
    '/auth',
    {
      config: rateLimit,
      schema: {
        summary: 'The provider callback',
        description:
          'Verifies the authorization response and the ID token, upserts the user, creates the session, sets the session cookie and redirects to the frontend. Failures redirect with `?auth_error=CODE`.',
        tags: ['sign-in'],
        response: { 303: { description: 'To the frontend', type: 'null' } },
      },
    },
    async (request, reply) => {
      noStore(reply);
      const rawUrl = request.raw.url ?? '';
      const q = rawUrl.indexOf('?');
      const search = q === -1 ? '' : rawUrl.slice(q);
      const txCookies = readCookiesWithPrefix(request.headers.cookie, config.cookie.transactionPrefix);
      const meta = requestMeta(request);
      let login: LoginResult;
      try {
        login = await oidc.completeLogin({ search, cookies: txCookies });
      } catch (err) {
        // Only the transaction this callback was for should go, but a failed callback cannot
        // always tell which one that was; clearing all is safe (other tabs restart their sign-in).
        reply.clearLoginTransactions(Object.keys(txCookies));
        if (!isGatehouseError(err)) throw err;
        await sessions.signInFailed(err, meta);
        return failed(reply, err);
      }
      reply.clearLoginTransactions([login.clearCookie]);
      try {
        // The one sign-in service records the outcome (audit, metric, log) either way.
        const signedIn = await sessions.signIn(login.identity, meta);
        reply.setSession(signedIn.token, signedIn.session.expiresAt);
        return reply.redirect(login.returnTo, 303);
      } catch (err) {
        if (!isGatehouseError(err)) throw err;
        return failed(reply, err);
      }
    },
  );

  /** Browser navigations land on the frontend with `?auth_error=`; the rest answer with their status. */
  function failed(reply: FastifyReply, err: GatehouseError): FastifyReply {
    if (redirectsToFrontend(err.code)) return reply.redirect(frontendWithError(config, err.code), 303);
    return sendError(reply, err);
  }

  app.post(
    '/logout',
    {
      schema: {
        summary: 'Sign out',
        description:
          'Revokes this session on every instance and clears the cookie. 204 for fetch callers, 303 to FRONTEND_URL for HTML form posts. Signing out without a session is not an error.',
        tags: ['sign-in'],
        response: {
          204: { description: 'Signed out', type: 'null' },
          303: { description: 'Signed out (form post)', type: 'null' },
        },
      },
    },
    async (request, reply) => {
      let user = null;
      try {
        user = await app.authenticate(request, reply);
      } catch (err) {
        // An invalid or already revoked token is "signed out" already; anything else is real.
        if (!isGatehouseError(err) || err.status !== 401) throw err;
      }
      if (user) {
        await revocation.revoke(user.sessionId, {
          reason: 'user_sign_out',
          type: 'sign_out',
          userId: user.id,
          meta: requestMeta(request),
        });
      }
      reply.clearSession().header('cache-control', 'no-store');
      if (wantsNavigation(request)) return reply.redirect(config.frontendUrl, 303);
      return reply.code(204).send();
    },
  );

  app.get(
    '/auth/verify',
    {
      schema: {
        summary: 'Forward-auth for nginx auth_request',
        description:
          '200 with `X-Auth-User-Id`, `X-Auth-Email`, `X-Auth-Name`, `X-Auth-Roles`, `X-Auth-Groups` and the signed `X-Gatehouse-Assertion` (ES256, docs/assertions.md) for a valid session, 401 otherwise. With `X-Original-URI` / `X-Original-Method` (set by nginx) the access rules decide: 200 for a public path (no identity headers without a session), 403 `forbidden` when a rule refuses. No database trip unless the token needs renewal.',
        tags: ['forward-auth'],
        querystring: {
          type: 'object',
          properties: {
            aud: {
              type: 'string',
              description:
                "The assertion's audience: an absolute http(s) origin or URL (default ASSERTION_AUDIENCE, else PUBLIC_URL's origin).",
            },
          },
        },
        response: {
          200: { description: 'Signed in (or a public path)', type: 'null' },
          400: { $ref: 'Problem#' },
          401: { $ref: 'Problem#' },
          403: { $ref: 'Problem#' },
        },
      },
      preHandler: app.requireForwardedRule(),
    },
    async (request, reply) => {
      const user = request.user;
      if (user === null) return reply.header('cache-control', 'no-store').code(200).send();
      const assertion = verifyAssertionHeader(request, reply, config, options.assertions);
      if (assertion === 'refused') return reply;
      // SECURITY.md 43: every identity value goes through one ASCII-safe encoder.
      reply
        .header('x-auth-user-id', encodeIdentityHeader(user.id))
        .header('x-auth-email', encodeIdentityHeader(user.email))
        .header('cache-control', 'no-store');
      if (user.name) reply.header('x-auth-name', encodeIdentityHeader(user.name));
      if (user.roles.length > 0) reply.header('x-auth-roles', user.roles.join(','));
      // Comma-separated: Workspace group addresses cannot contain a comma.
      if (user.groups.length > 0)
        reply.header('x-auth-groups', user.groups.map(encodeIdentityHeader).join(','));
      return reply.code(200).send();
    },
  );
}
