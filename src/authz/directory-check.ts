/**
 * Workspace groups and account status at sign-in and renewal — continuous re-verification
 * (DESIGN.md "Authorization"; SECURITY.md 61). Never on the hot path: only SessionService.signIn
 * and SessionService.renew call in here.
 *
 * - Sign-in: the Directory is read for the email; a suspended or deleted account, or one outside
 *   ALLOWED_GROUPS, is refused before any row is written. An outage refuses the sign-in (503
 *   `directory_unavailable`): there is no last answer to fall back on for a new session.
 * - Renewal: the last good answer (`user_directory`, shared by every instance) serves while it is
 *   younger than DIRECTORY_RECHECK; older, the Directory is read again. Suspended, deleted, or in
 *   none of ALLOWED_GROUPS → every session of the user is revoked everywhere (audited with the
 *   reason) and the renewal refused. While the Directory is down the last answer serves up to
 *   DIRECTORY_MAX_STALE old; past that, renewals answer 503 `directory_unavailable`.
 * - One read per user at a time on each instance: concurrent renewals share it.
 *
 * So a user removed in Workspace loses access within DIRECTORY_RECHECK + TOKEN_TTL.
 */
import type { Config } from '../config/types.js';
import type { Clock } from '../core/clock.js';
import type { Log } from '../core/log.js';
import { GatehouseError } from '../errors.js';
import type { Revocation } from '../session/revocation.js';
import type { RequestMeta } from '../session/types.js';
import type { Store, User } from '../store/types.js';
import { type DirectoryAnswer, DirectoryError } from './directory.js';
import type { GroupSource } from './source.js';

export interface DirectoryReader {
  lookup(email: string): Promise<DirectoryAnswer>;
}

export interface DirectoryCheckOptions {
  readonly reader: DirectoryReader;
  readonly store: Pick<Store, 'directory'>;
  readonly revocation: Revocation;
  readonly settings: Pick<NonNullable<Config['authz']['directory']>, 'recheckSeconds' | 'maxStaleSeconds'>;
  readonly allowedGroups: readonly string[];
  readonly clock: Clock;
  readonly log: Log;
}

interface Known {
  readonly groups: readonly string[];
  readonly checkedAt: number;
}

const RETRY_AFTER_SECONDS = 30;

export class DirectoryCheck implements GroupSource {
  readonly #o: DirectoryCheckOptions;
  readonly #allowed: ReadonlySet<string>;
  readonly #recheckMs: number;
  readonly #maxStaleMs: number;
  readonly #inFlight = new Map<string, Promise<DirectoryAnswer>>();

  constructor(options: DirectoryCheckOptions) {
    this.#o = options;
    this.#allowed = new Set(options.allowedGroups.map((g) => g.toLowerCase()));
    this.#recheckMs = options.settings.recheckSeconds * 1000;
    this.#maxStaleMs = options.settings.maxStaleSeconds * 1000;
  }

  async admit(identity: { readonly email: string }, _meta: RequestMeta): Promise<readonly string[]> {
    let answer: DirectoryAnswer;
    try {
      answer = await this.#read(identity.email);
    } catch (err) {
      throw this.#unavailable(err, 'sign-in');
    }
    if (answer.status !== 'active') {
      throw new GatehouseError('user_disabled', 'This account is suspended or deleted in Google Workspace.', {
        reason: `workspace_${answer.status}`,
      });
    }
    if (!this.#admitted(answer.groups)) {
      throw new GatehouseError('forbidden_group', undefined, { reason: 'not_in_allowed_group' });
    }
    return answer.groups;
  }

  async remember(user: User, groups: readonly string[]): Promise<void> {
    await this.#o.store.directory.put(user.id, groups, new Date(this.#o.clock.now()));
  }

  async atRenewal(user: User, _session: unknown, meta: RequestMeta): Promise<readonly string[]> {
    const now = this.#o.clock.now();
    const stored = await this.#o.store.directory.get(user.id);
    const known: Known | undefined = stored && {
      groups: stored.groups,
      checkedAt: stored.checkedAt.getTime(),
    };
    if (known !== undefined && now - known.checkedAt < this.#recheckMs) return known.groups;

    let answer: DirectoryAnswer;
    try {
      answer = await this.#read(user.email);
    } catch (err) {
      if (known !== undefined && now - known.checkedAt < this.#maxStaleMs) {
        this.#o.log.warn(
          {
            event: 'directory_stale',
            userId: user.id,
            ageSeconds: Math.round((now - known.checkedAt) / 1000),
            reason: reasonOf(err),
          },
          'Directory unavailable; serving the last known groups',
        );
        return known.groups;
      }
      throw this.#unavailable(err, 'renewal');
    }
    const lost =
      answer.status === 'suspended'
        ? 'workspace_suspended'
        : answer.status === 'deleted'
          ? 'workspace_deleted'
          : this.#admitted(answer.groups)
            ? undefined
            : 'removed_from_allowed_groups';
    if (lost !== undefined) {
      // Every session, on every instance (the bus and the poller carry it), audited with the reason.
      await this.#o.revocation.revokeAllForUser(user.id, { reason: lost, meta });
      this.#o.log.warn(
        { event: 'directory_revoked', userId: user.id, reason: lost },
        'Workspace access ended',
      );
      throw new GatehouseError('session_revoked', 'Access was withdrawn in Google Workspace.', {
        reason: lost,
      });
    }
    const groups = answer.status === 'active' ? answer.groups : [];
    await this.#o.store.directory.put(user.id, groups, new Date(this.#o.clock.now()));
    return groups;
  }

  #admitted(groups: readonly string[]): boolean {
    if (this.#allowed.size === 0) return true;
    return groups.some((g) => this.#allowed.has(g));
  }

  /** One Directory read per email at a time on this instance. */
  #read(email: string): Promise<DirectoryAnswer> {
    const key = email.toLowerCase();
    let pending = this.#inFlight.get(key);
    if (pending === undefined) {
      pending = this.#o.reader.lookup(email).finally(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, pending);
    }
    return pending;
  }

  #unavailable(err: unknown, during: string): GatehouseError {
    this.#o.log.warn(
      { event: 'directory_unavailable', during, reason: reasonOf(err) },
      'Directory unavailable',
    );
    return new GatehouseError('directory_unavailable', undefined, {
      cause: err,
      reason: 'directory_unavailable',
      retryAfterSeconds: RETRY_AFTER_SECONDS,
    });
  }
}

function reasonOf(err: unknown): string {
  return err instanceof DirectoryError ? err.reason : 'error';
}
