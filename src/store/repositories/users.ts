/** The `users` table, outside sign-in (signIn lives in sign-in.ts). */
import type { Store, User } from '../types.js';
import type { RepositoryContext } from './context.js';
import { offsetOf, pageSize, toUser } from './rows.js';

export function usersRepository({ db, codec }: RepositoryContext): Store['users'] {
  const findById = async (id: string): Promise<User | undefined> => {
    const row = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toUser(row, codec) : undefined;
  };

  return {
    findById,

    // Exact match: several users may share an email (different issuers or subjects).
    async findByEmail(email) {
      const rows = await db
        .selectFrom('users')
        .selectAll()
        .where('email', '=', email)
        .orderBy('first_logged_in')
        .orderBy('id')
        .execute();
      return rows.map((row) => toUser(row, codec));
    },

    async list(options = {}) {
      const rows = await db
        .selectFrom('users')
        .selectAll()
        .orderBy('first_logged_in')
        .orderBy('id')
        .limit(pageSize(options.limit, 100, 10_000))
        .offset(offsetOf(options.offset))
        .execute();
      return rows.map((row) => toUser(row, codec));
    },

    async setDisabled(id, disabledAt) {
      await db
        .updateTable('users')
        .set({ disabled_at: codec.timeOrNull(disabledAt) })
        .where('id', '=', id)
        .execute();
      return findById(id);
    },

    async count() {
      const row = await db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    },
  };
}
