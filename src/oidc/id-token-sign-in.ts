/**
 * Sign-in with a Google ID token that a client already holds (DESIGN.md "Native apps and
 * single-page apps"; SECURITY.md 57): GIS One Tap or the button, Android Credential Manager,
 * the iOS Google Sign-In SDK, a CLI. A chain of named steps, each taking the previous one's
 * checked output, ending at the only road to a VerifiedIdentity:
 *
 *   1. shape      — a compact JWS of bounded length (an opaque access token stops here)
 *   2. verify     — verifyIdToken (id-token.ts): alg pinning and header attacks, signature by the
 *                   provider's cached JWKS, iss (Google's legacy form too), aud ∈ our client ids,
 *                   azp, exp, nbf, iat within ID_TOKEN_MAX_AGE, not a typed access token
 *   3. nonce      — when the token carries one it must be a live nonce of ours (id-token-nonce.ts),
 *                   equal to the one the client says it sent, if it says so
 *   4. profile    — email_verified === true, a usable email, then the sign-in policy
 *   5. single use — the token (and its nonce) recorded in the database: a replay fails on every
 *                   instance
 *   6. identity   — createVerifiedIdentity, keyed by the configured issuer like the callback
 */
import { createHash } from 'node:crypto';
import { base64url } from 'jose';
import type { Config } from '../config/types.js';
import type { Clock } from '../core/clock.js';
import { constantTimeEqual } from '../core/constant-time.js';
import type { VerifiedIdentity } from '../core/identity.js';
import { GatehouseError, isGatehouseError } from '../errors.js';
import { nonceCheckedByCaller, type VerifiedIdTokenClaims, verifyIdToken } from './id-token.js';
import type { NonceSealer } from './id-token-nonce.js';
import { createVerifiedIdentity } from './identity.js';
import { evaluateSignInPolicy } from './policy.js';
import { checkEmail, cleanPicture, cleanText, MAX_NAME_LENGTH } from './profile.js';
import type { Provider } from './provider.js';

/** Google's ID tokens are about 1 KB; anything far larger is not one. */
export const MAX_ID_TOKEN_LENGTH = 8192;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export interface IdTokenSignInInput {
  readonly idToken: string;
  /** The nonce the client says it bound into its request, when it says so. */
  readonly nonce?: string | undefined;
}

export interface IdTokenSignInDeps {
  readonly config: Config;
  readonly provider: Provider;
  readonly nonces: NonceSealer;
  readonly clock: Clock;
  /** The store's: true the first time a hash is recorded, false afterwards, across instances. */
  readonly consumeIdToken: (hash: string, expiresAt: Date) => Promise<boolean>;
}

function refused(reason: string, cause?: unknown): GatehouseError {
  return new GatehouseError('invalid_id_token', 'The ID token was not accepted.', {
    reason,
    ...(cause === undefined ? {} : { cause }),
  });
}

// 1.
function checkShape(idToken: string): string {
  if (typeof idToken !== 'string' || idToken.length > MAX_ID_TOKEN_LENGTH || !COMPACT_JWS.test(idToken)) {
    throw refused('not_an_id_token');
  }
  return idToken;
}

// 2.
async function verifyToken(idToken: string, deps: IdTokenSignInDeps): Promise<VerifiedIdTokenClaims> {
  const { config } = deps;
  const handle = await deps.provider.get();
  try {
    return await verifyIdToken(idToken, handle.jwks, {
      issuer: handle.metadata.issuer,
      clientId: [config.oidc.clientId, ...config.native.clientIds],
      nonce: nonceCheckedByCaller,
      maxAgeSeconds: config.native.idTokenMaxAgeSeconds,
      advertisedAlgorithms: handle.metadata.id_token_signing_alg_values_supported,
      clockSkewSeconds: config.oidc.clockSkewSeconds,
      now: deps.clock.now(),
    });
  } catch (err) {
    // A bad token is the client's 401; key-fetch trouble stays the provider's 502/504.
    if (isGatehouseError(err) && err.code === 'login_failed') throw refused('id_token_invalid', err.cause);
    if (isGatehouseError(err)) deps.provider.recordFailure(err.cause, 'JWKS');
    throw err;
  }
}

