/**
 * The error table: every stable error code Gatehouse answers with, its title and HTTP status.
 * One place, kept in sync with docs/errors.md by a test. Responses are RFC 9457 problem details.
 */

export const ERRORS = {
  bad_request: {
    status: 400,
    title: 'Bad request',
    description:
      'The request is malformed: bad percent-encoding, a duplicated callback parameter, an unparsable body.',
  },
  validation_failed: {
    status: 400,
    title: 'The request is not valid',
    description: 'A parameter or body field does not match the documented schema; `detail` names it.',
  },
  not_authenticated: {
    status: 401,
    title: 'Not signed in',
    description: 'No session cookie and no bearer token were presented. Sign in at `/login`.',
  },
  session_expired: {
    status: 401,
    title: 'Session expired',
    description: 'The session passed its absolute or idle lifetime. Sign in again.',
  },
  session_revoked: {
    status: 401,
    title: 'Session revoked',
    description: 'The session was signed out (by the user, everywhere, or by an operator).',
  },
  invalid_token: {
    status: 401,
    title: 'Invalid session token',
    description:
      'The presented session token is malformed, tampered with, signed by an unknown key, or sent twice.',
  },
  conflicting_credentials: {
    status: 400,
    title: 'Conflicting credentials',
    description: 'A session cookie and a bearer token for different users were sent together.',
  },
  login_failed: {
    status: 400,
    title: 'Sign-in failed',
    description:
      'The sign-in callback failed verification (state, issuer, ID token, nonce, userinfo). Start again at `/login`.',
  },
  login_expired: {
    status: 400,
    title: 'Sign-in attempt expired',
    description:
      'The sign-in attempt is older than 10 minutes or its cookie is missing. Start again at `/login`.',
  },
  invalid_id_token: {
    status: 401,
    title: 'The ID token was not accepted',
    description:
      'The ID token posted to `/auth/google` failed verification (signature, issuer, audience, age, nonce), is not an ID token, or was already used.',
  },
  invalid_grant: {
    status: 400,
    title: 'Invalid grant',
    description:
      'The refresh token is unknown, expired, already used, or its session is revoked, expired or its user disabled (RFC 6749 §5.2).',
  },
  unsupported_grant_type: {
    status: 400,
    title: 'Unsupported grant type',
    description: '`POST /auth/token` only accepts `grant_type=refresh_token` (RFC 6749 §5.2).',
  },
  access_denied: {
    status: 403,
    title: 'Sign-in was cancelled or denied',
    description: 'The user cancelled at the provider or the provider refused.',
  },
  email_not_verified: {
    status: 403,
    title: 'Email address not verified',
    description: 'The provider does not vouch for the email address (`email_verified` is not `true`).',
  },
  forbidden_domain: {
    status: 403,
    title: 'This account is not allowed to sign in',
    description: 'The account is outside the configured hosted domains, email domains or addresses.',
  },
  forbidden_group: {
    status: 403,
    title: 'This account is not in an allowed group',
    description:
      'The account is not a member of any group in `ALLOWED_GROUPS` (read from the Google Workspace Directory).',
  },
  user_disabled: {
    status: 403,
    title: 'This account is disabled',
    description: 'An operator disabled this user; every session of theirs is revoked.',
  },
  csrf_rejected: {
    status: 403,
    title: 'Cross-site request rejected',
    description: 'A cookie-authenticated state-changing request came from an origin that is not allowed.',
  },
  forbidden: {
    status: 403,
    title: 'Forbidden',
    description:
      'The caller may not do this: an access rule or a role/group guard refuses the signed-in user (a small HTML page instead for browser navigations).',
  },
  not_found: {
    status: 404,
    title: 'Not found',
    description: "No such route or resource (another user's resources answer the same way).",
  },
  method_not_allowed: {
    status: 405,
    title: 'Method not allowed',
    description: 'The route exists but not with this method (for example `GET /logout`).',
  },
  request_timeout: {
    status: 408,
    title: 'Request timeout',
    description:
      'The request headers or body did not arrive within `REQUEST_TIMEOUT`; the connection is closed.',
  },
  payload_too_large: {
    status: 413,
    title: 'Request body too large',
    description: 'The request body is larger than the limit.',
  },
  unsupported_media_type: {
    status: 415,
    title: 'Unsupported media type',
    description: "The body's content type is not accepted by this route.",
  },
  rate_limited: {
    status: 429,
    title: 'Too many requests',
    description: 'Too many requests from this client; `Retry-After` says when to try again.',
  },
  headers_too_large: {
    status: 431,
    title: 'Request headers too large',
    description: 'The request headers or cookies are larger than the limit.',
  },
  internal_error: {
    status: 500,
    title: 'Internal server error',
    description: 'An unexpected failure; the body carries only a request id, the cause is in the log.',
  },
  provider_error: {
    status: 502,
    title: 'The sign-in provider failed',
    description: 'The sign-in provider answered with an error or an unusable response.',
  },
  upstream_error: {
    status: 502,
    title: 'The upstream service failed',
    description: 'An upstream service (for example the chat model API) failed.',
  },
  upstream_unavailable: {
    status: 502,
    title: 'The upstream is unavailable',
    description:
      'Proxy mode: the upstream refused the connection, reset it, or answered with something that is not HTTP.',
  },
  service_unavailable: {
    status: 503,
    title: 'Service temporarily unavailable',
    description: 'A dependency (usually the database) is unavailable; `Retry-After` says when to retry.',
  },
  directory_unavailable: {
    status: 503,
    title: 'The Google Workspace Directory is unavailable',
    description:
      'Group membership and account status could not be read, and the last known answer is older than `DIRECTORY_MAX_STALE`; `Retry-After` says when to retry.',
  },
  provider_timeout: {
    status: 504,
    title: 'The sign-in provider did not answer in time',
    description: 'The sign-in provider did not answer within `OIDC_TIMEOUT`.',
  },
  upstream_timeout: {
    status: 504,
    title: 'The upstream did not answer in time',
    description: 'Proxy mode: the upstream sent no response headers within `UPSTREAM_TIMEOUT`.',
  },
} as const satisfies Record<string, { status: number; title: string; description: string }>;

