/**
 * The Kysely dialect for a configured database: SQLite, MySQL/MariaDB or PostgreSQL. Each
 * dialect (and its client library) is loaded only when configured: an instance on SQLite never
 * loads pg or mysql2 (a smaller resident set; docs/performance.md, "Memory").
 */
import type { Dialect } from 'kysely';
import type { Config } from '../config/types.js';
import type { Log } from '../core/log.js';

export async function createDialect(db: Config['database'], logger?: Log): Promise<Dialect> {
  const queryTimeoutMs = Math.max(1, db.queryTimeoutSeconds) * 1000;
  const poolSize = Math.max(1, Math.floor(db.poolSize));
  const onPoolError = (err: unknown): void => {
    const code = (err as { code?: unknown } | null)?.code;
    logger?.warn(
      { database: db.redactedUrl, code: typeof code === 'string' ? code : undefined },
      'database connection lost; the pool will reconnect',
    );
  };
  switch (db.kind) {
    case 'sqlite': {
      const { createSqliteDialect } = await import('./dialects/sqlite.js');
      return createSqliteDialect(db.sqlitePath ?? sqlitePathFromUrl(db.url), queryTimeoutMs);
    }
    case 'mysql': {
      const { createMysqlDialect } = await import('./dialects/mysql.js');
      return createMysqlDialect({ url: db.url, poolSize, queryTimeoutMs, onPoolError });
    }
    case 'postgres': {
      const { createPostgresDialect } = await import('./dialects/postgres.js');
      return createPostgresDialect({ url: db.url, poolSize, queryTimeoutMs, onPoolError });
    }
    default:
      throw new TypeError(`unsupported database kind: ${String((db as { kind: unknown }).kind)}`);
  }
}

/** `sqlite:PATH`, `sqlite://PATH` or `sqlite::memory:`. */
export function sqlitePathFromUrl(url: string): string {
  const path = url.replace(/^sqlite:(\/\/)?/, '');
  return path === '' ? ':memory:' : path;
}
