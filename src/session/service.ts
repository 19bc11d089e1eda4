/**
 * The session service (DESIGN.md "Sessions: fast and revocable"): the one owner of turning a
 * verified identity into a user, a session and a token, and of checking and renewing tokens.
 *
 * - `signIn` is the end of every sign-in method (the browser callback today; ID-token sign-in
 *   and refresh build on it): upsert the user and create the session in one transaction, refuse
 *   a disabled user, issue the token, write the audit event and the metric. `signInFailed`
 *   records a sign-in that failed before it got here (the provider step), the same way.
 * - `check` is the hot path: signature + expiry + the in-memory revocation set, no database.
 * - `renew` runs when a genuine token has expired: one indexed read of the session row (and its
 *   user); if the session is still live — absolute and idle limits honoured, not revoked, user
 *   enabled — it extends the idle limit, records last_seen_at/last_accessed and issues a fresh
 *   token. So the database is touched at most once per TOKEN_TTL per client.
 *
 * Session expiries are kept on whole seconds (see `#newSession`): a token's `exp` is in seconds,
 * so with whole-second limits the token ends exactly when its session does, and both the hot
 * path and renewal refuse at the same instant (SECURITY.md 29: "timeouts hold exactly").
 */
import { randomBytes } from 'node:crypto';
import { GroupCache, INLINE_GROUPS_BYTES } from '../authz/group-cache.js';
import type { AuthzSource, Grants } from '../authz/types.js';
import type { Config } from '../config/types.js';
import type { Clock } from '../core/clock.js';
import type { VerifiedIdentity } from '../core/identity.js';
import type { Log } from '../core/log.js';
import { GatehouseError, isGatehouseError } from '../errors.js';
import type { NewSessionInput, Session, Store, User } from '../store/types.js';
import type { AuditLog } from './audit.js';
import { RefreshTokens, type TokenPair } from './refresh.js';
import type { Revocation } from './revocation.js';
import { TokenCodec } from './token.js';
import type { IssuedToken, Renewed, RequestMeta, SessionClaims, SignInMeta, TokenCheck } from './types.js';

/** Outcomes reported as they happen, for metrics (src/metrics); must not throw. */
export interface SessionObserver {
  signIn?(result: 'success' | 'failure', reason?: string | null): void;
  renewal?(result: 'renewed' | 'refused', reason: string | null): void;
}

export interface SessionServiceOptions {
  readonly store: Store;
  readonly config: Pick<Config, 'session' | 'secrets'> & Partial<Pick<Config, 'native'>>;
  readonly revocation: Revocation;
  readonly audit: AuditLog;
  readonly clock: Clock;
  readonly log: Log;
  /** CSPRNG bytes; injectable for tests. */
  readonly random?: ((bytes: number) => Buffer) | undefined;
  readonly observer?: SessionObserver | undefined;
  /** Roles and groups (src/authz); without it tokens carry none. */
  readonly authz?: AuthzSource | undefined;
  /** Recent role changes (src/authz/changes.ts): older tokens of those users renew at once. */
  readonly changes?:
    | { readonly size: number; isStale(userId: string, iatSeconds: number): boolean }
    | undefined;
}

export interface SessionUser {
  readonly id: string;
  readonly email: string;
  readonly name: string | null;
  /** Workspace domain, carried in the token as `hd` for the identity assertion. */
  readonly hostedDomain?: string | null;
}

export interface SessionLimits {
  readonly id: string;
  readonly expiresAt: Date;
  readonly idleExpiresAt: Date;
}

/** A completed sign-in: the user, the new session and its first token (and refresh token, for a native client). */
export interface SignedIn {
  readonly user: User;
  readonly session: Session;
  readonly token: IssuedToken;
  /** Only for client kinds other than `web` (DESIGN.md "Native apps and single-page apps"). */
  readonly refreshToken?: string;
  /** The roles and groups the first token carries. */
  readonly grants?: Grants;
}

const NO_GROUPS: readonly string[] = Object.freeze([]);

const floorToSecond = (ms: number): number => Math.floor(ms / 1000) * 1000;

