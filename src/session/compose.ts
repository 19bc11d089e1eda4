/**
 * How the session parts fit together, for the server (runtime.ts), the CLI and tests:
 *
 *   AuditLog ← Revocation (set, poller, bus) ← Accounts
 *                 ↑
 *            SessionService (tokens, sign-in, renewal)
 *
 * The CLI needs only the left half (`createRevocationParts`): revoking a session or disabling a
 * user needs the store and the bus, not the token keys or a running poller.
 */
import type { AuthzSource } from '../authz/types.js';
import type { Config } from '../config/types.js';
import { type Clock, systemClock } from '../core/clock.js';
import { type Log, silentLog } from '../core/log.js';
import type { Store } from '../store/types.js';
import { Accounts } from './accounts.js';
import { AuditLog } from './audit.js';
import { Revocation, type RevocationObserver } from './revocation.js';
import { type SessionObserver, SessionService, type SessionServiceOptions } from './service.js';
import type { RevocationBus } from './types.js';

export interface RevocationParts {
  readonly audit: AuditLog;
  readonly revocation: Revocation;
  readonly accounts: Accounts;
}

export interface SessionParts extends RevocationParts {
  readonly service: SessionService;
}

export interface RevocationPartsOptions {
  readonly store: Store;
  readonly config: Pick<Config, 'session'>;
  readonly clock?: Clock | undefined;
  readonly log?: Log | undefined;
  readonly bus?: RevocationBus | undefined;
  readonly observer?: RevocationObserver | undefined;
}

export interface SessionPartsOptions extends RevocationPartsOptions {
  readonly config: Pick<Config, 'session' | 'secrets'>;
  readonly observer?: (RevocationObserver & SessionObserver) | undefined;
  /** CSPRNG bytes; injectable for tests. */
  readonly random?: ((bytes: number) => Buffer) | undefined;
  /** Roles and groups for tokens (src/authz/source.ts), built from the revocation parts. */
  readonly authz?: ((parts: RevocationParts) => AuthzSource) | undefined;
  /** Recent role changes, polled (src/authz/changes.ts). */
  readonly changes?: SessionServiceOptions['changes'];
}

export function createRevocationParts(options: RevocationPartsOptions): RevocationParts {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? silentLog;
  const audit = new AuditLog({ events: options.store.events, clock, log });
  const revocation = new Revocation({
    store: options.store,
    settings: options.config.session,
    clock,
    log,
    audit,
    bus: options.bus,
    observer: options.observer,
  });
  const accounts = new Accounts({ users: options.store.users, revocation, audit, clock });
  return { audit, revocation, accounts };
}

export function createSessionParts(options: SessionPartsOptions): SessionParts {
  const parts = createRevocationParts(options);
  const service = new SessionService({
    store: options.store,
    config: options.config,
    revocation: parts.revocation,
    audit: parts.audit,
    clock: options.clock ?? systemClock,
    log: options.log ?? silentLog,
    random: options.random,
    observer: options.observer,
    authz: options.authz?.(parts),
    changes: options.changes,
  });
  return { ...parts, service };
}
