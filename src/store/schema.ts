/**
 * Kysely table types. Timestamps are `Date` on MySQL (DATETIME(3), UTC) and PostgreSQL
 * (timestamptz(3)), ISO-8601 text (`YYYY-MM-DDTHH:MM:SS.sssZ`, sorts as it compares) on SQLite;
 * repositories convert through `codec.ts`, so the Store API only ever speaks `Date`.
 * Booleans are 0/1 on SQLite and MySQL, `boolean` on PostgreSQL; bigint ids come back as
 * strings from node-postgres. Queries written directly against `store.db` must respect this.
 */
import type { Generated } from 'kysely';

export type DbTime = Date | string;
export type DbBool = boolean | number;
/** An auto-increment id: read as number (SQLite, MySQL) or string (PostgreSQL int8). */
export type DbSerial = Generated<number | string>;

export interface UsersTable {
  id: string;
  issuer: string;
  subject: string;
  email: string;
  email_verified: DbBool;
  name: string | null;
  picture: string | null;
  hosted_domain: string | null;
  first_logged_in: DbTime;
  last_login: DbTime;
  last_accessed: DbTime | null;
  disabled_at: DbTime | null;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  created_at: DbTime;
  expires_at: DbTime;
  idle_expires_at: DbTime;
  last_seen_at: DbTime;
  revoked_at: DbTime | null;
  revoked_reason: string | null;
  ip: string | null;
  user_agent: string | null;
  /** 0003: web, android, ios or api (existing rows: web). */
  client_kind: Generated<string>;
  /** 0003: oidc_callback or id_token (existing rows: oidc_callback). */
  sign_in_method: Generated<string>;
}

export interface AuthEventsTable {
  id: DbSerial;
  type: string;
  user_id: string | null;
  session_id: string | null;
  reason: string | null;
  ip: string | null;
  user_agent: string | null;
  created_at: DbTime;
}

export interface ChatMessagesTable {
  id: DbSerial;
  user_id: string;
  role: string;
  content: string;
  created_at: DbTime;
}

export interface UsedTransactionsTable {
  id: string;
  expires_at: DbTime;
}

/** 0003: refresh tokens by SHA-256 (hex); the token itself is never stored. */
export interface RefreshTokensTable {
  hash: string;
  session_id: string;
  family: string;
  generation: number;
  created_at: DbTime;
  expires_at: DbTime;
  used_at: DbTime | null;
  successor_hash: string | null;
  successor_sealed: string | null;
}

/** 0003: ID tokens and nonces already used (SHA-256, hex), kept until they expire. */
export interface UsedIdTokensTable {
  hash: string;
  expires_at: DbTime;
}

export interface UserRolesTable {
  user_id: string;
  role: string;
  granted_at: DbTime;
  granted_by: string | null;
}

export interface UserDirectoryTable {
  user_id: string;
  /** JSON array of lower-case group emails. */
  groups: string;
  checked_at: DbTime;
}

export interface AuthzChangesTable {
  user_id: string;
  changed_at: DbTime;
}

export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  auth_events: AuthEventsTable;
  chat_messages: ChatMessagesTable;
  used_transactions: UsedTransactionsTable;
  refresh_tokens: RefreshTokensTable;
  used_id_tokens: UsedIdTokensTable;
  user_roles: UserRolesTable;
  user_directory: UserDirectoryTable;
  authz_changes: AuthzChangesTable;
}

/** Column limits shared by the migrations and the repositories (characters). */
export const LIMITS = {
  issuer: 255,
  subject: 255,
  email: 320,
  hostedDomain: 255,
  sessionId: 32,
  transactionId: 64,
  ip: 64,
  userAgent: 512,
  reason: 128,
  /** SHA-256 in hex. */
  hash: 64,
  family: 32,
  /** Display name: truncated beyond this (a hostile claim must not bloat every row). */
  name: 4096,
  /** Picture URL: dropped beyond this (a truncated URL is a broken one). */
  picture: 8192,
} as const;