// 3.
function checkNonce(
  claims: VerifiedIdTokenClaims,
  input: IdTokenSignInInput,
  nonces: NonceSealer,
): string | null {
  const claimed = claims.nonce;
  if (claimed === undefined) {
    if (input.nonce !== undefined) throw refused('nonce_missing');
    return null;
  }
  if (typeof claimed !== 'string' || nonces.check(claimed) === undefined) throw refused('nonce_invalid');
  if (input.nonce !== undefined && !constantTimeEqual(claimed, input.nonce)) throw refused('nonce_mismatch');
  return claimed;
}

// 4.
function checkProfile(
  claims: VerifiedIdTokenClaims,
  config: Config,
): { email: string; hostedDomain: string | null } {
  let email: string;
  try {
    email = checkEmail(claims);
  } catch (err) {
    if (isGatehouseError(err) && err.code === 'login_failed') throw refused(err.reason ?? 'email_invalid');
    throw err;
  }
  const hostedDomain = typeof claims.hd === 'string' && claims.hd !== '' ? claims.hd : null;
  const decision = evaluateSignInPolicy({ email, hostedDomain }, config.policy);
  if (!decision.allowed) throw new GatehouseError('forbidden_domain', undefined, { reason: decision.reason });
  return { email, hostedDomain };
}

/**
 * The single-use key of a token: its issuer and the decoded payload bytes. Not the token text:
 * base64url's spare bits let one signed payload be spelled several ways.
 */
function usedKey(idToken: string, issuer: string): string {
  const payload = base64url.decode(idToken.split('.')[1] as string);
  return createHash('sha256').update(`id_token\0${issuer}\0`).update(payload).digest('hex');
}

// 5.
async function consume(
  idToken: string,
  claims: VerifiedIdTokenClaims,
  nonce: string | null,
  deps: IdTokenSignInDeps,
): Promise<void> {
  // Remembered until the token could no longer pass `exp` (with the skew), then purged.
  const exp = typeof claims.exp === 'number' ? claims.exp : 0;
  const until = new Date((exp + deps.config.oidc.clockSkewSeconds + 60) * 1000);
  if (!(await deps.consumeIdToken(usedKey(idToken, claims.iss), until))) throw refused('id_token_replayed');
  if (nonce !== null) {
    const nonceUntil = new Date(Math.max(until.getTime(), deps.nonces.check(nonce) ?? 0));
    if (!(await deps.consumeIdToken(deps.nonces.usedKey(nonce), nonceUntil))) throw refused('nonce_replayed');
  }
}

/** Verifies a posted ID token completely; throws GatehouseError (invalid_id_token, email_not_verified, forbidden_domain, provider_*). */
export async function verifyIdTokenSignIn(
  input: IdTokenSignInInput,
  deps: IdTokenSignInDeps,
): Promise<VerifiedIdentity> {
  const idToken = checkShape(input.idToken);
  const claims = await verifyToken(idToken, deps);
  const nonce = checkNonce(claims, input, deps.nonces);
  const { email, hostedDomain } = checkProfile(claims, deps.config);
  await consume(idToken, claims, nonce, deps);
  // 6. Keyed by the configured issuer (also for Google's legacy `iss`), as the callback does, so
  // a browser sign-in and an app sign-in of one Google account are one user.
  return createVerifiedIdentity({
    issuer: deps.config.oidc.issuer,
    subject: claims.sub,
    email,
    name: cleanText(claims.name, MAX_NAME_LENGTH),
    picture: cleanPicture(claims.picture, { loopbackIssuer: deps.config.oidc.allowInsecureIssuer }),
    hostedDomain,
  });
}
