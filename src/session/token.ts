/**
 * Session tokens: HS256 JWTs signed by Gatehouse (DESIGN.md "Sessions: fast and revocable").
 *
 * Both directions are `node:crypto` HMAC-SHA256 with a prebuilt key. Verification is the hot path
 * of every authenticated request, and jose's `jwtVerify` costs ~40 µs of CPU per token against
 * ~8 µs here; signing sits on the sign-in callback, where jose's WebCrypto `SignJWT` cost ~0.3 ms.
 * Tokens are written byte for byte as jose writes them and verified by a small, strict verifier
 * cross-checked against jose (test/unit/session/token-crosscheck.test.ts). It accepts only what
 * Gatehouse itself issues:
 *
 * - the protected header must equal, byte for byte, the one Gatehouse writes for a configured
 *   key, so `alg` is pinned to HS256 and `none`, `crit`, `jku`, `jwk`, `x5u`, `b64` and other
 *   algorithms can never reach the signature check (RFC 8725 §3.1, §2.1);
 * - the signature is compared in constant time (SECURITY.md 40) and must be the canonical
 *   base64url form of 32 bytes, so a token has exactly one accepted spelling;
 * - the claims are type-checked strictly (RFC 8725 §3.11: "validate all claims").
 *
 * Key rotation: `JWT_SECRET_KEY` is a list; the first key signs, every key verifies. Each key
 * is told apart by its `kid` (first 8 characters of base64url(SHA-256(key)) — public, and it
 * reveals nothing useful about a high-entropy key).
 */
import { createHash, createHmac, createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto';
import { type Clock, systemClock } from '../core/clock.js';
import type { SessionClaims } from './types.js';

/** Longer tokens are rejected before any work (ours are ~300 bytes; cookies must stay < 4 KB). */
export const MAX_TOKEN_LENGTH = 4096;

/**
 * How many verified tokens are remembered (under 1 KB each): enough for the clients active within
 * one TOKEN_TTL on a busy instance; beyond it the oldest are verified again when they come back.
 */
export const VERIFIED_CACHE_SIZE = 10_000;

/**
 * How many refused tokens are remembered: a client that keeps presenting the same bad token (a
 * stale cookie after a key was retired, a script retrying a forged one) is refused without another
 * HMAC. Kept apart from the verified ones, so a flood of distinct junk never evicts a good token.
 */
export const REFUSED_CACHE_SIZE = 1_000;

/** Tolerated clock difference between instances for `iat` (SECURITY.md 15). */
export const CLOCK_SKEW_SECONDS = 30;

export interface TokenCodecOptions {
  /**
   * The longest `exp − iat` accepted (TOKEN_TTL, SECURITY.md 41). Gatehouse never issues a longer
   * token, so one that is longer was issued under an earlier, longer TOKEN_TTL: its revocation may
   * no longer be remembered (revocations are kept in memory for the *current* TOKEN_TTL), so it is
   * answered `expired` and its renewal asks the database. Unbounded when absent.
   */
  readonly maxLifetimeSeconds?: number;
}

/** Why a token was refused; a short machine word for logs and metrics, never shown to clients. */
export type InvalidTokenReason =
  | 'malformed'
  | 'unknown_key'
  | 'bad_signature'
  | 'bad_payload'
  | 'bad_claims'
  | 'not_yet_valid';

/**
 * The verifier's answer. Shaped so it is assignable to `TokenCheck` without copying:
 * `expired` is a genuine token whose time is up (a renewal candidate).
 */
export type TokenVerification =
  | { readonly ok: true; readonly claims: SessionClaims }
  | { readonly ok: false; readonly reason: 'expired'; readonly claims: SessionClaims }
  | { readonly ok: false; readonly reason: 'invalid'; readonly detail: InvalidTokenReason };

interface KnownToken {
  readonly token: string;
  readonly claims: SessionClaims;
  readonly result: TokenVerification;
}

/** The signature segment's length; the verified-token memory is keyed by it. */
const SIGNATURE_LENGTH = 43;

interface VerifyKey {
  readonly kid: string;
  readonly keyObject: KeyObject;
}

interface SignKey {
  readonly kid: string;
  readonly keyObject: KeyObject;
  readonly headerSegment: string;
}

/** header.payload.signature, base64url only, the signature exactly 43 characters (32 bytes). */
const SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/;

/**
 * 32 bytes take 43 base64url characters, the last carrying 4 data bits and 2 padding bits.
 * Decoders ignore those padding bits, so 4 spellings of one signature would decode alike; only
 * the canonical one (padding bits zero: alphabet index divisible by 4) is accepted.
 */
const CANONICAL_LAST_CHAR = new Uint8Array(128);
for (const c of 'AEIMQUYcgkosw048') CANONICAL_LAST_CHAR[c.charCodeAt(0)] = 1;

/** The same strict decoding jose applies to claims (invalid UTF-8 is an error, not U+FFFD). */
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

const invalid = (detail: InvalidTokenReason): TokenVerification =>
  Object.freeze({ ok: false, reason: 'invalid', detail }) as TokenVerification;

// Pre-built answers: refusing hostile input allocates nothing.
const MALFORMED = invalid('malformed');
const UNKNOWN_KEY = invalid('unknown_key');
const BAD_SIGNATURE = invalid('bad_signature');
const BAD_PAYLOAD = invalid('bad_payload');
const BAD_CLAIMS = invalid('bad_claims');
const NOT_YET_VALID = invalid('not_yet_valid');

export function keyId(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('base64url').slice(0, 8);
}

function headerSegmentFor(kid: string): string {
  // The exact bytes jose writes for this protected header (JSON.stringify, insertion order).
  return Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid }), 'utf8').toString('base64url');
}

