/**
 * Revocation (DESIGN.md "Sessions: fast and revocable"): ending sessions, and knowing on every
 * request, without the database, which sessions have ended.
 *
 * - `revoke*` write the row first, then this instance's in-memory set (refused here at once),
 *   then publish on the bus (Redis) so other instances refuse at once too; the poller reads the
 *   database every REVOCATION_POLL_INTERVAL as the fallback that always holds.
 * - `has` is the hot-path question: one Map lookup.
 * - An entry stays in memory until every token of its session has expired (TOKEN_TTL + skew
 *   after it became known here); after that renewal reads the row, which says "revoked".
 *
 * Needs only the store: no token keys, no HTTP. The CLI builds one (without starting the
 * poller) to revoke sessions; the server starts it.
 */
import type { Clock } from '../core/clock.js';
import type { Log } from '../core/log.js';
import type { Store } from '../store/types.js';
import type { AuditEntry, AuditLog } from './audit.js';
import { RevocationPoller } from './poller.js';
import { RevocationSet } from './revocations.js';
import { CLOCK_SKEW_SECONDS } from './token.js';
import type { RequestMeta, RevocationBus } from './types.js';

/** The first poll reads this much further back than TOKEN_TTL, for clock differences. */
const LOOKBACK_MARGIN_MS = 60_000;

/** Outcomes reported as they happen, for metrics (src/metrics); must not throw. */
export interface RevocationObserver {
  /** `count` sessions revoked by this instance, for `reason`. */
  revoked?(count: number, reason: string): void;
}

export interface RevocationOptions {
  readonly store: Store;
  /** TOKEN_TTL and the poll interval, in seconds. */
  readonly settings: { readonly tokenTtlSeconds: number; readonly revocationPollSeconds: number };
  readonly clock: Clock;
  readonly log: Log;
  readonly audit: AuditLog;
  readonly bus?: RevocationBus | undefined;
  readonly observer?: RevocationObserver | undefined;
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

export class Revocation {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #log: Log;
  readonly #audit: AuditLog;
  readonly #bus: RevocationBus | undefined;
  readonly #observer: RevocationObserver | undefined;
  readonly #set: RevocationSet;
  readonly #poller: RevocationPoller;
  /** How long a revocation stays in memory: until every token of that session has expired. */
  readonly #retentionMs: number;
  #started = false;
  #onOverflow: ((untilMs: number) => void) | undefined;

