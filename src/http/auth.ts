/**
 * Authentication: who is calling, on every request that asks. The hot path is synchronous —
 * signature, expiry and the in-memory revocation set (DESIGN.md "Sessions: fast and
 * revocable"); the database is read only when a genuine token has expired and must be renewed.
 *
 * Routes protect themselves with `preHandler: app.requireUser`, which is also how users of
 * Gatehouse protect their own routes; `request.user` is then set.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config/types.js';
import { GatehouseError } from '../errors.js';
import type { SessionService } from '../session/service.js';
import type { RequestMeta, SessionClaims } from '../session/types.js';
import { clearSessionCookie } from './cookies.js';
import { presentedCredential } from './credentials.js';
import { sendProblem } from './problem.js';

export interface AuthUser {
  readonly id: string;
  readonly email: string;
  readonly name: string | null;
  readonly sessionId: string;
  /** Google Workspace domain (`hd`), null for other accounts. */
  readonly hostedDomain: string | null;
  /** The session token's `exp` (seconds): nothing derived from it may outlive it. */
  readonly tokenExp: number;
  /** Roles (`user_roles`), as of the token's issue (at most TOKEN_TTL old). */
  readonly roles: readonly string[];
  /** Workspace group emails (GOOGLE_GROUPS=directory), as of the token's issue. */
  readonly groups: readonly string[];
  /** How the token arrived: the cookie, or an `Authorization: Bearer` header. */
  readonly via: 'cookie' | 'bearer';
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in user, set by `requireUser` (or `authenticate`); null otherwise. */
    user: AuthUser | null;
  }
  interface FastifyInstance {
    /** preHandler that answers 401 (problem+json, never a redirect) unless a valid session is presented. */
    requireUser: (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void;
    /** Resolves the caller if any; null when no credentials were presented; throws on bad ones. */
    authenticate: (request: FastifyRequest, reply: FastifyReply) => Promise<AuthUser | null>;
  }
}

export interface AuthPluginOptions {
  readonly config: Config;
  readonly sessions: SessionService;
}

// The revoked and forged-token 401s are the cheap answer to junk traffic: no Error (and no stack
// trace capture: the larger part of the ~20 µs this change saved) is built for them.
const REVOKED = {
  code: 'session_revoked',
  detail: 'This session has been signed out.',
  status: 401,
  retryAfterSeconds: undefined,
} as const;
const INVALID = {
  code: 'invalid_token',
  detail: 'The session token is not valid.',
  status: 401,
  retryAfterSeconds: undefined,
} as const;

export function requestMeta(request: FastifyRequest): RequestMeta {
  const ua = request.headers['user-agent'];
  return { ip: request.ip ?? null, userAgent: typeof ua === 'string' ? ua.slice(0, 512) : null };
}

const NONE: readonly string[] = Object.freeze([]);

/** The request's user from a checked token's claims (also for proxied WebSocket handshakes). */
export function toUser(sessions: SessionService, claims: SessionClaims, via: 'cookie' | 'bearer'): AuthUser {
  return {
    id: claims.sub,
    email: claims.email,
    name: claims.name ?? null,
    sessionId: claims.sid,
    hostedDomain: claims.hd ?? null,
    tokenExp: claims.exp,
    roles: claims.roles ?? NONE,
    groups: sessions.groupsOf(claims),
    via,
  };
}

async function authPlugin(app: FastifyInstance, options: AuthPluginOptions): Promise<void> {
  const { config, sessions } = options;
  const cookieName = config.cookie.name;
  const cleared = clearSessionCookie(config);

  app.decorateRequest('user', null);

  const check = (token: string) => sessions.check(token);
  const presented = (request: FastifyRequest) => presentedCredential(request.headers, cookieName, check);

  // Serialised once: the same string @fastify/cookie's setCookie would build per 401 (its
  // per-reply Map, option copy and onSend serialisation showed up on the revoked/forged path).
  const clearedHeader = app.serializeCookie(cleared.name, '', cleared.options);

  /** Only code, detail, status and retryAfterSeconds are read: the hot 401s pass plain constants. */
  function fail(
    reply: FastifyReply,
    error: Pick<GatehouseError, 'code' | 'detail' | 'status' | 'retryAfterSeconds'>,
    clearCookie: boolean,
    tokenPresented: boolean,
  ): void {
    if (clearCookie) reply.header('set-cookie', clearedHeader);
    sendProblem(reply, error.code, error.detail, {
      retryAfterSeconds: error.retryAfterSeconds,
      ...(tokenPresented && error.status === 401 ? { bearerError: 'invalid_token' as const } : {}),
    });
  }

  /** Renewal: the one database read per TOKEN_TTL per client. */
  async function renew(
    request: FastifyRequest,
    reply: FastifyReply,
    claims: SessionClaims,
    via: 'cookie' | 'bearer',
  ): Promise<AuthUser> {
    const renewed = await sessions.renew(claims, requestMeta(request));
    if (via === 'cookie') {
      reply.setSession(renewed.token, renewed.session.expiresAt);
    } else {
      // Bearer clients pick the fresh token up from this header (documented in the API reference).
      reply.header('x-session-token', renewed.token.token);
    }
    return toUser(sessions, renewed.claims, via);
  }

  async function authenticate(request: FastifyRequest, reply: FastifyReply): Promise<AuthUser | null> {
    const p = presented(request);
    if (p.kind === 'none') return null;
    if (p.kind === 'error') throw p.error;
    const check = sessions.check(p.token);
    if (check.ok) {
      request.user = toUser(sessions, check.claims, p.via);
      return request.user;
    }
    if (check.reason === 'expired') {
      request.user = await renew(request, reply, check.claims, p.via);
      return request.user;
    }
    if (check.reason === 'revoked')
      throw new GatehouseError('session_revoked', 'This session has been signed out.');
    throw new GatehouseError('invalid_token', 'The session token is not valid.');
  }

  // Callback style on purpose: the common case (a valid token) completes synchronously with no
  // promise allocated; only renewal goes async.
  function requireUser(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    const p = presented(request);
    if (p.kind === 'none') {
      sendProblem(
        reply,
        'not_authenticated',
        'Sign in first: no session cookie or bearer token was presented.',
      );
      return;
    }
    if (p.kind === 'error') {
      fail(reply, p.error, p.clearCookie, true);
      return;
    }
    const check = sessions.check(p.token);
    if (check.ok) {
      request.user = toUser(sessions, check.claims, p.via);
      done();
      return;
    }
    const clear = p.via === 'cookie';
    if (check.reason === 'expired') {
      renew(request, reply, check.claims, p.via).then(
        (user) => {
          request.user = user;
          done();
        },
        (err: unknown) => {
          if (err instanceof GatehouseError) {
            fail(reply, err, clear && err.status === 401, true);
            return;
          }
          done(err as Error);
        },
      );
      return;
    }
    if (check.reason === 'revoked') {
      fail(reply, REVOKED, clear, true);
      return;
    }
    fail(reply, INVALID, clear, true);
  }

  app.decorate('authenticate', authenticate);
  app.decorate('requireUser', requireUser);
}

export default fp(authPlugin, {
  fastify: '5.x',
  name: 'gatehouse-auth',
  dependencies: ['@fastify/cookie', 'gatehouse-cookies'],
});
