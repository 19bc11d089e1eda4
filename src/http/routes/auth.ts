/**
 * Sign-in and sign-out: /login, /auth (the provider's callback), /logout, and /auth/verify for
 * nginx `auth_request`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AssertionIssuer } from '../../assertion/issuer.js';
import type { Config } from '../../config/types.js';
import { type ErrorCode, GatehouseError, isGatehouseError } from '../../errors.js';
import type { OidcClient } from '../../oidc/client.js';
import { safeReturnTo } from '../../oidc/return-to.js';
import type { VerifiedIdentity } from '../../oidc/types.js';
import { clearSessionCookie, sessionCookie } from '../../session/cookie.js';
import type { SessionManager } from '../../session/manager.js';
import type { NewAuthEvent, Store } from '../../store/types.js';
import { verifyAssertionHeader } from '../assertion-header.js';
import { requestMeta } from '../auth.js';
import { readCookiesWithPrefix } from '../cookies.js';
import { sendError } from '../problem.js';

export interface AuthRoutesOptions {
  readonly config: Config;
  readonly store: Store;
  readonly sessions: SessionManager;
  readonly oidc: OidcClient;
  /** Per-IP limits for the sign-in routes (SECURITY.md H.36). */
  readonly rateLimit: { max: number; timeWindow: number };
  /** The clock (ms) for audit timestamps, so they agree with the session rows. */
  readonly now: () => number;
  /** Signs the X-Gatehouse-Assertion of /auth/verify (none in production without keys). */
  readonly assertions?: AssertionIssuer | undefined;
}

/** Failures that send the browser back to the frontend with `?auth_error=`; the rest answer with their status. */
function redirectsToFrontend(code: ErrorCode): boolean {
  return (
    code !== 'bad_request' &&
    code !== 'service_unavailable' &&
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
  const { config, store, sessions, oidc } = options;
  const txCookieOptions = {
    httpOnly: true,
    secure: config.cookie.secure,
    sameSite: 'lax' as const,
    path: '/',
  };
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
      reply.setCookie(start.cookie.name, start.cookie.value, {
        ...txCookieOptions,
        maxAge: start.cookie.maxAgeSeconds,
      });
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
      let identity: VerifiedIdentity;
      let returnTo: string;
      try {
        const result = await oidc.completeLogin({ search, cookies: txCookies });
        identity = result.identity;
        returnTo = result.returnTo;
        reply.clearCookie(result.clearCookie, txCookieOptions);
      } catch (err) {
        clearTransactionCookies(reply, txCookies);
        return signInFailed(request, reply, err, meta);
      }
      try {
        const sessionInput = sessions.newSession(meta);
        const outcome = await store.signIn(identity, sessionInput);
        if ('disabled' in outcome) {
          throw new GatehouseError('user_disabled', 'This account has been disabled by an operator.', {
            reason: 'user_disabled',
          });
        }
        const token = await sessions.issue(outcome.user, outcome.session);
        const cookie = sessionCookie(config, token, outcome.session.expiresAt);
        reply.setCookie(cookie.name, cookie.value, cookie.options);
        await recordQuietly(
          request,
          store,
          { type: 'sign_in', userId: outcome.user.id, sessionId: outcome.session.id, reason: null, ...meta },
          options.now,
        );
        request.log.info({ userId: outcome.user.id, sessionId: outcome.session.id }, 'sign-in succeeded');
        request.server.metrics.signIn('success');
        return reply.redirect(returnTo, 303);
      } catch (err) {
        return signInFailed(request, reply, err, meta);
      }
    },
  );

  async function signInFailed(
    request: FastifyRequest,
    reply: FastifyReply,
    err: unknown,
    meta: { ip: string | null; userAgent: string | null },
  ): Promise<FastifyReply> {
    if (!isGatehouseError(err)) throw err;
    request.log.warn({ code: err.code, reason: err.reason }, 'sign-in failed');
    request.server.metrics.signIn('failure', err.reason ?? err.code);
    await recordQuietly(
      request,
      store,
      { type: 'sign_in_failed', reason: err.reason ?? err.code, ...meta },
      options.now,
    );
    if (redirectsToFrontend(err.code)) return reply.redirect(frontendWithError(config, err.code), 303);
    return sendError(reply, err);
  }

  function clearTransactionCookies(reply: FastifyReply, cookies: Record<string, string>): void {
    // Only the transaction this callback was for should go, but a failed callback cannot always
    // tell which one that was; clearing all is safe (other tabs restart their sign-in).
    for (const name of Object.keys(cookies)) reply.clearCookie(name, txCookieOptions);
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
        await sessions.revoke(user.sessionId, {
          reason: 'user_sign_out',
          type: 'sign_out',
          userId: user.id,
          meta: requestMeta(request),
        });
      }
      const cleared = clearSessionCookie(config);
      reply.setCookie(cleared.name, '', cleared.options).header('cache-control', 'no-store');
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
          '200 with `X-Auth-User-Id`, `X-Auth-Email`, `X-Auth-Name` and the signed `X-Gatehouse-Assertion` (ES256, docs/assertions.md) for a valid session, 401 otherwise. No database trip unless the token needs renewal.',
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
          200: { description: 'Signed in', type: 'null' },
          400: { $ref: 'Problem#' },
          401: { $ref: 'Problem#' },
        },
      },
      preHandler: app.requireUser,
    },
    async (request, reply) => {
      const user = request.user!;
      const assertion = verifyAssertionHeader(request, reply, config, options.assertions);
      if (assertion === 'refused') return reply;
      reply
        .header('x-auth-user-id', user.id)
        .header('x-auth-email', user.email)
        .header('cache-control', 'no-store');
      // Header values must be ASCII; a name with other characters is sent percent-encoded.
      if (user.name) reply.header('x-auth-name', encodeURIComponent(user.name));
      return reply.code(200).send();
    },
  );
}

/** The audit trail must not turn a good response into a 500: a failed write is logged instead. */
async function recordQuietly(
  request: FastifyRequest,
  store: Store,
  event: Omit<NewAuthEvent, 'at'>,
  now: () => number,
): Promise<void> {
  try {
    await store.events.record({ ...event, at: new Date(now()) });
  } catch (err) {
    request.log.warn({ err: isGatehouseError(err) ? err.code : 'error' }, 'could not write the audit event');
  }
}
