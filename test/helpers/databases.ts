/**
 * The databases every store-backed test runs on: SQLite always (a temp file), MySQL/MariaDB and
 * PostgreSQL when `TEST_MYSQL_URL` / `TEST_POSTGRES_URL` name a server. Each `create()` makes a
 * throwaway database (`gh_<random>`) that `drop()` removes. With GATEHOUSE_REQUIRE_SERVICES=1 a
 * missing URL fails the suite instead of skipping it.
 *
 *   describeEachDatabase('sessions', (target) => {
 *     let db: Awaited<ReturnType<DatabaseTarget['create']>>;
 *     beforeAll(async () => { db = await target.create(); });
 *     afterAll(async () => { await db.drop(); });
 *     …
 *   });
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { describe, it } from 'vitest';
import type { Config } from '../../src/config/types.js';
import { seconds, testConfig } from './config.js';

export interface CreatedDatabase {
  readonly url: string;
  readonly config: Config['database'];
  drop(): Promise<void>;
}

export interface DatabaseTarget {
  name: 'sqlite' | 'mysql' | 'postgres';
  available: boolean;
  skipReason?: string;
  create(): Promise<CreatedDatabase>;
}

const REQUIRE_SERVICES = process.env.GATEHOUSE_REQUIRE_SERVICES === '1';

/** A `Config['database']` for a URL, as the real loader makes it (test/helpers/config.ts). */
export function databaseConfigFor(
  url: string,
  overrides: { poolSize?: number; queryTimeoutSeconds?: number } = {},
): Config['database'] {
  return testConfig({
    DATABASE_URL: url,
    DATABASE_POOL_SIZE: overrides.poolSize === undefined ? undefined : String(overrides.poolSize),
    DATABASE_QUERY_TIMEOUT:
      overrides.queryTimeoutSeconds === undefined ? undefined : seconds(overrides.queryTimeoutSeconds),
  }).database;
}

function throwawayName(): string {
  return `gh_${randomBytes(6).toString('hex')}`;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

function missing(variable: string): string {
  return `set ${variable} to run`;
}

const sqliteTarget: DatabaseTarget = {
  name: 'sqlite',
  available: true,
  async create() {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-db-'));
    const url = `sqlite:${join(dir, 'gatehouse.db')}`;
    return {
      url,
      config: databaseConfigFor(url),
      async drop() {
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

const mysqlUrl = process.env.TEST_MYSQL_URL;
const mysqlTarget: DatabaseTarget = {
  name: 'mysql',
  available: Boolean(mysqlUrl),
  skipReason: mysqlUrl ? undefined : missing('TEST_MYSQL_URL'),
  async create() {
    if (!mysqlUrl) throw new Error(missing('TEST_MYSQL_URL'));
    const name = throwawayName();
    const admin = await mysql.createConnection(mysqlUrl);
    try {
      await admin.query(`create database \`${name}\` character set utf8mb4`);
    } finally {
      await admin.end();
    }
    const url = withDatabase(mysqlUrl, name);
    return {
      url,
      config: databaseConfigFor(url),
      async drop() {
        const conn = await mysql.createConnection(mysqlUrl);
        try {
          await conn.query(`drop database if exists \`${name}\``);
        } finally {
          await conn.end();
        }
      },
    };
  },
};

const postgresUrl = process.env.TEST_POSTGRES_URL;
const postgresTarget: DatabaseTarget = {
  name: 'postgres',
  available: Boolean(postgresUrl),
  skipReason: postgresUrl ? undefined : missing('TEST_POSTGRES_URL'),
  async create() {
    if (!postgresUrl) throw new Error(missing('TEST_POSTGRES_URL'));
    const name = throwawayName();
    const run = async (statement: string) => {
      const client = new pg.Client({ connectionString: postgresUrl });
      await client.connect();
      try {
        await client.query(statement);
      } finally {
        await client.end();
      }
    };
    await run(`create database "${name}" template template0 encoding 'UTF8'`);
    const url = withDatabase(postgresUrl, name);
    return {
      url,
      config: databaseConfigFor(url),
      // FORCE: a pool left open by a failed test must not keep the database alive.
      drop: () => run(`drop database if exists "${name}" with (force)`),
    };
  },
};

export const DATABASE_TARGETS: DatabaseTarget[] = [sqliteTarget, mysqlTarget, postgresTarget];

const announced = new Set<string>();

/** The default reporter hides skipped suites' titles; one line per file says what did not run. */
function announceSkip(target: DatabaseTarget): void {
  if (announced.has(target.name)) return;
  announced.add(target.name);
  console.warn(`[databases] ${target.name} suites skipped: ${target.skipReason ?? 'unavailable'}`);
}

/**
 * One `describe` per database. Unavailable targets are listed as skipped with the reason in the
 * title — or, under GATEHOUSE_REQUIRE_SERVICES=1, fail.
 */
export function describeEachDatabase(title: string, fn: (target: DatabaseTarget) => void): void {
  for (const target of DATABASE_TARGETS) {
    const name = `${title} [${target.name}]`;
    if (target.available) {
      describe(name, () => fn(target));
    } else if (REQUIRE_SERVICES) {
      describe(name, () => {
        it(`needs ${target.name}`, () => {
          throw new Error(`${target.skipReason ?? 'unavailable'} (GATEHOUSE_REQUIRE_SERVICES=1)`);
        });
      });
    } else {
      announceSkip(target);
      describe.skip(`${name} — skipped: ${target.skipReason ?? 'unavailable'}`, () => fn(target));
    }
  }
}
