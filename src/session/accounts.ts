/**
 * Accounts: disabling and enabling users (operators, the CLI, the admin API). Disabling revokes
 * every session of the user on every instance; a disabled user cannot sign in or renew.
 */
import type { Clock } from '../core/clock.js';
import type { Store, User } from '../store/types.js';
import type { AuditLog } from './audit.js';
import type { Revocation, RevokeOptions } from './revocation.js';

export class Accounts {
  readonly #users: Store['users'];
  readonly #revocation: Revocation;
  readonly #audit: AuditLog;
  readonly #clock: Clock;

  constructor(options: { users: Store['users']; revocation: Revocation; audit: AuditLog; clock: Clock }) {
    this.#users = options.users;
    this.#revocation = options.revocation;
    this.#audit = options.audit;
    this.#clock = options.clock;
  }

  /**
   * Disables a user and revokes all their sessions; undefined when there is no such user.
   * Disabled first, so no sign-in can slip a new session in between the two steps.
   */
  async disable(userId: string, opts: RevokeOptions): Promise<User | undefined> {
    const at = new Date(this.#clock.now());
    const user = await this.#users.setDisabled(userId, at);
    if (user === undefined) return undefined;
    await this.#audit.record('user_disabled', { userId, reason: opts.reason, meta: opts.meta }, at);
    await this.#revocation.revokeAllForUser(userId, opts);
    return user;
  }

  async enable(userId: string, opts: RevokeOptions): Promise<User | undefined> {
    const at = new Date(this.#clock.now());
    const user = await this.#users.setDisabled(userId, null);
    if (user !== undefined) {
      await this.#audit.record('user_enabled', { userId, reason: opts.reason, meta: opts.meta }, at);
    }
    return user;
  }
}
