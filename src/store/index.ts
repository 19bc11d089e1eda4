/**
 * The store: Kysely over SQLite, MySQL/MariaDB or PostgreSQL behind the `Store` contract
 * (types.ts). `openStore` only configures the pool; it neither connects nor migrates — callers
 * run `store.migrate()`, and a database that is down shows up as `service_unavailable` from
 * the first call (and heals by itself when it comes back).
 */
import { Kysely, sql } from 'kysely';
import type { Config } from '../config/types.js';
import type { Log } from '../core/log.js';
import { codecFor } from './codec.js';
import { createDialect } from './dialect.js';
import { guard } from './errors.js';
import { createMaintenanceLock } from './maintenance-lock.js';
import { createMigrations } from './migrator.js';
import { chatRepository } from './repositories/chat.js';
import type { RepositoryContext } from './repositories/context.js';
import { eventsRepository } from './repositories/events.js';
import { refreshTokensRepository } from './repositories/refresh-tokens.js';
import { authzChangesRepository, directoryRepository, rolesRepository } from './repositories/roles.js';
import { sessionsRepository } from './repositories/sessions.js';
import { signInRepository } from './repositories/sign-in.js';
import { usersRepository } from './repositories/users.js';
import type { Database } from './schema.js';
import type { Store } from './types.js';

export type { Database } from './schema.js';

export interface OpenStoreOptions {
  readonly logger?: Log;
}

export type OpenedStore = Store & { readonly db: Kysely<Database> };

type AsyncMethods<T> = { [K in keyof T]: (...args: never[]) => Promise<unknown> };

/** Wraps every method: deadlock retries and outage translation (errors.ts). */
function guarded<T extends AsyncMethods<T>>(methods: T): T {
  const out: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(methods) as [
    string,
    (...args: unknown[]) => Promise<unknown>,
  ][]) {
    out[name] = (...args: unknown[]) => guard(() => method(...args));
  }
  return Object.freeze(out) as T;
}

export async function openStore(
  db: Config['database'],
  options: OpenStoreOptions = {},
): Promise<OpenedStore> {
  const kind = db.kind;
  const kysely = new Kysely<Database>({ dialect: await createDialect(db, options.logger) });
  const ctx: RepositoryContext = { db: kysely, kind, codec: codecFor(kind) };
  const migrations = createMigrations(kysely, kind);
  const signIn = signInRepository(ctx);
  const maintenanceLock = createMaintenanceLock(db);
  options.logger?.info({ database: db.redactedUrl, kind }, 'database configured');

  const core = guarded({
    migrate: () => migrations.migrate(),
    migrationStatus: () => migrations.status(),
    ping: async (): Promise<void> => {
      await sql`select 1`.execute(kysely);
    },
    signIn: signIn.signIn,
    consumeTransaction: signIn.consumeTransaction,
    consumeIdToken: signIn.consumeIdToken,
  });

  return Object.freeze({
    kind,
    db: kysely,
    ...core,
    withMaintenanceLock: maintenanceLock,
    async close(): Promise<void> {
      await kysely.destroy();
    },
    users: guarded(usersRepository(ctx)),
    sessions: guarded(sessionsRepository(ctx)),
    refreshTokens: guarded(refreshTokensRepository(ctx)),
    roles: guarded(rolesRepository(ctx)),
    directory: guarded(directoryRepository(ctx)),
    authzChanges: guarded(authzChangesRepository(ctx)),
    events: guarded(eventsRepository(ctx)),
    chat: guarded(chatRepository(ctx)),
  });
}
