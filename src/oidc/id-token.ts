/**
 * Full ID-token verification (OpenID Connect Core §3.1.3.7, RFC 8725, SECURITY C11–C15).
 *
 * openid-client v6 checks the claims of a token-endpoint ID token but, by design, not its signature
 * (TLS authenticates the token endpoint). We verify the signature anyway, ourselves, with jose
 * rather than `enableNonRepudiationChecks`, because openid-client's JWKS cache only refetches an
 * unknown `kid` after 60 s (a key rotation would fail sign-ins until then: SECURITY C14), and
 * because we add checks it does not make: `iat` age, header parameters that point at keys,
 * algorithm pinning that never admits HS* or `none`, and `azp` whenever it is present.
 */
import { decodeProtectedHeader, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { constantTimeEqual } from '../core/constant-time.js';
import { GOOGLE_ISSUER, GOOGLE_LEGACY_ISSUER } from '../core/google.js';
import { GatehouseError } from '../errors.js';
import { providerFailure } from './provider-errors.js';

/** Only public-key algorithms: an HS* token could be "signed" with the client secret or the public key. */
const ASYMMETRIC_ALGS: ReadonlySet<string> = new Set([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
]);

/**
 * Header parameters that name or carry a key (or demand extensions we do not implement). Honouring
 * any of them lets the token choose its own verification key; we refuse them without fetching
 * anything (SECURITY C12).
 */
const FORBIDDEN_HEADERS = ['jku', 'x5u', 'jwk', 'x5c', 'crit'] as const;

/** An ID token is used within seconds of issue; older ones are refused ("a few minutes": SECURITY C12). */
export const MAX_ID_TOKEN_AGE_SECONDS = 300;

/**
 * Passed as `nonce` when the caller checks the nonce itself: ID-token sign-in, where a token
 * carries a nonce only when the client asked `GET /auth/nonce` for one (id-token-sign-in.ts).
 * A named symbol, never a quiet `undefined` (STYLE.md habit 6).
 */
export const nonceCheckedByCaller: unique symbol = Symbol('nonceCheckedByCaller');

export interface IdTokenExpectations {
  readonly issuer: string;
  /** Our client id, or the set of them (ID-token sign-in: the web client and the native ones). */
  readonly clientId: string | readonly string[];
  readonly nonce: string | typeof nonceCheckedByCaller;
  /** Oldest acceptable `iat`, in seconds (default MAX_ID_TOKEN_AGE_SECONDS). */
  readonly maxAgeSeconds?: number;
  /** The provider's `id_token_signing_alg_values_supported`, if advertised. */
  readonly advertisedAlgorithms: readonly string[] | undefined;
  readonly clockSkewSeconds: number;
  /** ms since the epoch */
  readonly now: number;
}

export interface VerifiedIdTokenClaims extends JWTPayload {
  readonly sub: string;
  readonly iss: string;
}

function rejected(check: string, cause?: unknown): GatehouseError {
  return new GatehouseError('login_failed', 'The identity token could not be verified.', {
    reason: check === 'nonce' ? 'nonce_mismatch' : 'id_token_invalid',
    cause: cause ?? new Error(`id_token check failed: ${check}`),
  });
}

/** The algorithms we accept: advertised by the provider (RS256 when silent, per Discovery §3) ∩ asymmetric. */
export function allowedAlgorithms(advertised: readonly string[] | undefined): string[] {
  return (advertised ?? ['RS256']).filter((alg) => ASYMMETRIC_ALGS.has(alg));
}

export async function verifyIdToken(
  token: string,
  keys: JWTVerifyGetKey,
  expect: IdTokenExpectations,
): Promise<VerifiedIdTokenClaims> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch (err) {
    throw rejected('header', err);
  }
  for (const name of FORBIDDEN_HEADERS) {
    if (Object.hasOwn(header, name)) throw rejected(`header ${name}`);
  }
  // An RFC 9068 access token (`typ: at+jwt`) or any other typed JWT is not an ID token, even when
  // its audience happens to be ours (SECURITY.md 57).
  if (header.typ !== undefined && (typeof header.typ !== 'string' || header.typ.toUpperCase() !== 'JWT')) {
    throw rejected('typ');
  }
  const algorithms = allowedAlgorithms(expect.advertisedAlgorithms);
  const clientIds: readonly string[] =
    typeof expect.clientId === 'string' ? [expect.clientId] : expect.clientId;
  if (clientIds.length === 0) throw new TypeError('verifyIdToken: at least one client id');
  if (typeof header.alg !== 'string' || !algorithms.includes(header.alg)) throw rejected('alg');

  const issuers = expect.issuer === GOOGLE_ISSUER ? [GOOGLE_ISSUER, GOOGLE_LEGACY_ISSUER] : [expect.issuer];
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, keys, {
      algorithms,
      issuer: issuers,
      audience: [...clientIds],
      clockTolerance: expect.clockSkewSeconds,
      maxTokenAge: expect.maxAgeSeconds ?? MAX_ID_TOKEN_AGE_SECONDS,
      currentDate: new Date(expect.now),
      requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat'],
    }));
  } catch (err) {
    throw classifyJoseFailure(err);
  }

  if (typeof payload.sub !== 'string' || payload.sub.length === 0 || payload.sub.length > 255) {
    throw rejected('sub');
  }
  // Core §3.1.3.7 (4)(5): several audiences need an azp naming us; a present azp must name us.
  // With several client ids of ours, "us" is any of them: an Android app's token has the web
  // client as `aud` and the Android client as `azp` (Google's server-side access pattern).
  const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (audiences.length > 1 && payload.azp === undefined) throw rejected('azp missing');
  if (payload.azp !== undefined && (typeof payload.azp !== 'string' || !clientIds.includes(payload.azp))) {
    throw rejected('azp');
  }
  if (expect.nonce !== nonceCheckedByCaller) {
    if (typeof payload.nonce !== 'string' || !constantTimeEqual(payload.nonce, expect.nonce)) {
      throw rejected('nonce');
    }
  }
  return payload as VerifiedIdTokenClaims;
}

/** Key-fetch trouble is the provider's failure (502/504); anything else is a bad token. */
function classifyJoseFailure(err: unknown): GatehouseError {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  if (code === 'ERR_JWKS_TIMEOUT' || code === 'ERR_JOSE_GENERIC' || code === 'ERR_JWKS_INVALID') {
    return providerFailure(err, 'jwks');
  }
  if (typeof code !== 'string') {
    // fetch() network failure (TypeError) while loading the JWKS.
    return providerFailure(err, 'jwks');
  }
  return rejected('jose', err);
}
