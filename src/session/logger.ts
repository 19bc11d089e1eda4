/**
 * The logging surface session/ needs: a subset of pino's, so a pino logger (or a child of the
 * server's) is passed in as is, and session/ does not depend on how logs are shipped.
 */
export interface SessionLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = (): void => {};

/** For callers (and tests) that do not care about logs. */
export const silentLogger: SessionLogger = Object.freeze({ info: noop, warn: noop, error: noop });
