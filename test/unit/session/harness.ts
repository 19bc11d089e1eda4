/**
 * Session-manager tests run against a REAL SQLite store in a temp file (several managers may
 * share it, as instances share a database). Time is a ManualClock.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Config } from '../../../src/config/types.js';
import type { Log } from '../../../src/core/log.js';
import { GatehouseError } from '../../../src/errors.js';
import { createSessionParts, type SessionParts } from '../../../src/session/compose.js';
import type { IssuedToken, RevocationBus, SessionClaims, TokenCheck } from '../../../src/session/types.js';
import { openStore } from '../../../src/store/index.js';
import type { Session, Store, User } from '../../../src/store/types.js';
import { identityForTest } from '../../helpers/identity.js';
import { ManualClock } from './clock.js';
import { sqliteDatabase, type TestConfigOverrides, testConfig } from './config.js';

export const META = { ip: '203.0.113.7', userAgent: 'vitest' } as const;

/** Starts off a whole second, so the flooring of session expiries is exercised. */
export const START = Date.UTC(2030, 0, 1, 12, 0, 0, 250);

export interface LogEntry {
  readonly level: 'info' | 'warn' | 'error';
  readonly obj: object;
  readonly msg: string | undefined;
}

export class MemoryLogger implements Log {
  readonly entries: LogEntry[] = [];
  debug(): void {}
  info(obj: object, msg?: string): void {
    this.entries.push({ level: 'info', obj, msg });
  }
  warn(obj: object, msg?: string): void {
    this.entries.push({ level: 'warn', obj, msg });
  }
  error(obj: object, msg?: string): void {
    this.entries.push({ level: 'error', obj, msg });
  }
}

/** An in-process bus (the Redis one lives elsewhere): what one instance publishes, all hear. */
export class LocalBus {
  readonly #listeners = new Set<(ids: readonly string[]) => void>();
  endpoint(): RevocationBus {
    let mine: ((ids: readonly string[]) => void) | undefined;
    return {
      publish: async (ids) => {
        for (const l of this.#listeners) l(ids);
      },
      subscribe: async (onRevoked) => {
        mine = onRevoked;
        this.#listeners.add(onRevoked);
      },
      close: async () => {
        if (mine) this.#listeners.delete(mine);
      },
    };
  }
}

export class Harness {
  readonly clock = new ManualClock(START);
  readonly config: Config;
  readonly #dir: string;
  readonly #stores: Store[] = [];
  readonly #managers: SessionParts[] = [];
  #n = 0;

  constructor(overrides: TestConfigOverrides = {}) {
    this.#dir = mkdtempSync(join(tmpdir(), 'gatehouse-session-'));
    this.config = testConfig({ ...overrides, database: sqliteDatabase(join(this.#dir, 'gatehouse.db')) });
  }

  /**
   * A store of its own on the shared database file, as another instance would have. Its
   * `databaseTime` follows the manual clock (the test's "database clock"); revocation times are
   * never earlier than the real database clock, which the manual clock is ahead of.
   */
  async store(): Promise<Store> {
    const store = await openStore(this.config.database);
    this.#stores.push(store);
    await store.migrate();
    const sessions: Store['sessions'] = {
      ...store.sessions,
      databaseTime: async () => new Date(this.clock.now()),
    };
    return { ...store, sessions };
  }

  /** One instance's session parts (service, revocation, accounts, audit) on `store`. */
  manager(store: Store, extra: { logger?: Log; bus?: RevocationBus; config?: Config } = {}): SessionParts {
    const manager = createSessionParts({
      store,
      config: extra.config ?? this.config,
      clock: this.clock,
      log: extra.logger,
      bus: extra.bus,
    });
    this.#managers.push(manager);
    return manager;
  }

  /** A verified sign-in through the one sign-in service (`store` is kept for call-site symmetry). */
  async signIn(
    manager: SessionParts,
    _store: Store,
    who = `user${++this.#n}`,
  ): Promise<{ user: User; session: Session; token: IssuedToken }> {
    return manager.service.signIn(
      identityForTest({
        issuer: 'https://issuer.test',
        subject: `subject-${who}`,
        email: `${who}@example.com`,
        emailVerified: true,
        name: who === 'anon' ? null : `Name ${who}`,
        picture: null,
        hostedDomain: null,
      }),
      META,
    );
  }

  async close(): Promise<void> {
    for (const m of this.#managers) await m.revocation.stop();
    for (const s of this.#stores) await s.close();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

export function claimsOf(check: TokenCheck): SessionClaims {
  if (!('claims' in check)) throw new Error(`no claims: ${JSON.stringify(check)}`);
  return check.claims;
}

export async function expectCode(p: Promise<unknown>, code: string, reason?: string): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GatehouseError);
  expect((err as GatehouseError).code).toBe(code);
  if (reason !== undefined) expect((err as GatehouseError).reason).toBe(reason);
}

/** The real store, with a switch that makes chosen calls fail as an unreachable database does. */
export function flaky(store: Store): { store: Store; setDown(down: boolean): void } {
  let down = false;
  const fail = () => Promise.reject(new GatehouseError('service_unavailable', undefined, { reason: 'test' }));
  const sessions: Store['sessions'] = {
    ...store.sessions,
    revokedSince: (since, limit) => (down ? fail() : store.sessions.revokedSince(since, limit)),
    findWithUser: (id) => (down ? fail() : store.sessions.findWithUser(id)),
  };
  const setDown = (d: boolean): void => {
    down = d;
  };
  return { store: { ...store, sessions }, setDown };
}
