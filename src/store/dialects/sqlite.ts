/**
 * SQLite through better-sqlite3. better-sqlite3 is synchronous: while one connection sits in a
 * transaction between two awaits, a second connection to the same file in this process would
 * block the whole event loop in its busy handler and deadlock. So every connection to one file
 * in this process shares one async mutex, and transactions use BEGIN IMMEDIATE so that across
 * processes the write lock is taken up front (a deferred read-then-write transaction can fail
 * with SQLITE_BUSY without ever waiting). https://sqlite.org/lang_transaction.html
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type DialectAdapter,
  type Kysely,
  SqliteAdapter,
  type SqliteDatabase,
  SqliteDialect,
  SqliteDriver,
} from 'kysely';

/**
 * Prepared statements kept per connection, by SQL text. Gatehouse runs a few dozen distinct
 * statements; compiling one costs tens of µs that every renewal and sign-in would otherwise pay.
 */
const STATEMENT_CACHE_SIZE = 256;

/**
 * The connection as Kysely sees it, with `prepare` remembering statements (oldest out first).
 * Safe because a connection runs one statement at a time (the mutex below) and Gatehouse never
 * streams, so a cached statement is never asked to run while it is still iterating.
 */
function withStatementCache(db: Database.Database): SqliteDatabase {
  const statements = new Map<string, Database.Statement>();
  return {
    prepare(sql: string) {
      let statement = statements.get(sql);
      if (statement === undefined) {
        statement = db.prepare(sql);
        if (statements.size >= STATEMENT_CACHE_SIZE) {
          const oldest = statements.keys().next().value;
          if (oldest !== undefined) statements.delete(oldest);
        }
        statements.set(sql, statement);
      }
      return statement;
    },
    close() {
      statements.clear();
      db.close();
    },
  };
}

class AsyncMutex {
  #tail: Promise<void> = Promise.resolve();

  async lock(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((resolve) => {
      release = resolve;
    });
    const previous = this.#tail;
    this.#tail = previous.then(() => next);
    await previous;
    return release;
  }
}

/** One mutex per database file in this process (weakly: a mutex lives while a store uses it). */
const fileMutexes = new Map<string, { mutex: AsyncMutex; users: number }>();

function retainMutex(key: string): AsyncMutex {
  let entry = fileMutexes.get(key);
  if (!entry) {
    entry = { mutex: new AsyncMutex(), users: 0 };
    fileMutexes.set(key, entry);
  }
  entry.users++;
  return entry.mutex;
}

function releaseMutex(key: string): void {
  const entry = fileMutexes.get(key);
  if (entry && --entry.users <= 0) fileMutexes.delete(key);
}

class GatehouseSqliteDriver extends SqliteDriver {
  readonly #mutex: AsyncMutex;
  readonly #key: string;
  #unlock: (() => void) | undefined;

  constructor(config: ConstructorParameters<typeof SqliteDriver>[0], key: string) {
    super(config);
    this.#key = key;
    this.#mutex = retainMutex(key);
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    const unlock = await this.#mutex.lock();
    try {
      const connection = await super.acquireConnection();
      this.#unlock = unlock;
      return connection;
    } catch (err) {
      unlock();
      throw err;
    }
  }

  override async releaseConnection(): Promise<void> {
    await super.releaseConnection();
    const unlock = this.#unlock;
    this.#unlock = undefined;
    unlock?.();
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }

  override async destroy(): Promise<void> {
    await super.destroy();
    releaseMutex(this.#key);
  }
}

/**
 * SQLite has transactional DDL, and BEGIN IMMEDIATE holds the file's write lock for the whole
 * migration: that is the migration lock, across processes too.
 */
class GatehouseSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
  override async acquireMigrationLock(_db: Kysely<unknown>): Promise<void> {}
  override async releaseMigrationLock(_db: Kysely<unknown>): Promise<void> {}
}

export function createSqliteDialect(path: string, busyTimeoutMs: number): Dialect {
  const memory = path === ':memory:' || path === '';
  const file = memory ? ':memory:' : resolve(path);
  const key = memory ? `:memory:${Math.random()}` : file;
  const config = {
    // Opened lazily and re-tried on the next query when it fails (Kysely resets a failed init),
    // so a missing or unwritable directory is an outage that heals, not a crash.
    database: async () => {
      if (!memory) {
        try {
          mkdirSync(dirname(file), { recursive: true });
        } catch (err) {
          // Same meaning as SQLite's own "unable to open database file".
          throw Object.assign(new Error('cannot create the SQLite directory'), {
            code: 'SQLITE_CANTOPEN',
            cause: err,
          });
        }
      }
      const db = new Database(file, { timeout: busyTimeoutMs });
      try {
        if (!memory) db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
        db.pragma('foreign_keys = ON');
        db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
      } catch (err) {
        db.close();
        throw err;
      }
      return withStatementCache(db);
    },
  };
  return new (class extends SqliteDialect {
    override createDriver(): SqliteDriver {
      return new GatehouseSqliteDriver(config, key);
    }
    override createAdapter(): DialectAdapter {
      return new GatehouseSqliteAdapter();
    }
  })(config);
}
