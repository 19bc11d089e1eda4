/**
 * Migrations through Kysely's Migrator, which takes a lock per dialect (see dialects/), so
 * several instances may start and migrate at once: one applies, the others wait and find
 * nothing left to do.
 */
import { type Kysely, Migrator } from 'kysely';
import type { DatabaseKind } from '../config/types.js';
import { GatehouseError } from '../errors.js';
import { isUnavailable, unavailable } from './errors.js';
import { migrationProvider, migrationsFor } from './migrations/index.js';
import type { Database } from './schema.js';
import type { MigrationStep } from './types.js';

export function createMigrations(db: Kysely<Database>, kind: DatabaseKind) {
  const migrator = new Migrator({ db, provider: migrationProvider(kind) });
  const names = Object.keys(migrationsFor(kind)).sort();

  return {
    async status(): Promise<readonly MigrationStep[]> {
      const known = await migrator.getMigrations();
      return known.map((m) => ({ name: m.name, status: m.executedAt ? 'applied' : 'pending' }));
    },

    async migrate(): Promise<readonly MigrationStep[]> {
      const { error, results = [] } = await migrator.migrateToLatest();
      if (error !== undefined) {
        if (isUnavailable(error)) throw unavailable(error);
        const failed = results.find((r) => r.status === 'Error')?.migrationName;
        throw new GatehouseError('internal_error', 'A database migration failed', {
          cause: error,
          reason: failed ? `migration_failed:${failed}` : 'migration_failed',
        });
      }
      const ran = new Map(results.map((r) => [r.migrationName, r.status]));
      // Everything not run by this call was applied before (by us earlier or by another instance).
      return names.map((name) => {
        const status = ran.get(name);
        return {
          name,
          status: status === 'Success' ? 'applied_now' : status === 'NotExecuted' ? 'pending' : 'applied',
        };
      });
    },
  };
}
