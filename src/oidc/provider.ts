/**
 * The provider's metadata and keys: discovery (lazy, cached, refreshed hourly, failures cached only
 * briefly), the JWKS resolver, and the health that /readyz reports
 * (SECURITY H39: a provider outage is reported within seconds and so is its recovery).
 */
import { createRemoteJWKSet, customFetch as joseCustomFetch, type RemoteJWKSet } from 'jose';
import * as oidc from 'openid-client';
import type { Config } from '../config/types.js';
import type { Clock } from '../core/clock.js';
import { GOOGLE_ISSUER } from '../core/google.js';
import type { Log } from '../core/log.js';
import { captureTokenResponses } from './google-legacy.js';
import { createProviderHttpClient } from './http-client.js';
import { describeFailure, providerFailure } from './provider-errors.js';
import type { ProviderStatus } from './types.js';

/** Re-discover this often so metadata changes at the provider are picked up without a restart. */
const REFRESH_AFTER_MS = 60 * 60 * 1000;
/** A failed discovery is remembered this long (no hammering a down provider), then retried. */
const FAILURE_MEMORY_MS = 2_000;
/**
 * After a successful JWKS fetch, an unknown `kid` may trigger another fetch after this long.
 * jose's default (30 s) would make the first sign-ins after a key rotation fail (SECURITY C13/C14).
 */
const JWKS_COOLDOWN_MS = 1_000;
const JWKS_MAX_AGE_MS = 10 * 60 * 1000;

export interface ProviderHandle {
  readonly configuration: oidc.Configuration;
  readonly metadata: Readonly<oidc.ServerMetadata>;
  readonly jwks: RemoteJWKSet;
}

export interface Provider {
  /** The discovered provider; throws GatehouseError provider_error / provider_timeout. */
  get(): Promise<ProviderHandle>;
  status(): ProviderStatus;
  /** Re-fetches discovery and JWKS now; never throws. */
  check(): Promise<ProviderStatus>;
  /** Lets the callback verifier report a JWKS failure it saw. */
  recordFailure(err: unknown, what: string): void;
  /** Closes idle connections to the provider. */
  close(): void;
}

export function createProvider(options: { config: Config; clock: Clock; logger: Log }): Provider {
  const { config, clock, logger } = options;
  const issuer = config.oidc.issuer;
  const timeoutSeconds = config.oidc.timeoutSeconds;
  // One client (and its kept-alive connections) for every request to this provider.
  // undici's own timeouts sit a little past the callers' signals (the same OIDC_TIMEOUT), so the
  // signal's TimeoutError is what a slow provider normally produces.
  const http = createProviderHttpClient({ timeoutMs: Math.round(timeoutSeconds * 1000) + 1_000 });

  let current: { handle: ProviderHandle; fetchedAt: number } | undefined;
  let inflight: Promise<ProviderHandle> | undefined;
  let lastFailure: { at: number; error: unknown } | undefined;
  let health: { ok: boolean; lastSuccessAt: number | null; lastError: string | null } = {
    ok: false,
    lastSuccessAt: null,
    lastError: 'not checked yet',
  };

  if (config.oidc.allowInsecureIssuer) {
    // Loud on purpose (STYLE habit 6): plain http is only acceptable for a loopback test provider.
    logger.warn(
      { issuer, allowInsecureIssuer: true },
      'OIDC issuer uses plain http on a loopback host: insecure requests are allowed for development only',
    );
  }

  function markSuccess(): void {
    health = { ok: true, lastSuccessAt: clock.now(), lastError: null };
  }

  function markFailure(err: unknown, what: string): void {
    health = { ok: false, lastSuccessAt: health.lastSuccessAt, lastError: describeFailure(err, what) };
  }

  async function discover(): Promise<ProviderHandle> {
    const execute: Array<(c: oidc.Configuration) => void> = [];
    if (config.oidc.allowInsecureIssuer) execute.push(oidc.allowInsecureRequests);
    const configuration = await oidc.discovery(
      new URL(issuer),
      config.oidc.clientId,
      {
        client_secret: config.oidc.clientSecret,
        // openid-client's own ID-token time checks use the same tolerance as ours (SECURITY C15).
        [oidc.clockTolerance]: config.oidc.clockSkewSeconds,
      },
      oidc.ClientSecretBasic(config.oidc.clientSecret),
      { timeout: timeoutSeconds, execute, [oidc.customFetch]: http.fetch },
    );
    const metadata = configuration.serverMetadata();
    if (typeof metadata.jwks_uri !== 'string') {
      throw new Error('discovery document has no jwks_uri');
    }
    if (issuer === GOOGLE_ISSUER && typeof metadata.token_endpoint === 'string') {
      captureTokenResponses(configuration, metadata.token_endpoint);
    }
    // Keep the existing resolver (and its cached keys) when the JWKS location did not change.
    const previous = current?.handle;
    const jwks =
      previous !== undefined && previous.metadata.jwks_uri === metadata.jwks_uri
        ? previous.jwks
        : createRemoteJWKSet(new URL(metadata.jwks_uri), {
            cooldownDuration: JWKS_COOLDOWN_MS,
            cacheMaxAge: JWKS_MAX_AGE_MS,
            timeoutDuration: Math.round(timeoutSeconds * 1000),
            [joseCustomFetch]: http.fetch,
          });
    return { configuration, metadata, jwks };
  }

  function refresh(): Promise<ProviderHandle> {
    inflight ??= discover()
      .then((handle) => {
        current = { handle, fetchedAt: clock.now() };
        lastFailure = undefined;
        markSuccess();
        return handle;
      })
      .catch((err: unknown) => {
        lastFailure = { at: clock.now(), error: err };
        markFailure(err, 'discovery');
        logger.warn({ err, issuer }, 'OIDC discovery failed');
        throw providerFailure(err, 'discovery');
      })
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  }

  function status(): ProviderStatus {
    return { ok: health.ok, issuer, lastSuccessAt: health.lastSuccessAt, lastError: health.lastError };
  }

  return {
    async get() {
      const now = clock.now();
      if (current !== undefined) {
        if (now - current.fetchedAt >= REFRESH_AFTER_MS && inflight === undefined) {
          // Stale-while-revalidate: sign-ins keep working on the old metadata if the refresh fails.
          refresh().catch(() => {});
        }
        return current.handle;
      }
      if (lastFailure !== undefined && now - lastFailure.at < FAILURE_MEMORY_MS && inflight === undefined) {
        throw providerFailure(lastFailure.error, 'discovery');
      }
      return refresh();
    },

    status,

    async check() {
      try {
        const handle = await refresh();
        try {
          await handle.jwks.reload();
          markSuccess();
        } catch (err) {
          markFailure(err, 'JWKS');
          logger.warn({ err, issuer }, 'OIDC JWKS fetch failed');
        }
      } catch {
        // refresh() already recorded the failure.
      }
      return status();
    },

    recordFailure(err, what) {
      markFailure(err, what);
    },

    close() {
      http.close().catch(() => {});
    },
  };
}
