/**
 * The `sessions` table. A session is live while it is not revoked and neither its absolute nor
 * its idle expiry has passed.
 */
import { type ExpressionBuilder, type Kysely, sql } from 'kysely';
import { displayText, readInt } from '../codec.js';
import type { Database, DbTime } from '../schema.js';
import { LIMITS } from '../schema.js';
import type { Store } from '../types.js';
import type { RepositoryContext } from './context.js';
import { PREFIXED_SESSION_COLUMNS, pageSize, toPrefixedSession, toSession, toUser } from './rows.js';

/** MySQL has no UPDATE … RETURNING: revoke the locked ids in chunks of this size. */
const ID_CHUNK = 500;

function live(at: DbTime) {
  return (eb: ExpressionBuilder<Database, 'sessions'>) =>
    eb.and([
      eb('sessions.revoked_at', 'is', null),
      eb('sessions.expires_at', '>', at),
      eb('sessions.idle_expires_at', '>', at),
    ]);
}

export function sessionsRepository(ctx: RepositoryContext): Store['sessions'] {
  const { db, codec, kind } = ctx;

  /** The database's clock in ms (see Store['sessions']['databaseTime']). */
  const databaseMs = async (): Promise<number> => {
    // SQLite runs in this process: its 'now' is this host's clock, as Date.now() is.
    if (kind === 'sqlite') return Date.now();
    const query =
      kind === 'postgres'
        ? sql<{
            ms: string | number;
          }>`select floor(extract(epoch from clock_timestamp()) * 1000)::bigint as ms`
        : sql<{ ms: string | number }>`select cast(unix_timestamp(now(3)) * 1000 as signed) as ms`;
    const { rows } = await query.execute(db);
    return readInt(rows[0]?.ms);
  };

  /**
   * When a revocation is recorded: never earlier than the database's clock, so a revoker whose
   * clock runs behind cannot write a time the pollers (which read on the database's clock) have
   * already passed. A later `at` is kept: it is still seen, only re-read for a while.
   */
  const revokedAt = async (at: Date): Promise<DbTime> =>
    codec.time(new Date(Math.max(at.getTime(), await databaseMs())));

  /** Revokes the live sessions matching `userId` (all users when undefined); returns their ids. */
  const revokeLive = async (userId: string | undefined, at: Date, reason: string): Promise<string[]> => {
    const when = await revokedAt(at);
    const values = { revoked_at: when, revoked_reason: displayText(reason, LIMITS.reason) };
    if (kind !== 'mysql') {
      // One atomic statement: exactly the rows this call changed.
      let query = db.updateTable('sessions').set(values).where(live(when));
      if (userId !== undefined) query = query.where('user_id', '=', userId);
      const rows = await query.returning('id').execute();
      return rows.map((row) => row.id);
    }
    return db.transaction().execute(async (trx: Kysely<Database>) => {
      let select = trx.selectFrom('sessions').select('id').where(live(when));
      if (userId !== undefined) select = select.where('user_id', '=', userId);
      const ids = (await select.forUpdate().execute()).map((row) => row.id);
      for (let i = 0; i < ids.length; i += ID_CHUNK) {
        await trx
          .updateTable('sessions')
          .set(values)
          .where('id', 'in', ids.slice(i, i + ID_CHUNK))
          .execute();
      }
      return ids;
    });
  };

  return {
    async findById(id) {
      const row = await db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toSession(row, codec) : undefined;
    },

    async findWithUser(id) {
      const row = await db
        .selectFrom('sessions')
        .innerJoin('users', 'users.id', 'sessions.user_id')
        .selectAll('users')
        .select([...PREFIXED_SESSION_COLUMNS])
        .where('sessions.id', '=', id)
        .executeTakeFirst();
      if (!row) return undefined;
      const session = toPrefixedSession(row, codec);
      return { session, user: toUser(row, codec) };
    },

    async listForUser(userId, options = {}) {
      let query = db.selectFrom('sessions').selectAll().where('user_id', '=', userId);
      if (!options.includeInactive) query = query.where(live(codec.time(options.now ?? new Date())));
      const rows = await query.orderBy('created_at', 'desc').orderBy('id').execute();
      return rows.map((row) => toSession(row, codec));
    },

    async list(options = {}) {
      let query = db.selectFrom('sessions').selectAll();
      if (options.activeAt) query = query.where(live(codec.time(options.activeAt)));
      const rows = await query
        .orderBy('created_at', 'desc')
        .orderBy('id')
        .limit(pageSize(options.limit, 100, 10_000))
        .execute();
      return rows.map((row) => toSession(row, codec));
    },

    // The renewal's write: the session's activity and its user's last_accessed, together, and the
    // user only when the (unrevoked) session row was there to move. On the networked databases it
    // is one statement — one round trip instead of the five of BEGIN, two UPDATEs and COMMIT
    // (docs/performance.md); SQLite, in-process, keeps the plain transaction.
    async touch(id, userId, lastSeenAt, idleExpiresAt) {
      const seen = codec.time(lastSeenAt);
      const idle = codec.time(idleExpiresAt);
      if (kind === 'postgres') {
        await db
          .with('touched', (qb) =>
            qb
              .updateTable('sessions')
              .set({ last_seen_at: seen, idle_expires_at: idle })
              .where('id', '=', id)
              .where('user_id', '=', userId)
              .where('revoked_at', 'is', null)
              .returning('user_id'),
          )
          .updateTable('users')
          .set({ last_accessed: seen })
          .where('id', 'in', (eb) => eb.selectFrom('touched').select('touched.user_id'))
          .execute();
        return;
      }
      if (kind === 'mysql') {
        await sql`update sessions inner join users on users.id = sessions.user_id
          set sessions.last_seen_at = ${seen}, sessions.idle_expires_at = ${idle}, users.last_accessed = ${seen}
          where sessions.id = ${id} and sessions.user_id = ${userId} and sessions.revoked_at is null`.execute(
          db,
        );
        return;
      }
      await db.transaction().execute(async (trx) => {
        const moved = await trx
          .updateTable('sessions')
          .set({ last_seen_at: seen, idle_expires_at: idle })
          .where('id', '=', id)
          .where('user_id', '=', userId)
          .where('revoked_at', 'is', null)
          .executeTakeFirst();
        if (Number(moved.numUpdatedRows) === 0) return;
        await trx.updateTable('users').set({ last_accessed: seen }).where('id', '=', userId).execute();
      });
    },

    async revoke(id, at, reason) {
      const result = await db
        .updateTable('sessions')
        .set({ revoked_at: await revokedAt(at), revoked_reason: displayText(reason, LIMITS.reason) })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    revokeAllForUser: (userId, at, reason) => revokeLive(userId, at, reason),

    revokeAll: (at, reason) => revokeLive(undefined, at, reason),

    async revokedSince(since, limit) {
      const rows = await db
        .selectFrom('sessions')
        .select(['id', 'revoked_at'])
        .where('revoked_at', '>=', codec.time(since))
        .orderBy('revoked_at')
        .orderBy('id')
        .limit(pageSize(limit, 1000, 100_000))
        .execute();
      return rows.map((row) => ({ id: row.id, revokedAt: codec.readTime(row.revoked_at) }));
    },

    async countActive(now) {
      const row = await db
        .selectFrom('sessions')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where(live(codec.time(now)))
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    },

    async databaseTime() {
      return new Date(await databaseMs());
    },

    async purgeExpired(before) {
      const when = codec.time(before);
      // Not `revoked_at < before` (SECURITY.md 41): a revoked row stays until its session would
      // have ended anyway, since every token of the session expires by then (tokens never outlive
      // the session's idle or absolute expiry).
      const sessions = await db
        .deleteFrom('sessions')
        .where((eb) => eb.or([eb('expires_at', '<', when), eb('idle_expires_at', '<', when)]))
        .executeTakeFirst();
      const transactions = await db
        .deleteFrom('used_transactions')
        .where('expires_at', '<', when)
        .executeTakeFirst();
      // 0003: refresh tokens end with their session's absolute expiry; used ID tokens and
      // nonces need remembering only until they expire (a later replay fails on `exp`).
      const refreshTokens = await db
        .deleteFrom('refresh_tokens')
        .where('expires_at', '<', when)
        .executeTakeFirst();
      const idTokens = await db
        .deleteFrom('used_id_tokens')
        .where('expires_at', '<', when)
        .executeTakeFirst();
      return (
        Number(sessions.numDeletedRows) +
        Number(transactions.numDeletedRows) +
        Number(refreshTokens.numDeletedRows) +
        Number(idTokens.numDeletedRows)
      );
    },
  };
}
