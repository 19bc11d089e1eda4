/**
 * The signed-in user's own data: profile and sessions ("sign out everywhere").
 */
import type { FastifyInstance } from 'fastify';
import { GatehouseError } from '../../errors.js';
import type { Revocation } from '../../session/revocation.js';
import type { Session, Store, User } from '../../store/types.js';
import { requestMeta } from '../auth.js';
import { SECURED, UNAUTHORIZED } from '../schemas.js';

export interface AccountRoutesOptions {
  readonly store: Store;
  readonly revocation: Revocation;
  readonly now: () => number;
}

const userSchema = {
  $id: 'User',
  type: 'object',
  required: ['id', 'email', 'email_verified', 'name', 'picture', 'hosted_domain', 'session_id'],
  properties: {
    id: { type: 'string' },
    email: { type: 'string' },
    email_verified: { type: 'boolean' },
    name: { type: ['string', 'null'] },
    picture: { type: ['string', 'null'] },
    hosted_domain: { type: ['string', 'null'] },
    first_logged_in: { type: 'string', format: 'date-time' },
    last_login: { type: 'string', format: 'date-time' },
    session_id: { type: 'string' },
  },
} as const;

const sessionSchema = {
  $id: 'Session',
  type: 'object',
  required: [
    'id',
    'current',
    'created_at',
    'expires_at',
    'last_seen_at',
    'ip',
    'user_agent',
    'client_kind',
    'sign_in_method',
  ],
  properties: {
    id: { type: 'string' },
    current: { type: 'boolean' },
    created_at: { type: 'string', format: 'date-time' },
    expires_at: { type: 'string', format: 'date-time' },
    idle_expires_at: { type: 'string', format: 'date-time' },
    last_seen_at: { type: 'string', format: 'date-time' },
    ip: { type: ['string', 'null'] },
    user_agent: { type: ['string', 'null'] },
    client_kind: {
      type: 'string',
      enum: ['web', 'android', 'ios', 'api'],
      description: 'A browser (`web`) or a native client that signed in with an ID token.',
    },
    sign_in_method: {
      type: 'string',
      enum: ['oidc_callback', 'id_token'],
      description: 'The browser sign-in (`oidc_callback`) or `POST /auth/google` (`id_token`).',
    },
  },
} as const;

function profile(user: User, sessionId: string) {
  return {
    id: user.id,
    email: user.email,
    email_verified: user.emailVerified,
    name: user.name,
    picture: user.picture,
    hosted_domain: user.hostedDomain,
    first_logged_in: user.firstLoggedIn.toISOString(),
    last_login: user.lastLogin.toISOString(),
    session_id: sessionId,
  };
}

function sessionView(session: Session, currentId: string) {
  return {
    id: session.id,
    current: session.id === currentId,
    created_at: session.createdAt.toISOString(),
    expires_at: session.expiresAt.toISOString(),
    idle_expires_at: session.idleExpiresAt.toISOString(),
    last_seen_at: session.lastSeenAt.toISOString(),
    ip: session.ip,
    user_agent: session.userAgent,
    client_kind: session.clientKind,
    sign_in_method: session.signInMethod,
  };
}

export async function accountRoutes(app: FastifyInstance, options: AccountRoutesOptions): Promise<void> {
  const { store, revocation, now } = options;
  app.addSchema(userSchema);
  app.addSchema(sessionSchema);

  app.get(
    '/me',
    {
      preHandler: app.requireUser,
      schema: {
        summary: "The signed-in user's profile",
        tags: ['account'],
        ...SECURED,
        response: { 200: { $ref: 'User#' }, ...UNAUTHORIZED },
      },
    },
    async (request) => {
      const auth = request.user!;
      const user = await store.users.findById(auth.id);
      if (!user) throw new GatehouseError('invalid_token', 'The user of this session no longer exists.');
      return profile(user, auth.sessionId);
    },
  );

  app.get(
    '/sessions',
    {
      preHandler: app.requireUser,
      schema: {
        summary: "The signed-in user's live sessions",
        tags: ['account'],
        ...SECURED,
        response: {
          200: { type: 'object', properties: { sessions: { type: 'array', items: { $ref: 'Session#' } } } },
          ...UNAUTHORIZED,
        },
      },
    },
    async (request) => {
      const auth = request.user!;
      const list = await store.sessions.listForUser(auth.id, { now: new Date(now()) });
      return { sessions: list.map((s) => sessionView(s, auth.sessionId)) };
    },
  );

  app.delete(
    '/sessions/:id',
    {
      preHandler: app.requireUser,
      schema: {
        summary: 'Sign out one of your sessions',
        tags: ['account'],
        ...SECURED,
        params: {
          type: 'object',
          required: ['id'],
          properties: { id: { type: 'string', minLength: 1, maxLength: 64 } },
        },
        response: {
          204: { description: 'Revoked', type: 'null' },
          404: { $ref: 'Problem#' },
          ...UNAUTHORIZED,
        },
      },
    },
    async (request, reply) => {
      const auth = request.user!;
      const { id } = request.params as { id: string };
      const session = await store.sessions.findById(id);
      // Another user's session id answers exactly like an unknown one: no oracle.
      if (!session || session.userId !== auth.id) throw new GatehouseError('not_found', 'No such session.');
      await revocation.revoke(id, {
        reason: 'user_revoked',
        type: 'session_revoked',
        userId: auth.id,
        meta: requestMeta(request),
      });
      if (id === auth.sessionId && auth.via === 'cookie') reply.clearSession();
      return reply.code(204).send();
    },
  );

  app.delete(
    '/sessions',
    {
      preHandler: app.requireUser,
      schema: {
        summary: 'Sign out everywhere',
        description: 'Revokes every session of the signed-in user, this one included, on every instance.',
        tags: ['account'],
        ...SECURED,
        response: { 204: { description: 'All revoked', type: 'null' }, ...UNAUTHORIZED },
      },
    },
    async (request, reply) => {
      const auth = request.user!;
      await revocation.revokeAllForUser(auth.id, {
        reason: 'user_sign_out_everywhere',
        meta: requestMeta(request),
      });
      if (auth.via === 'cookie') reply.clearSession();
      return reply.code(204).send();
    },
  );
}
