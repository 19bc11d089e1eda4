/**
 * The session service (DESIGN.md "Sessions: fast and revocable"):
 *
 * - `check` is the hot path: signature + expiry + in-memory revocation set, no database.
 * - `renew` runs when a genuine token has expired: one indexed read of the session row (and its
 *   user); if the session is still live — absolute and idle limits honoured, not revoked, user
 *   enabled — it extends the idle limit, records last_seen_at/last_accessed and issues a fresh
 *   token. So the database is touched at most once per TOKEN_TTL per client.
 * - Revocations write the row, then this instance's set at once (refused here immediately), and
 *   reach other instances through the bus (Redis) when there is one, and the poller always.
 *
 * Session expiries are kept on whole seconds (see `newSession`): a token's `exp` is in seconds,
 * so with whole-second limits the token ends exactly when its session does, and both the hot
 * path and renewal refuse at the same instant (SECURITY.md 29: "timeouts hold exactly").
 */

import { randomBytes } from 'node:crypto';
import type { Config } from '../config/types.js';
import { GatehouseError } from '../errors.js';
import type { AuthEventType, NewSessionInput, Session, Store, User } from '../store/types.js';
import { type SessionLogger, silentLogger } from './logger.js';
import { RevocationPoller } from './poller.js';
import { RevocationSet } from './revocations.js';
import { CLOCK_SKEW_SECONDS, TokenCodec } from './token.js';
import {
  type Clock,
  type IssuedToken,
  type Renewed,
  type RequestMeta,
  type RevocationBus,
  type SessionClaims,
  systemClock,
  type TokenCheck,
} from './types.js';

/** The first poll reads this much further back than TOKEN_TTL, for clock differences. */
const LOOKBACK_MARGIN_MS = 60_000;

export interface SessionManagerOptions {
  readonly store: Store;
  readonly config: Config;
  readonly clock?: Clock;
  /** CSPRNG bytes; injectable for tests. */
  readonly random?: (bytes: number) => Buffer;
  readonly logger?: SessionLogger;
  readonly bus?: RevocationBus;
  /** Told of renewals and revocations (metrics); must not throw. */
  readonly observer?: SessionObserver;
}

/** Outcomes the manager reports as they happen, for metrics (src/metrics). */
export interface SessionObserver {
  renewal?(result: 'renewed' | 'refused', reason: string | null): void;
  /** `count` sessions revoked by this instance, for `reason`. */
  revoked?(count: number, reason: string): void;
}

export interface RevokeOptions {
  /** Machine word for the row and the audit trail, e.g. `user_sign_out`, `operator`. */
  readonly reason: string;
  readonly meta?: RequestMeta;
}

export interface RevokeOneOptions extends RevokeOptions {
  readonly type?: 'sign_out' | 'session_revoked';
  readonly userId?: string | null;
}

export interface SessionUser {
  readonly id: string;
  readonly email: string;
  readonly name: string | null;
}

export interface SessionLimits {
  readonly id: string;
  readonly expiresAt: Date;
  readonly idleExpiresAt: Date;
}

const floorToSecond = (ms: number): number => Math.floor(ms / 1000) * 1000;

export class SessionManager {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #random: (bytes: number) => Buffer;
  readonly #logger: SessionLogger;
  readonly #bus: RevocationBus | undefined;
  readonly #observer: SessionObserver | undefined;
  readonly #codec: TokenCodec;
  readonly #revoked: RevocationSet;
  readonly #poller: RevocationPoller;
  readonly #ttlMs: number;
  readonly #idleMs: number;
  readonly #tokenTtlMs: number;
  /** How long a revocation stays in memory: until every token of that session has expired. */
  readonly #retentionMs: number;
  #started = false;

