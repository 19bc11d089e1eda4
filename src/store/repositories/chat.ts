/** The `chat_messages` table: each user reads only their own messages. */
import { displayText } from '../codec.js';
import type { ChatMessage, Store } from '../types.js';
import type { RepositoryContext } from './context.js';
import { pageSize, toChatMessage } from './rows.js';

/** Fits MEDIUMTEXT (16 MB) in 4-byte characters; the chat module enforces its own, smaller limit. */
const MAX_CONTENT = 4_000_000;

export function chatRepository(ctx: RepositoryContext): Store['chat'] {
  const { db, codec, kind } = ctx;
  return {
    async appendExchange(userId, message, reply) {
      return db.transaction().execute(async (trx) => {
        const inTransaction = chatRepository({ ...ctx, db: trx });
        return {
          message: await inTransaction.append(userId, 'user', message.content, message.at),
          reply: await inTransaction.append(userId, 'assistant', reply.content, reply.at),
        };
      });
    },

    async append(userId, role, content, at) {
      if (role !== 'user' && role !== 'assistant') throw new TypeError('role must be user or assistant');
      const values = {
        user_id: userId,
        role,
        content: displayText(content, MAX_CONTENT) ?? '',
        created_at: codec.time(at),
      };
      let id: number;
      if (kind === 'mysql') {
        // MySQL has no INSERT … RETURNING; insertId is this connection's own auto-increment value.
        const result = await db.insertInto('chat_messages').values(values).executeTakeFirstOrThrow();
        id = Number(result.insertId);
      } else {
        const row = await db
          .insertInto('chat_messages')
          .values(values)
          .returning('id')
          .executeTakeFirstOrThrow();
        id = Number(row.id);
      }
      const message: ChatMessage = {
        id,
        userId,
        role,
        content: values.content,
        createdAt: new Date(at.getTime()),
      };
      return message;
    },

    // Newest first; `before` is an exclusive id cursor.
    async list(userId, options = {}) {
      let query = db.selectFrom('chat_messages').selectAll().where('user_id', '=', userId);
      if (options.before !== undefined) {
        if (!Number.isSafeInteger(options.before)) throw new TypeError('before must be an integer id');
        query = query.where('id', '<', options.before);
      }
      const rows = await query
        .orderBy('id', 'desc')
        .limit(pageSize(options.limit, 50, 1000))
        .execute();
      return rows.map((row) => toChatMessage(row, codec));
    },

    async count(userId) {
      const row = await db
        .selectFrom('chat_messages')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('user_id', '=', userId)
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    },
  };
}
