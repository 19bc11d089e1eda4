/**
 * Role changes reach every instance within the revocation bound (docs/authorization.md, "How
 * changes spread"). A grant or revocation writes `authz_changes` (user, time); every instance
 * polls it each REVOCATION_POLL_INTERVAL and keeps user → change time in memory for TOKEN_TTL
 * (+ skew). A token issued before its user's change is treated as expired, so the next request
 * renews it — one database read that loads the new roles — instead of waiting out TOKEN_TTL.
 *
 * Hot path: SessionService.check asks only while this map is non-empty (a size check otherwise),
 * and then one Map lookup; after TOKEN_TTL every token issued before a change has expired anyway
 * and the entry goes.
 *
 * `iat` has whole seconds, so a token issued in the same second as the change counts as issued
 * before it: such a session renews on each request until that second is over (bounded, and
 * always towards the fresh answer).
 */
import type { Clock } from '../core/clock.js';
import type { Log } from '../core/log.js';
import { Periodic } from '../core/periodic.js';
import type { Store } from '../store/types.js';

const OVERLAP_MS = 2_000;

export interface AuthzChangesOptions {
  readonly store: Pick<Store, 'authzChanges'>;
  readonly clock: Clock;
  readonly log: Log;
  readonly intervalMs: number;
  /** How long a change is remembered: TOKEN_TTL + clock skew. */
  readonly retentionMs: number;
}

export class AuthzChanges {
  readonly #o: AuthzChangesOptions;
  /** user id → change time (ms), oldest first. */
  readonly #changed = new Map<string, number>();
  #watermark: number;
  readonly #periodic: Periodic;

  constructor(options: AuthzChangesOptions) {
    this.#o = options;
    this.#periodic = new Periodic(() => this.#poll(), options.intervalMs);
    this.#watermark = options.clock.now() - options.retentionMs;
  }

  /** Changes held in memory; 0 in the steady state. */
  get size(): number {
    return this.#changed.size;
  }

  /** True when a token of `userId` issued at `iatSeconds` predates the user's last role change. */
  isStale(userId: string, iatSeconds: number): boolean {
    const at = this.#changed.get(userId);
    return at !== undefined && iatSeconds * 1000 < Math.ceil(at / 1000) * 1000;
  }

  /** A change learned here (or by polling). */
  mark(userId: string, atMs: number): void {
    const current = this.#changed.get(userId);
    if (current !== undefined && current >= atMs) return;
    this.#changed.delete(userId);
    this.#changed.set(userId, atMs);
  }

  start(): Promise<void> {
    return this.#periodic.start();
  }

  stop(): Promise<void> {
    return this.#periodic.stop();
  }

  /** One poll now, after any in flight; never rejects. */
  pollOnce(): Promise<void> {
    return this.#periodic.runNow();
  }

  async #poll(): Promise<void> {
    const { store, clock, log, retentionMs } = this.#o;
    const startedAt = clock.now();
    try {
      const rows = await store.authzChanges.since(new Date(this.#watermark - OVERLAP_MS));
      for (const row of rows) this.mark(row.userId, row.changedAt.getTime());
      this.#watermark = startedAt;
    } catch (err) {
      log.warn({ event: 'authz_changes_poll_failed', err }, 'could not read role changes; retrying');
    }
    // Entries older than a token's life are of no use: every token issued before them has expired.
    const horizon = clock.now() - retentionMs;
    for (const [userId, at] of this.#changed) {
      if (at > horizon) continue;
      this.#changed.delete(userId);
    }
  }
}
