/**
 * The contract between oidc/ and http/.
 */

declare const verified: unique symbol;

/**
 * An identity that came out of the full callback validation (state, iss, PKCE, ID-token
 * signature and claims, nonce, email_verified, userinfo sub, sign-in policy). Only the
 * callback verifier can make one (the brand is not constructible elsewhere), and only this
 * type can create a user or a session.
 */
export interface VerifiedIdentity {
  readonly [verified]: true;
  readonly issuer: string;
  readonly subject: string;
  readonly email: string;
  readonly emailVerified: true;
  readonly name: string | null;
  readonly picture: string | null;
  readonly hostedDomain: string | null;
}

export interface LoginStart {
  /** The provider's authorization URL to redirect the browser to. */
  readonly url: string;
  /** The sealed login-transaction cookie: one per attempt, so several tabs can sign in at once. */
  readonly cookie: { readonly name: string; readonly value: string; readonly maxAgeSeconds: number };
}

export interface LoginResult {
  readonly identity: VerifiedIdentity;
  /** The checked return_to bound in the transaction (an absolute URL), or the frontend URL. */
  readonly returnTo: string;
  /** The transaction cookie to clear. */
  readonly clearCookie: string;
}

export interface ProviderStatus {
  readonly ok: boolean;
  readonly issuer: string;
  /** Time of the last successful discovery/JWKS fetch (ms), if any. */
  readonly lastSuccessAt: number | null;
  /** A short, safe description of the last failure (no secrets, no internal host names). */
  readonly lastError: string | null;
}
