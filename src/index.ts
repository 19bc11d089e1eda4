/**
 * Gatehouse as a library: load the configuration, build the server, add your own routes behind
 * `app.requireUser` (or `requireRole`, `requireGroup`, `requireRule`), listen. (`gatehouse serve` does the same without your routes, with the
 * sample chat turned on.) Every type that `createGatehouse` hands back is exported here.
 */

export type { AssertionClaims, AssertionIssuer } from './assertion/index.js';
export { type NormalisedPath, normalisePath } from './authz/path.js';
export {
  type AccessRule,
  type CompiledRules,
  compileRules,
  type Decision,
  decide,
  type RuleSubject,
} from './authz/rules.js';
export { ConfigError, loadConfig } from './config/index.js';
export type { Config } from './config/types.js';
export type { Clock } from './core/clock.js';
export type { VerifiedIdentity } from './core/identity.js';
export type { Log } from './core/log.js';
export type { DevIdp } from './dev-idp/index.js';
export { type ErrorCode, GatehouseError } from './errors.js';
export type { AuthUser } from './http/auth.js';
// Brings app.requireRole / requireGroup / requireRule / accessRules into FastifyInstance's type.
export type { AuthzPluginOptions } from './http/authz.js';
export { createLogger, type Logger } from './logger.js';
export type { Metrics } from './metrics/registry.js';
export type { OidcClient } from './oidc/client.js';
export { createGatehouse, type Gatehouse, type StartOptions } from './runtime.js';
export type { Accounts } from './session/accounts.js';
export type { Revocation, RevokeOneOptions, RevokeOptions } from './session/revocation.js';
export type { SessionService, SignedIn } from './session/service.js';
export type { IssuedToken, RequestMeta, SessionClaims, TokenCheck } from './session/types.js';
export type { AuthEvent, AuthEventType, Session, Store, User } from './store/types.js';
