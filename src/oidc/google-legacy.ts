/**
 * Google's legacy issuer form (SECURITY C12). Google documents that its ID tokens carry `iss`
 * either as `https://accounts.google.com` or as `accounts.google.com`, and tells relying parties
 * to accept both ("Verify the Google ID token"). openid-client compares `iss` exactly with the
 * discovered issuer while it processes the token response, before our verifier (id-token.ts) runs,
 * so a legacy-form token would be refused there. For Google only, this module remembers the token
 * response of the exchange in progress and, when openid-client refused it for exactly that reason
 * and nothing else, hands the tokens to our full verifier (signature, `iss` in both forms, `aud`,
 * `azp`, `exp`, `iat`, `nbf`, nonce), which decides. Any other provider never reaches this path.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import * as oidc from 'openid-client';

import { GOOGLE_ISSUER, GOOGLE_LEGACY_ISSUER } from '../core/google.js';

/** The token response body seen during one code exchange. */
export interface CaptureSlot {
  body?: unknown;
}

const slots = new AsyncLocalStorage<CaptureSlot>();

/** Makes the configuration's fetch remember token-endpoint JSON bodies for `runCapturing`. */
export function captureTokenResponses(configuration: oidc.Configuration, tokenEndpoint: string): void {
  const inner: oidc.CustomFetch =
    configuration[oidc.customFetch] ?? ((url, options) => fetch(url, options as RequestInit));
  configuration[oidc.customFetch] = async (url, options) => {
    const response = await inner(url, options);
    const slot = slots.getStore();
    if (slot !== undefined && String(url) === tokenEndpoint && response.ok) {
      slot.body = await response
        .clone()
        .json()
        .catch(() => undefined);
    }
    return response;
  };
}

export function runCapturing<T>(slot: CaptureSlot, fn: () => Promise<T>): Promise<T> {
  return slots.run(slot, fn);
}

/** The claim-comparison detail openid-client attaches somewhere down the `cause` chain. */
function refusedClaim(err: unknown): { claim?: unknown; claims?: { iss?: unknown } } | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const c = current as { claim?: unknown; claims?: { iss?: unknown }; cause?: unknown };
    if (c.claim !== undefined) return c;
    current = c.cause;
  }
  return undefined;
}

/**
 * The tokens of an exchange that openid-client refused only because `iss` was Google's legacy
 * form, when the configured issuer is Google; undefined in every other case.
 */
export function legacyGoogleTokens(
  err: unknown,
  slot: CaptureSlot,
  configuredIssuer: string,
): { idToken: string; accessToken: string } | undefined {
  if (configuredIssuer !== GOOGLE_ISSUER) return undefined;
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  if (code !== 'OAUTH_JWT_CLAIM_COMPARISON_FAILED') return undefined;
  const refused = refusedClaim(err);
  if (refused?.claim !== 'iss' || refused.claims?.iss !== GOOGLE_LEGACY_ISSUER) return undefined;
  const body = slot.body as { id_token?: unknown; access_token?: unknown; token_type?: unknown } | undefined;
  if (
    typeof body?.id_token !== 'string' ||
    typeof body.access_token !== 'string' ||
    typeof body.token_type !== 'string' ||
    body.token_type.toLowerCase() !== 'bearer'
  ) {
    return undefined;
  }
  return { idToken: body.id_token, accessToken: body.access_token };
}
