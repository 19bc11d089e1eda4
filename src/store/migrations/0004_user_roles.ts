/**
 * 0004 — roles and Workspace groups (DESIGN.md "Authorization"): `user_roles`, one row per
 * (user, role); `user_directory`, the last good Directory answer per user (groups as a JSON
 * array, when it was read), so every instance renews from the same answer and a Directory outage
 * is measured from it (DIRECTORY_MAX_STALE); `authz_changes`, when each user's roles last changed.
 * Frozen once shipped. Same conventions as 0001: per-dialect time type, binary NO PAD collation on MySQL so
 * role names compare exactly, rows go with their user (cascade).
 */
import { type CreateTableBuilder, type Kysely, sql } from 'kysely';
import type { DatabaseKind } from '../../config/types.js';

// biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time, not typed by today's schema.
type AnyDb = Kysely<any>;

export function migration0004(kind: DatabaseKind) {
  const time = kind === 'postgres' ? sql`timestamptz(3)` : kind === 'mysql' ? sql`datetime(3)` : sql`text`;
  // 200 groups of up to 320 characters fit MEDIUMTEXT easily; TEXT (64 KB) might not.
  const longText = kind === 'mysql' ? sql`mediumtext` : sql`text`;
  return {
    async up(db: AnyDb): Promise<void> {
      let collation = '';
      if (kind === 'mysql') {
        // The users table's collation, so the foreign keys' columns match exactly.
        const { rows } = await sql<{ c: string }>`
          select table_collation as c from information_schema.tables
          where table_schema = database() and table_name = 'users'`.execute(db);
        collation = rows[0]?.c ?? 'utf8mb4_bin';
      }
      const finish = <T extends string, C extends string>(table: CreateTableBuilder<T, C>) =>
        kind === 'mysql'
          ? table.modifyEnd(sql`engine = InnoDB default charset = utf8mb4 collate = ${sql.raw(collation)}`)
          : table;

      const roles = db.schema
        .createTable('user_roles')
        .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('role', 'varchar(64)', (c) => c.notNull())
        .addColumn('granted_at', time, (c) => c.notNull())
        // Who granted it: `cli`, `bootstrap`, or an admin's user id; not a foreign key, so the
        // grant outlives the granting account.
        .addColumn('granted_by', 'varchar(64)')
        .addPrimaryKeyConstraint('user_roles_pkey', ['user_id', 'role']);
      await finish(roles).execute();

      await finish(
        db.schema
          .createTable('user_directory')
          .addColumn('user_id', 'varchar(36)', (c) =>
            c.primaryKey().references('users.id').onDelete('cascade'),
          )
          .addColumn('groups', longText, (c) => c.notNull())
          .addColumn('checked_at', time, (c) => c.notNull()),
      ).execute();

      // The last role change per user: every instance polls it, so sessions issued before it
      // renew at their next request (src/authz/changes.ts). No foreign key: tiny, purged by age.
      await finish(
        db.schema
          .createTable('authz_changes')
          .addColumn('user_id', 'varchar(36)', (c) => c.primaryKey())
          .addColumn('changed_at', time, (c) => c.notNull()),
      ).execute();
      await db.schema
        .createIndex('authz_changes_changed_at_idx')
        .on('authz_changes')
        .column('changed_at')
        .execute();
    },

    async down(db: AnyDb): Promise<void> {
      await db.schema.dropTable('authz_changes').execute();
      await db.schema.dropTable('user_directory').execute();
      await db.schema.dropTable('user_roles').execute();
    },
  };
}
