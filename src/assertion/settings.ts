/**
 * Where the assertion's `iss` and default `aud` come from, in one place.
 */
import type { Config } from '../config/types.js';

/**
 * `iss`: PUBLIC_URL plus the prefix Gatehouse's own routes are mounted under, so that
 * `${iss}/.well-known/openid-configuration` is the discovery document (OpenID Connect Discovery
 * §4) — which is how go-oidc and other stock verifiers find the JWKS. The prefix is empty unless
 * the configuration names one (`routePrefix`, set in proxy mode).
 */
export function assertionIssuerUrl(config: Config): string {
  const prefix = (config as Config & { readonly routePrefix?: string }).routePrefix ?? '';
  return `${config.publicUrl}${prefix}`;
}

/** `aud` when the request names none: ASSERTION_AUDIENCE, else PUBLIC_URL's origin. */
export function defaultAudience(config: Config): string {
  return config.assertion.audience ?? config.publicOrigin;
}
