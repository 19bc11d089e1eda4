/**
 * The slice of a pino logger that oidc/ uses: structured object first, message second. A pino
 * `Logger` satisfies it; tests may pass a collecting stub.
 */
export interface OidcLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = (): void => {};

export const silentLogger: OidcLogger = { debug: noop, info: noop, warn: noop, error: noop };