  constructor(options: SessionManagerOptions) {
    const { store, config } = options;
    this.#store = store;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? randomBytes;
    this.#logger = options.logger ?? silentLogger;
    this.#bus = options.bus;
    this.#observer = options.observer;
    const { ttlSeconds, idleTtlSeconds, tokenTtlSeconds, revocationPollSeconds } = config.session;
    for (const [name, v] of Object.entries({ ttlSeconds, idleTtlSeconds, tokenTtlSeconds })) {
      if (!Number.isSafeInteger(v) || v < 1) throw new TypeError(`session.${name} must be whole seconds ≥ 1`);
    }
    this.#ttlMs = ttlSeconds * 1000;
    this.#idleMs = idleTtlSeconds * 1000;
    this.#tokenTtlMs = tokenTtlSeconds * 1000;
    this.#retentionMs = this.#tokenTtlMs + CLOCK_SKEW_SECONDS * 1000;
    this.#codec = new TokenCodec(config.secrets.jwtSecretKeys, this.#clock);
    this.#revoked = new RevocationSet(this.#clock);
    this.#poller = new RevocationPoller({
      sessions: store.sessions,
      set: this.#revoked,
      clock: this.#clock,
      logger: this.#logger,
      intervalMs: (revocationPollSeconds > 0 ? revocationPollSeconds : 1) * 1000,
      retentionMs: this.#retentionMs,
      lookbackMs: this.#retentionMs + LOOKBACK_MARGIN_MS,
    });
  }

  /** The revocations this instance knows of (read-only use: size for metrics, tests; onAdded for open connections). */
  get revocations(): Pick<RevocationSet, 'has' | 'size' | 'onAdded'> {
    return this.#revoked;
  }

  /** False while revocation polling cannot reach the database. */
  get revocationPollingHealthy(): boolean {
    return this.#poller.healthy;
  }

  /** Hot path: synchronous, no database. */
  check(token: string): TokenCheck {
    const result = this.#codec.verify(token);
    if (!result.ok && result.reason === 'invalid') return result;
    // Revoked wins over expired: a revoked session is not a renewal candidate.
    if (this.#revoked.has(result.claims.sid)) return { ok: false, reason: 'revoked', claims: result.claims };
    return result;
  }

  /** A new session row's values. Expiries are floored to whole seconds (see the file comment). */
  newSession(meta: RequestMeta): NewSessionInput {
    const now = this.#clock.now();
    const expiresAt = floorToSecond(now + this.#ttlMs);
    return {
      id: this.#newSessionId(),
      createdAt: new Date(now),
      expiresAt: new Date(expiresAt),
      idleExpiresAt: new Date(Math.min(floorToSecond(now + this.#idleMs), expiresAt)),
      ip: meta.ip,
      userAgent: meta.userAgent,
    };
  }

  /** A token for `session`, never outliving it: exp = min(now + TOKEN_TTL, idle, absolute expiry). */
  async issue(user: SessionUser, session: SessionLimits): Promise<IssuedToken> {
    const { token } = await this.#issue(user, session);
    return token;
  }

  async #issue(
    user: SessionUser,
    session: SessionLimits,
  ): Promise<{ token: IssuedToken; claims: SessionClaims }> {
    const now = this.#clock.now();
    const iat = Math.floor(now / 1000);
    const exp = Math.floor(
      Math.min(now + this.#tokenTtlMs, session.idleExpiresAt.getTime(), session.expiresAt.getTime()) / 1000,
    );
    // Less than a second of session left: no token can be both valid and inside the session.
    if (exp <= iat) throw new GatehouseError('session_expired', undefined, { reason: 'session_ending' });
    const claims: SessionClaims =
      user.name === null
        ? { sub: user.id, sid: session.id, email: user.email, iat, exp }
        : { sub: user.id, sid: session.id, email: user.email, name: user.name, iat, exp };
    const token = await this.#codec.sign(claims);
    return { token: { token, expiresAt: exp * 1000 }, claims };
  }

  /**
   * Renews an expired token (claims from `check`'s `expired` answer): one indexed read, then
   * touch + fresh token. Throws GatehouseError `session_revoked` / `session_expired` /
   * `user_disabled` / `invalid_token`; `service_unavailable` from the store passes through.
   * Concurrent renewals of one session are harmless: each touches the row and gets a token.
   */
  async renew(claims: SessionClaims, meta: RequestMeta): Promise<Renewed> {
    try {
      const renewed = await this.#renew(claims, meta);
      this.#observer?.renewal?.('renewed', null);
      return renewed;
    } catch (err) {
      this.#observer?.renewal?.(
        'refused',
        err instanceof GatehouseError ? (err.reason ?? err.code) : 'error',
      );
      throw err;
    }
  }

  async #renew(claims: SessionClaims, meta: RequestMeta): Promise<Renewed> {
    if (this.#revoked.has(claims.sid)) {
      throw new GatehouseError('session_revoked', undefined, { reason: 'revoked' });
    }
    const found = await this.#store.sessions.findWithUser(claims.sid);
    // A genuine token whose row is gone: the session expired (or was revoked) and was purged.
    if (found === undefined)
      throw new GatehouseError('session_expired', undefined, { reason: 'session_gone' });
    const { session, user } = found;
    if (session.userId !== claims.sub) {
      throw new GatehouseError('invalid_token', undefined, { reason: 'subject_mismatch' });
    }
    if (session.revokedAt !== null) {
      this.#revoked.add([session.id], this.#clock.now() + this.#retentionMs);
      throw new GatehouseError('session_revoked', undefined, { reason: session.revokedReason ?? 'revoked' });
    }
    const now = this.#clock.now();
    if (now >= session.expiresAt.getTime()) {
      throw new GatehouseError('session_expired', undefined, { reason: 'absolute_timeout' });
    }
    if (now >= session.idleExpiresAt.getTime()) {
      throw new GatehouseError('session_expired', undefined, { reason: 'idle_timeout' });
    }
    if (user.disabledAt !== null) {
      // The answer is user_disabled either way; the revocation is tidying (disableUser already
      // revoked every session unless the user was disabled behind our back).
      try {
        await this.revoke(session.id, {
          reason: 'user_disabled',
          type: 'session_revoked',
          userId: user.id,
          meta,
        });
      } catch (err) {
        this.#logger.warn({ event: 'revoke_failed', err }, "could not revoke a disabled user's session");
      }
      throw new GatehouseError('user_disabled', undefined, { reason: 'user_disabled' });
    }

    const expiresAt = session.expiresAt.getTime();
    const idleExpiresAt = new Date(Math.min(floorToSecond(now + this.#idleMs), expiresAt));
    const lastSeenAt = new Date(now);
    await this.#store.sessions.touch(session.id, user.id, lastSeenAt, idleExpiresAt);
    const renewedSession: Session = { ...session, lastSeenAt, idleExpiresAt };
    const renewedUser: User = { ...user, lastAccessed: lastSeenAt };
    const issued = await this.#issue(renewedUser, renewedSession);
    return { token: issued.token, claims: issued.claims, user: renewedUser, session: renewedSession };
  }

  /** Revokes one session; true when this call revoked it (false: already revoked or unknown). */
  async revoke(sessionId: string, opts: RevokeOneOptions): Promise<boolean> {
    const at = new Date(this.#clock.now());
    const changed = await this.#store.sessions.revoke(sessionId, at, opts.reason);
    // Into the set even when unchanged: another instance may have revoked it before our poll.
    await this.#revokedHere([sessionId]);
    if (changed) {
      this.#observer?.revoked?.(1, opts.reason);
      await this.#record(opts.type ?? 'session_revoked', at, opts, opts.userId ?? null, sessionId);
    }
    return changed;
  }

  /** "Sign out everywhere" / operator action: every live session of the user. Returns the ids. */
  async revokeAllForUser(userId: string, opts: RevokeOptions): Promise<readonly string[]> {
    const at = new Date(this.#clock.now());
    const ids = await this.#store.sessions.revokeAllForUser(userId, at, opts.reason);
    await this.#revokedHere(ids);
    this.#observer?.revoked?.(ids.length, opts.reason);
    await this.#record('sessions_revoked_all', at, opts, userId, null);
    return ids;
  }

  /** Every live session of every user (operator). Returns the ids. */
  async revokeAll(opts: RevokeOptions): Promise<readonly string[]> {
    const at = new Date(this.#clock.now());
    const ids = await this.#store.sessions.revokeAll(at, opts.reason);
    await this.#revokedHere(ids);
    this.#observer?.revoked?.(ids.length, opts.reason);
    await this.#record('sessions_revoked_all', at, opts, null, null);
    return ids;
  }

  /**
   * Disables a user and revokes all their sessions; undefined when there is no such user.
   * Disabled first, so no sign-in can slip a new session in between the two steps.
   */
  async disableUser(userId: string, opts: RevokeOptions): Promise<User | undefined> {
    const at = new Date(this.#clock.now());
    const user = await this.#store.users.setDisabled(userId, at);
    if (user === undefined) return undefined;
    await this.#record('user_disabled', at, opts, userId, null);
    await this.revokeAllForUser(userId, opts);
    return user;
  }

  async enableUser(userId: string, opts: RevokeOptions): Promise<User | undefined> {
    const at = new Date(this.#clock.now());
    const user = await this.#store.users.setDisabled(userId, null);
    if (user !== undefined) await this.#record('user_enabled', at, opts, userId, null);
    return user;
  }

  /** Subscribes to the bus (if any) and starts polling; loads the recent revocations first. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    if (this.#bus !== undefined) {
      try {
        await this.#bus.subscribe((ids) => {
          if (this.#started) this.#revoked.add(ids, this.#clock.now() + this.#retentionMs);
        });
      } catch (err) {
        // Polling still delivers every revocation, only within the poll interval.
        this.#logger.warn({ event: 'revocation_bus_subscribe_failed', err }, 'revocation bus unavailable');
      }
    }
    await this.#poller.start();
  }

  /** Stops polling and ignores the bus from now on. The bus belongs to its creator, who closes it. */
  async stop(): Promise<void> {
    this.#started = false;
    await this.#poller.stop();
  }

  /** One revocation poll now (tests, and after a known outage). Never rejects. */
  pollOnce(): Promise<void> {
    return this.#poller.pollOnce();
  }

  #newSessionId(): string {
    const bytes = this.#random(16);
    if (bytes.length !== 16) throw new TypeError('random(16) must return 16 bytes');
    return Buffer.from(bytes).toString('base64url');
  }

  /** This instance refuses at once; others hear it on the bus (polling is the fallback). */
  async #revokedHere(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    this.#revoked.add(ids, this.#clock.now() + this.#retentionMs);
    if (this.#bus === undefined) return;
    try {
      await this.#bus.publish(ids);
    } catch (err) {
      this.#logger.warn(
        { event: 'revocation_publish_failed', err, count: ids.length },
        'revocation broadcast failed; other instances learn it by polling',
      );
    }
  }

  /**
   * The audit row. The revocation itself has already happened and holds; a failure to record
   * it is logged with everything the row would have held instead of failing the request.
   */
  async #record(
    type: AuthEventType,
    at: Date,
    opts: RevokeOptions,
    userId: string | null,
    sessionId: string | null,
  ): Promise<void> {
    const event = {
      type,
      at,
      userId,
      sessionId,
      reason: opts.reason,
      ip: opts.meta?.ip ?? null,
      userAgent: opts.meta?.userAgent ?? null,
    };
    try {
      await this.#store.events.record(event);
    } catch (err) {
      this.#logger.error({ event: 'auth_event_not_recorded', err, authEvent: event }, 'audit event lost');
    }
  }
}
