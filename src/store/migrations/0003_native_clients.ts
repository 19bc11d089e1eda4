/**
 * 0003 — native clients (DESIGN.md "Native apps and single-page apps"). Frozen once shipped.
 *  - sessions carry how they were made: `client_kind` (web, android, ios, api) and
 *    `sign_in_method` (oidc_callback, id_token); existing rows are browser sessions made by the
 *    callback, which is what the defaults say.
 *  - refresh_tokens: one row per refresh token ever issued, keyed by its SHA-256 (hex) — the
 *    token itself is never stored (SECURITY.md 59). A row is rotated once: `used_at` is set by a
 *    conditional UPDATE (… WHERE used_at IS NULL), so of concurrent refreshes on any instance
 *    exactly one wins; `successor_sealed` is the successor pair encrypted under a key derived
 *    from the presented token, so a retry inside the grace window can be answered with the same
 *    pair while the database alone can never produce a usable token.
 *  - used_id_tokens: single use of ID tokens and nonces across instances (the primary key
 *    decides), purged after the token's own expiry.
 * Same type rules as 0001: DATETIME(3) on MySQL, timestamptz(3) on PostgreSQL, ISO text on SQLite;
 * binary NO PAD collation on MySQL (hashes and ids compare exactly).
 */
import { type CreateTableBuilder, type Kysely, type RawBuilder, sql } from 'kysely';
import type { DatabaseKind } from '../../config/types.js';

// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time, not typed by today's schema.
type AnyDb = Kysely<any>;

function timeType(kind: DatabaseKind): RawBuilder<unknown> {
  if (kind === 'postgres') return sql`timestamptz(3)`;
  if (kind === 'mysql') return sql`datetime(3)`;
  return sql`text`;
}

/** The collation 0001 chose for this database (the sessions table's), so joins compare alike. */
async function sessionsCollation(db: AnyDb): Promise<string> {
  const { rows } = await sql<{
    c: string;
  }>`select table_collation as c from information_schema.tables where table_schema = database() and table_name = 'sessions'`.execute(
    db,
  );
  return rows[0]?.c ?? 'utf8mb4_bin';
}

export function migration0003(kind: DatabaseKind) {
  const time = timeType(kind);
  return {
    async up(db: AnyDb): Promise<void> {
      const collation = kind === 'mysql' ? await sessionsCollation(db) : '';
      const finish = <T extends string, C extends string>(table: CreateTableBuilder<T, C>) =>
        kind === 'mysql'
          ? table.modifyEnd(sql`engine = InnoDB default charset = utf8mb4 collate = ${sql.raw(collation)}`)
          : table;

      await db.schema
        .alterTable('sessions')
        .addColumn('client_kind', 'varchar(16)', (c) => c.notNull().defaultTo('web'))
        .execute();
      await db.schema
        .alterTable('sessions')
        .addColumn('sign_in_method', 'varchar(32)', (c) => c.notNull().defaultTo('oidc_callback'))
        .execute();

      await finish(
        db.schema
          .createTable('refresh_tokens')
          .addColumn('hash', 'varchar(64)', (c) => c.primaryKey())
          .addColumn('session_id', 'varchar(32)', (c) =>
            c.notNull().references('sessions.id').onDelete('cascade'),
          )
          // One family per sign-in; generation counts its rotations (0 = issued at sign-in).
          .addColumn('family', 'varchar(32)', (c) => c.notNull())
          .addColumn('generation', 'integer', (c) => c.notNull())
          .addColumn('created_at', time, (c) => c.notNull())
          .addColumn('expires_at', time, (c) => c.notNull())
          .addColumn('used_at', time)
          .addColumn('successor_hash', 'varchar(64)')
          .addColumn('successor_sealed', 'text'),
      ).execute();
      await db.schema
        .createIndex('refresh_tokens_session_id_idx')
        .on('refresh_tokens')
        .column('session_id')
        .execute();
      await db.schema
        .createIndex('refresh_tokens_expires_at_idx')
        .on('refresh_tokens')
        .column('expires_at')
        .execute();

      await finish(
        db.schema
          .createTable('used_id_tokens')
          .addColumn('hash', 'varchar(64)', (c) => c.primaryKey())
          .addColumn('expires_at', time, (c) => c.notNull()),
      ).execute();
      await db.schema
        .createIndex('used_id_tokens_expires_at_idx')
        .on('used_id_tokens')
        .column('expires_at')
        .execute();
    },

    async down(db: AnyDb): Promise<void> {
      await db.schema.dropTable('used_id_tokens').execute();
      await db.schema.dropTable('refresh_tokens').execute();
      await db.schema.alterTable('sessions').dropColumn('sign_in_method').execute();
      await db.schema.alterTable('sessions').dropColumn('client_kind').execute();
    },
  };
}
