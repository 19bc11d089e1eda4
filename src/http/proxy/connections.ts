/**
 * Open WebSockets and streamed responses, by session id (SECURITY.md J.53): a socket or stream
 * whose session is revoked or expires is closed within 1 s, on every instance.
 *
 * - Revocation: the in-memory revocation set tells this tracker about every newly revoked id,
 *   whether the revocation happened here, arrived over Redis or was found by the poller; the
 *   session's connections are closed at once.
 * - Expiry: a connection outlives its session token (TOKEN_TTL). A sweep every SWEEP_MS finds
 *   connections whose token has expired and re-checks their session the way renewal does; a
 *   live session gets a new deadline (the renewed token's expiry), an ended one is closed.
 */
import type { Clock } from '../../core/clock.js';

export type CloseReason = 'revoked' | 'expired';

export interface TrackedConnection {
  readonly sessionId: string;
  readonly userId: string;
  /** When the session token behind this connection expires (ms): the next re-check. */
  expiresAt: number;
  /** Ends the connection: WebSocket close 1008, or the stream destroyed. Called at most once. */
  close(reason: CloseReason): void;
}

export interface ConnectionTrackerOptions {
  readonly revocations: {
    has(sessionId: string): boolean;
    onAdded(listener: (ids: readonly string[]) => void): () => void;
  };
  /**
   * Re-checks a session whose token expired: the new expiry (ms) while the session is live,
   * `'ended'` when it is not. A throw (database down) keeps the connection until the next sweep.
   */
  readonly recheck: (connection: TrackedConnection) => Promise<number | 'ended'>;
  readonly clock: Clock;
  readonly onError?: (err: unknown) => void;
}

/** Half the 1 s bound: an expired token is noticed within 0.5 s, leaving time for the re-check. */
const SWEEP_MS = 500;
/** After a failed re-check (database unreachable), wait this long before the next attempt. */
const RETRY_MS = 5_000;

export class ConnectionTracker {
  readonly #bySession = new Map<string, Set<TrackedConnection>>();
  readonly #checking = new Set<TrackedConnection>();
  readonly #options: ConnectionTrackerOptions;
  #unsubscribe: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: ConnectionTrackerOptions) {
    this.#options = options;
  }

  start(): void {
    if (this.#unsubscribe !== undefined) return;
    this.#unsubscribe = this.#options.revocations.onAdded((ids) => this.#revoked(ids));
    this.#timer = setInterval(() => this.#sweep(), SWEEP_MS);
    this.#timer.unref();
  }

  stop(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** How many connections are open (tests, metrics). */
  get size(): number {
    let n = 0;
    for (const set of this.#bySession.values()) n += set.size;
    return n;
  }

  /** Tracks a connection until the returned function is called (when it closes for any reason). */
  track(connection: TrackedConnection): () => void {
    // A revocation may have arrived between authentication and now (while the upstream was
    // being reached): it would never be announced again.
    if (this.#options.revocations.has(connection.sessionId)) {
      this.#end(connection, 'revoked');
      return () => undefined;
    }
    let set = this.#bySession.get(connection.sessionId);
    if (set === undefined) {
      set = new Set();
      this.#bySession.set(connection.sessionId, set);
    }
    set.add(connection);
    return () => this.#forget(connection);
  }

  #forget(connection: TrackedConnection): void {
    const set = this.#bySession.get(connection.sessionId);
    if (set === undefined) return;
    set.delete(connection);
    if (set.size === 0) this.#bySession.delete(connection.sessionId);
  }

  #end(connection: TrackedConnection, reason: CloseReason): void {
    this.#forget(connection);
    try {
      connection.close(reason);
    } catch (err) {
      this.#options.onError?.(err);
    }
  }

  #revoked(ids: readonly string[]): void {
    for (const id of ids) {
      const set = this.#bySession.get(id);
      if (set === undefined) continue;
      for (const connection of [...set]) this.#end(connection, 'revoked');
    }
  }

  #sweep(): void {
    const now = this.#options.clock.now();
    for (const set of this.#bySession.values()) {
      for (const connection of set) {
        if (connection.expiresAt > now || this.#checking.has(connection)) continue;
        this.#checking.add(connection);
        this.#options.recheck(connection).then(
          (result) => {
            this.#checking.delete(connection);
            if (result === 'ended') this.#end(connection, 'expired');
            else connection.expiresAt = result;
          },
          (err: unknown) => {
            this.#checking.delete(connection);
            connection.expiresAt = this.#options.clock.now() + RETRY_MS;
            this.#options.onError?.(err);
          },
        );
      }
    }
  }
}
