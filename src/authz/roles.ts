/**
 * Roles (DESIGN.md "Authorization"): names held in `user_roles`, granted by operators (`gatehouse
 * users grant`), the admin API, or `BOOTSTRAP_ADMINS` at sign-in. Every grant and revocation is
 * audited (`role_granted` / `role_revoked`, the role name as the reason).
 *
 * A change is also written to `authz_changes`, which every instance polls (changes.ts): the user's
 * tokens issued before it renew at their next request, which reads the roles again — within the
 * revocation bound, and at the latest within TOKEN_TTL (docs/authorization.md, "How changes spread").
 */
import type { Clock } from '../core/clock.js';
import type { AuditLog } from '../session/audit.js';
import type { RequestMeta } from '../session/types.js';
import type { Store } from '../store/types.js';

/** Lower-case, starts with a letter, at most 64 characters (the column and the token claim). */
export const ROLE_NAME = /^[a-z][a-z0-9_-]{0,63}$/;

export const ADMIN_ROLE = 'admin';

export function isRoleName(value: unknown): value is string {
  return typeof value === 'string' && ROLE_NAME.test(value);
}

export interface RoleChange {
  /** `cli`, `bootstrap`, or the acting admin's user id (≤ 64 characters). */
  readonly by: string;
  readonly meta?: RequestMeta | undefined;
}

export class Roles {
  readonly #store: Pick<Store, 'roles' | 'authzChanges'>;
  readonly #audit: AuditLog;
  readonly #clock: Clock;
  readonly #bootstrapAdmins: ReadonlySet<string>;
  readonly #onChange: ((userId: string, atMs: number) => void) | undefined;

  constructor(options: {
    store: Pick<Store, 'roles' | 'authzChanges'>;
    audit: AuditLog;
    clock: Clock;
    /** BOOTSTRAP_ADMINS, lower-case emails. */
    bootstrapAdmins?: readonly string[];
    /** Told of every change made here, so this instance acts on it before its next poll. */
    onChange?: (userId: string, atMs: number) => void;
  }) {
    this.#onChange = options.onChange;
    this.#store = options.store;
    this.#audit = options.audit;
    this.#clock = options.clock;
    this.#bootstrapAdmins = new Set((options.bootstrapAdmins ?? []).map((e) => e.toLowerCase()));
  }

  /** The user's roles, sorted. */
  forUser(userId: string): Promise<readonly string[]> {
    return this.#store.roles.listForUser(userId);
  }

  /** True when this call granted it. Throws TypeError for a malformed role name. */
  async grant(userId: string, role: string, change: RoleChange): Promise<boolean> {
    if (!isRoleName(role)) throw new TypeError('malformed role name');
    const at = new Date(this.#clock.now());
    const granted = await this.#store.roles.grant(userId, role, at, change.by.slice(0, 64));
    if (granted) {
      await this.#store.authzChanges.record(userId, at);
      this.#onChange?.(userId, at.getTime());
      await this.#audit.record('role_granted', { userId, reason: role, meta: change.meta }, at);
    }
    return granted;
  }

  /** True when this call took it away. */
  async revoke(userId: string, role: string, change: RoleChange): Promise<boolean> {
    if (!isRoleName(role)) throw new TypeError('malformed role name');
    const at = new Date(this.#clock.now());
    const revoked = await this.#store.roles.revoke(userId, role);
    if (revoked) {
      await this.#store.authzChanges.record(userId, at);
      this.#onChange?.(userId, at.getTime());
      await this.#audit.record('role_revoked', { userId, reason: role, meta: change.meta }, at);
    }
    return revoked;
  }

  /**
   * BOOTSTRAP_ADMINS: `admin` for a listed, verified email at sign-in (the first operator needs
   * no database access). Granted once; taking it away later with `revoke-role` holds only until
   * the next sign-in while the email stays listed — documented.
   */
  async bootstrap(userId: string, email: string, meta?: RequestMeta): Promise<void> {
    if (!this.#bootstrapAdmins.has(email.toLowerCase())) return;
    await this.grant(userId, ADMIN_ROLE, { by: 'bootstrap', meta });
  }
}
