/**
 * Sign-in for native apps and single-page apps, and their tokens (DESIGN.md "Native apps and
 * single-page apps"; SECURITY.md section L, rules 57–59):
 *
 *   GET  /auth/nonce   a sealed, expiring, single-use nonce to bind into the Google request
 *   POST /auth/google  a Google ID token in, a session out — three shapes, one verification:
 *     - GIS redirect mode: a form post (`credential`, `g_csrf_token`, optional `return_to`),
 *       `g_csrf_token` double-submitted against its cookie (403 `csrf_rejected` otherwise) →
 *       the session cookie and 303 to `return_to` (checked) or FRONTEND_URL;
 *     - GIS popup / One Tap from page script: JSON `{"credential"}` or `{"id_token"}` without a
 *       `client` (or `"client": "web"`), Origin one of ours → the session cookie and 204;
 *     - a native client: JSON `{"id_token", "client": "android" | "ios" | "api"}` → no cookie,
 *       the token response `{access_token, token_type, expires_in, refresh_token, session_id}`.
 *   POST /auth/token   `grant_type=refresh_token` (form or JSON): a new pair (rotation)
 *   POST /auth/revoke  RFC 7009: ends the session of a refresh or access token; 200 always
 *
 * The OAuth-style endpoints (/auth/token, /auth/revoke) answer their own failures with RFC 6749
 * §5.2 members (`error`, `error_description`) AND the problem members (`type`, `title`, `status`,
 * `detail`, `code`) in one `application/json` body, so OAuth libraries and Gatehouse clients
 * both read it; failures before the handler (429, 413, 415, 503) stay problem+json.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../config/types.js';
import { constantTimeEqual } from '../../core/constant-time.js';
import { type ErrorCode, GatehouseError, isGatehouseError } from '../../errors.js';
import type { OidcClient } from '../../oidc/client.js';
import { safeReturnTo } from '../../oidc/return-to.js';
import type { Revocation } from '../../session/revocation.js';
import type { SessionService, SignedIn } from '../../session/service.js';
import type { IssuedToken, RequestMeta, SignInMeta } from '../../session/types.js';
import type { ClientKind } from '../../store/types.js';
import { requestMeta } from '../auth.js';
import { readCookie } from '../cookies.js';
import { isAllowedOrigin } from '../csrf.js';
import { problemBody, sendError, sendProblem } from '../problem.js';
import { frontendWithError } from './auth.js';

export interface NativeRoutesOptions {
  readonly config: Config;
  readonly sessions: SessionService;
  readonly revocation: Revocation;
  readonly oidc: OidcClient;
  readonly rateLimit: { max: number; timeWindow: number };
  /** The server's clock (ms), for `expires_in`. */
  readonly now: () => number;
}

/** Google Identity Services' double-submit cookie and field (redirect mode). */
export const GIS_CSRF_COOKIE = 'g_csrf_token';
const NATIVE_KINDS: ReadonlySet<string> = new Set<ClientKind>(['android', 'ios', 'api']);
const MAX_TOKEN = 8192;

interface GoogleBody {
  credential?: string;
  id_token?: string;
  g_csrf_token?: string;
  client?: string;
  nonce?: string;
  return_to?: string;
}

interface TokenBody {
  grant_type?: string;
  refresh_token?: string;
}

interface RevokeBody {
  token?: string;
  token_type_hint?: string;
}

const tokenResponseSchema = {
  type: 'object',
  required: ['access_token', 'token_type', 'expires_in', 'refresh_token', 'session_id'],
  properties: {
    access_token: { type: 'string', description: 'A session token: send it as `Authorization: Bearer`.' },
    token_type: { type: 'string', enum: ['Bearer'] },
    expires_in: { type: 'integer', description: 'Seconds until the access token expires.' },
    refresh_token: { type: 'string', description: 'Opaque, 256 bits, single use: every refresh rotates it.' },
    session_id: { type: 'string' },
  },
} as const;