  constructor(options: RevocationOptions) {
    const { tokenTtlSeconds, revocationPollSeconds } = options.settings;
    if (!Number.isSafeInteger(tokenTtlSeconds) || tokenTtlSeconds < 1) {
      throw new TypeError('tokenTtlSeconds must be whole seconds ≥ 1');
    }
    if (!(revocationPollSeconds > 0)) throw new TypeError('revocationPollSeconds must be positive');
    this.#store = options.store;
    this.#clock = options.clock;
    this.#log = options.log;
    this.#audit = options.audit;
    this.#bus = options.bus;
    this.#observer = options.observer;
    this.#retentionMs = (tokenTtlSeconds + CLOCK_SKEW_SECONDS) * 1000;
    // SECURITY.md 42: a full set hands over to the session service ("renew every token issued
    // until now") instead of forgetting anything; with no one to hand over to, it keeps growing.
    this.#set = new RevocationSet(this.#clock, {
      marginMs: CLOCK_SKEW_SECONDS * 1000,
      onOverflow: (untilMs) => {
        if (this.#onOverflow === undefined) return false;
        this.#onOverflow(untilMs);
        this.#log.warn(
          { event: 'revocation_set_full' },
          'revocation set full: tokens issued until now are checked against the database on their next use',
        );
        return true;
      },
    });
    this.#poller = new RevocationPoller({
      sessions: this.#store.sessions,
      set: this.#set,
      clock: this.#clock,
      logger: this.#log,
      intervalMs: revocationPollSeconds * 1000,
      retentionMs: this.#retentionMs,
      lookbackMs: this.#retentionMs + LOOKBACK_MARGIN_MS,
    });
  }

  /** Hot path: is this session known to be revoked? One Map lookup. */
  has(sessionId: string): boolean {
    return this.#set.has(sessionId);
  }

  /** Revocations held in memory (metrics). */
  get size(): number {
    return this.#set.size;
  }

  /** False while revocation polling cannot reach the database (readiness). */
  get pollingHealthy(): boolean {
    return this.#poller.healthy;
  }

  /**
   * Who takes over when the in-memory set is full: `renewUntil(ms)` must make every token issued
   * until then a renewal candidate (the session service's codec does), so the set can start empty
   * without un-revoking anything. One owner.
   */
  handOverOnOverflow(renewUntil: (untilMs: number) => void): void {
    this.#onOverflow = renewUntil;
  }

  /** A revocation learned from the database (renewal found a revoked row): refuse it here at once. */
  remember(sessionId: string): void {
    this.#set.add([sessionId], this.#clock.now() + this.#retentionMs);
  }

  /** Revokes one session; true when this call revoked it (false: already revoked or unknown). */
  async revoke(sessionId: string, opts: RevokeOneOptions): Promise<boolean> {
    const at = new Date(this.#clock.now());
    const changed = await this.#store.sessions.revoke(sessionId, at, opts.reason);
    // Into the set even when unchanged: another instance may have revoked it before our poll.
    await this.#revokedHere([sessionId]);
    if (changed) {
      this.#observer?.revoked?.(1, opts.reason);
      await this.#audit.record(opts.type ?? 'session_revoked', this.#entry(opts, opts.userId, sessionId), at);
    }
    return changed;
  }

  /** "Sign out everywhere" / operator action: every live session of the user. Returns the ids. */
  async revokeAllForUser(userId: string, opts: RevokeOptions): Promise<readonly string[]> {
    const at = new Date(this.#clock.now());
    const ids = await this.#store.sessions.revokeAllForUser(userId, at, opts.reason);
    await this.#revokedHere(ids);
    this.#observer?.revoked?.(ids.length, opts.reason);
    await this.#audit.record('sessions_revoked_all', this.#entry(opts, userId, null), at);
    return ids;
  }

  /** Every live session of every user (operator). Returns the ids. */
  async revokeAll(opts: RevokeOptions): Promise<readonly string[]> {
    const at = new Date(this.#clock.now());
    const ids = await this.#store.sessions.revokeAll(at, opts.reason);
    await this.#revokedHere(ids);
    this.#observer?.revoked?.(ids.length, opts.reason);
    await this.#audit.record('sessions_revoked_all', this.#entry(opts, null, null), at);
    return ids;
  }

  /** Subscribes to the bus (if any) and starts polling; loads the recent revocations first. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    if (this.#bus !== undefined) {
      try {
        await this.#bus.subscribe(
          (ids) => {
            if (this.#started) this.#set.add(ids, this.#clock.now() + this.#retentionMs);
          },
          () => {
            if (this.#started) void this.catchUp();
          },
        );
      } catch (err) {
        // Polling still delivers every revocation, only within the poll interval.
        this.#log.warn({ event: 'revocation_bus_subscribe_failed', err }, 'revocation bus unavailable');
      }
    }
    await this.#poller.start();
  }

  /**
   * Reads the database for revocations now instead of at the next poll: called when the bus comes
   * back after an outage, since messages published meanwhile were lost. Never rejects.
   */
  catchUp(): Promise<void> {
    return this.#poller.pollOnce();
  }

  /** Stops polling and ignores the bus from now on. The bus belongs to its creator, who closes it. */
  async stop(): Promise<void> {
    this.#started = false;
    await this.#poller.stop();
  }

  #entry(opts: RevokeOptions, userId: string | null | undefined, sessionId: string | null): AuditEntry {
    return { userId: userId ?? null, sessionId, reason: opts.reason, meta: opts.meta };
  }

  /** This instance refuses at once; others hear it on the bus (polling is the fallback). */
  async #revokedHere(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    this.#set.add(ids, this.#clock.now() + this.#retentionMs);
    if (this.#bus === undefined) return;
    try {
      await this.#bus.publish(ids);
    } catch (err) {
      this.#log.warn(
        { event: 'revocation_publish_failed', err, count: ids.length },
        'revocation broadcast failed; other instances learn it by polling',
      );
    }
  }
}
