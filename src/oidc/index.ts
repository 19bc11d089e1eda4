/**
 * oidc/: the OpenID Connect relying party. `createVerifiedIdentity` is deliberately not exported:
 * only the callback verifier may make a VerifiedIdentity.
 */
export { createOidcClient, type OidcClient, type OidcClientOptions } from './client.js';
export { evaluateSignInPolicy, type PolicyDecision } from './policy.js';
export { MAX_RETURN_TO_LENGTH, safeReturnTo } from './return-to.js';
export { TRANSACTION_MAX_AGE_SECONDS } from './transaction.js';
export type { LoginResult, LoginStart, ProviderStatus, VerifiedIdentity } from './types.js';
