/**
 * The `user_roles` table (DESIGN.md "Authorization"). Granting is idempotent and race-safe: the
 * primary key (user_id, role) decides, so two instances granting at once leave one row.
 */
import { isUniqueViolation } from '../errors.js';
import type { Store, UserRole } from '../types.js';
import type { RepositoryContext } from './context.js';

export function rolesRepository({ db, codec }: RepositoryContext): Store['roles'] {
  return {
    async listForUser(userId) {
      const rows = await db
        .selectFrom('user_roles')
        .select('role')
        .where('user_id', '=', userId)
        .orderBy('role')
        .execute();
      return rows.map((row) => row.role);
    },

    async grants(userId) {
      const rows = await db
        .selectFrom('user_roles')
        .selectAll()
        .where('user_id', '=', userId)
        .orderBy('role')
        .execute();
      return rows.map(
        (row): UserRole => ({
          userId: row.user_id,
          role: row.role,
          grantedAt: codec.readTime(row.granted_at),
          grantedBy: row.granted_by,
        }),
      );
    },

    async grant(userId, role, at, grantedBy) {
      const exists = await db
        .selectFrom('user_roles')
        .select('role')
        .where('user_id', '=', userId)
        .where('role', '=', role)
        .executeTakeFirst();
      if (exists !== undefined) return false;
      try {
        await db
          .insertInto('user_roles')
          .values({ user_id: userId, role, granted_at: codec.time(at), granted_by: grantedBy })
          .execute();
        return true;
      } catch (err) {
        // Another instance granted the same role between the read and the insert.
        if (isUniqueViolation(err)) return false;
        throw err;
      }
    },

    async revoke(userId, role) {
      const result = await db
        .deleteFrom('user_roles')
        .where('user_id', '=', userId)
        .where('role', '=', role)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}

/** `user_directory`: one row per user, replaced on every good Directory answer. */
export function directoryRepository({ db, codec }: RepositoryContext): Store['directory'] {
  return {
    async get(userId) {
      const row = await db
        .selectFrom('user_directory')
        .selectAll()
        .where('user_id', '=', userId)
        .executeTakeFirst();
      if (row === undefined) return undefined;
      let groups: unknown;
      try {
        groups = JSON.parse(row.groups);
      } catch {
        groups = [];
      }
      return {
        groups: Array.isArray(groups) ? groups.filter((g): g is string => typeof g === 'string') : [],
        checkedAt: codec.readTime(row.checked_at),
      };
    },

    async put(userId, groups, checkedAt) {
      const values = { groups: JSON.stringify(groups), checked_at: codec.time(checkedAt) };
      // Update first: the row usually exists (every recheck replaces it).
      await upsertByUser(
        () => db.updateTable('user_directory').set(values).where('user_id', '=', userId).executeTakeFirst(),
        () =>
          db
            .insertInto('user_directory')
            .values({ user_id: userId, ...values })
            .execute(),
      );
    },
  };
}

/** `authz_changes`: one row per user, the time of their last role change. */
export function authzChangesRepository({ db, codec }: RepositoryContext): Store['authzChanges'] {
  return {
    async record(userId, at) {
      const values = { changed_at: codec.time(at) };
      await upsertByUser(
        () => db.updateTable('authz_changes').set(values).where('user_id', '=', userId).executeTakeFirst(),
        () =>
          db
            .insertInto('authz_changes')
            .values({ user_id: userId, ...values })
            .execute(),
      );
    },

    async since(since, limit = 1000) {
      const rows = await db
        .selectFrom('authz_changes')
        .selectAll()
        .where('changed_at', '>=', codec.time(since))
        .orderBy('changed_at')
        .limit(Math.max(1, Math.min(limit, 10_000)))
        .execute();
      return rows.map((row) => ({ userId: row.user_id, changedAt: codec.readTime(row.changed_at) }));
    },

    async purge(before) {
      const result = await db
        .deleteFrom('authz_changes')
        .where('changed_at', '<', codec.time(before))
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

/**
 * The user's one row: updated when it exists, inserted otherwise. Portable across the three
 * databases (no dialect's upsert syntax); when another instance inserts it between the two
 * steps, the unique key refuses ours and the update writes over theirs — the last writer wins.
 */
async function upsertByUser(
  update: () => Promise<{ readonly numUpdatedRows: bigint }>,
  insert: () => Promise<unknown>,
): Promise<void> {
  if (Number((await update()).numUpdatedRows) > 0) return;
  try {
    await insert();
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    await update();
  }
}
