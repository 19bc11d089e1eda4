/**
 * PostgreSQL 13+ through a node-postgres pool. The server cancels statements after
 * `statement_timeout` (SQLSTATE 57014, classified as an outage); `query_timeout` is the client's
 * backstop for a server that stopped answering at all. TLS settings come from the URL
 * (`sslmode`, `sslrootcert`, `sslcert`, `sslkey`), parsed by pg-connection-string.
 */
import {
  type Dialect,
  type DialectAdapter,
  type Kysely,
  PostgresAdapter,
  PostgresDialect,
  sql,
} from 'kysely';
import pg from 'pg';
import { type MigrationLockOptions, pollForLock } from './migration-lock.js';

export interface PostgresDialectOptions {
  readonly url: string;
  readonly poolSize: number;
  readonly queryTimeoutMs: number;
  readonly onPoolError: (err: unknown) => void;
}

/** An arbitrary constant: advisory locks are per database, so one key per Gatehouse schema. */
const MIGRATION_LOCK_KEY = '7240919336520911621';

/**
 * Kysely's pg_advisory_lock waits in one statement, which statement_timeout would cancel while
 * another instance migrates: poll pg_try_advisory_lock instead.
 */
class GatehousePostgresAdapter extends PostgresAdapter {
  override async acquireMigrationLock(db: Kysely<unknown>, _opt: MigrationLockOptions): Promise<void> {
    await pollForLock(async () => {
      const { rows } = await sql<{
        ok: boolean;
      }>`select pg_try_advisory_lock(${sql.lit(MIGRATION_LOCK_KEY)}::bigint) as ok`.execute(db);
      return rows[0]?.ok === true;
    });
  }
  override async releaseMigrationLock(db: Kysely<unknown>, _opt: MigrationLockOptions): Promise<void> {
    await sql`select pg_advisory_unlock(${sql.lit(MIGRATION_LOCK_KEY)}::bigint)`.execute(db);
  }
}

export function postgresPoolConfig(url: string, poolSize: number, queryTimeoutMs: number): pg.PoolConfig {
  return {
    connectionString: url,
    max: poolSize,
    idleTimeoutMillis: 30_000,
    // Waiting for a connection (or opening one) counts against the same budget as a query.
    connectionTimeoutMillis: queryTimeoutMs,
    statement_timeout: queryTimeoutMs,
    query_timeout: queryTimeoutMs + 2000,
    // A transaction left open by a bug must not hold row locks forever.
    idle_in_transaction_session_timeout: Math.max(60_000, queryTimeoutMs * 4),
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    application_name: 'gatehouse',
  };
}

export function createPostgresDialect(options: PostgresDialectOptions): Dialect {
  const pool = new pg.Pool(postgresPoolConfig(options.url, options.poolSize, options.queryTimeoutMs));
  // Idle clients that lose their server emit here; without a listener the process would crash.
  // The pool has already dropped the client and opens a fresh one on the next query.
  pool.on('error', options.onPoolError);
  // A client checked out between two statements (inside a transaction) that loses its server
  // emits 'error' on itself, which the pool does not listen to while the client is lent out:
  // without this the process would crash. The pending or next query rejects (an outage) and the
  // pool discards the client when it is released.
  pool.on('connect', (client) => {
    client.on('error', options.onPoolError);
  });
  return new (class extends PostgresDialect {
    override createAdapter(): DialectAdapter {
      return new GatehousePostgresAdapter();
    }
  })({ pool });
}
