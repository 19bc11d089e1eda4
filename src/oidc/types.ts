/**
 * The contract between oidc/ and http/.
 */

export type { VerifiedIdentity } from '../core/identity.js';

export interface LoginStart {
  /** The provider's authorization URL to redirect the browser to. */
  readonly url: string;
  /** The sealed login-transaction cookie: one per attempt, so several tabs can sign in at once. */
  readonly cookie: { readonly name: string; readonly value: string; readonly maxAgeSeconds: number };
}

import type { VerifiedIdentity } from '../core/identity.js';

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
