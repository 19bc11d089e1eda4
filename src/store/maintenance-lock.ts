/**
 * A leader lock for background maintenance (the purge): among instances sharing one database,
 * at most one runs it at a time; the others skip that round. The lock lives on a dedicated
 * connection outside the pool, so the work itself can use the pool (even a pool of one) and a
 * crashed holder releases the lock with its connection:
 *  - PostgreSQL: `pg_try_advisory_lock` (session level, per database);
 *  - MySQL/MariaDB: `GET_LOCK(name, 0)`, the name scoped to this database (GET_LOCK is server-wide);
 *  - SQLite: an exclusive transaction on a sidecar file next to the database (OS file locks, so
 *    it holds across processes too); `:memory:` databases use an in-process flag.
 * Never waits: a lock held elsewhere means "not this round".
 */
import Database from 'better-sqlite3';
import type { Config } from '../config/types.js';
import { sqlitePathFromUrl } from './dialect.js';
import { translate } from './errors.js';
import type { MaintenanceLockResult } from './types.js';

/** An arbitrary constant, distinct from the migration lock's key (dialects/postgres.ts). */
const POSTGRES_KEY = '7240919336520911622';
/** GET_LOCK names are server-wide: one per database (at most 64 characters). */
const MYSQL_NAME = "concat('gatehouse_maint_', md5(coalesce(database(), '')))";

/** Tries the lock; when taken, returns a release function, otherwise undefined. */
type Acquire = () => Promise<(() => Promise<void>) | undefined>;

export type MaintenanceLock = <T>(fn: () => Promise<T>) => Promise<MaintenanceLockResult<T>>;

export function createMaintenanceLock(db: Config['database']): MaintenanceLock {
  const timeoutMs = Math.max(1, db.queryTimeoutSeconds) * 1000;
  const acquire = acquirerFor(db, timeoutMs);
  return async (fn) => {
    let release: (() => Promise<void>) | undefined;
    try {
      release = await acquire();
    } catch (err) {
      throw translate(err);
    }
    if (!release) return { ran: false };
    try {
      return { ran: true, value: await fn() };
    } finally {
      await release().catch(() => {
        // Closing the lock's connection releases it anyway.
      });
    }
  };
}

function acquirerFor(db: Config['database'], timeoutMs: number): Acquire {
  switch (db.kind) {
    case 'postgres':
      return () => postgresLock(db.url, timeoutMs);
    case 'mysql':
      return () => mysqlLock(db.url, timeoutMs);
    case 'sqlite': {
      const path = db.sqlitePath ?? sqlitePathFromUrl(db.url);
      if (path === ':memory:' || path === '') return memoryLock();
      return () => sqliteLock(`${path}-maintenance-lock`);
    }
    default:
      throw new TypeError(`unsupported database kind: ${String((db as { kind: unknown }).kind)}`);
  }
}

async function postgresLock(url: string, timeoutMs: number): Promise<(() => Promise<void>) | undefined> {
  // The client library is loaded only by an instance that uses this database (see dialect.ts).
  const [{ default: pg }, { postgresPoolConfig }] = await Promise.all([
    import('pg'),
    import('./dialects/postgres.js'),
  ]);
  const { max: _max, idleTimeoutMillis: _idle, ...config } = postgresPoolConfig(url, 1, timeoutMs);
  const client = new pg.Client({ ...config, application_name: 'gatehouse-maintenance' });
  // A connection lost while the lock is held must not become an unhandled 'error' event.
  client.on('error', () => {});
  try {
    await client.connect();
    const { rows } = await client.query<{ ok: boolean }>(
      `select pg_try_advisory_lock(${POSTGRES_KEY}::bigint) as ok`,
    );
    if (rows[0]?.ok !== true) {
      await client.end();
      return undefined;
    }
  } catch (err) {
    await client.end().catch(() => {});
    throw err;
  }
  return async () => {
    try {
      await client.query(`select pg_advisory_unlock(${POSTGRES_KEY}::bigint)`);
    } finally {
      await client.end();
    }
  };
}

async function mysqlLock(url: string, timeoutMs: number): Promise<(() => Promise<void>) | undefined> {
  const [{ createConnection }, { mysqlPoolOptions }] = await Promise.all([
    import('mysql2/promise'),
    import('./dialects/mysql.js'),
  ]);
  const {
    connectionLimit: _limit,
    maxIdle: _maxIdle,
    idleTimeout: _idle,
    waitForConnections: _wait,
    queueLimit: _queue,
    ...options
  } = mysqlPoolOptions(url, 1, timeoutMs);
  const conn = await createConnection(options);
  conn.on('error', () => {});
  try {
    const [rows] = await conn.query({ sql: `select get_lock(${MYSQL_NAME}, 0) as ok`, timeout: timeoutMs });
    const ok = (rows as { ok: number | null }[])[0]?.ok;
    if (Number(ok) !== 1) {
      await conn.end();
      return undefined;
    }
  } catch (err) {
    conn.destroy();
    throw err;
  }
  return async () => {
    try {
      await conn.query({ sql: `select release_lock(${MYSQL_NAME})`, timeout: timeoutMs });
    } finally {
      await conn.end().catch(() => conn.destroy());
    }
  };
}

async function sqliteLock(path: string): Promise<(() => Promise<void>) | undefined> {
  // timeout 0: a lock held by another connection or process answers SQLITE_BUSY at once.
  const lock = new Database(path, { timeout: 0 });
  try {
    lock.exec('begin exclusive');
  } catch (err) {
    lock.close();
    if ((err as { code?: unknown }).code === 'SQLITE_BUSY') return undefined;
    throw err;
  }
  return async () => {
    lock.exec('rollback');
    lock.close();
  };
}

function memoryLock(): Acquire {
  let held = false;
  return async () => {
    if (held) return undefined;
    held = true;
    return async () => {
      held = false;
    };
  };
}
