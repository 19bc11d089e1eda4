/**
 * Driver errors → Gatehouse errors. Two families matter to callers:
 *  - the database is unreachable, refuses connections or a query timed out: every Store method
 *    rejects with `service_unavailable` (HTTP 503 + Retry-After, SECURITY.md H.38);
 *  - a transaction lost a deadlock or a serialization check: retried here, never shown to a client.
 * Classification is by driver error codes, never by parsing SQL.
 */
import { GatehouseError } from '../errors.js';

/** Socket-level and mysql2 client codes meaning "no usable connection". */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  'PROTOCOL_ENQUEUE_AFTER_QUIT',
  'ER_CON_COUNT_ERROR',
  'ER_TOO_MANY_USER_CONNECTIONS',
  'ER_SERVER_SHUTDOWN',
  'ER_ACCESS_DENIED_ERROR',
  'ER_DBACCESS_DENIED_ERROR',
  'ER_BAD_DB_ERROR',
  'ER_QUERY_INTERRUPTED',
  'ER_QUERY_TIMEOUT',
  'ER_STATEMENT_TIMEOUT',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_LOCK_DEADLOCK',
  'ER_CLIENT_INTERACTION_TIMEOUT',
  // Our own client-side query timeout (dialects/mysql.ts).
  'GATEHOUSE_QUERY_TIMEOUT',
]);

/** SQLite result codes (better-sqlite3 `code`, extended codes start with these). */
const SQLITE_UNAVAILABLE = [
  'SQLITE_CANTOPEN',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_IOERR',
  'SQLITE_FULL',
  'SQLITE_READONLY',
  'SQLITE_PROTOCOL',
  'SQLITE_NOTADB',
];

/**
 * PostgreSQL SQLSTATEs: class 08 (connection exception), 53 (insufficient resources), 57P0x
 * (shutdown, cannot connect now), 57014 (query_canceled: our statement_timeout), 55P03 (lock
 * not available), 28xxx (authorization: the server refuses us), 3D000 (no such database).
 */
function isPostgresUnavailable(code: string): boolean {
  return (
    code.startsWith('08') ||
    code.startsWith('53') ||
    code.startsWith('57P') ||
    code.startsWith('28') ||
    code === '57014' ||
    code === '55P03' ||
    code === '3D000' ||
    code === '40001' ||
    code === '40P01'
  );
}

/** node-postgres reports some client-side failures without a code. */
const PG_CLIENT_MESSAGES = [
  /^Connection terminated/,
  /^timeout exceeded when trying to connect/,
  /^Query read timeout/,
  /not queryable/,
  /^Client was closed and is not queryable/,
  /^Connection terminated due to connection timeout/,
];

/**
 * Whether the database rolled the whole operation back so that running it again is safe:
 * `deadlock` (MySQL 1213, PostgreSQL 40001/40P01: retry at once) or `lock_wait` (MySQL 1205,
 * SQLITE_BUSY: the wait already took the full timeout, so one more try only).
 */
export function retryKind(err: unknown): 'deadlock' | 'lock_wait' | undefined {
  for (const e of causes(err)) {
    const code = codeOf(e);
    const errno = (e as { errno?: unknown }).errno;
    if (code === 'ER_LOCK_DEADLOCK' || errno === 1213 || code === '40001' || code === '40P01')
      return 'deadlock';
    if (code === 'ER_LOCK_WAIT_TIMEOUT' || errno === 1205) return 'lock_wait';
    if (code?.startsWith('SQLITE_BUSY') || code?.startsWith('SQLITE_LOCKED')) return 'lock_wait';
  }
  return undefined;
}

export function isUnavailable(err: unknown): boolean {
  for (const e of causes(err)) {
    const code = codeOf(e);
    if (code !== undefined) {
      if (NETWORK_CODES.has(code)) return true;
      if (SQLITE_UNAVAILABLE.some((prefix) => code.startsWith(prefix))) return true;
      if (/^[0-9A-Z]{5}$/.test(code) && isPostgresUnavailable(code)) return true;
    }
    const errno = (e as { errno?: unknown }).errno;
    // mysql2 sometimes carries only the numeric errno: 1040 too many connections, 1053 shutdown,
    // 1205 lock wait timeout, 1213 deadlock (after our retries), 1317 interrupted, 1969 MariaDB
    // max_statement_time, 3024 MySQL max_execution_time, 2002/2003/2006/2013 client codes.
    if (
      typeof errno === 'number' &&
      [1040, 1053, 1205, 1213, 1317, 1969, 3024, 2002, 2003, 2006, 2013].includes(errno)
    ) {
      return true;
    }
    // mysql2 marks errors that leave the connection unusable `fatal`; some carry no code at all
    // ("Can't add new command when connection is in closed state": e.g. Kysely's ROLLBACK after
    // the server went away mid-transaction — that error replaces the original one).
    if ((e as { fatal?: unknown }).fatal === true) return true;
    const message = e instanceof Error ? e.message : '';
    if (PG_CLIENT_MESSAGES.some((re) => re.test(message))) return true;
  }
  return false;
}

/** True when a unique or primary key was violated (the row is already there). */
export function isUniqueViolation(err: unknown): boolean {
  for (const e of causes(err)) {
    const code = codeOf(e);
    if (code === '23505' || code === 'ER_DUP_ENTRY') return true;
    if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE') return true;
    if ((e as { errno?: unknown }).errno === 1062) return true;
  }
  return false;
}

export function unavailable(cause: unknown): GatehouseError {
  return new GatehouseError('service_unavailable', 'The database is unavailable', {
    cause,
    retryAfterSeconds: 5,
    reason: 'database_unavailable',
  });
}

/** Maps an outage to `service_unavailable`; other errors pass through unchanged. */
export function translate(err: unknown): unknown {
  if (err instanceof GatehouseError) return err;
  if (isUnavailable(err)) return unavailable(err);
  return err;
}

const ATTEMPTS = { deadlock: 4, lock_wait: 2 } as const;

/**
 * Runs one Store operation: retries it when the database rolled it back because of a deadlock,
 * lock wait timeout or serialization failure (safe: nothing was committed), and translates
 * outages. Connection losses are not retried: a COMMIT whose answer was lost may have applied.
 */
export async function guard<T>(operation: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (err) {
      const kind = retryKind(err);
      if (kind !== undefined && attempt < ATTEMPTS[kind]) {
        // Jittered backoff so the contenders do not collide again in lockstep.
        await new Promise((resolve) =>
          setTimeout(resolve, 5 * attempt + Math.floor(Math.random() * 20 * attempt)),
        );
        continue;
      }
      throw translate(err);
    }
  }
}

function codeOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The error, its `cause` chain and AggregateError members (Node's multi-address connect). */
function* causes(err: unknown, depth = 0): Generator<unknown> {
  if (err === null || err === undefined || depth > 5) return;
  yield err;
  if (err instanceof AggregateError) {
    for (const inner of err.errors) yield* causes(inner, depth + 1);
  }
  if (err instanceof Error && err.cause !== undefined) yield* causes(err.cause, depth + 1);
}
