/**
 * The in-memory set of revoked session ids consulted on every request (DESIGN.md "Sessions:
 * fast and revocable": "signature + expiry + an in-memory revocation check").
 *
 * An entry only has to outlive the tokens of its session: a token lives at most TOKEN_TTL, so
 * once TOKEN_TTL (+ clock skew) has passed after the revocation became known here, every token
 * for that session has expired, and renewal reads the database, which says "revoked". Entries
 * are therefore dropped after that, which bounds memory by the revocations of one TOKEN_TTL.
 *
 * The set is also bounded in size (SECURITY.md 42): a flood of revocations (a mass revoke, or
 * junk on the Redis channel) must not exhaust memory. When an addition would pass `maxEntries`,
 * nothing is forgotten silently: the set is emptied and `onOverflow(now + marginMs)` is called,
 * and the owner makes every token issued up to then a renewal candidate (TokenCodec
 * `renewIssuedBefore`). Renewal reads the session row, which still says "revoked", so the
 * overflow costs one database read per active client and can never un-revoke a session. Every
 * token of a revoked session was issued before its revocation became known here, so "up to now
 * plus the tolerated clock difference" covers them all.
 */
import { type Clock, systemClock } from '../core/clock.js';

/** Default bound: ~100 bytes an entry, so a few MB at most (the issue saw 31 MB unbounded). */
export const MAX_REVOKED_IN_MEMORY = 50_000;

export interface RevocationSetOptions {
  readonly maxEntries?: number;
  /**
   * Called when the set is full; `untilMs` = now + marginMs (see the file comment). True when the
   * owner made every token issued until then a renewal candidate: the set may then be emptied.
   * False (no one to hand over to, as in a short-lived CLI command): the entries are kept.
   */
  readonly onOverflow?: (untilMs: number) => boolean;
  /** The tolerated clock difference between instances (ms). */
  readonly marginMs?: number;
}

export class RevocationSet {
  /**
   * id → time (ms) after which the entry may be dropped. A Map keeps insertion order, and
   * entries are (re)inserted with "now + a constant", so the oldest expiry is always first:
   * pruning stops at the first live entry instead of scanning everything.
   */
  readonly #until = new Map<string, number>();
  readonly #clock: Clock;
  readonly #maxEntries: number;
  readonly #marginMs: number;
  readonly #onOverflow: ((untilMs: number) => boolean) | undefined;
  #overflows = 0;

  constructor(clock: Clock = systemClock, options: RevocationSetOptions = {}) {
    this.#clock = clock;
    this.#maxEntries = options.maxEntries ?? MAX_REVOKED_IN_MEMORY;
    if (!(this.#maxEntries >= 1)) throw new TypeError('maxEntries must be at least 1');
    this.#marginMs = options.marginMs ?? 30_000;
    this.#onOverflow = options.onOverflow;
  }

  /** How many times the bound was reached (for logs and tests). */
  get overflows(): number {
    return this.#overflows;
  }

  /** Marks sessions revoked until `untilMs`; re-adding an id keeps the later expiry. */
  add(ids: Iterable<string>, untilMs: number): void {
    if (!Number.isFinite(untilMs)) throw new TypeError('untilMs must be a finite time in ms');
    for (const id of ids) {
      if (typeof id !== 'string' || id.length === 0) continue;
      const current = this.#until.get(id);
      if (current !== undefined && current >= untilMs) continue;
      if (current === undefined && this.#until.size >= this.#maxEntries) this.#overflow();
      // delete + set moves the id to the end, keeping the map ordered by expiry.
      this.#until.delete(id);
      this.#until.set(id, untilMs);
    }
    this.prune();
  }

  /**
   * Full: drop what has expired; if still full, hand every entry over to the owner's "renew
   * everything issued until now + margin" (which covers them all) and start empty. Without an
   * owner to hand over to, the entries are kept (memory over un-revocation).
   */
  #overflow(): void {
    if (this.prune() > 0 && this.#until.size < this.#maxEntries) return;
    if (this.#onOverflow?.(this.#clock.now() + this.#marginMs) !== true) return;
    this.#overflows++;
    this.#until.clear();
  }

  /** O(1): one Map lookup. An entry past its time but not yet pruned still answers true (safe side). */
  has(id: string): boolean {
    return this.#until.has(id);
  }

  get size(): number {
    return this.#until.size;
  }

  /** Drops entries whose time has passed; returns how many were dropped. */
  prune(nowMs: number = this.#clock.now()): number {
    let dropped = 0;
    for (const [id, until] of this.#until) {
      // Callers may pass out-of-order times; an earlier one behind a later one waits for it
      // (kept a little longer, never dropped early).
      if (until > nowMs) break;
      this.#until.delete(id);
      dropped++;
    }
    return dropped;
  }

  clear(): void {
    this.#until.clear();
  }
}
