/**
 * Throwaway PostgreSQL / MariaDB databases for the benchmark, created on the server named by
 * BENCH_POSTGRES_URL / BENCH_MYSQL_URL (falling back to TEST_POSTGRES_URL / TEST_MYSQL_URL) and
 * dropped afterwards. Without a URL the row is skipped (and the JSON says so).
 */
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';

/**
 * @param {'postgres' | 'mysql'} kind
 * @returns {Promise<{ url: string, drop: () => Promise<void> } | null>}
 */
export async function createThrowawayDatabase(kind) {
  const upper = kind === 'postgres' ? 'POSTGRES' : 'MYSQL';
  const base = process.env[`BENCH_${upper}_URL`] || process.env[`TEST_${upper}_URL`];
  if (!base) return null;
  const name = `gh_bench_${randomBytes(5).toString('hex')}`;
  const at = new URL(base);
  at.pathname = `/${name}`;
  if (kind === 'postgres') {
    const run = async (/** @type {string} */ statement) => {
      const client = new pg.Client({ connectionString: base });
      await client.connect();
      try {
        await client.query(statement);
      } finally {
        await client.end();
      }
    };
    await run(`create database "${name}" template template0 encoding 'UTF8'`);
    return { url: at.href, drop: () => run(`drop database if exists "${name}" with (force)`) };
  }
  const run = async (/** @type {string} */ statement) => {
    const conn = await mysql.createConnection(base);
    try {
      await conn.query(statement);
    } finally {
      await conn.end();
    }
  };
  await run(`create database \`${name}\` character set utf8mb4`);
  return { url: at.href, drop: () => run(`drop database if exists \`${name}\``) };
}
