/**
 * Refresh tokens for native clients (DESIGN.md "Native apps and single-page apps"; SECURITY.md 59;
 * RFC 9700 §4.14.2 refresh-token rotation and reuse detection).
 *
 * - A refresh token is 256 random bits, base64url (43 characters). Only its SHA-256 is stored;
 *   it is never logged and never travels in a URL (the routes take it from a body).
 * - Every use rotates it: the store marks it used and inserts the successor in one conditional
 *   write, so concurrent refreshes of one token on any instances give exactly one successor.
 * - A used token presented again within REFRESH_REUSE_GRACE is a retry (a phone that lost the
 *   response): it gets the same successor pair, opened from `successor_sealed` — AES-256-GCM under
 *   a key derived from the presented token itself, so the database alone holds nothing usable.
 *   Later it is reuse — the token was stolen, or the client is broken — and the whole session is
 *   revoked everywhere (audited `session_revoked` with reason `refresh_token_reuse`).
 * - The session's limits hold: a revoked, expired, idle-expired session or a disabled user is
 *   `invalid_grant`, and no token is issued. A refresh counts as activity (idle limit extended).
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import type { Log } from '../core/log.js';
import { GatehouseError } from '../errors.js';
import type { Session, Store, User } from '../store/types.js';
import type { Revocation } from './revocation.js';
import type { IssuedToken, RequestMeta } from './types.js';

const TOKEN_BYTES = 32;
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** What a native client holds: the access token (a session token) and the refresh token. */
export interface TokenPair {
  readonly accessToken: IssuedToken;
  readonly refreshToken: string;
}

export interface RefreshTokensOptions {
  readonly store: Store;
  readonly revocation: Revocation;
  readonly clock: Clock;
  readonly log: Log;
  readonly random: (bytes: number) => Buffer;
  readonly graceMs: number;
  readonly idleMs: number;
  /** The session service's token issuer (exp never beyond the session). */
  readonly issue: (user: User, session: Session) => Promise<IssuedToken>;
}

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function looksLikeRefreshToken(token: string): boolean {
  return TOKEN_SHAPE.test(token);
}

function invalidGrant(reason: string): GatehouseError {
  return new GatehouseError('invalid_grant', 'The refresh token is not valid.', { reason });
}

function successorKey(presented: string): Buffer {
  return Buffer.from(
    hkdfSync('sha256', Buffer.from(presented, 'utf8'), Buffer.alloc(0), 'gatehouse refresh successor', 32),
  );
}

const floorToSecond = (ms: number): number => Math.floor(ms / 1000) * 1000;

export class RefreshTokens {
  readonly #o: RefreshTokensOptions;

  constructor(options: RefreshTokensOptions) {
    this.#o = options;
  }