/** A closed union: callers can `switch (err.code)` and TypeScript narrows. */
export type ErrorCode = keyof typeof ERRORS;

export const ERROR_CODES = Object.keys(ERRORS) as ErrorCode[];

/**
 * The codes a failed browser sign-in sends back to the frontend as `?auth_error=CODE`: the
 * sign-in's own outcomes. Provider, rate-limit and availability failures answer `/auth` with their
 * status instead. web/app.js explains exactly these (a test keeps the two lists equal).
 */
export const SIGN_IN_REDIRECT_CODES = [
  'access_denied',
  'login_expired',
  'login_failed',
  'forbidden_domain',
  'email_not_verified',
  'user_disabled',
] as const satisfies readonly ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERRORS, value);
}

/**
 * A runtime failure with a stable code. `detail` is safe to show to the client;
 * `cause` carries the underlying error for logs only; `reason` is a short machine word
 * for logs, metrics and the audit trail (for example `state_mismatch`).
 */
export class GatehouseError extends Error {
  override readonly name = 'GatehouseError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: string;
  readonly reason: string | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: ErrorCode,
    detail?: string,
    options: { cause?: unknown; reason?: string; retryAfterSeconds?: number } = {},
  ) {
    super(detail ?? ERRORS[code].title, { cause: options.cause });
    this.code = code;
    this.status = ERRORS[code].status;
    this.detail = detail ?? ERRORS[code].title;
    this.reason = options.reason;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

export function isGatehouseError(err: unknown): err is GatehouseError {
  return err instanceof GatehouseError;
}
