/**
 * The identity assertion (DESIGN.md "Identity for upstreams"; SECURITY.md K.55–56): an ES256 JWT
 * that tells an upstream who the user is, verifiable by any stock JOSE library against the
 * published JWKS.
 *
 * Signed with `node:crypto` (ECDSA P-256 over SHA-256, `dsaEncoding: 'ieee-p1363'`, the raw
 * r‖s form RFC 7518 §3.4 requires): measured here (Node 20, CPU time over 5,000 signatures) at
 * ~42 µs a signature against ~114 µs for jose's `SignJWT` (WebCrypto, async). The output is cross-checked with jose's `jwtVerify`
 * against the published JWKS in test/unit/assertion/issuer.test.ts.
 *
 * A whole uncached `assertionFor` costs ~60 µs — a bare Fastify request's worth of CPU — so an
 * assertion is reused for the same session token and audience (bounded memory; a hit costs
 * ~0.4 µs) while it stays close to the freshest one that could be issued: see
 * `REFRESH_MARGIN_SECONDS`.
 */
import { type KeyObject, sign } from 'node:crypto';
import { type AssertionKey, type PublicEcJwk, privateKeyObject, publicJwk } from './keys.js';

/** The longest an assertion lives (DESIGN.md: `exp` ≤ 5 minutes). */
export const ASSERTION_LIFETIME_SECONDS = 300;

/**
 * A cached assertion is reused while its `exp` is within this much of a fresh one's: so a
 * verifier always receives one with at least 4 of its 5 minutes left, or — when the session
 * token ends sooner — the one that ends with the token (a new one could not last longer).
 */
export const REFRESH_MARGIN_SECONDS = 60;

/**
 * How many (session token, audience) assertions are remembered (~700 bytes each). A client that
 * names a new `?aud=` on every request only makes one signature per request (no amplification),
 * and at worst pushes older entries out, which are then signed again.
 */
export const ASSERTION_CACHE_SIZE = 10_000;

/** Who the assertion is about: the verified session (AuthUser carries all of it). */
export interface AssertionSubject {
  /** user id → `sub` */
  readonly id: string;
  readonly email: string;
  readonly name: string | null;
  /** Google Workspace domain → `hd` (absent for consumer accounts). */
  readonly hostedDomain: string | null;
  /** session id → `sid` */
  readonly sessionId: string;
  /** The session token's `exp` (seconds): no assertion outlives it. */
  readonly tokenExp: number;
  readonly roles?: readonly string[];
  readonly groups?: readonly string[];
}

/** The claims, in the order they are written. */
export interface AssertionClaims {
  readonly iss: string;
  readonly aud: string;
  readonly sub: string;
  readonly email: string;
  /** Always true: only a verified email signs in (SECURITY.md D.17). */
  readonly email_verified: true;
  readonly name?: string;
  readonly hd?: string;
  readonly sid: string;
  readonly roles: readonly string[];
  readonly groups: readonly string[];
  readonly iat: number;
  readonly exp: number;
}

export interface AssertionIssuerOptions {
  /** Private keys; the first signs, all are published. */
  readonly keys: readonly AssertionKey[];
  /** `iss`: PUBLIC_URL plus the route prefix Gatehouse's own routes live under. */
  readonly issuer: string;
  /** Milliseconds since the epoch. */
  readonly now?: () => number;
  readonly cacheSize?: number;
}

interface Cached {
  readonly sub: string;
  readonly exp: number;
  readonly jwt: string;
}

export class AssertionIssuer {
  readonly issuer: string;
  /** The JWKS document: public keys only, frozen. */
  readonly jwks: { readonly keys: readonly PublicEcJwk[] };
  readonly signingKid: string;
  readonly #key: KeyObject;
  readonly #header: string;
  readonly #now: () => number;
  readonly #cacheSize: number;
  readonly #cache = new Map<string, Cached>();

  constructor(options: AssertionIssuerOptions) {
    const first = options.keys[0];
    if (first === undefined) throw new TypeError('AssertionIssuer needs at least one key');
    if (typeof options.issuer !== 'string' || !/^https?:\/\//.test(options.issuer)) {
      throw new TypeError('the assertion issuer must be an http(s) URL');
    }
    this.issuer = options.issuer;
    this.signingKid = first.kid;
    this.#key = privateKeyObject(first);
    // RFC 7515 §4.1.4 `kid` lets the verifier pick the key from the JWKS; `typ` per RFC 8725 §3.11.
    this.#header = Buffer.from(JSON.stringify({ alg: 'ES256', kid: first.kid, typ: 'JWT' })).toString(
      'base64url',
    );
    this.jwks = Object.freeze({
      keys: Object.freeze(options.keys.map((key) => Object.freeze(publicJwk(key)))),
    });
    this.#now = options.now ?? Date.now;
    this.#cacheSize = options.cacheSize ?? ASSERTION_CACHE_SIZE;
  }

  /** How many assertions are remembered now (bounded by the cache size). */
  get cached(): number {
    return this.#cache.size;
  }

  /**
   * The assertion for this session and audience, or undefined when the session token has (all
   * but) run out: an assertion never outlives the token it was made from (SECURITY.md 55).
   */
  assertionFor(subject: AssertionSubject, audience: string): string | undefined {
    const nowSeconds = Math.floor(this.#now() / 1000);
    const exp = Math.min(nowSeconds + ASSERTION_LIFETIME_SECONDS, subject.tokenExp);
    if (exp <= nowSeconds) return undefined;
    // One token is one (sid, exp) pair: a renewed token has a later exp and gets its own entry.
    const cacheKey = `${subject.sessionId}\u0000${subject.tokenExp}\u0000${audience}`;
    const cached = this.#cache.get(cacheKey);
    if (cached !== undefined && cached.sub === subject.id && cached.exp >= exp - REFRESH_MARGIN_SECONDS) {
      if (cached.exp > nowSeconds) return cached.jwt;
    }
    const jwt = this.sign(this.claimsFor(subject, audience, nowSeconds, exp));
    if (cached !== undefined) this.#cache.delete(cacheKey);
    else if (this.#cache.size >= this.#cacheSize) {
      // Bounded: past the limit the oldest entry goes (a Map keeps insertion order).
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    this.#cache.set(cacheKey, { sub: subject.id, exp, jwt });
    return jwt;
  }

  claimsFor(subject: AssertionSubject, audience: string, iat: number, exp: number): AssertionClaims {
    return {
      iss: this.issuer,
      aud: audience,
      sub: subject.id,
      email: subject.email,
      email_verified: true,
      ...(subject.name !== null ? { name: subject.name } : {}),
      ...(subject.hostedDomain !== null ? { hd: subject.hostedDomain } : {}),
      sid: subject.sessionId,
      roles: subject.roles ?? [],
      groups: subject.groups ?? [],
      iat,
      exp,
    };
  }

  /** Signs claims as a compact JWS with the signing key (ES256, RFC 7518 §3.4). */
  sign(claims: AssertionClaims): string {
    const input = `${this.#header}.${Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url')}`;
    const signature = sign('sha256', Buffer.from(input), { key: this.#key, dsaEncoding: 'ieee-p1363' });
    return `${input}.${signature.toString('base64url')}`;
  }
}