const isNonEmptyString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
/** At most 64 role names of the ROLE_NAME shape (src/authz/roles.ts), none twice. */
const ROLE = /^[a-z][a-z0-9_-]{0,63}$/;
function isRoleList(v: unknown): v is readonly string[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > 64) return false;
  for (const r of v) if (typeof r !== 'string' || !ROLE.test(r)) return false;
  return new Set(v).size === v.length;
}
/** Group emails: the token carries at most a few (large lists go by digest, `gh`). */
function isGroupList(v: unknown): v is readonly string[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > 64) return false;
  for (const g of v) if (typeof g !== 'string' || g.length === 0 || g.length > 320) return false;
  return true;
}
const isDigest = (v: unknown): v is string => typeof v === 'string' && /^[A-Za-z0-9_-]{22}$/.test(v);
const isSeconds = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

export class TokenCodec {
  /** kids of the configured keys, signing key first. */
  readonly kids: readonly string[];
  readonly #clock: Clock;
  readonly #signer: SignKey;
  /** Exact header segment → key: selecting the key is one Map lookup. */
  readonly #byHeader: ReadonlyMap<string, VerifyKey>;
  /**
   * Tokens whose signature and claims verified (see verify), found by their last 43 characters
   * (the signature: hashing those is cheaper than hashing the whole ~340-character token on every
   * request) and then compared whole, so only the exact same string ever counts as seen.
   */
  readonly #verified = new Map<string, KnownToken>();
  /** Tokens refused for a reason that no passing of time changes (not `not_yet_valid`). */
  readonly #refused = new Map<string, TokenVerification>();
  readonly #maxLifetimeSeconds: number;
  /**
   * Tokens issued at or before this second are answered `expired` (a renewal candidate), so their
   * sessions are checked against the database (see renewIssuedBefore). −1: none.
   */
  #renewIssuedUpTo = -1;

  constructor(jwtSecretKeys: readonly string[], clock: Clock = systemClock, options: TokenCodecOptions = {}) {
    const maxLifetime = options.maxLifetimeSeconds ?? Number.POSITIVE_INFINITY;
    if (!(maxLifetime >= 1)) throw new TypeError('maxLifetimeSeconds must be at least 1');
    this.#maxLifetimeSeconds = maxLifetime;
    if (!Array.isArray(jwtSecretKeys) || jwtSecretKeys.length === 0) {
      throw new TypeError('TokenCodec needs at least one JWT secret key');
    }
    const byHeader = new Map<string, VerifyKey>();
    const secretByKid = new Map<string, string>();
    let signer: SignKey | undefined;
    for (const secret of jwtSecretKeys) {
      if (typeof secret !== 'string' || secret.length === 0) {
        throw new TypeError('JWT secret keys must be non-empty strings');
      }
      const kid = keyId(secret);
      const seen = secretByKid.get(kid);
      if (seen !== undefined) {
        if (seen === secret) continue; // the same key listed twice
        throw new TypeError('Two JWT secret keys share a key id; generate a new key');
      }
      secretByKid.set(kid, secret);
      const keyObject = createSecretKey(Buffer.from(secret, 'utf8'));
      const headerSegment = headerSegmentFor(kid);
      byHeader.set(headerSegment, { kid, keyObject });
      signer ??= { kid, keyObject, headerSegment };
    }
    this.#clock = clock;
    this.#signer = signer!;
    this.#byHeader = byHeader;
    this.kids = Object.freeze([...secretByKid.keys()]);
  }

