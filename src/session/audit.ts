/**
 * The audit trail's one writer (DESIGN.md "Data": `auth_events`). Every sign-in, sign-out,
 * revocation and account change goes through `record`, whoever makes it: the session service,
 * revocation, accounts, the HTTP routes, the CLI.
 *
 * Recording never fails the action it describes: the action has already happened and holds. A
 * failed write is logged (warn: it happens while the database is down) with everything the row would have held (no secrets:
 * ids, reason, IP and user agent), so the trail can be rebuilt from the logs.
 */
import type { Clock } from '../core/clock.js';
import type { Log } from '../core/log.js';
import { isGatehouseError } from '../errors.js';
import type { AuthEventType, Store } from '../store/types.js';
import type { RequestMeta } from './types.js';

export interface AuditEntry {
  readonly userId?: string | null;
  readonly sessionId?: string | null;
  /** Machine word for the trail, e.g. `state_mismatch`, `user_sign_out`, `operator`. */
  readonly reason?: string | null;
  readonly meta?: RequestMeta | undefined;
}

export class AuditLog {
  readonly #events: Store['events'];
  readonly #clock: Clock;
  readonly #log: Log;

  constructor(options: { events: Store['events']; clock: Clock; log: Log }) {
    this.#events = options.events;
    this.#clock = options.clock;
    this.#log = options.log;
  }

  /** Writes one event at `at` (default: now). Never rejects. */
  async record(
    type: AuthEventType,
    entry: AuditEntry,
    at: Date = new Date(this.#clock.now()),
  ): Promise<void> {
    const event = {
      type,
      at,
      userId: entry.userId ?? null,
      sessionId: entry.sessionId ?? null,
      reason: entry.reason ?? null,
      ip: entry.meta?.ip ?? null,
      userAgent: entry.meta?.userAgent ?? null,
    };
    try {
      await this.#events.record(event);
    } catch (err) {
      // The error's code only: a driver's message can quote SQL or a host name.
      const code = isGatehouseError(err) ? err.code : 'error';
      this.#log.warn({ event: 'auth_event_not_recorded', code, authEvent: event }, 'audit event lost');
    }
  }
}
