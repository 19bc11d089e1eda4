/**
 * What authorization adds to a session (DESIGN.md "Authorization"): the user's roles and
 * Workspace groups, resolved at sign-in and again at renewal, never on the hot path.
 */
import type { VerifiedIdentity } from '../core/identity.js';
import type { RequestMeta } from '../session/types.js';
import type { Session, User } from '../store/types.js';

/** Roles and groups of one user at one time; names lower-case, sorted, none twice. */
export interface Grants {
  readonly roles: readonly string[];
  readonly groups: readonly string[];
}

export const NO_GRANTS: Grants = Object.freeze({ roles: Object.freeze([]), groups: Object.freeze([]) });

/**
 * The session service's view of authorization. Every method may throw a GatehouseError, which
 * the session service passes on (and records, for sign-in).
 */
export interface AuthzSource {
  /** Before any row is written: may refuse the sign-in (e.g. `forbidden_group`). */
  admit(identity: VerifiedIdentity, meta: RequestMeta): Promise<Admission>;
  /** After the user row exists: bootstrap roles, then the grants for the first token. */
  grantsAtSignIn(user: User, admission: Admission, meta: RequestMeta): Promise<Grants>;
  /**
   * At renewal (at most once per TOKEN_TTL per client): the grants for the next token. May
   * revoke every session of the user (Workspace suspension) and throw.
   */
  grantsAtRenewal(user: User, session: Session, meta: RequestMeta): Promise<Grants>;
}

/** What `admit` learned before the user row existed (the groups read from the Directory). */
export interface Admission {
  readonly groups: readonly string[] | undefined;
}