  #newToken(): { raw: string; hash: string } {
    const bytes = this.#o.random(TOKEN_BYTES);
    if (bytes.length !== TOKEN_BYTES) throw new TypeError('random(32) must return 32 bytes');
    const raw = Buffer.from(bytes).toString('base64url');
    return { raw, hash: hashRefreshToken(raw) };
  }

  /** The first refresh token of a new session's family (at sign-in). */
  async issueFirst(session: Session): Promise<string> {
    const token = this.#newToken();
    const family = this.#o.random(16).toString('base64url');
    await this.#o.store.refreshTokens.insert({
      hash: token.hash,
      sessionId: session.id,
      family,
      generation: 0,
      createdAt: new Date(this.#o.clock.now()),
      expiresAt: session.expiresAt,
    });
    return token.raw;
  }

  /** The session a refresh token belongs to (for RFC 7009 revocation), used or not. */
  async sessionOf(presented: string): Promise<{ sessionId: string; userId: string } | undefined> {
    if (!looksLikeRefreshToken(presented)) return undefined;
    const found = await this.#o.store.refreshTokens.findWithSession(hashRefreshToken(presented));
    return found === undefined ? undefined : { sessionId: found.session.id, userId: found.user.id };
  }

  /** Rotates `presented`; throws GatehouseError `invalid_grant` (reason in `reason`). */
  async refresh(presented: string, meta: RequestMeta): Promise<TokenPair & { session: Session }> {
    if (!looksLikeRefreshToken(presented)) throw invalidGrant('malformed');
    const { store, clock } = this.#o;
    const hash = hashRefreshToken(presented);
    const found = await store.refreshTokens.findWithSession(hash);
    if (found === undefined) throw invalidGrant('unknown');
    const { token, session, user } = found;
    const now = clock.now();
    await this.#checkSession(session, user, now, meta);
    if (token.usedAt !== null) {
      return this.#usedAgain(presented, token.usedAt, found.successorSealed, session, user, meta);
    }
    if (now >= token.expiresAt.getTime()) throw invalidGrant('expired');

    const next = this.#newToken();
    const idleExpiresAt = new Date(
      Math.min(floorToSecond(now + this.#o.idleMs), session.expiresAt.getTime()),
    );
    const renewed: Session = { ...session, lastSeenAt: new Date(now), idleExpiresAt };
    const accessToken = await this.#o.issue(user, renewed);
    const pair: TokenPair = { accessToken, refreshToken: next.raw };
    const outcome = await store.refreshTokens.rotate(
      hash,
      {
        hash: next.hash,
        sessionId: session.id,
        family: token.family,
        generation: token.generation + 1,
        createdAt: new Date(now),
        expiresAt: token.expiresAt,
        sealed: this.#seal(pair, presented, hash),
      },
      new Date(now),
    );
    if (outcome.kind === 'rotated') {
      await store.sessions.touch(session.id, user.id, new Date(now), idleExpiresAt);
      return { ...pair, session: renewed };
    }
    if (outcome.kind === 'used') {
      return this.#usedAgain(presented, outcome.usedAt, outcome.successorSealed, session, user, meta);
    }
    throw invalidGrant('expired');
  }

  async #checkSession(session: Session, user: User, now: number, meta: RequestMeta): Promise<void> {
    if (session.revokedAt !== null || this.#o.revocation.has(session.id)) {
      if (session.revokedAt !== null) this.#o.revocation.remember(session.id);
      throw invalidGrant('session_revoked');
    }
    if (now >= session.expiresAt.getTime()) throw invalidGrant('absolute_timeout');
    if (now >= session.idleExpiresAt.getTime()) throw invalidGrant('idle_timeout');
    if (user.disabledAt !== null) {
      await this.#revoke(session, user, 'user_disabled', meta);
      throw invalidGrant('user_disabled');
    }
  }

  /** A rotated token again: the same successor within the grace window, otherwise reuse. */
  async #usedAgain(
    presented: string,
    usedAt: Date,
    sealed: string | null,
    session: Session,
    user: User,
    meta: RequestMeta,
  ): Promise<TokenPair & { session: Session }> {
    const now = this.#o.clock.now();
    if (now - usedAt.getTime() <= this.#o.graceMs) {
      const pair = sealed === null ? undefined : this.#open(sealed, presented);
      if (pair !== undefined) return { ...pair, session };
    }
    this.#o.log.warn(
      { event: 'refresh_token_reuse', sessionId: session.id, userId: user.id },
      'refresh token reused: session revoked',
    );
    await this.#revoke(session, user, 'refresh_token_reuse', meta);
    throw invalidGrant('refresh_token_reuse');
  }

  async #revoke(session: Session, user: User, reason: string, meta: RequestMeta): Promise<void> {
    try {
      await this.#o.revocation.revoke(session.id, { reason, type: 'session_revoked', userId: user.id, meta });
    } catch (err) {
      // The answer is invalid_grant either way; a failed revocation is for the operator's log.
      this.#o.log.warn({ event: 'revoke_failed', sessionId: session.id, err }, 'could not revoke a session');
    }
  }

  #seal(pair: TokenPair, presented: string, hash: string): string {
    const iv = this.#o.random(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', successorKey(presented), iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(hash, 'utf8'));
    const body = JSON.stringify({
      a: pair.accessToken.token,
      e: pair.accessToken.expiresAt,
      r: pair.refreshToken,
    });
    return Buffer.concat([iv, cipher.update(body, 'utf8'), cipher.final(), cipher.getAuthTag()]).toString(
      'base64url',
    );
  }

  #open(sealed: string, presented: string): TokenPair | undefined {
    try {
      const raw = Buffer.from(sealed, 'base64url');
      const decipher = createDecipheriv('aes-256-gcm', successorKey(presented), raw.subarray(0, IV_BYTES), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(Buffer.from(hashRefreshToken(presented), 'utf8'));
      decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
      const text = Buffer.concat([
        decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)),
        decipher.final(),
      ]).toString('utf8');
      const value = JSON.parse(text) as { a?: unknown; e?: unknown; r?: unknown };
      if (typeof value.a !== 'string' || typeof value.e !== 'number' || typeof value.r !== 'string')
        return undefined;
      return { accessToken: { token: value.a, expiresAt: value.e }, refreshToken: value.r };
    } catch {
      return undefined;
    }
  }
}