const oauthErrorSchema = {
  type: 'object',
  required: ['error'],
  description: 'RFC 6749 §5.2 error members beside the problem-details members.',
  properties: {
    error: { type: 'string' },
    error_description: { type: 'string' },
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string' },
  },
} as const;

/** RFC 6749 §5.1: token responses are never cached. */
function noStore(reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
}

function tokenResponse(token: IssuedToken, refreshToken: string, sessionId: string, now: number) {
  return {
    access_token: token.token,
    token_type: 'Bearer' as const,
    expires_in: Math.max(0, Math.floor((token.expiresAt - now) / 1000)),
    refresh_token: refreshToken,
    session_id: sessionId,
  };
}

const OAUTH_ERRORS: Partial<Record<ErrorCode, string>> = {
  invalid_grant: 'invalid_grant',
  unsupported_grant_type: 'unsupported_grant_type',
  validation_failed: 'invalid_request',
};

/** An RFC 6749 §5.2 error with the problem members beside it; other errors pass through. */
function sendOAuthError(reply: FastifyReply, err: unknown): FastifyReply {
  if (!isGatehouseError(err)) throw err;
  const error = OAUTH_ERRORS[err.code];
  if (error === undefined) return sendError(reply, err);
  const body = {
    error,
    error_description: err.detail,
    ...problemBody(err.code, err.detail, reply.request.id),
  };
  return noStore(reply).code(err.status).type('application/json; charset=utf-8').send(body);
}

function stringField(value: unknown, name: string, max = MAX_TOKEN): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    throw new GatehouseError('validation_failed', `\`${name}\` must be a non-empty string.`);
  }
  return value;
}

