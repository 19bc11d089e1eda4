/**
 * Refresh tokens (SECURITY.md 59): rows keyed by the token's SHA-256, rotated exactly once.
 *
 * Rotation is one transaction whose first statement is the conditional
 * `UPDATE … SET used_at = … WHERE hash = ? AND used_at IS NULL AND expires_at > now`: the row
 * lock it takes makes concurrent rotations of one token — on any instance — queue behind it, and
 * the losers' UPDATE re-checks `used_at` against the committed row and changes nothing
 * (PostgreSQL READ COMMITTED re-evaluates the WHERE; InnoDB updates read the latest committed
 * version; SQLite has one writer). Only the winner inserts a successor, so one token never has
 * two live successors.
 */
import type { Kysely } from 'kysely';
import { isCleanKey } from '../codec.js';
import { type Database, LIMITS } from '../schema.js';
import type { NewRefreshToken, RefreshTokenRecord, Store } from '../types.js';
import type { RepositoryContext } from './context.js';
import { PREFIXED_SESSION_COLUMNS, toPrefixedSession, toUser } from './rows.js';

const HEX_HASH = /^[0-9a-f]{64}$/;

function checkHash(hash: string): void {
  if (!HEX_HASH.test(hash)) throw new TypeError('hash must be a SHA-256 in hex');
}

function checkNew(token: NewRefreshToken): void {
  checkHash(token.hash);
  if (!isCleanKey(token.sessionId, LIMITS.sessionId))
    throw new TypeError('session id must be 1 to 32 characters');
  if (!isCleanKey(token.family, LIMITS.family)) throw new TypeError('family must be 1 to 32 characters');
  if (!Number.isSafeInteger(token.generation) || token.generation < 0) {
    throw new TypeError('generation must be a non-negative integer');
  }
}

export function refreshTokensRepository(ctx: RepositoryContext): Store['refreshTokens'] {
  const { db, codec, kind } = ctx;

  const row = (token: NewRefreshToken) => ({
    hash: token.hash,
    session_id: token.sessionId,
    family: token.family,
    generation: token.generation,
    created_at: codec.time(token.createdAt),
    expires_at: codec.time(token.expiresAt),
    used_at: null,
    successor_hash: null,
    successor_sealed: null,
  });

  return {
    async insert(token) {
      checkNew(token);
      await db.insertInto('refresh_tokens').values(row(token)).execute();
    },

    async findWithSession(hash) {
      checkHash(hash);
      const found = await db
        .selectFrom('refresh_tokens')
        .innerJoin('sessions', 'sessions.id', 'refresh_tokens.session_id')
        .innerJoin('users', 'users.id', 'sessions.user_id')
        .selectAll('users')
        .select([
          'refresh_tokens.hash as r_hash',
          'refresh_tokens.session_id as r_session_id',
          'refresh_tokens.family as r_family',
          'refresh_tokens.generation as r_generation',
          'refresh_tokens.created_at as r_created_at',
          'refresh_tokens.expires_at as r_expires_at',
          'refresh_tokens.used_at as r_used_at',
          'refresh_tokens.successor_sealed as r_successor_sealed',
          ...PREFIXED_SESSION_COLUMNS,
        ])
        .where('refresh_tokens.hash', '=', hash)
        .executeTakeFirst();
      if (!found) return undefined;
      const token: RefreshTokenRecord = {
        hash: found.r_hash,
        sessionId: found.r_session_id,
        family: found.r_family,
        generation: Number(found.r_generation),
        createdAt: codec.readTime(found.r_created_at),
        expiresAt: codec.readTime(found.r_expires_at),
        usedAt: codec.readTimeOrNull(found.r_used_at),
      };
      const session = toPrefixedSession(found, codec);
      return { token, session, user: toUser(found, codec), successorSealed: found.r_successor_sealed };
    },

    async rotate(hash, successor, at) {
      checkHash(hash);
      checkNew(successor);
      if (typeof successor.sealed !== 'string' || successor.sealed.length === 0) {
        throw new TypeError('sealed successor required');
      }
      const when = codec.time(at);
      return db.transaction().execute(async (trx: Kysely<Database>) => {
        const updated = await trx
          .updateTable('refresh_tokens')
          .set({ used_at: when, successor_hash: successor.hash, successor_sealed: successor.sealed })
          .where('hash', '=', hash)
          .where('used_at', 'is', null)
          .where('expires_at', '>', when)
          .executeTakeFirst();
        if (Number(updated.numUpdatedRows) === 1) {
          await trx.insertInto('refresh_tokens').values(row(successor)).execute();
          return { kind: 'rotated' as const };
        }
        // Lost, or never there: read the committed row (a locking read on InnoDB, whose plain
        // reads could otherwise be served from an older snapshot).
        let select = trx
          .selectFrom('refresh_tokens')
          .select(['used_at', 'successor_sealed'])
          .where('hash', '=', hash);
        if (kind === 'mysql') select = select.forUpdate();
        const current = await select.executeTakeFirst();
        if (current === undefined || current.used_at === null) return { kind: 'unknown' as const };
        return {
          kind: 'used' as const,
          usedAt: codec.readTime(current.used_at),
          successorSealed: current.successor_sealed,
        };
      });
    },
  };
}
