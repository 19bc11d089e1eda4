/** Database rows → Store types (the only place that knows both shapes). */
import type { Selectable } from 'kysely';
import { type Codec, readBool, readInt } from '../codec.js';
import type { AuthEventsTable, ChatMessagesTable, SessionsTable, UsersTable } from '../schema.js';
import type {
  AuthEvent,
  AuthEventType,
  ChatMessage,
  ChatRole,
  ClientKind,
  Session,
  SignInMethod,
  User,
} from '../types.js';

export type UserRow = Selectable<UsersTable>;
export type SessionRow = Selectable<SessionsTable>;

/**
 * The session's columns under `s_` aliases, for queries that join sessions with users (whose
 * `id` and `created_at` would otherwise collide); `toPrefixedSession` reads them back.
 */
export const PREFIXED_SESSION_COLUMNS = [
  'sessions.id as s_id',
  'sessions.user_id as s_user_id',
  'sessions.created_at as s_created_at',
  'sessions.expires_at as s_expires_at',
  'sessions.idle_expires_at as s_idle_expires_at',
  'sessions.last_seen_at as s_last_seen_at',
  'sessions.revoked_at as s_revoked_at',
  'sessions.revoked_reason as s_revoked_reason',
  'sessions.ip as s_ip',
  'sessions.user_agent as s_user_agent',
  'sessions.client_kind as s_client_kind',
  'sessions.sign_in_method as s_sign_in_method',
] as const;

type PrefixedSessionRow = { [K in keyof SessionRow as `s_${K & string}`]: SessionRow[K] };

export function toPrefixedSession(row: PrefixedSessionRow, codec: Codec): Session {
  return toSession(
    {
      id: row.s_id,
      user_id: row.s_user_id,
      created_at: row.s_created_at,
      expires_at: row.s_expires_at,
      idle_expires_at: row.s_idle_expires_at,
      last_seen_at: row.s_last_seen_at,
      revoked_at: row.s_revoked_at,
      revoked_reason: row.s_revoked_reason,
      ip: row.s_ip,
      user_agent: row.s_user_agent,
      client_kind: row.s_client_kind,
      sign_in_method: row.s_sign_in_method,
    },
    codec,
  );
}

export function toUser(row: UserRow, codec: Codec): User {
  return {
    id: row.id,
    issuer: row.issuer,
    subject: row.subject,
    email: row.email,
    emailVerified: readBool(row.email_verified),
    name: row.name,
    picture: row.picture,
    hostedDomain: row.hosted_domain,
    firstLoggedIn: codec.readTime(row.first_logged_in),
    lastLogin: codec.readTime(row.last_login),
    lastAccessed: codec.readTimeOrNull(row.last_accessed),
    disabledAt: codec.readTimeOrNull(row.disabled_at),
  };
}

export function toSession(row: SessionRow, codec: Codec): Session {
  return {
    id: row.id,
    userId: row.user_id,
    createdAt: codec.readTime(row.created_at),
    expiresAt: codec.readTime(row.expires_at),
    idleExpiresAt: codec.readTime(row.idle_expires_at),
    lastSeenAt: codec.readTime(row.last_seen_at),
    revokedAt: codec.readTimeOrNull(row.revoked_at),
    revokedReason: row.revoked_reason,
    ip: row.ip,
    userAgent: row.user_agent,
    clientKind: row.client_kind as ClientKind,
    signInMethod: row.sign_in_method as SignInMethod,
  };
}

export function toEvent(row: Selectable<AuthEventsTable>, codec: Codec): AuthEvent {
  return {
    id: readInt(row.id),
    type: row.type as AuthEventType,
    userId: row.user_id,
    sessionId: row.session_id,
    reason: row.reason,
    ip: row.ip,
    userAgent: row.user_agent,
    createdAt: codec.readTime(row.created_at),
  };
}

export function toChatMessage(row: Selectable<ChatMessagesTable>, codec: Codec): ChatMessage {
  return {
    id: readInt(row.id),
    userId: row.user_id,
    role: row.role as ChatRole,
    content: row.content,
    createdAt: codec.readTime(row.created_at),
  };
}

/** Validates an optional page size: a non-negative integer, capped at `max`. */
export function pageSize(value: number | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0) throw new TypeError('limit must be a non-negative integer');
  return Math.min(value, max);
}

export function offsetOf(value: number | undefined): number {
  if (value === undefined) return 0;
  if (!Number.isInteger(value) || value < 0) throw new TypeError('offset must be a non-negative integer');
  return value;
}
