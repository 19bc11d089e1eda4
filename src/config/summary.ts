/**
 * A flat, safe-to-log view of the configuration: secrets appear only as "set"/"generated"/"unset",
 * URLs that may carry credentials appear redacted.
 */

import { redactUrl } from './parse.js';
import type { Config } from './types.js';

type SummaryValue = string | number | boolean;

function secretState(value: string | undefined, generated = false): string {
  if (value === undefined) return 'unset';
  return generated ? 'generated' : 'set';
}

function list(values: readonly string[]): string {
  return values.length === 0 ? '(none)' : values.join(', ');
}

/** A URL that may carry an API key in its query: keep only origin and path. */
function withoutQuery(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}${parsed.search === '' ? '' : '?***'}`;
  } catch {
    return '***';
  }
}

export function summarizeConfig(config: Config): Record<string, SummaryValue> {
  const summary: Record<string, SummaryValue> = {
    nodeEnv: config.nodeEnv,
    production: config.production,
    host: config.host,
    port: config.port,
    publicUrl: config.publicUrl,
    redirectUrl: config.redirectUrl,
    frontendUrl: config.frontendUrl,
    allowedReturnOrigins: list(config.allowedReturnOrigins),
    corsOrigins: list(config.corsOrigins),
    trustedOrigins: list(config.trustedOrigins),
    'oidc.issuer': config.oidc.issuer,
    // The client ID is public (it appears in every authorization URL); the secret is not.
    'oidc.clientId': config.oidc.clientId,
    'oidc.clientSecret': secretState(config.oidc.clientSecret, config.oidc.devProvider),
    'oidc.devProvider': config.oidc.devProvider,
    'oidc.allowInsecureIssuer': config.oidc.allowInsecureIssuer,
    'oidc.timeoutSeconds': config.oidc.timeoutSeconds,
    'oidc.clockSkewSeconds': config.oidc.clockSkewSeconds,
    'oidc.scopes': config.oidc.scopes,
    'policy.hostedDomains': list(config.policy.hostedDomains),
    'policy.emailDomains': list(config.policy.emailDomains),
    'policy.emails': list(config.policy.emails),
    'secrets.secretKey': secretState(config.secrets.secretKey, config.secrets.generated),
    'secrets.jwtSecretKeys': secretState(config.secrets.jwtSecretKeys[0], config.secrets.generated),
    'secrets.jwtKeyCount': config.secrets.jwtSecretKeys.length,
    'database.kind': config.database.kind,
    'database.url': config.database.redactedUrl,
    'database.poolSize': config.database.poolSize,
    'database.queryTimeoutSeconds': config.database.queryTimeoutSeconds,
    'redis.url':
      config.redis.url === undefined ? 'unset' : (config.redis.redactedUrl ?? redactUrl(config.redis.url)),
    trustProxy: config.trustProxy.length === 0 ? 'off' : config.trustProxy.join(', '),
    'session.ttlSeconds': config.session.ttlSeconds,
    'session.idleTtlSeconds': config.session.idleTtlSeconds,
    'session.tokenTtlSeconds': config.session.tokenTtlSeconds,
    'session.revocationPollSeconds': config.session.revocationPollSeconds,
    'cookie.name': config.cookie.name,
    'cookie.secure': config.cookie.secure,
    'cookie.domain': config.cookie.domain ?? '(host only)',
    'cookie.transactionPrefix': config.cookie.transactionPrefix,
    'rateLimit.auth': `${config.rateLimit.auth.max}/${config.rateLimit.auth.windowSeconds}s`,
    'rateLimit.api': `${config.rateLimit.api.max}/${config.rateLimit.api.windowSeconds}s`,
    'chat.apiUrl': config.chat.apiUrl === undefined ? 'unset' : withoutQuery(config.chat.apiUrl),
    'chat.apiKey': secretState(config.chat.apiKey),
    'chat.model': config.chat.model ?? 'unset',
    'chat.timeoutSeconds': config.chat.timeoutSeconds,
    'chat.maxMessageLength': config.chat.maxMessageLength,
    'metrics.port': config.metrics.port ?? 'main port',
    'audit.retentionSeconds': config.audit.retentionSeconds,
    // Key ids are public (the JWKS publishes them); the keys themselves never appear here.
    'assertion.keys':
      config.assertion.devKeyFile !== undefined
        ? `development key in ${config.assertion.devKeyFile}`
        : config.assertion.keys.length === 0
          ? 'unset (no assertions)'
          : `${config.assertion.keys.length} (signing kid ${config.assertion.keys[0]!.kid})`,
    'assertion.audience': config.assertion.audience ?? `${config.publicOrigin} (default)`,
    logLevel: config.logLevel,
    logPretty: config.logPretty,
  };
  return summary;
}
