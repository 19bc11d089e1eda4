/**
 * The store contract: what the rest of Gatehouse may ask of the database. One implementation
 * (Kysely) behind it, for SQLite, MySQL/MariaDB and PostgreSQL; one contract test suite for all.
 * Times are JS `Date`s in and out (UTC in the database).
 */

import type { VerifiedIdentity } from '../core/identity.js';

export interface User {
  readonly id: string;
  readonly issuer: string;
  readonly subject: string;
  readonly email: string;
  readonly emailVerified: boolean;
  readonly name: string | null;
  readonly picture: string | null;
  readonly hostedDomain: string | null;
  readonly firstLoggedIn: Date;
  readonly lastLogin: Date;
  readonly lastAccessed: Date | null;
  readonly disabledAt: Date | null;
}

/** What kind of client holds a session (DESIGN.md "Native apps and single-page apps"). */
export type ClientKind = 'web' | 'android' | 'ios' | 'api';
export const CLIENT_KINDS: readonly ClientKind[] = ['web', 'android', 'ios', 'api'];
/** How the session was signed in: the browser callback, or a Google ID token posted to /auth/google. */
export type SignInMethod = 'oidc_callback' | 'id_token';

export interface Session {
  /** Random 128-bit id, base64url (22 characters). */
  readonly id: string;
  readonly userId: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly idleExpiresAt: Date;
  readonly lastSeenAt: Date;
  readonly revokedAt: Date | null;
  readonly revokedReason: string | null;
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly clientKind: ClientKind;
  readonly signInMethod: SignInMethod;
}

export type AuthEventType =
  | 'sign_in'
  | 'sign_in_failed'
  | 'sign_out'
  | 'session_revoked'
  | 'sessions_revoked_all'
  | 'user_disabled'
  | 'user_enabled'
  | 'role_granted'
  | 'role_revoked';

export interface AuthEvent {
  readonly id: number;
  readonly type: AuthEventType;
  readonly userId: string | null;
  readonly sessionId: string | null;
  /** Machine word, e.g. `state_mismatch`, `user_sign_out`, `operator`. */
  readonly reason: string | null;
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly createdAt: Date;
}

/** One role held by a user (`user_roles`). */
export interface UserRole {
  readonly userId: string;
  /** Lower-case `[a-z][a-z0-9_-]{0,63}` (checked by callers, src/authz/roles.ts). */
  readonly role: string;
  readonly grantedAt: Date;
  /** `cli`, `bootstrap`, or the granting admin's user id. */
  readonly grantedBy: string | null;
}

export type ChatRole = 'user' | 'assistant';

export interface ChatMessage {
  readonly id: number;
  readonly userId: string;
  readonly role: ChatRole;
  readonly content: string;
  readonly createdAt: Date;
}

/** The profile a verified sign-in brings; written on upsert. */
export interface UserProfileInput {
  readonly issuer: string;
  readonly subject: string;
  readonly email: string;
  readonly emailVerified: boolean;
  readonly name: string | null;
  readonly picture: string | null;
  readonly hostedDomain: string | null;
}

export interface NewSessionInput {
  readonly id: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly idleExpiresAt: Date;
  readonly ip: string | null;
  readonly userAgent: string | null;
  /** Default `web`. */
  readonly clientKind?: ClientKind;
  /** Default `oidc_callback`. */
  readonly signInMethod?: SignInMethod;
}

/** A refresh token's row (the token is known only by its SHA-256). */
export interface RefreshTokenRecord {
  readonly hash: string;
  readonly sessionId: string;
  readonly family: string;
  readonly generation: number;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly usedAt: Date | null;
}

export type NewRefreshToken = Omit<RefreshTokenRecord, 'usedAt'>;

/**
 * What rotating a refresh token found: this call rotated it (and stored the successor), it had
 * been rotated already (when, and the sealed successor for a retry), or it is unknown/expired.
 */
export type RotateOutcome =
  | { readonly kind: 'rotated' }
  | { readonly kind: 'used'; readonly usedAt: Date; readonly successorSealed: string | null }
  | { readonly kind: 'unknown' };

