/**
 * The logging surface the core modules (oidc/, session/, store/, dev-idp/) need: a subset of
 * pino's — structured object first, message second — so the server's pino logger (or a child of
 * it) is passed in as is, and the core does not depend on how logs are shipped.
 */
export interface Log {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = (): void => {};

/** For callers (and tests) that do not care about logs. */
export const silentLog: Log = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop });
