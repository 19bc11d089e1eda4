/**
 * MySQL 8 / MariaDB 10.6+ through a mysql2 pool.
 *  - `timezone: 'Z'`: DATETIME(3) values are written and read as UTC, whatever the server's zone.
 *  - utf8mb4 on the wire (and in the tables) so any Unicode name or email round-trips.
 *  - Server-side limits per session (lock_wait_timeout, innodb_lock_wait_timeout, and MariaDB's
 *    max_statement_time) so a stuck statement is aborted by the server — a statement the
 *    client gave up on must never apply later.
 *  - A client-side deadline per query as the backstop for a server that stopped answering
 *    (mysql2 has none by default): on expiry the statement is killed (best effort) and the
 *    connection destroyed; the pool opens fresh ones, so it heals by itself.
 */
import { readFileSync } from 'node:fs';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type DialectAdapter,
  type Kysely,
  MysqlAdapter,
  MysqlDialect,
  type MysqlPool,
  type MysqlPoolConnection,
  type MysqlQueryResult,
  type MysqlStream,
  type MysqlStreamOptions,
  sql,
} from 'kysely';
import { createConnection, createPool, type PoolConnection, type PoolOptions } from 'mysql2';
import { type MigrationLockOptions, pollForLock } from './migration-lock.js';

export interface MysqlDialectOptions {
  readonly url: string;
  readonly poolSize: number;
  readonly queryTimeoutMs: number;
  readonly onPoolError: (err: unknown) => void;
}

export function mysqlPoolOptions(url: string, poolSize: number, queryTimeoutMs: number): PoolOptions {
  const parsed = new URL(url);
  const query = parsed.searchParams;
  const options: PoolOptions = {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 3306,
    user: decodeURIComponent(parsed.username) || undefined,
    password: decodeURIComponent(parsed.password) || undefined,
    database: decodeURIComponent(parsed.pathname.replace(/^\//, '')) || undefined,
    connectionLimit: poolSize,
    maxIdle: poolSize,
    idleTimeout: 60_000,
    waitForConnections: true,
    queueLimit: 0,
    connectTimeout: Math.max(1000, queryTimeoutMs),
    enableKeepAlive: true,
    keepAliveInitialDelay: 10_000,
    timezone: 'Z',
    dateStrings: false,
    charset: 'utf8mb4',
    multipleStatements: false,
  };
  const socket = query.get('socket') ?? query.get('socketPath');
  if (socket) options.socketPath = socket;
  const ssl = sslOptions(query);
  if (ssl) options.ssl = ssl;
  return options;
}

/**
 * TLS from the URL query: `ssl=true` (verified), `ssl={"rejectUnauthorized":…}` (mysql2's own
 * JSON form), `ssl-mode=REQUIRED|VERIFY_CA|VERIFY_IDENTITY|DISABLED` (the mysql client's names;
 * REQUIRED encrypts without verifying, as there), `ssl-ca=/path/ca.pem` (also `sslrootcert`).
 */
function sslOptions(query: URLSearchParams): PoolOptions['ssl'] | undefined {
  const mode = (query.get('ssl-mode') ?? query.get('sslmode') ?? '').toUpperCase();
  const raw = query.get('ssl');
  const caPath = query.get('ssl-ca') ?? query.get('sslca') ?? query.get('sslrootcert');
  if (mode === 'DISABLED' || mode === 'DISABLE' || raw === 'false' || raw === '0') return undefined;
  let ssl: Exclude<PoolOptions['ssl'], string | undefined> | undefined;
  if (raw?.startsWith('{')) ssl = JSON.parse(raw) as Exclude<PoolOptions['ssl'], string | undefined>;
  else if (raw === 'true' || raw === '1' || raw === 'required') ssl = { rejectUnauthorized: true };
  if (mode === 'REQUIRED' || mode === 'REQUIRE' || mode === 'PREFERRED')
    ssl = { ...ssl, rejectUnauthorized: false };
  if (mode.startsWith('VERIFY')) ssl = { ...ssl, rejectUnauthorized: true };
  if (caPath) ssl = { ...ssl, ca: readFileSync(caPath, 'utf8') };
  return ssl;
}

class TimedConnection implements MysqlPoolConnection {
  readonly #raw: PoolConnection;
  readonly #timeoutMs: number;
  readonly #kill: (threadId: number) => void;
  #dead = false;

  constructor(raw: PoolConnection, timeoutMs: number, kill: (threadId: number) => void) {
    this.#raw = raw;
    this.#timeoutMs = timeoutMs;
    this.#kill = kill;
  }

  query(
    sqlText: string,
    parameters: Array<unknown>,
  ): { stream: <T>(options: MysqlStreamOptions) => MysqlStream<T> };
  query(
    sqlText: string,
    parameters: Array<unknown>,
    callback: (error: unknown, result: MysqlQueryResult) => void,
  ): void;
  query(
    sqlText: string,
    parameters: Array<unknown>,
    callback?: (error: unknown, result: MysqlQueryResult) => void,
  ): unknown {
    // Streaming (unused by the store) passes through without a deadline.
    if (!callback) return this.#raw.query(sqlText, parameters);
    if (this.#dead) {
      process.nextTick(() => callback(timeoutError('connection discarded after a timeout'), []));
      return;
    }
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      this.#dead = true;
      // Nothing else can be sent on this connection until the server answers; drop it, and ask
      // the server to end the statement and roll back rather than finish it unseen.
      const threadId = this.#raw.threadId;
      this.#raw.destroy();
      if (typeof threadId === 'number') this.#kill(threadId);
      callback(timeoutError('query timed out'), []);
    }, this.#timeoutMs);
    this.#raw.query(sqlText, parameters, (err, result) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      callback(err, result as MysqlQueryResult);
    });
  }

  release(): void {
    this.#raw.release();
  }
}

function timeoutError(message: string): Error {
  return Object.assign(new Error(message), { code: 'GATEHOUSE_QUERY_TIMEOUT' });
}

/**
 * Kysely's MySQL migration lock is GET_LOCK with a one-hour wait in one statement, which our
 * query deadline would cut short, and its name is server-wide: poll with short waits instead,
 * under a name of this database only.
 */
class GatehouseMysqlAdapter extends MysqlAdapter {
  override async acquireMigrationLock(db: Kysely<unknown>, _opt: MigrationLockOptions): Promise<void> {
    await pollForLock(async () => {
      const { rows } = await sql<{
        ok: number | null;
      }>`select get_lock(concat('gatehouse_migrate_', md5(coalesce(database(), ''))), 0) as ok`.execute(db);
      return Number(rows[0]?.ok) === 1;
    });
  }
  override async releaseMigrationLock(db: Kysely<unknown>, _opt: MigrationLockOptions): Promise<void> {
    await sql`select release_lock(concat('gatehouse_migrate_', md5(coalesce(database(), ''))))`.execute(db);
  }
}

/** Best effort, on a one-off connection: the pool may be the thing that is stuck. */
function killer(poolOptions: PoolOptions): (threadId: number) => void {
  return (threadId) => {
    const { connectionLimit, maxIdle, idleTimeout, waitForConnections, queueLimit, ...connectionOptions } =
      poolOptions;
    const conn = createConnection(connectionOptions);
    conn.on('error', () => {});
    conn.query({ sql: `kill ${Math.floor(threadId)}`, timeout: connectionOptions.connectTimeout }, () =>
      conn.destroy(),
    );
  };
}

export function createMysqlDialect(options: MysqlDialectOptions): Dialect {
  const poolOptions = mysqlPoolOptions(options.url, options.poolSize, options.queryTimeoutMs);
  const pool = createPool(poolOptions);
  const kill = killer(poolOptions);
  // The server's own limits fire first; the client deadline is the backstop.
  const clientTimeoutMs = options.queryTimeoutMs + 2000;
  pool.on('connection', (connection) => {
    // A connection that dies while idle must not become an unhandled 'error' event.
    connection.on('error', options.onPoolError);
  });
  const wrapped = new WeakMap<PoolConnection, TimedConnection>();
  const kyselyPool: MysqlPool = {
    getConnection(callback) {
      pool.getConnection((err, raw) => {
        if (err) return callback(err, undefined as unknown as MysqlPoolConnection);
        let connection = wrapped.get(raw);
        if (!connection) {
          connection = new TimedConnection(raw, clientTimeoutMs, kill);
          wrapped.set(raw, connection);
        }
        callback(null, connection);
      });
    },
    end(callback) {
      pool.end(callback);
    },
  };
  const seconds = Math.max(1, Math.round(options.queryTimeoutMs / 1000));
  return new (class extends MysqlDialect {
    override createAdapter(): DialectAdapter {
      return new GatehouseMysqlAdapter();
    }
  })({
    pool: kyselyPool,
    // Lock waits end with 1205 (retried once by the store, then an outage); MariaDB also bounds
    // every statement. MySQL 8 has no equivalent for DML (max_execution_time is SELECT only).
    onCreateConnection: async (connection: DatabaseConnection) => {
      await connection.executeQuery(
        CompiledQuery.raw(
          `set session innodb_lock_wait_timeout = ${seconds}, lock_wait_timeout = ${seconds}`,
        ),
      );
      if (await isMariaDb(connection)) {
        await connection.executeQuery(CompiledQuery.raw(`set session max_statement_time = ${seconds}`));
      }
    },
  });
}

async function isMariaDb(connection: DatabaseConnection): Promise<boolean> {
  const { rows } = await connection.executeQuery<{ v: string }>(CompiledQuery.raw('select version() as v'));
  return /mariadb/i.test(rows[0]?.v ?? '');
}
