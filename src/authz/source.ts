/**
 * The session service's authorization source (types.ts `AuthzSource`): roles from `user_roles`
 * (with BOOTSTRAP_ADMINS at sign-in) and, when configured, Workspace groups from the Directory
 * (directory-check.ts). Called at sign-in and renewal only — never on the hot path.
 */
import type { VerifiedIdentity } from '../core/identity.js';
import type { RequestMeta } from '../session/types.js';
import type { Session, User } from '../store/types.js';
import type { Roles } from './roles.js';
import type { Admission, AuthzSource, Grants } from './types.js';

/** Workspace groups for sign-in and renewal (directory-check.ts); absent when GOOGLE_GROUPS=off. */
export interface GroupSource {
  admit(identity: VerifiedIdentity, meta: RequestMeta): Promise<readonly string[]>;
  atRenewal(user: User, session: Session, meta: RequestMeta): Promise<readonly string[]>;
  /** Sign-in wrote the user row: remember the groups `admit` read under the user's id. */
  remember(user: User, groups: readonly string[]): Promise<void>;
}

export function createAuthzSource(options: { roles: Roles; groups?: GroupSource | undefined }): AuthzSource {
  const { roles, groups } = options;
  return {
    async admit(identity, meta): Promise<Admission> {
      return { groups: groups === undefined ? undefined : await groups.admit(identity, meta) };
    },
    async grantsAtSignIn(user, admission, meta): Promise<Grants> {
      await roles.bootstrap(user.id, user.email, meta);
      if (groups !== undefined && admission.groups !== undefined)
        await groups.remember(user, admission.groups);
      return { roles: await roles.forUser(user.id), groups: admission.groups ?? [] };
    },
    async grantsAtRenewal(user, session, meta): Promise<Grants> {
      const userGroups = groups === undefined ? [] : await groups.atRenewal(user, session, meta);
      return { roles: await roles.forUser(user.id), groups: userGroups };
    },
  };
}