export async function nativeRoutes(app: FastifyInstance, options: NativeRoutesOptions): Promise<void> {
  const { config, sessions, revocation, oidc, now } = options;
  const trusted = new Set(config.trustedOrigins);
  const rateLimit = { rateLimit: options.rateLimit };

  app.get(
    '/auth/nonce',
    {
      config: rateLimit,
      schema: {
        summary: 'A nonce for ID-token sign-in',
        description:
          'A fresh nonce to bind into the Google request (GIS `nonce`, Credential Manager `setNonce`, GoogleSignIn `nonce`). Sealed and expiring, so any instance accepts it; single use. An ID token that carries it is accepted only while it is live.',
        tags: ['native'],
        response: {
          200: {
            type: 'object',
            required: ['nonce', 'expires_in'],
            properties: { nonce: { type: 'string' }, expires_in: { type: 'integer' } },
          },
        },
      },
    },
    async (_request, reply) => {
      const issued = oidc.issueNonce();
      noStore(reply);
      return { nonce: issued.nonce, expires_in: Math.max(0, Math.floor((issued.expiresAt - now()) / 1000)) };
    },
  );

  app.post(
    '/auth/google',
    {
      // The redirect mode is posted by accounts.google.com: its CSRF defence is the double submit.
      config: { ...rateLimit, csrfDoubleSubmit: true },
      schema: {
        summary: 'Sign in with a Google ID token',
        description:
          'GIS redirect mode (form: `credential`, `g_csrf_token`, optional `return_to`) → cookie, 303. GIS popup / One Tap from page script (JSON `credential` or `id_token`) → cookie, 204. Native (JSON `id_token` with `client`: `android`, `ios` or `api`) → the token response, no cookie. Verification: signature, `iss`, `aud` ∈ GOOGLE_CLIENT_ID ∪ GOOGLE_NATIVE_CLIENT_IDS, `exp`, `iat` within ID_TOKEN_MAX_AGE, `email_verified`, the nonce when the token carries one, the sign-in policy; single use.',
        tags: ['native'],
        body: {
          type: 'object',
          properties: {
            credential: { type: 'string', maxLength: MAX_TOKEN },
            id_token: { type: 'string', maxLength: MAX_TOKEN },
            g_csrf_token: { type: 'string', maxLength: 512 },
            client: { type: 'string', enum: ['web', 'android', 'ios', 'api'] },
            nonce: { type: 'string', maxLength: 512 },
            return_to: { type: 'string', maxLength: 2048 },
          },
        },
        response: {
          200: tokenResponseSchema,
          204: { description: 'Signed in (session cookie set)', type: 'null' },
          303: { description: 'Signed in (redirect mode): to return_to or FRONTEND_URL', type: 'null' },
          401: { $ref: 'Problem#' },
          403: { $ref: 'Problem#' },
        },
      },
    },
    async (request, reply) => {
      noStore(reply);
      const body = (request.body ?? {}) as GoogleBody;
      const isForm = (request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
      const meta = requestMeta(request);
      if (isForm) return redirectMode(request, reply, body, meta);

      const native = body.client !== undefined && NATIVE_KINDS.has(body.client);
      if (!native && !isAllowedOrigin(request.headers as { origin?: string }, trusted)) {
        // Login CSRF: another site must not sign this browser in as someone else (SECURITY.md G.31).
        return sendProblem(
          reply,
          'csrf_rejected',
          'This request came from a site that is not allowed to sign in here.',
        );
      }
      const idToken = stringField(body.id_token ?? body.credential, 'id_token');
      if (idToken === undefined) {
        return sendProblem(reply, 'validation_failed', '`id_token` (or `credential`) is required.');
      }
      const kind: ClientKind = native ? (body.client as ClientKind) : 'web';
      const signedIn = await attempt(idToken, body.nonce, { ...meta, clientKind: kind, method: 'id_token' });
      if (signedIn instanceof GatehouseError) return sendError(reply, signedIn);
      if (signedIn.refreshToken === undefined) {
        reply.setSession(signedIn.token, signedIn.session.expiresAt);
        return reply.code(204).send();
      }
      return reply
        .code(200)
        .send(tokenResponse(signedIn.token, signedIn.refreshToken, signedIn.session.id, now()));
    },
  );

  /**
   * Verify, then the one sign-in service. A refused token is audited as a failed sign-in here (no
   * user, no session: SECURITY.md 57); the service records its own failures.
   */
  async function attempt(
    idToken: string,
    nonce: string | undefined,
    meta: SignInMeta,
  ): Promise<SignedIn | GatehouseError> {
    let identity: Awaited<ReturnType<OidcClient['signInWithIdToken']>>;
    try {
      identity = await oidc.signInWithIdToken({ idToken, nonce });
    } catch (err) {
      if (!isGatehouseError(err)) throw err;
      await sessions.signInFailed(err, meta);
      return err;
    }
    try {
      return await sessions.signIn(identity, meta);
    } catch (err) {
      if (!isGatehouseError(err)) throw err;
      return err;
    }
  }

  async function redirectMode(
    request: FastifyRequest,
    reply: FastifyReply,
    body: GoogleBody,
    meta: RequestMeta,
  ) {
    // SECURITY.md 58: the field must equal the cookie Google Identity Services set on our origin.
    const cookie = readCookie(request.headers.cookie, GIS_CSRF_COOKIE);
    const field = body.g_csrf_token;
    if (
      cookie.kind !== 'one' ||
      typeof field !== 'string' ||
      field.length === 0 ||
      !constantTimeEqual(cookie.value, field)
    ) {
      await sessions.signInFailed(
        new GatehouseError('csrf_rejected', undefined, { reason: 'g_csrf_token_mismatch' }),
        meta,
      );
      return sendProblem(reply, 'csrf_rejected', 'The g_csrf_token field does not match its cookie.');
    }
    const idToken = stringField(body.credential, 'credential');
    if (idToken === undefined) return sendProblem(reply, 'validation_failed', '`credential` is required.');
    const query = request.query as { return_to?: unknown };
    const rawReturnTo = body.return_to ?? (typeof query.return_to === 'string' ? query.return_to : undefined);
    const returnTo = safeReturnTo(rawReturnTo, config);
    const signedIn = await attempt(idToken, body.nonce, { ...meta, clientKind: 'web', method: 'id_token' });
    if (signedIn instanceof GatehouseError) {
      // A navigation: back to the frontend with the code, as the callback does; outages answer.
      if (signedIn.status >= 500) return sendError(reply, signedIn);
      return reply.redirect(frontendWithError(config, signedIn.code), 303);
    }
    reply.setSession(signedIn.token, signedIn.session.expiresAt);
    return reply.redirect(returnTo, 303);
  }

  app.post(
    '/auth/token',
    {
      config: rateLimit,
      schema: {
        summary: 'Refresh: a new token pair',
        description:
          '`grant_type=refresh_token` with `refresh_token` (form or JSON). Rotates the refresh token on every use; a rotated one presented again after REFRESH_REUSE_GRACE revokes the session; within it, the same new pair is returned. Errors: RFC 6749 §5.2 `error` beside the problem members.',
        tags: ['native'],
        body: {
          type: 'object',
          properties: {
            grant_type: { type: 'string', maxLength: 64 },
            refresh_token: { type: 'string', maxLength: 512 },
          },
        },
        response: { 200: tokenResponseSchema, 400: oauthErrorSchema },
      },
    },
    async (request, reply) => {
      const body = (request.body ?? {}) as TokenBody;
      try {
        if (body.grant_type !== 'refresh_token') {
          throw new GatehouseError(
            body.grant_type === undefined ? 'validation_failed' : 'unsupported_grant_type',
            body.grant_type === undefined
              ? '`grant_type` is required.'
              : 'Only `refresh_token` is supported.',
          );
        }
        const presented = stringField(body.refresh_token, 'refresh_token', 512);
        if (presented === undefined)
          throw new GatehouseError('validation_failed', '`refresh_token` is required.');
        const pair = await sessions.refresh(presented, requestMeta(request));
        return noStore(reply).send(
          tokenResponse(pair.accessToken, pair.refreshToken, pair.session.id, now()),
        );
      } catch (err) {
        return sendOAuthError(reply, err);
      }
    },
  );

  app.post(
    '/auth/revoke',
    {
      config: rateLimit,
      schema: {
        summary: 'Revoke a token (RFC 7009)',
        description:
          '`token` (a refresh token or an access token) and optional `token_type_hint`. Ends the session the token belongs to, on every instance. 200 also for unknown or invalid tokens.',
        tags: ['native'],
        body: {
          type: 'object',
          properties: {
            token: { type: 'string', maxLength: MAX_TOKEN },
            token_type_hint: { type: 'string', maxLength: 64 },
          },
        },
        response: {
          200: { description: 'Revoked, or nothing to revoke', type: 'null' },
          400: oauthErrorSchema,
        },
      },
    },
    async (request, reply) => {
      const body = (request.body ?? {}) as RevokeBody;
      noStore(reply);
      let token: string | undefined;
      try {
        token = stringField(body.token, 'token');
        if (token === undefined) throw new GatehouseError('validation_failed', '`token` is required.');
      } catch (err) {
        return sendOAuthError(reply, err);
      }
      const meta = requestMeta(request);
      const owner = await sessionOfToken(token, body.token_type_hint);
      if (owner !== undefined) {
        await revocation.revoke(owner.sessionId, {
          reason: 'token_revoked',
          type: 'sign_out',
          userId: owner.userId,
          meta,
        });
      }
      return reply.code(200).send();
    },
  );

  /** RFC 7009 §2.1: the hint orders the look-ups; an unknown hint is ignored. */
  async function sessionOfToken(token: string, hint: string | undefined) {
    const asAccess = () => {
      const checked = sessions.check(token);
      return 'claims' in checked ? { sessionId: checked.claims.sid, userId: checked.claims.sub } : undefined;
    };
    if (hint === 'access_token') return asAccess() ?? (await sessions.refreshTokenSession(token));
    return (await sessions.refreshTokenSession(token)) ?? asAccess();
  }
}
