/**
 * How an instance learns of revocations made elsewhere when there is no Redis (and as the
 * safety net when there is): it asks the database every `REVOCATION_POLL_INTERVAL` (default 1 s)
 * for sessions revoked since the last poll (DESIGN.md: "otherwise by polling the database
 * every second ... within the documented bound (≤ 1 s)").
 *
 * - The watermark is the database's clock at the start of the last successful poll (SECURITY.md
 *   41: the store writes `revoked_at` no earlier than the database's clock too, so a revoker
 *   whose clock runs behind is not missed); each poll asks from `watermark - overlap`, so a
 *   revocation committed while we were reading is still seen. Rows seen twice are harmless
 *   (the set is idempotent). A store without `databaseTime` falls back to this instance's clock.
 * - A failing poll (database down) leaves the watermark where it was, so the next good poll
 *   covers the gap; it is logged once per outage (warn), then "recovered" (info). It never
 *   throws out of the timer and never drops entries the set already has.
 * - Polls never overlap: a slow database delays the next poll instead of stacking queries.
 */

import type { Clock } from '../core/clock.js';
import type { Log } from '../core/log.js';
import { Periodic } from '../core/periodic.js';
import type { Store } from '../store/types.js';
import type { RevocationSet } from './revocations.js';

/** How far back each poll re-reads, to survive clock differences between instances. */
export const POLL_OVERLAP_MS = 5_000;
const PAGE_SIZE = 1_000;
/** The largest page the store serves (src/store caps `limit` there). */
const MAX_PAGE_SIZE = 100_000;

export interface RevocationPollerOptions {
  readonly sessions: Pick<Store['sessions'], 'revokedSince'> &
    Partial<Pick<Store['sessions'], 'databaseTime'>>;
  readonly set: RevocationSet;
  readonly clock: Clock;
  readonly logger: Log;
  readonly intervalMs: number;
  /** How long a learned revocation stays in the set (TOKEN_TTL + skew). */
  readonly retentionMs: number;
  /** How far back the first poll reads (TOKEN_TTL + margin): revocations whose tokens may still live. */
  readonly lookbackMs: number;
  readonly overlapMs?: number;
  readonly pageSize?: number;
}

export class RevocationPoller {
  readonly #o: RevocationPollerOptions;
  readonly #overlapMs: number;
  readonly #pageSize: number;
  #watermark: number;
  #failing = false;
  /** Polls are chained, never concurrent; the timer never keeps the process alive. */
  readonly #periodic: Periodic;

  constructor(options: RevocationPollerOptions) {
    this.#periodic = new Periodic(() => this.#poll(), options.intervalMs);
    this.#o = options;
    this.#overlapMs = options.overlapMs ?? POLL_OVERLAP_MS;
    this.#pageSize = options.pageSize ?? PAGE_SIZE;
    this.#watermark = options.clock.now() - options.lookbackMs;
  }

  /** True while the database answers; false during an outage (for readiness reporting). */
  get healthy(): boolean {
    return !this.#failing;
  }

  /** Loads recent revocations (resolves even if the database is down), then polls on a timer. */
  start(): Promise<void> {
    return this.#periodic.start();
  }

  /** Clears the timer; resolves once a poll in flight has finished (so the store can close). */
  stop(): Promise<void> {
    return this.#periodic.stop();
  }

  /** One poll now, after any poll in flight; never rejects. */
  pollOnce(): Promise<void> {
    return this.#periodic.runNow();
  }

  async #poll(): Promise<void> {
    const { sessions, set, clock, logger, retentionMs } = this.#o;
    try {
      const startedAt =
        sessions.databaseTime === undefined ? clock.now() : (await sessions.databaseTime()).getTime();
      let since = new Date(this.#watermark - this.#overlapMs);
      let limit = this.#pageSize;
      for (;;) {
        const rows = await sessions.revokedSince(since, limit);
        if (rows.length > 0) set.add(idsOf(rows), clock.now() + retentionMs);
        if (rows.length < limit) break;
        // A full page: continue from the last time seen (inclusive, so rows sharing that instant
        // are read again rather than skipped). If the whole page shares one instant (revokeAll),
        // moving on is impossible, so widen the page instead of looping.
        const last = rows[rows.length - 1]!.revokedAt.getTime();
        if (last > since.getTime()) since = new Date(last);
        else if (limit < MAX_PAGE_SIZE) limit = Math.min(limit * 2, MAX_PAGE_SIZE);
        else {
          // More than MAX_PAGE_SIZE sessions revoked in one millisecond: the store cannot page
          // within an instant. Step past it, loudly; those tokens still expire within TOKEN_TTL.
          logger.error({ event: 'revocation_page_overflow', count: rows.length }, 'revocations skipped');
          since = new Date(last + 1);
        }
      }
      this.#watermark = startedAt;
      if (this.#failing) {
        this.#failing = false;
        logger.info({ event: 'revocation_poll_recovered' }, 'revocation polling recovered');
      }
    } catch (err) {
      if (!this.#failing) {
        this.#failing = true;
        logger.warn(
          { event: 'revocation_poll_failed', err },
          'revocation polling failed; retrying every interval (revocations already known still apply)',
        );
      }
    } finally {
      set.prune();
    }
  }
}

function idsOf(rows: readonly { readonly id: string }[]): string[] {
  const ids = new Array<string>(rows.length);
  for (let i = 0; i < rows.length; i++) ids[i] = rows[i]!.id;
  return ids;
}
