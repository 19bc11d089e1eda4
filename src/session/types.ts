/**
 * Session tokens and the session manager: the contract between session/ and http/.
 */
import type { ClientKind, Session, SignInMethod, User } from '../store/types.js';

/** The claims of a Gatehouse session token (a JWT signed by Gatehouse). */
export interface SessionClaims {
  /** user id */
  readonly sub: string;
  /** session id */
  readonly sid: string;
  readonly email: string;
  readonly name?: string;
  /** The user's Google Workspace domain, when they have one (for the assertion's `hd`). */
  readonly hd?: string;
  /** Role names (DESIGN.md "Authorization"); present only when the user holds at least one. */
  readonly roles?: readonly string[];
  /** Workspace group emails (GOOGLE_GROUPS=directory), when they fit the token; see `gh`. */
  readonly groups?: readonly string[];
  /**
   * Instead of `groups` when the list is large (the cookie must stay < 4 KB): a digest of the
   * sorted list, which is kept server-side (src/authz/group-cache.ts).
   */
  readonly gh?: string;
  /** seconds */
  readonly iat: number;
  /** seconds */
  readonly exp: number;
}

/**
 * The result of the hot-path check (synchronous: signature, expiry, in-memory revocation).
 * `expired` means a genuine token whose time is up: a renewal candidate.
 */
export type TokenCheck =
  | { readonly ok: true; readonly claims: SessionClaims }
  | { readonly ok: false; readonly reason: 'expired'; readonly claims: SessionClaims }
  | { readonly ok: false; readonly reason: 'revoked'; readonly claims: SessionClaims }
  | { readonly ok: false; readonly reason: 'invalid' };

export interface IssuedToken {
  readonly token: string;
  /** When the token expires (ms). */
  readonly expiresAt: number;
}

export interface RequestMeta {
  readonly ip: string | null;
  readonly userAgent: string | null;
}

/** A sign-in's request facts and what made it: the kind of client and the method. */
export interface SignInMeta extends RequestMeta {
  /** Default `web`. Any other kind also gets a refresh token. */
  readonly clientKind?: ClientKind;
  /** Default `oidc_callback`. */
  readonly method?: SignInMethod;
}

export interface Renewed {
  readonly token: IssuedToken;
  readonly claims: SessionClaims;
  readonly user: User;
  readonly session: Session;
}

/** How revocations reach other instances (database polling always; Redis when configured). */
export interface RevocationBus {
  publish(sessionIds: readonly string[]): Promise<void>;
  /**
   * `onRevoked` hears every revocation published elsewhere; `onResumed` is told when the bus
   * comes back after an outage (messages sent meanwhile are lost: time to read the database).
   */
  subscribe(onRevoked: (sessionIds: readonly string[]) => void, onResumed?: () => void): Promise<void>;
  close(): Promise<void>;
}
