/**
 * Gatehouse as a library: load the configuration, build the server, add your own routes behind
 * `app.requireUser`, listen. (`gatehouse serve` does the same without your routes.)
 */

export type { AssertionClaims, AssertionIssuer } from './assertion/index.js';
export { ConfigError, loadConfig } from './config/index.js';
export type { Config } from './config/types.js';
export { type ErrorCode, GatehouseError } from './errors.js';
export type { AuthUser } from './http/auth.js';
export { createLogger, type Logger } from './logger.js';
export { createGatehouse, type Gatehouse, type StartOptions } from './runtime.js';
