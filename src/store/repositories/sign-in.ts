/**
 * The end of a verified sign-in, and the single-use login transaction.
 * Users are keyed by (issuer, subject), never by email (SECURITY.md D.18). The upsert is one
 * statement that the database makes atomic — INSERT … ON CONFLICT DO UPDATE (SQLite,
 * PostgreSQL), INSERT … ON DUPLICATE KEY UPDATE (MySQL) — so concurrent first sign-ins of one
 * subject give one row; the session insert shares its transaction, so an outage never leaves a
 * user without the session that created it (SECURITY.md H.38).
 */
import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { GatehouseError } from '../../errors.js';
import { displayText, isCleanKey } from '../codec.js';
import { isUniqueViolation } from '../errors.js';
import { type Database, LIMITS } from '../schema.js';
import type { NewSessionInput, Store, UserProfileInput } from '../types.js';
import type { RepositoryContext } from './context.js';
import { toSession, toUser } from './rows.js';

function checkProfile(profile: UserProfileInput): void {
  const ok =
    isCleanKey(profile.issuer, LIMITS.issuer) &&
    isCleanKey(profile.subject, LIMITS.subject) &&
    isCleanKey(profile.email, LIMITS.email) &&
    (profile.hostedDomain === null || isCleanKey(profile.hostedDomain, LIMITS.hostedDomain));
  // Identity fields are never truncated or rewritten: a changed key would be another identity.
  if (!ok) {
    throw new GatehouseError('login_failed', 'The sign-in provider returned an unusable profile', {
      reason: 'invalid_profile',
    });
  }
}

function checkSession(session: NewSessionInput): void {
  if (!isCleanKey(session.id, LIMITS.sessionId)) throw new TypeError('session id must be 1 to 32 characters');
}

export function signInRepository(
  ctx: RepositoryContext,
): Pick<Store, 'signIn' | 'consumeTransaction' | 'consumeIdToken'> {
  const { db, codec, kind } = ctx;

  const upsertUser = async (trx: Kysely<Database>, profile: UserProfileInput, at: Date): Promise<void> => {
    const when = codec.time(at);
    const picture =
      profile.picture !== null && profile.picture.length > LIMITS.picture ? null : profile.picture;
    const row = {
      id: randomUUID(),
      issuer: profile.issuer,
      subject: profile.subject,
      email: profile.email,
      email_verified: codec.bool(profile.emailVerified),
      name: displayText(profile.name, LIMITS.name),
      picture: displayText(picture, LIMITS.picture),
      hosted_domain: profile.hostedDomain,
      first_logged_in: when,
      last_login: when,
      last_accessed: null,
      disabled_at: null,
    };
    if (kind === 'mysql') {
      // A disabled user's row is left exactly as it was (no last_login for a refused sign-in).
      const keep = (column: string) =>
        sql<never>`if(disabled_at is null, values(${sql.ref(column)}), ${sql.ref(column)})`;
      await trx
        .insertInto('users')
        .values(row)
        .onDuplicateKeyUpdate({
          email: keep('email'),
          email_verified: keep('email_verified'),
          name: keep('name'),
          picture: keep('picture'),
          hosted_domain: keep('hosted_domain'),
          last_login: keep('last_login'),
        })
        .execute();
      return;
    }
    await trx
      .insertInto('users')
      .values(row)
      .onConflict((oc) =>
        oc
          .columns(['issuer', 'subject'])
          .doUpdateSet((eb) => ({
            email: eb.ref('excluded.email'),
            email_verified: eb.ref('excluded.email_verified'),
            name: eb.ref('excluded.name'),
            picture: eb.ref('excluded.picture'),
            hosted_domain: eb.ref('excluded.hosted_domain'),
            last_login: eb.ref('excluded.last_login'),
          }))
          .where('users.disabled_at', 'is', null),
      )
      .execute();
  };

  return {
    async signIn(profile, input) {
      checkProfile(profile);
      checkSession(input);
      return db.transaction().execute(async (trx) => {
        await upsertUser(trx, profile, input.createdAt);
        let select = trx
          .selectFrom('users')
          .selectAll()
          .where('issuer', '=', profile.issuer)
          .where('subject', '=', profile.subject);
        // A locking read sees the row as committed now, not as of an older snapshot (InnoDB).
        if (kind === 'mysql') select = select.forUpdate();
        const user = toUser(await select.executeTakeFirstOrThrow(), codec);
        if (user.disabledAt !== null) return { disabled: true as const, user };
        const row = {
          id: input.id,
          user_id: user.id,
          created_at: codec.time(input.createdAt),
          expires_at: codec.time(input.expiresAt),
          idle_expires_at: codec.time(input.idleExpiresAt),
          last_seen_at: codec.time(input.createdAt),
          revoked_at: null,
          revoked_reason: null,
          ip: displayText(input.ip, LIMITS.ip),
          user_agent: displayText(input.userAgent, LIMITS.userAgent),
          client_kind: input.clientKind ?? 'web',
          sign_in_method: input.signInMethod ?? 'oidc_callback',
        };
        await trx.insertInto('sessions').values(row).execute();
        return { user, session: toSession(row, codec) };
      });
    },

    async consumeTransaction(id, expiresAt) {
      if (!isCleanKey(id, LIMITS.transactionId))
        throw new TypeError('transaction id must be 1 to 64 characters');
      try {
        // The primary key decides: of concurrent inserts on any instance, exactly one succeeds.
        await db
          .insertInto('used_transactions')
          .values({ id, expires_at: codec.time(expiresAt) })
          .execute();
        return true;
      } catch (err) {
        if (isUniqueViolation(err)) return false;
        throw err;
      }
    },

    async consumeIdToken(hash, expiresAt) {
      if (!/^[0-9a-f]{64}$/.test(hash)) throw new TypeError('hash must be a SHA-256 in hex');
      try {
        // As for transactions: the primary key decides, on every instance at once (SECURITY.md 57).
        await db
          .insertInto('used_id_tokens')
          .values({ hash, expires_at: codec.time(expiresAt) })
          .execute();
        return true;
      } catch (err) {
        if (isUniqueViolation(err)) return false;
        throw err;
      }
    },
  };
}