export class SessionService {
  readonly #store: Store;
  readonly #revocation: Revocation;
  readonly #audit: AuditLog;
  readonly #clock: Clock;
  readonly #log: Log;
  readonly #random: (bytes: number) => Buffer;
  readonly #observer: SessionObserver | undefined;
  readonly #authz: AuthzSource | undefined;
  readonly #groups = new GroupCache();
  readonly #changes: SessionServiceOptions['changes'];
  readonly #codec: TokenCodec;
  readonly #ttlMs: number;
  readonly #idleMs: number;
  readonly #tokenTtlMs: number;
  readonly #refresh: RefreshTokens;

  constructor(options: SessionServiceOptions) {
    const { ttlSeconds, idleTtlSeconds, tokenTtlSeconds } = options.config.session;
    for (const [name, v] of Object.entries({ ttlSeconds, idleTtlSeconds, tokenTtlSeconds })) {
      if (!Number.isSafeInteger(v) || v < 1) throw new TypeError(`session.${name} must be whole seconds ≥ 1`);
    }
    this.#store = options.store;
    this.#revocation = options.revocation;
    this.#audit = options.audit;
    this.#clock = options.clock;
    this.#log = options.log;
    this.#random = options.random ?? randomBytes;
    this.#observer = options.observer;
    this.#authz = options.authz;
    this.#changes = options.changes;
    this.#ttlMs = ttlSeconds * 1000;
    this.#idleMs = idleTtlSeconds * 1000;
    this.#tokenTtlMs = tokenTtlSeconds * 1000;
    // SECURITY.md 41: no token outlives TOKEN_TTL here (a longer one, from an earlier setting,
    // renews against the database); SECURITY.md 42: a full revocation set renews, never forgets.
    this.#codec = new TokenCodec(options.config.secrets.jwtSecretKeys, this.#clock, {
      maxLifetimeSeconds: tokenTtlSeconds,
    });
    this.#revocation.handOverOnOverflow((untilMs) => this.#codec.renewIssuedBefore(untilMs));
    this.#refresh = new RefreshTokens({
      store: this.#store,
      revocation: this.#revocation,
      clock: this.#clock,
      log: this.#log,
      random: this.#random,
      graceMs: (options.config.native?.refreshReuseGraceSeconds ?? 10) * 1000,
      idleMs: this.#idleMs,
      issue: (user, session) => this.issue(user, session),
    });
  }

  /**
   * The end of a verified sign-in, whatever the method: user and session in one transaction
   * (upserted by issuer and subject, never merged by email), the first token, the audit event
   * and the metric. Throws `user_disabled` for a disabled account (no session is created);
   * `service_unavailable` from the store passes through. Failures are recorded here.
   */
  async signIn(identity: VerifiedIdentity, meta: SignInMeta): Promise<SignedIn> {
    try {
      // Before any row is written: ALLOWED_GROUPS may refuse the sign-in (SECURITY.md 61).
      const admission = await this.#authz?.admit(identity, meta);
      const outcome = await this.#store.signIn(identity, this.#newSession(meta));
      if ('disabled' in outcome) {
        throw new GatehouseError('user_disabled', 'This account has been disabled by an operator.', {
          reason: 'user_disabled',
        });
      }
      const { user, session } = outcome;
      const grants =
        this.#authz === undefined || admission === undefined
          ? undefined
          : await this.#authz.grantsAtSignIn(user, admission, meta);
      const token = await this.issue(user, session, grants);
      const refreshToken = session.clientKind === 'web' ? undefined : await this.#refresh.issueFirst(session);
      await this.#audit.record('sign_in', { userId: user.id, sessionId: session.id, meta });
      this.#log.info(
        {
          userId: user.id,
          sessionId: session.id,
          clientKind: session.clientKind,
          method: session.signInMethod,
        },
        'sign-in succeeded',
      );
      this.#observer?.signIn?.('success');
      return {
        user,
        session,
        token,
        ...(grants === undefined ? {} : { grants }),
        ...(refreshToken === undefined ? {} : { refreshToken }),
      };
    } catch (err) {
      if (isGatehouseError(err)) await this.signInFailed(err, meta);
      throw err;
    }
  }

  /** Records a sign-in that failed (log, audit trail, metric); the reason is a machine word. */
  async signInFailed(err: GatehouseError, meta: RequestMeta): Promise<void> {
    const reason = err.reason ?? err.code;
    this.#log.warn({ code: err.code, reason }, 'sign-in failed');
    this.#observer?.signIn?.('failure', reason);
    await this.#audit.record('sign_in_failed', { reason, meta });
  }

  /**
   * A new token pair for a refresh token (rotation, reuse detection, the session's limits: see
   * refresh.ts). Throws GatehouseError `invalid_grant`; `service_unavailable` passes through.
   */
  async refresh(refreshToken: string, meta: RequestMeta): Promise<TokenPair & { readonly session: Session }> {
    try {
      const pair = await this.#refresh.refresh(refreshToken, meta);
      this.#observer?.renewal?.('renewed', null);
      return pair;
    } catch (err) {
      this.#observer?.renewal?.(
        'refused',
        err instanceof GatehouseError ? (err.reason ?? err.code) : 'error',
      );
      throw err;
    }
  }

  /** The session of a refresh token, used or not (RFC 7009 revocation); undefined when unknown. */
  refreshTokenSession(refreshToken: string): Promise<{ sessionId: string; userId: string } | undefined> {
    return this.#refresh.sessionOf(refreshToken);
  }

  /** Hot path: synchronous, no database. */
  check(token: string): TokenCheck {
    const result = this.#codec.verify(token);
    if (!result.ok && result.reason === 'invalid') return result;
    // Revoked wins over expired: a revoked session is not a renewal candidate.
    if (this.#revocation.has(result.claims.sid))
      return { ok: false, reason: 'revoked', claims: result.claims };
    if (!result.ok) return result;
    // A large group list this instance has not loaded yet: renew, which loads it (group-cache.ts).
    if (result.claims.gh !== undefined && this.#groups.get(result.claims.gh) === undefined)
      return { ok: false, reason: 'expired', claims: result.claims };
    // Issued before its user's role change: renew now (a size check only, in the steady state).
    const changes = this.#changes;
    if (changes !== undefined && changes.size !== 0 && changes.isStale(result.claims.sub, result.claims.iat))
      return { ok: false, reason: 'expired', claims: result.claims };
    return result;
  }

  /** The Workspace groups a token stands for: inline, or by digest from this instance's cache. */
  groupsOf(claims: SessionClaims): readonly string[] {
    if (claims.groups !== undefined) return claims.groups;
    if (claims.gh !== undefined) return this.#groups.get(claims.gh) ?? NO_GROUPS;
    return NO_GROUPS;
  }

  /** A token for `session`, never outliving it: exp = min(now + TOKEN_TTL, idle, absolute expiry). */
  // Async on purpose though signing is synchronous: a session that is ending is a rejection for
  // callers, like every other refusal of the service.
  async issue(user: SessionUser, session: SessionLimits, grants?: Grants): Promise<IssuedToken> {
    return this.#issue(user, session, grants).token;
  }

  /**
   * Renews an expired token (claims from `check`'s `expired` answer): one indexed read, then
   * touch + fresh token. Throws GatehouseError `session_revoked` / `session_expired` /
   * `user_disabled` / `invalid_token`; `service_unavailable` from the store passes through.
   * Concurrent renewals of one session are harmless: each touches the row and gets a token.
   */
  async renew(claims: SessionClaims, meta: RequestMeta): Promise<Renewed> {
    try {
      const renewed = await this.#renew(claims, meta);
      this.#observer?.renewal?.('renewed', null);
      return renewed;
    } catch (err) {
      this.#observer?.renewal?.(
        'refused',
        err instanceof GatehouseError ? (err.reason ?? err.code) : 'error',
      );
      throw err;
    }
  }

  /** A new session row's values. Expiries are floored to whole seconds (see the file comment). */
  #newSession(meta: SignInMeta): NewSessionInput {
    const now = this.#clock.now();
    const expiresAt = floorToSecond(now + this.#ttlMs);
    return {
      id: this.#newSessionId(),
      createdAt: new Date(now),
      expiresAt: new Date(expiresAt),
      idleExpiresAt: new Date(Math.min(floorToSecond(now + this.#idleMs), expiresAt)),
      ip: meta.ip,
      userAgent: meta.userAgent,
      clientKind: meta.clientKind ?? 'web',
      signInMethod: meta.method ?? 'oidc_callback',
    };
  }

  #newSessionId(): string {
    const bytes = this.#random(16);
    if (bytes.length !== 16) throw new TypeError('random(16) must return 16 bytes');
    return Buffer.from(bytes).toString('base64url');
  }

  #issue(
    user: SessionUser,
    session: SessionLimits,
    grants?: Grants,
  ): { token: IssuedToken; claims: SessionClaims } {
    const now = this.#clock.now();
    const iat = Math.floor(now / 1000);
    const exp = Math.floor(
      Math.min(now + this.#tokenTtlMs, session.idleExpiresAt.getTime(), session.expiresAt.getTime()) / 1000,
    );
    // Less than a second of session left: no token can be both valid and inside the session.
    if (exp <= iat) throw new GatehouseError('session_expired', undefined, { reason: 'session_ending' });
    let claims: SessionClaims = {
      sub: user.id,
      sid: session.id,
      email: user.email,
      ...(user.name === null ? {} : { name: user.name }),
      ...(user.hostedDomain ? { hd: user.hostedDomain } : {}),
      iat,
      exp,
    };
    // A compact claim, only when held (docs/authorization.md, "In the token").
    if (grants !== undefined && grants.roles.length > 0) claims = { ...claims, roles: grants.roles };
    if (grants !== undefined && grants.groups.length > 0) {
      claims =
        JSON.stringify(grants.groups).length <= INLINE_GROUPS_BYTES
          ? { ...claims, groups: grants.groups }
          : { ...claims, gh: this.#groups.put(grants.groups) };
    }
    const token = this.#codec.sign(claims);
    return { token: { token, expiresAt: exp * 1000 }, claims };
  }

  async #renew(claims: SessionClaims, meta: RequestMeta): Promise<Renewed> {
    if (this.#revocation.has(claims.sid)) {
      throw new GatehouseError('session_revoked', undefined, { reason: 'revoked' });
    }
    const found = await this.#store.sessions.findWithUser(claims.sid);
    // A genuine token whose row is gone: the session expired (or was revoked) and was purged.
    if (found === undefined)
      throw new GatehouseError('session_expired', undefined, { reason: 'session_gone' });
    const { session, user } = found;
    if (session.userId !== claims.sub) {
      throw new GatehouseError('invalid_token', undefined, { reason: 'subject_mismatch' });
    }
    if (session.revokedAt !== null) {
      this.#revocation.remember(session.id);
      throw new GatehouseError('session_revoked', undefined, { reason: session.revokedReason ?? 'revoked' });
    }
    const now = this.#clock.now();
    if (now >= session.expiresAt.getTime()) {
      throw new GatehouseError('session_expired', undefined, { reason: 'absolute_timeout' });
    }
    if (now >= session.idleExpiresAt.getTime()) {
      throw new GatehouseError('session_expired', undefined, { reason: 'idle_timeout' });
    }
    if (user.disabledAt !== null) {
      // The answer is user_disabled either way; the revocation is tidying (disabling already
      // revoked every session unless the user was disabled behind our back).
      try {
        await this.#revocation.revoke(session.id, {
          reason: 'user_disabled',
          type: 'session_revoked',
          userId: user.id,
          meta,
        });
      } catch (err) {
        this.#log.warn({ event: 'revoke_failed', err }, "could not revoke a disabled user's session");
      }
      throw new GatehouseError('user_disabled', undefined, { reason: 'user_disabled' });
    }

    // Roles and groups are read again here, never on the hot path: a change reaches the next
    // token within TOKEN_TTL (+ DIRECTORY_RECHECK for groups), SECURITY.md 61.
    const grants = await this.#authz?.grantsAtRenewal(user, session, meta);

    const expiresAt = session.expiresAt.getTime();
    const idleExpiresAt = new Date(Math.min(floorToSecond(now + this.#idleMs), expiresAt));
    const lastSeenAt = new Date(now);
    await this.#store.sessions.touch(session.id, user.id, lastSeenAt, idleExpiresAt);
    const renewedSession: Session = { ...session, lastSeenAt, idleExpiresAt };
    const renewedUser: User = { ...user, lastAccessed: lastSeenAt };
    const issued = this.#issue(renewedUser, renewedSession, grants);
    return { token: issued.token, claims: issued.claims, user: renewedUser, session: renewedSession };
  }
}
