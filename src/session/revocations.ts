/**
 * The in-memory set of revoked session ids consulted on every request (DESIGN.md "Sessions:
 * fast and revocable": "signature + expiry + an in-memory revocation check").
 *
 * An entry only has to outlive the tokens of its session: a token lives at most TOKEN_TTL, so
 * once TOKEN_TTL (+ clock skew) has passed after the revocation became known here, every token
 * for that session has expired, and renewal reads the database, which says "revoked". Entries
 * are therefore dropped after that, which bounds memory by the revocations of one TOKEN_TTL.
 */
import { type Clock, systemClock } from '../core/clock.js';

export class RevocationSet {
  /**
   * id → time (ms) after which the entry may be dropped. A Map keeps insertion order, and
   * entries are (re)inserted with "now + a constant", so the oldest expiry is always first:
   * pruning stops at the first live entry instead of scanning everything.
   */
  readonly #until = new Map<string, number>();
  readonly #clock: Clock;
  readonly #listeners = new Set<(ids: readonly string[]) => void>();

  constructor(clock: Clock = systemClock) {
    this.#clock = clock;
  }

  /** Marks sessions revoked until `untilMs`; re-adding an id keeps the later expiry. */
  add(ids: Iterable<string>, untilMs: number): void {
    if (!Number.isFinite(untilMs)) throw new TypeError('untilMs must be a finite time in ms');
    // Only collected when someone listens: the common add stays allocation-free.
    const added: string[] | undefined = this.#listeners.size > 0 ? [] : undefined;
    for (const id of ids) {
      if (typeof id !== 'string' || id.length === 0) continue;
      const current = this.#until.get(id);
      if (current === undefined) added?.push(id);
      if (current !== undefined && current >= untilMs) continue;
      // delete + set moves the id to the end, keeping the map ordered by expiry.
      this.#until.delete(id);
      this.#until.set(id, untilMs);
    }
    this.prune();
    if (added !== undefined && added.length > 0) {
      for (const listener of this.#listeners) listener(added);
    }
  }

  /**
   * Calls `listener` with the ids newly added by each `add` (from this instance, the Redis bus or
   * the poller alike), so open connections of a revoked session can be closed. Returns the
   * function that removes the listener.
   */
  onAdded(listener: (ids: readonly string[]) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
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