export interface NewAuthEvent {
  readonly type: AuthEventType;
  readonly userId?: string | null;
  readonly sessionId?: string | null;
  readonly reason?: string | null;
  readonly ip?: string | null;
  readonly userAgent?: string | null;
  readonly at: Date;
}

export interface MigrationStep {
  readonly name: string;
  readonly status: 'applied' | 'pending' | 'applied_now' | 'failed';
}

/** What `withMaintenanceLock` did: ran `fn` (and its result), or skipped it. */
export type MaintenanceLockResult<T> = { readonly ran: true; readonly value: T } | { readonly ran: false };

export interface Store {
  readonly kind: 'sqlite' | 'mysql' | 'postgres';

  /** Applies pending migrations under a lock (safe with several instances starting at once). */
  migrate(): Promise<readonly MigrationStep[]>;
  migrationStatus(): Promise<readonly MigrationStep[]>;
  /** Cheap round trip; rejects when the database is unreachable. */
  ping(): Promise<void>;
  close(): Promise<void>;

  /**
   * Runs `fn` only if no other instance on this database is running maintenance (the purge) now:
   * a leader lock taken without waiting and released when `fn` settles, or when the holder dies.
   * `{ ran: false }` when another instance holds it. Rejects with `service_unavailable` when the
   * database is down; `fn`'s own rejection passes through.
   */
  withMaintenanceLock<T>(fn: () => Promise<T>): Promise<MaintenanceLockResult<T>>;

  /**
   * The end of a verified sign-in, in one transaction (only a VerifiedIdentity — the output of the
   * callback verifier — can create a user or a session): upsert the user by (issuer, subject) —
   * never by email — setting last_login (and first_logged_in on insert), then create the session.
   * Race-safe: concurrent first sign-ins of one subject give one user row. Disabled users get
   * `{ disabled: true }` and no session.
   */
  signIn(
    identity: VerifiedIdentity,
    session: NewSessionInput,
  ): Promise<
    { readonly user: User; readonly session: Session } | { readonly disabled: true; readonly user: User }
  >;

  /**
   * Marks a login transaction id as used. True the first time for an id, false afterwards —
   * also under concurrent calls across instances (a unique key, not a read-then-write).
   */
  consumeTransaction(id: string, expiresAt: Date): Promise<boolean>;

  /**
   * Marks an ID token (or a nonce) used, by its SHA-256 in hex, until `expiresAt` (then the purge
   * forgets it). True the first time, false afterwards — across instances, by a unique key.
   */
  consumeIdToken(hash: string, expiresAt: Date): Promise<boolean>;

  refreshTokens: {
    /** Stores the first refresh token of a family (at sign-in). */
    insert(token: NewRefreshToken): Promise<void>;
    /** A token's row with its session and user (one query), or undefined. */
    findWithSession(hash: string): Promise<
      | {
          readonly token: RefreshTokenRecord;
          readonly session: Session;
          readonly user: User;
          /** The successor pair sealed under the token itself, once it was rotated. */
          readonly successorSealed: string | null;
        }
      | undefined
    >;
    /**
     * Rotates `hash` once: marks it used at `at` and stores `successor` (and its sealed pair for
     * a retry) — only when it was unused and unexpired, decided by one conditional UPDATE, so of
     * concurrent rotations on any instance exactly one gets `rotated`.
     */
    rotate(
      hash: string,
      successor: NewRefreshToken & { readonly sealed: string },
      at: Date,
    ): Promise<RotateOutcome>;
  };

  users: {
    findById(id: string): Promise<User | undefined>;
    findByEmail(email: string): Promise<readonly User[]>;
    list(options?: { limit?: number; offset?: number }): Promise<readonly User[]>;
    /** Sets or clears disabled_at; returns the user, or undefined when there is none. */
    setDisabled(id: string, disabledAt: Date | null): Promise<User | undefined>;
    count(): Promise<number>;
  };