  /** How many verified tokens are remembered now (bounded by VERIFIED_CACHE_SIZE). */
  get cachedTokens(): number {
    return this.#verified.size;
  }

  /** How many refused tokens are remembered now (bounded by REFUSED_CACHE_SIZE). */
  get cachedRefusals(): number {
    return this.#refused.size;
  }

  /**
   * From now on, every token issued at or before `atMs` (on its issuer's clock) needs a database
   * check: the hot path answers `expired`, and renewal reads the session row, which is the
   * authority on revocation. The revocation set calls this when it is full instead of forgetting
   * anything (SECURITY.md 42): a flood then costs renewals, never an un-revocation. Only ever moves
   * forward.
   */
  renewIssuedBefore(atMs: number): void {
    const seconds = Math.ceil(atMs / 1000);
    if (seconds > this.#renewIssuedUpTo) this.#renewIssuedUpTo = seconds;
  }

  /** kid of the key that signs new tokens. */
  get signingKid(): string {
    return this.#signer.kid;
  }

  /** Signs a session token with the first key. `iat`/`exp` are the caller's (seconds). */
  sign(claims: SessionClaims): string {
    const { sub, sid, email, name, hd, roles, groups, gh, iat, exp } = claims;
    if (!isNonEmptyString(sub) || !isNonEmptyString(sid) || !isNonEmptyString(email)) {
      throw new TypeError('sub, sid and email must be non-empty strings');
    }
    if (name !== undefined && typeof name !== 'string') throw new TypeError('name must be a string');
    if (hd !== undefined && !isNonEmptyString(hd)) throw new TypeError('hd must be a non-empty string');
    if (roles !== undefined && roles.length > 0 && !isRoleList(roles))
      throw new TypeError('roles must be role names');
    if (groups !== undefined && groups.length > 0 && !isGroupList(groups))
      throw new TypeError('groups must be group emails');
    if (gh !== undefined && !isDigest(gh)) throw new TypeError('gh must be a digest');
    if (!isSeconds(iat) || !isSeconds(exp) || exp <= iat) {
      throw new TypeError('iat and exp must be whole seconds with exp > iat');
    }
    // The claims in the order jose's SignJWT writes them, so either one could have issued the
    // token (test/unit/session/token.test.ts compares them byte for byte).
    // Optional claims only when present: most users have no roles, and every byte rides in every cookie.
    const payload = {
      sid,
      email,
      ...(name === undefined ? {} : { name }),
      ...(hd === undefined ? {} : { hd }),
      ...(roles === undefined || roles.length === 0 ? {} : { roles: [...roles] }),
      ...(groups === undefined || groups.length === 0 ? {} : { groups: [...groups] }),
      ...(gh === undefined ? {} : { gh }),
      sub,
      iat,
      exp,
    };
    const signingInput = `${this.#signer.headerSegment}.${Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url')}`;
    const signature = createHmac('sha256', this.#signer.keyObject).update(signingInput).digest('base64url');
    return `${signingInput}.${signature}`;
  }

  /** The hot-path check. Synchronous; never throws, whatever `token` is. */
  verify(token: string): TokenVerification {
    if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) return MALFORMED;
    // A client presents the same token on every request until it expires: once its signature and
    // claims have been verified, the exact same string needs only the time checks again.
    const known = this.#verified.get(token.slice(-SIGNATURE_LENGTH));
    if (known !== undefined && known.token === token) return this.#checkTimes(known);
    const refused = this.#refused.get(token);
    if (refused !== undefined) return refused;
    const result = this.#verifyFully(token);
    if (!result.ok && result.reason === 'invalid' && result !== NOT_YET_VALID) this.#refuse(token, result);
    return result;
  }

  #verifyFully(token: string): TokenVerification {
    if (!SHAPE.test(token)) return MALFORMED;
    const dot1 = token.indexOf('.');
    const dot2 = token.indexOf('.', dot1 + 1);

    const key = this.#byHeader.get(token.slice(0, dot1));
    if (key === undefined) return UNKNOWN_KEY;

    const signature = token.slice(dot2 + 1);
    if (CANONICAL_LAST_CHAR[signature.charCodeAt(42)] !== 1) return BAD_SIGNATURE;
    const given = Buffer.from(signature, 'base64url');
    const expected = createHmac('sha256', key.keyObject).update(token.slice(0, dot2)).digest();
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return BAD_SIGNATURE;

    // Below here the payload is authentic: it was signed by one of our keys.
    const payloadSegment = token.slice(dot1 + 1, dot2);
    if (payloadSegment.length % 4 === 1) return BAD_PAYLOAD; // not decodable base64
    let payload: unknown;
    try {
      payload = JSON.parse(utf8Strict.decode(Buffer.from(payloadSegment, 'base64url')));
    } catch {
      return BAD_PAYLOAD;
    }
    return this.#checkClaims(payload, token);
  }

