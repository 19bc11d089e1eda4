/**
 * The static migration provider: migrations are imported, not discovered on disk, so they ship
 * inside dist/ (and any bundle) with the code that needs them. Names sort in application order.
 *
 * Each migration runs under the store's query timeout; one that rewrites a large table must
 * lift it for itself (PostgreSQL: `SET LOCAL statement_timeout = 0` — migrations run in a
 * transaction there).
 */
import type { Migration, MigrationProvider } from 'kysely';
import type { DatabaseKind } from '../../config/types.js';
import { migration0001 } from './0001_initial.js';
import { migration0003 } from './0003_native_clients.js';
import { migration0004 } from './0004_user_roles.js';

export function migrationsFor(kind: DatabaseKind): Record<string, Migration> {
  return {
    '0001_initial': migration0001(kind),
    '0003_native_clients': migration0003(kind),
    '0004_user_roles': migration0004(kind),
  };
}

export function migrationProvider(kind: DatabaseKind): MigrationProvider {
  const migrations = migrationsFor(kind);
  return { getMigrations: async () => migrations };
}
