/** Session tokens, revocation and the session service: the public API of session/. */
export {
  clearSessionCookie,
  readBearer,
  type SessionCookie,
  type SessionCookieOptions,
  sessionCookie,
} from './cookie.js';
export {
  type RevokeOneOptions,
  type RevokeOptions,
  type SessionLimits,
  SessionManager,
  type SessionManagerOptions,
  type SessionUser,
} from './manager.js';
export { POLL_OVERLAP_MS, RevocationPoller, type RevocationPollerOptions } from './poller.js';
export { RevocationSet } from './revocations.js';
export {
  CLOCK_SKEW_SECONDS,
  type InvalidTokenReason,
  keyId,
  MAX_TOKEN_LENGTH,
  TokenCodec,
  type TokenVerification,
} from './token.js';
export * from './types.js';