  #checkClaims(payload: unknown, token: string): TokenVerification {
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return BAD_PAYLOAD;
    const { sub, sid, email, name, hd, roles, groups, gh, iat, exp, nbf } = payload as Record<
      string,
      unknown
    >;
    if (!isNonEmptyString(sub) || !isNonEmptyString(sid) || !isNonEmptyString(email)) return BAD_CLAIMS;
    if (name !== undefined && typeof name !== 'string') return BAD_CLAIMS;
    if (hd !== undefined && !isNonEmptyString(hd)) return BAD_CLAIMS;
    if (roles !== undefined && !isRoleList(roles)) return BAD_CLAIMS;
    if (groups !== undefined && !isGroupList(groups)) return BAD_CLAIMS;
    if (gh !== undefined && !isDigest(gh)) return BAD_CLAIMS;
    if (!isSeconds(iat) || !isSeconds(exp) || exp <= iat) return BAD_CLAIMS;
    if (nbf !== undefined && typeof nbf !== 'number') return BAD_CLAIMS;

    const nowSeconds = Math.floor(this.#clock.now() / 1000);
    if (iat > nowSeconds + CLOCK_SKEW_SECONDS) return NOT_YET_VALID;
    // We never write nbf; honoured if present (RFC 7519 §4.1.5), without tolerance, as jose does.
    if (nbf !== undefined && nbf > nowSeconds) return NOT_YET_VALID;

    // A fresh object: callers never see unknown claims a future version might add.
    let claims: SessionClaims = {
      sub,
      sid,
      email,
      ...(name === undefined ? {} : { name }),
      ...(hd === undefined ? {} : { hd }),
      iat,
      exp,
    };
    if (roles !== undefined) claims = { ...claims, roles: Object.freeze([...roles]) };
    if (groups !== undefined) claims = { ...claims, groups: Object.freeze([...groups]) };
    if (gh !== undefined) claims = { ...claims, gh };
    // exp is exclusive (RFC 7519 §4.1.4: "on or after" the time, the token is not accepted).
    // Longer-lived than this configuration issues, or issued before a revocation-set overflow:
    // genuine, but only the database can say whether its session still holds (SECURITY.md 41, 42).
    if (exp <= nowSeconds || exp - iat > this.#maxLifetimeSeconds || iat <= this.#renewIssuedUpTo) {
      return { ok: false, reason: 'expired', claims };
    }
    // Only a token without nbf is remembered, so the time checks below are all it needs.
    if (nbf === undefined) this.#remember(token, claims);
    return { ok: true, claims };
  }

  /** The time checks of #checkClaims, for a token whose signature and claims were verified. */
  #checkTimes(known: KnownToken): TokenVerification {
    const nowSeconds = Math.floor(this.#clock.now() / 1000);
    if (known.claims.iat > nowSeconds + CLOCK_SKEW_SECONDS) return NOT_YET_VALID;
    if (known.claims.exp <= nowSeconds || known.claims.iat <= this.#renewIssuedUpTo) {
      return { ok: false, reason: 'expired', claims: known.claims };
    }
    return known.result;
  }

  /** Bounded like #remember. Only time-independent refusals come here. */
  #refuse(token: string, result: TokenVerification): void {
    if (this.#refused.size >= REFUSED_CACHE_SIZE) {
      const oldest = this.#refused.keys().next().value;
      if (oldest !== undefined) this.#refused.delete(oldest);
    }
    this.#refused.set(token, result);
  }

  /** Bounded: past VERIFIED_CACHE_SIZE the oldest entry goes (Map keeps insertion order). */
  #remember(token: string, claims: SessionClaims): void {
    if (this.#verified.size >= VERIFIED_CACHE_SIZE) {
      const oldest = this.#verified.keys().next().value;
      if (oldest !== undefined) this.#verified.delete(oldest);
    }
    // A verified token has the canonical shape, so its last 43 characters are its signature.
    this.#verified.set(token.slice(-SIGNATURE_LENGTH), {
      token,
      claims,
      result: Object.freeze({ ok: true, claims }),
    });
  }
}
