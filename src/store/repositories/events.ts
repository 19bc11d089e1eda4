/** The `auth_events` audit trail. */
import { displayText } from '../codec.js';
import { LIMITS } from '../schema.js';
import type { Store } from '../types.js';
import type { RepositoryContext } from './context.js';
import { pageSize, toEvent } from './rows.js';

export function eventsRepository({ db, codec }: RepositoryContext): Store['events'] {
  return {
    async record(event) {
      await db
        .insertInto('auth_events')
        .values({
          type: event.type,
          user_id: keyOrNull(event.userId, 36),
          session_id: keyOrNull(event.sessionId, LIMITS.sessionId),
          reason: displayText(event.reason, LIMITS.reason),
          ip: displayText(event.ip, LIMITS.ip),
          user_agent: displayText(event.userAgent, LIMITS.userAgent),
          created_at: codec.time(event.at),
        })
        .execute();
    },

    // Newest first.
    async list(filter = {}) {
      let query = db.selectFrom('auth_events').selectAll();
      if (filter.userId !== undefined) query = query.where('user_id', '=', filter.userId);
      if (filter.type !== undefined) query = query.where('type', '=', filter.type);
      if (filter.since !== undefined) query = query.where('created_at', '>=', codec.time(filter.since));
      const rows = await query
        .orderBy('id', 'desc')
        .limit(pageSize(filter.limit, 100, 10_000))
        .execute();
      return rows.map((row) => toEvent(row, codec));
    },

    async purgeOlderThan(before) {
      const result = await db
        .deleteFrom('auth_events')
        .where('created_at', '<', codec.time(before))
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

/**
 * Ids in the audit trail come from our own rows; one that does not fit its column cannot name
 * a real user or session, so it is recorded as unknown rather than failing the audit write.
 */
function keyOrNull(value: string | null | undefined, max: number): string | null {
  if (value === null || value === undefined || value.length > max || value.includes('\u0000')) return null;
  return value;
}
