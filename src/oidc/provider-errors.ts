/**
 * Turns whatever a provider round trip threw (openid-client's ClientError / ResponseBodyError,
 * jose's JWKS errors, the HTTP client's network and size errors (http-client.ts), AbortSignal's
 * TimeoutError) into a stable GatehouseError: `provider_timeout` (504) when the configured timeout
 * fired, `provider_error` (502) otherwise (SECURITY B10, H39). Never an unclassified exception,
 * never the provider's text in `detail`.
 */
import { GatehouseError, isGatehouseError } from '../errors.js';

/** openid-client's, jose's and undici's (the HTTP client's backstop, http-client.ts) timeout codes. */
const TIMEOUT_CODES = new Set([
  'OAUTH_TIMEOUT',
  'ERR_JWKS_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** Walks the `cause` chain (bounded) looking for a timeout. */
export function isTimeout(err: unknown): boolean {
  let current: unknown = err;
  for (let depth = 0; depth < 6 && current !== undefined && current !== null; depth++) {
    if (typeof current === 'object') {
      const e = current as { name?: unknown; code?: unknown; cause?: unknown };
      if (e.name === 'TimeoutError' || (typeof e.code === 'string' && TIMEOUT_CODES.has(e.code))) return true;
      current = e.cause;
    } else {
      return false;
    }
  }
  return false;
}

/** The openid-client / oauth4webapi error code (`OAUTH_…`), if any. */
export function oauthCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/**
 * Classifies a failed provider request. `what` names the step for the reason (`token_request`,
 * `userinfo`, `discovery`, `jwks`).
 */
export function providerFailure(err: unknown, what: string): GatehouseError {
  if (isGatehouseError(err)) return err;
  if (isTimeout(err)) {
    return new GatehouseError('provider_timeout', undefined, { cause: err, reason: `${what}_timeout` });
  }
  return new GatehouseError('provider_error', undefined, { cause: err, reason: `${what}_failed` });
}

/** A short, safe description for ProviderStatus.lastError (no URLs, no host names, no bodies). */
export function describeFailure(err: unknown, what: string): string {
  if (isTimeout(err)) return `${what} timed out`;
  const code = oauthCode(err);
  if (code === 'OAUTH_RESPONSE_IS_NOT_CONFORM') return `${what} answered with an unexpected HTTP status`;
  if (code === 'OAUTH_RESPONSE_IS_NOT_JSON' || code === 'OAUTH_PARSE_ERROR')
    return `${what} answered with a non-JSON body`;
  if (code === 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED') return `${what} document has an unexpected issuer`;
  if (code === 'OAUTH_INVALID_RESPONSE' || code === 'ERR_JWKS_INVALID') return `${what} document is invalid`;
  if (code === 'OAUTH_HTTP_REQUEST_FORBIDDEN') return `${what} over plain http refused`;
  return `${what} request failed`;
}
