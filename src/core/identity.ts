/**
 * The identity a sign-in proves: the one type that may create a user or a session. It lives
 * here, below both oidc/ (which makes it) and store/ (which persists it), so neither imports
 * the other.
 */

declare const verified: unique symbol;

/**
 * An identity that came out of a full verification (for the browser flow: state, iss, PKCE,
 * ID-token signature and claims, nonce, email_verified, userinfo sub, sign-in policy). Only
 * oidc/identity.ts can make one (the brand is not constructible elsewhere — STYLE habit 5).
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
