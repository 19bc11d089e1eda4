/**
 * Identity for upstreams: signing keys, the ES256 assertion and its JWKS. Knows nothing of HTTP
 * servers (the routes live in src/http/routes/well-known.ts and auth.ts).
 */
export { type AudienceParsed, MAX_AUDIENCE_LENGTH, parseAudience } from './audience.js';
export { DevKeyFileError, loadOrCreateDevKey } from './dev-key.js';
export {
  ASSERTION_CACHE_SIZE,
  ASSERTION_LIFETIME_SECONDS,
  type AssertionClaims,
  AssertionIssuer,
  type AssertionIssuerOptions,
  type AssertionSubject,
  REFRESH_MARGIN_SECONDS,
} from './issuer.js';
export {
  type AssertionKey,
  generateAssertionKey,
  jwkThumbprint,
  type KeysParsed,
  keyToText,
  type PrivateEcJwk,
  type PublicEcJwk,
  parseAssertionKeys,
  publicJwk,
} from './keys.js';
export { assertionIssuerUrl, defaultAudience } from './settings.js';