  sessions: {
    findById(id: string): Promise<Session | undefined>;
    /** The session with its user, for renewal (one indexed query). */
    findWithUser(id: string): Promise<{ readonly session: Session; readonly user: User } | undefined>;
    listForUser(
      userId: string,
      options?: { includeInactive?: boolean; now?: Date },
    ): Promise<readonly Session[]>;
    list(options?: { activeAt?: Date; limit?: number }): Promise<readonly Session[]>;
    /** Renewal: sets last_seen_at and idle_expires_at, and the user's last_accessed. */
    touch(id: string, userId: string, lastSeenAt: Date, idleExpiresAt: Date): Promise<void>;
    /** Revokes one session if not revoked yet; true when this call revoked it. */
    revoke(id: string, at: Date, reason: string): Promise<boolean>;
    /** Revokes every live session of a user; returns the ids revoked by this call. */
    revokeAllForUser(userId: string, at: Date, reason: string): Promise<readonly string[]>;
    /** Revokes every live session; returns the ids. */
    revokeAll(at: Date, reason: string): Promise<readonly string[]>;
    /** Sessions revoked at or after `since` (for the revocation poller), oldest first. */
    revokedSince(
      since: Date,
      limit?: number,
    ): Promise<readonly { readonly id: string; readonly revokedAt: Date }[]>;
    countActive(now: Date): Promise<number>;
    /**
     * The database's own current time. Revocation times are written and compared on this clock,
     * not on the revoker's (SECURITY.md 41): on SQLite it is this host's clock, which every
     * process sharing the file shares.
     */
    databaseTime(): Promise<Date>;
    /**
     * Deletes sessions whose absolute or idle expiry is older than `before`, and used transactions,
     * refresh tokens and used ID tokens past expiry. A revoked session is kept until then
     * (SECURITY.md 41): its row is what renewal and a restarted instance's poller learn the
     * revocation from, and no token of it can verify past the session's expiry. Returns rows deleted.
     */
    purgeExpired(before: Date): Promise<number>;
  };

  roles: {
    /** The user's role names, sorted. */
    listForUser(userId: string): Promise<readonly string[]>;
    grants(userId: string): Promise<readonly UserRole[]>;
    /** True when this call granted it (false: the user already had it). Race-safe. */
    grant(userId: string, role: string, at: Date, grantedBy: string | null): Promise<boolean>;
    /** True when this call took it away. */
    revoke(userId: string, role: string): Promise<boolean>;
  };

  /** When each user's roles last changed (polled by every instance). */
  authzChanges: {
    /** Records (or moves forward) the user's last change. */
    record(userId: string, at: Date): Promise<void>;
    /** Changes at or after `since`, oldest first. */
    since(
      since: Date,
      limit?: number,
    ): Promise<readonly { readonly userId: string; readonly changedAt: Date }[]>;
    /** Deletes changes older than `before`; returns rows deleted. */
    purge(before: Date): Promise<number>;
  };

  /** The last good Directory answer per user (GOOGLE_GROUPS=directory). */
  directory: {
    get(
      userId: string,
    ): Promise<{ readonly groups: readonly string[]; readonly checkedAt: Date } | undefined>;
    /** Inserts or replaces the user's answer. */
    put(userId: string, groups: readonly string[], checkedAt: Date): Promise<void>;
  };

  events: {
    record(event: NewAuthEvent): Promise<void>;
    list(filter?: {
      userId?: string;
      type?: AuthEventType;
      since?: Date;
      limit?: number;
    }): Promise<readonly AuthEvent[]>;
    purgeOlderThan(before: Date): Promise<number>;
  };

  chat: {
    append(userId: string, role: ChatRole, content: string, at: Date): Promise<ChatMessage>;
    /**
     * A user message and its reply, in one transaction: both are stored or neither is, so an
     * outage between the two never leaves half an exchange.
     */
    appendExchange(
      userId: string,
      message: { readonly content: string; readonly at: Date },
      reply: { readonly content: string; readonly at: Date },
    ): Promise<{ readonly message: ChatMessage; readonly reply: ChatMessage }>;
    /** Newest first, `before` an id cursor (exclusive). Only this user's messages. */
    list(userId: string, options?: { before?: number; limit?: number }): Promise<readonly ChatMessage[]>;
    count(userId: string): Promise<number>;
  };
}
