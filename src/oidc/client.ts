/**
 * Gatehouse's OpenID Connect relying party: starts a sign-in and verifies the callback
 * (DESIGN "Sign-in flow", SECURITY A–E). Framework-free: http/ turns the results into redirects,
 * cookies and problem+json.
 *
 * completeLogin checks, in this order, and every failure is a GatehouseError whose `reason` names
 * the check:
 *   1. raw query: duplicate code/state/iss/error → 400 bad_request (duplicate_parameter)
 *   2. `error` from the provider → access_denied / login_failed (provider_error:<code>)
 *   3. state present, its transaction cookie present, unsealed, unexpired, same state (constant time)
 *   4. RFC 9207 `iss`
 *   5. single use (consumeTransaction)
 *      — 1–5 happen before any request to the token endpoint (SECURITY A2, B8) —
 *   6. code exchange with PKCE (openid-client) + full ID-token verification (id-token.ts)
 *   7. email_verified === true, then the sign-in policy (policy.ts)
 *   8. userinfo, whose `sub` must equal the ID token's
 *   9. the branded VerifiedIdentity (identity.ts)
 */
import { createHash, randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import type { Config } from '../config/types.js';
import { type Clock, systemClock } from '../core/clock.js';
import { constantTimeEqual } from '../core/constant-time.js';
import { type Log, silentLog } from '../core/log.js';
import { GatehouseError, isGatehouseError } from '../errors.js';
import { parseCallbackQuery, safeErrorCode } from './callback-params.js';
import { legacyGoogleTokens, runCapturing } from './google-legacy.js';
import { type VerifiedIdTokenClaims, verifyIdToken } from './id-token.js';
import { createVerifiedIdentity } from './identity.js';
import { evaluateSignInPolicy } from './policy.js';
import { cleanPicture, cleanText, MAX_NAME_LENGTH } from './profile.js';
import { createProvider, type ProviderHandle } from './provider.js';
import { oauthCode, providerFailure } from './provider-errors.js';
import { safeReturnTo } from './return-to.js';
import { hasControlOrSpace } from './text.js';
import {
  createTransactionSealer,
  type LoginTransaction,
  TRANSACTION_MAX_AGE_SECONDS,
  transactionCookieName,
} from './transaction.js';
import type { LoginResult, LoginStart, ProviderStatus } from './types.js';

export interface OidcClient {
  beginLogin(input: { returnTo?: string | undefined }): Promise<LoginStart>;
  completeLogin(input: {
    /** The raw query string of the callback, e.g. '?code=…&state=…&iss=…'. */
    search: string;
    cookies: Readonly<Record<string, string | undefined>>;
  }): Promise<LoginResult>;
  /** The last known provider health (no I/O). */
  status(): ProviderStatus;
  /** Re-fetches discovery and JWKS now (bounded by the timeout), for /readyz. */
  check(): Promise<ProviderStatus>;
  /** Transaction cookies `/login` clears before adding one (SECURITY.md 44): expired, then oldest. */
  transactionCookiesToDrop(cookies: Readonly<Record<string, string>>): string[];
  /** Closes the idle connections to the provider (on shutdown). */
  close(): void;
}

export interface OidcClientOptions {
  readonly config: Config;
  readonly clock?: Clock;
  readonly random?: (n: number) => Buffer;
  readonly logger?: Log;
  /** Marks a transaction id used: true the first time, false afterwards (the store's, in production). */
  readonly consumeTransaction: (id: string, expiresAt: Date) => Promise<boolean>;
}

const ID_TOKEN_EMAIL_CLAIMS = JSON.stringify({
  id_token: { email: { essential: true }, email_verified: { essential: true } },
});

function hasAllowList(policy: Config['policy']): boolean {
  return policy.hostedDomains.length > 0 || policy.emailDomains.length > 0 || policy.emails.length > 0;
}

/** 256 bits from the CSPRNG, base64url: state, nonce, PKCE verifier (43 chars, RFC 7636 §4.1), id. */
const RANDOM_BYTES = 32;
const MAX_EMAIL_LENGTH = 320;

export function createOidcClient(options: OidcClientOptions): OidcClient {
  const { config, consumeTransaction } = options;
  // Google serves https picture URLs; only a loopback development provider serves others.
  const pictureRules = { loopbackIssuer: config.oidc.allowInsecureIssuer };
  const clock = options.clock ?? systemClock;
  const random = options.random ?? randomBytes;
  const logger = options.logger ?? silentLog;
  if (typeof consumeTransaction !== 'function') {
    throw new TypeError('createOidcClient: consumeTransaction must be a function');
  }
  const provider = createProvider({ config, clock, logger });
  const sealer = createTransactionSealer({ secretKey: config.secrets.secretKey, clock, random });
  const cookieName = (state: string): string => transactionCookieName(config.cookie.transactionPrefix, state);
  const randomToken = (): string => {
    const bytes = random(RANDOM_BYTES);
    if (bytes.length !== RANDOM_BYTES) throw new TypeError('random() returned the wrong number of bytes');
    return bytes.toString('base64url');
  };

  async function beginLogin(input: { returnTo?: string | undefined }): Promise<LoginStart> {
    const { configuration } = await provider.get();
    // state, nonce and the PKCE verifier MUST be fresh for every redirect (RFC 9700 §2.1, SECURITY A1).
    const tx: LoginTransaction = {
      id: randomToken(),
      state: randomToken(),
      nonce: randomToken(),
      verifier: randomToken(),
      returnTo: safeReturnTo(input.returnTo, config),
      createdAt: clock.now(),
    };
    const parameters: Record<string, string> = {
      // Configuration, never the Host header (SECURITY A6).
      redirect_uri: config.redirectUrl,
      response_type: 'code',
      scope: config.oidc.scopes,
      state: tx.state,
      nonce: tx.nonce,
      code_challenge: createHash('sha256').update(tx.verifier, 'ascii').digest('base64url'),
      code_challenge_method: 'S256',
    };
    // Google's `hd` only pre-selects the account chooser; the claim is still checked (policy.ts).
    // Ask for the email in the ID token itself (Core §5.5) where the provider says it can: the
    // allow-lists are applied to ID-token claims only (SECURITY.md 19).
    if (configuration.serverMetadata().claims_parameter_supported === true) {
      parameters.claims = ID_TOKEN_EMAIL_CLAIMS;
    }
    const [onlyHostedDomain, ...others] = config.policy.hostedDomains;
    if (onlyHostedDomain !== undefined && others.length === 0) parameters.hd = onlyHostedDomain;
    const url = oidc.buildAuthorizationUrl(configuration, parameters);
    return {
      url: url.href,
      cookie: {
        name: cookieName(tx.state),
        value: sealer.seal(tx),
        maxAgeSeconds: TRANSACTION_MAX_AGE_SECONDS,
      },
    };
  }

  async function completeLogin(input: {
    search: string;
    cookies: Readonly<Record<string, string | undefined>>;
  }): Promise<LoginResult> {
    // 1. Raw query, duplicates refused first.
    const params = parseCallbackQuery(input.search);

    // 2. The provider said no. Its error_description is never reflected (SECURITY B9).
    if (params.error !== undefined) {
      const code = safeErrorCode(params.error);
      throw new GatehouseError(code === 'access_denied' ? 'access_denied' : 'login_failed', undefined, {
        reason: `provider_error:${code}`,
      });
    }

    // 3. The transaction bound to this browser.
    if (params.state === undefined) {
      throw new GatehouseError('login_failed', undefined, { reason: 'missing_state' });
    }
    const clearCookie = cookieName(params.state);
    const sealed = input.cookies[clearCookie];
    if (sealed === undefined || sealed === '') {
      // No cookie: expired and dropped by the browser, stripped, or a callback from another
      // browser (login CSRF, SECURITY A4).
      throw new GatehouseError('login_expired', undefined, { reason: 'transaction_missing' });
    }
    const tx = sealer.open(sealed);
    if (!constantTimeEqual(tx.state, params.state)) {
      throw new GatehouseError('login_failed', undefined, { reason: 'state_mismatch' });
    }

    // 4. RFC 9207: the authorization response names its issuer.
    const handle = await provider.get();
    const issuer = handle.metadata.issuer;
    if (params.iss !== undefined) {
      if (params.iss !== issuer)
        throw new GatehouseError('login_failed', undefined, { reason: 'iss_mismatch' });
    } else if (handle.metadata.authorization_response_iss_parameter_supported === true) {
      throw new GatehouseError('login_failed', undefined, { reason: 'iss_missing' });
    }
    if (params.code === undefined) {
      throw new GatehouseError('login_failed', undefined, { reason: 'missing_code' });
    }

    // 5. Single use, across instances (SECURITY A3).
    let first: boolean;
    try {
      first = await consumeTransaction(tx.id, sealer.expiresAt(tx));
    } catch (err) {
      if (isGatehouseError(err)) throw err;
      throw new GatehouseError('service_unavailable', undefined, {
        cause: err,
        reason: 'transaction_store_failed',
      });
    }
    if (!first) throw new GatehouseError('login_failed', undefined, { reason: 'transaction_replayed' });

    // 6. Code exchange (PKCE, state, nonce, claims by openid-client) + signature and the rest by us.
    const tokens = await exchangeCode(handle, params, tx);
    const claims = await verifyIdToken(tokens.idToken, handle.jwks, {
      issuer,
      clientId: config.oidc.clientId,
      nonce: tx.nonce,
      advertisedAlgorithms: handle.metadata.id_token_signing_alg_values_supported,
      clockSkewSeconds: config.oidc.clockSkewSeconds,
      now: clock.now(),
    }).catch((err: unknown) => {
      if (isGatehouseError(err) && err.code !== 'login_failed') provider.recordFailure(err.cause, 'JWKS');
      throw err;
    });

    // 7–8. Email and policy on the verified ID-token claims; userinfo for the profile. When the ID
    // token carries no email at all (some providers only put it in userinfo), the sub-checked
    // userinfo response is the source instead (Core §5.3.2) — but only when no allow-list is
    // configured: SECURITY.md 19 applies allow-lists to verified token claims only, and userinfo
    // is an unsigned answer. With an allow-list such a sign-in is refused (the `claims` request
    // parameter asks for the email in the ID token where the provider supports it).
    let userinfo: oidc.UserInfoResponse | undefined;
    if (claims.email === undefined) {
      if (hasAllowList(config.policy)) {
        throw new GatehouseError('login_failed', undefined, { reason: 'email_not_in_id_token' });
      }
      userinfo = await getUserinfo(handle, tokens.accessToken, claims);
    }
    const source: Readonly<Record<string, unknown>> = userinfo ?? claims;
    const email = checkEmail(source);
    const hostedDomain = typeof source.hd === 'string' && source.hd !== '' ? source.hd : null;
    const decision = evaluateSignInPolicy({ email, hostedDomain }, config.policy);
    if (!decision.allowed) {
      throw new GatehouseError('forbidden_domain', undefined, { reason: decision.reason });
    }
    userinfo ??= await getUserinfo(handle, tokens.accessToken, claims);

    // 9. The only road to a VerifiedIdentity. The issuer is the configured one (also for Google's
    // legacy `iss` form), so users keyed by (issuer, subject) never split in two.
    const identity = createVerifiedIdentity({
      issuer: config.oidc.issuer,
      subject: claims.sub,
      email,
      name: cleanText(userinfo.name, MAX_NAME_LENGTH) ?? cleanText(claims.name, MAX_NAME_LENGTH),
      picture: cleanPicture(userinfo.picture, pictureRules) ?? cleanPicture(claims.picture, pictureRules),
      hostedDomain,
    });
    return { identity, returnTo: tx.returnTo, clearCookie };
  }

  async function exchangeCode(
    handle: ProviderHandle,
    params: { code: string | undefined; state: string | undefined; iss: string | undefined },
    tx: LoginTransaction,
  ): Promise<{ idToken: string; accessToken: string }> {
    // Only the checked single values reach openid-client; the redirect_uri is configuration.
    const callbackUrl = new URL(config.redirectUrl);
    const clean = new URLSearchParams();
    if (params.code !== undefined) clean.set('code', params.code);
    if (params.state !== undefined) clean.set('state', params.state);
    if (params.iss !== undefined) clean.set('iss', params.iss);
    callbackUrl.search = clean.toString();
    let tokens: oidc.TokenEndpointResponse;
    const slot = {};
    try {
      tokens = await runCapturing(slot, () =>
        oidc.authorizationCodeGrant(handle.configuration, callbackUrl, {
          pkceCodeVerifier: tx.verifier,
          expectedState: tx.state,
          expectedNonce: tx.nonce,
          idTokenExpected: true,
        }),
      );
    } catch (err) {
      // Google's legacy `iss` form: our verifier, which accepts it for Google only, decides.
      const legacy = legacyGoogleTokens(err, slot, config.oidc.issuer);
      if (legacy !== undefined) return legacy;
      const failure = classifyGrantFailure(err);
      logger.warn({ err, reason: failure.reason }, 'OIDC code exchange failed');
      throw failure;
    }
    if (typeof tokens.id_token !== 'string' || typeof tokens.access_token !== 'string') {
      throw new GatehouseError('provider_error', undefined, { reason: 'token_response_invalid' });
    }
    return { idToken: tokens.id_token, accessToken: tokens.access_token };
  }

  async function getUserinfo(
    handle: ProviderHandle,
    accessToken: string,
    claims: VerifiedIdTokenClaims,
  ): Promise<oidc.UserInfoResponse> {
    if (handle.metadata.userinfo_endpoint === undefined) return { sub: claims.sub };
    let info: oidc.UserInfoResponse;
    try {
      info = await oidc.fetchUserInfo(handle.configuration, accessToken, claims.sub);
    } catch (err) {
      if (oauthCode(err) === 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED') {
        throw new GatehouseError('login_failed', undefined, { cause: err, reason: 'userinfo_sub_mismatch' });
      }
      logger.warn({ err }, 'OIDC userinfo request failed');
      throw providerFailure(err, 'userinfo');
    }
    // Checked by openid-client already; checked again because SECURITY D16 is not negotiable.
    if (info.sub !== claims.sub) {
      throw new GatehouseError('login_failed', undefined, { reason: 'userinfo_sub_mismatch' });
    }
    return info;
  }

  return {
    beginLogin,
    completeLogin,
    status: () => provider.status(),
    check: () => provider.check(),
    transactionCookiesToDrop: (cookies) => sealer.toDrop(cookies),
    close: () => provider.close(),
  };
}

/** email_verified must be exactly boolean true (SECURITY D17); the address must look like one. */
function checkEmail(source: Readonly<Record<string, unknown>>): string {
  if (source.email_verified !== true) {
    throw new GatehouseError('email_not_verified', undefined, { reason: 'email_not_verified' });
  }
  const email = source.email;
  if (
    typeof email !== 'string' ||
    email.length > MAX_EMAIL_LENGTH ||
    email.lastIndexOf('@') < 1 ||
    email.lastIndexOf('@') === email.length - 1 ||
    hasControlOrSpace(email)
  ) {
    throw new GatehouseError('login_failed', undefined, { reason: 'email_invalid' });
  }
  return email;
}

/**
 * openid-client failures of the code exchange: transport and response-shape problems are the
 * provider's (502/504); a token that fails a claim check is a failed sign-in (400).
 */
function classifyGrantFailure(err: unknown): GatehouseError {
  if (isGatehouseError(err)) return err;
  const code = oauthCode(err);
  const inner = typeof err === 'object' && err !== null ? (err as { cause?: unknown }).cause : undefined;
  const innerMessage = inner instanceof Error ? inner.message : '';
  const claim =
    typeof inner === 'object' && inner !== null
      ? ((inner as { cause?: { claim?: unknown } }).cause?.claim ?? undefined)
      : undefined;
  switch (code) {
    case 'OAUTH_JWT_CLAIM_COMPARISON_FAILED':
      return new GatehouseError('login_failed', 'The identity token could not be verified.', {
        cause: err,
        reason: claim === 'nonce' ? 'nonce_mismatch' : 'id_token_invalid',
      });
    case 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED':
      return new GatehouseError('login_failed', 'The identity token could not be verified.', {
        cause: err,
        reason: 'id_token_invalid',
      });
    case 'OAUTH_INVALID_RESPONSE':
      // `"response" body …` = the token response itself is malformed (e.g. no id_token);
      // otherwise it is the ID token (missing claim, unexpected alg).
      if (innerMessage.startsWith('"response" body')) {
        return new GatehouseError('provider_error', undefined, {
          cause: err,
          reason: 'token_response_invalid',
        });
      }
      return new GatehouseError('login_failed', 'The identity token could not be verified.', {
        cause: err,
        reason: 'id_token_invalid',
      });
    case 'OAUTH_UNSUPPORTED_OPERATION':
      // e.g. a `crit` header in the ID token, or an unknown token_type in the response.
      if (/\bJWT\b|JWS/.test(innerMessage)) {
        return new GatehouseError('login_failed', 'The identity token could not be verified.', {
          cause: err,
          reason: 'id_token_invalid',
        });
      }
      return providerFailure(err, 'token_request');
    default:
      return providerFailure(err, 'token_request');
  }
}
