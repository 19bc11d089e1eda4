/**
 * Builds a `Config` from one map of variables, reading every variable even after a problem so
 * that all problems are reported together. Returns undefined when any problem was recorded.
 */

import { resolveAssertion } from './assertion.js';
import { resolveAuthz } from './authz.js';
import { resolveNative } from './native.js';
import { resolveOidc } from './oidc.js';
import {
  type DatabaseUrl,
  fail,
  isLoopbackHost,
  ok,
  type Parsed,
  parseDatabaseUrl,
  parseDomain,
  parseDuration,
  parseEach,
  parseEmail,
  parseEnum,
  parseHost,
  parseHttpUrl,
  parseInteger,
  parsePort,
  parseRateLimit,
  parseRedisUrl,
  parseTrustProxy,
  parseTrustProxyEntry,
  unique,
} from './parse.js';
import { resolveProxy } from './proxy.js';
import type { EnvReader } from './reader.js';
import { resolveSecrets } from './secrets.js';
import type { Config, LogLevel, NodeEnv } from './types.js';
import { resolveUrls } from './urls.js';

const NODE_ENVS: readonly NodeEnv[] = ['development', 'production', 'test'];
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
export const DEFAULT_DATABASE_URL = 'sqlite:./data/gatehouse.db';

/** A duration longer than zero (the default for every duration but OIDC_CLOCK_SKEW). */
function positive(raw: string): Parsed<number> {
  return parseDuration(raw);
}

/** A comma list whose entries each parse, without duplicates. */
function uniqueList(parseOne: (entry: string) => Parsed<string>): (raw: string) => Parsed<string[]> {
  return (raw) => {
    const parsed = parseEach(raw, parseOne);
    return parsed.ok ? ok(unique(parsed.value)) : parsed;
  };
}

function resolveSession(reader: EnvReader): Config['session'] | undefined {
  const ttlSeconds = reader.read('SESSION_TTL', positive, 7 * 86_400);
  const idleTtlSeconds = reader.read('SESSION_IDLE_TTL', positive, 86_400);
  const tokenTtlSeconds = reader.read('TOKEN_TTL', positive, 15 * 60);
  const revocationPollSeconds = reader.read('REVOCATION_POLL_INTERVAL', positive, 1);
  // An idle limit beyond the absolute one, or a token outliving the idle limit, would make the
  // shorter limit meaningless (the token alone would keep an idle session usable).
  if (ttlSeconds !== undefined && idleTtlSeconds !== undefined && idleTtlSeconds > ttlSeconds) {
    reader.problem(
      'SESSION_IDLE_TTL',
      `(${idleTtlSeconds}s) must not be longer than SESSION_TTL (${ttlSeconds}s)`,
    );
  }
  if (idleTtlSeconds !== undefined && tokenTtlSeconds !== undefined && tokenTtlSeconds > idleTtlSeconds) {
    reader.problem(
      'TOKEN_TTL',
      `(${tokenTtlSeconds}s) must not be longer than SESSION_IDLE_TTL (${idleTtlSeconds}s)`,
    );
  }
  if (
    ttlSeconds === undefined ||
    idleTtlSeconds === undefined ||
    tokenTtlSeconds === undefined ||
    revocationPollSeconds === undefined
  ) {
    return undefined;
  }
  return { ttlSeconds, idleTtlSeconds, tokenTtlSeconds, revocationPollSeconds };
}

function defaultDatabase(): DatabaseUrl {
  const parsed = parseDatabaseUrl(DEFAULT_DATABASE_URL);
  if (!parsed.ok) throw new Error('the default DATABASE_URL does not parse');
  return parsed.value;
}

function resolveDatabase(reader: EnvReader): Config['database'] | undefined {
  const db = reader.read('DATABASE_URL', parseDatabaseUrl, defaultDatabase());
  const poolSize = reader.read('DATABASE_POOL_SIZE', (raw) => parseInteger(raw, 1, 1000), 10);
  const queryTimeoutSeconds = reader.read('DATABASE_QUERY_TIMEOUT', positive, 5);
  if (db === undefined || poolSize === undefined || queryTimeoutSeconds === undefined) return undefined;
  return { ...db, poolSize, queryTimeoutSeconds };
}

function resolveChat(reader: EnvReader, production: boolean): Config['chat'] | undefined {
  const url = reader.read('CHAT_API_URL', (raw) => parseHttpUrl(raw, { allowQuery: true }), undefined);
  // The API key travels with every request: in production only over TLS, or to this machine.
  if (production && url !== undefined && url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    reader.problem(
      'CHAT_API_URL',
      'must be https in production unless its host is loopback (CHAT_API_KEY would cross the network in clear text)',
    );
    return undefined;
  }
  const apiKey = reader.raw('CHAT_API_KEY');
  const model = reader.raw('CHAT_MODEL');
  const timeoutSeconds = reader.read('CHAT_TIMEOUT', positive, 30);
  const maxMessageLength = reader.read(
    'CHAT_MAX_MESSAGE_LENGTH',
    (raw) => parseInteger(raw, 1, 1_000_000),
    4000,
  );
  const names = ['CHAT_API_URL', 'CHAT_API_KEY', 'CHAT_MODEL'];
  const set = names.filter((name) => reader.isSet(name));
  if (set.length > 0 && set.length < names.length) {
    for (const name of names.filter((n) => !set.includes(n))) {
      reader.problem(
        name,
        `is required when ${set.join(' and ')} is set: set CHAT_API_URL, CHAT_API_KEY and CHAT_MODEL together, or none`,
      );
    }
    return undefined;
  }
  if (timeoutSeconds === undefined || maxMessageLength === undefined) return undefined;
  if (url === undefined && reader.isSet('CHAT_API_URL')) return undefined;
  return { apiUrl: url?.href, apiKey, model, timeoutSeconds, maxMessageLength };
}

/** METRICS_ALLOW: addresses or CIDRs (or `loopback`); never "everyone". */
function parseMetricsAllow(raw: string): Parsed<string[]> {
  const parsed = parseEach(raw, (entry) => {
    const one = parseTrustProxyEntry(entry);
    return one.ok
      ? one
      : fail<string[]>(
          `${JSON.stringify(entry.trim())} is not an IP address, a CIDR such as 10.0.0.0/8, or loopback (and never every address: use METRICS_PORT on a private interface for that)`,
        );
  });
  return parsed.ok ? ok(unique(parsed.value.flat())) : parsed;
}

export function resolveConfig(reader: EnvReader, cwd: string = process.cwd()): Config | undefined {
  const nodeEnv = reader.read('NODE_ENV', (raw) => parseEnum(raw, NODE_ENVS), 'development');
  const production = nodeEnv === 'production';
  const host = reader.read('HOST', parseHost, '127.0.0.1');
  const port = reader.read('PORT', parsePort, 8000);
  const requestTimeoutSeconds = reader.read('REQUEST_TIMEOUT', positive, 30);
  const keepAliveTimeoutSeconds = reader.read('KEEP_ALIVE_TIMEOUT', positive, 72);

  const proxied = resolveProxy(reader);
  const urls = resolveUrls(reader, production, port, proxied?.routePrefix);
  const secrets = resolveSecrets(reader, production);
  const oidc = resolveOidc(reader, production, urls?.publicUrl, secrets?.secretKey, host, urls?.routePrefix);
  const native = resolveNative(reader);
  const policy = {
    hostedDomains: reader.read('GOOGLE_HOSTED_DOMAINS', uniqueList(parseDomain), []),
    emailDomains: reader.read('ALLOWED_EMAIL_DOMAINS', uniqueList(parseDomain), []),
    emails: reader.read('ALLOWED_EMAILS', uniqueList(parseEmail), []),
  };
  const database = resolveDatabase(reader);
  const redis = reader.read('REDIS_URL', parseRedisUrl, undefined);
  const trustProxy = reader.read('TRUST_PROXY', parseTrustProxy, []);
  const session = resolveSession(reader);
  const rateLimit = {
    auth: reader.read('RATE_LIMIT_AUTH', parseRateLimit, { max: 30, windowSeconds: 60 }),
    api: reader.read('RATE_LIMIT_API', parseRateLimit, { max: 600, windowSeconds: 60 }),
  };
  const chat = resolveChat(reader, production);
  const metricsPort = reader.read('METRICS_PORT', parsePort, undefined);
  if (metricsPort !== undefined && metricsPort !== 0 && metricsPort === port) {
    reader.problem(
      'METRICS_PORT',
      `must differ from PORT (${port}); leave it unset to serve /metrics on the main port`,
    );
  }
  const metricsAllow = reader.read('METRICS_ALLOW', parseMetricsAllow, ['127.0.0.1/8', '::1']);
  const assertion = resolveAssertion(reader, nodeEnv, database?.sqlitePath);
  const retentionSeconds = reader.read('AUDIT_RETENTION', positive, 90 * 86_400);
  const authz = resolveAuthz(reader, cwd);
  const logLevel = reader.read('LOG_LEVEL', (raw) => parseEnum(raw, LOG_LEVELS), 'info');
  const logFormat = reader.read(
    'LOG_FORMAT',
    (raw) => parseEnum(raw, ['json', 'pretty'] as const),
    nodeEnv === 'development' ? 'pretty' : 'json',
  );

  if (reader.problems.length > 0) return undefined;
  // With no problem recorded every part resolved; this guard only narrows the types.
  if (
    nodeEnv === undefined ||
    host === undefined ||
    port === undefined ||
    requestTimeoutSeconds === undefined ||
    keepAliveTimeoutSeconds === undefined ||
    urls === undefined ||
    proxied === undefined ||
    secrets === undefined ||
    oidc === undefined ||
    native === undefined ||
    policy.hostedDomains === undefined ||
    policy.emailDomains === undefined ||
    policy.emails === undefined ||
    database === undefined ||
    trustProxy === undefined ||
    session === undefined ||
    rateLimit.auth === undefined ||
    rateLimit.api === undefined ||
    chat === undefined ||
    assertion === undefined ||
    retentionSeconds === undefined ||
    authz === undefined ||
    metricsAllow === undefined ||
    logLevel === undefined ||
    logFormat === undefined
  ) {
    throw new Error('configuration resolved with a missing part but no problem recorded');
  }
  return {
    nodeEnv,
    production,
    host,
    port,
    ...urls,
    oidc,
    native,
    policy: { hostedDomains: policy.hostedDomains, emailDomains: policy.emailDomains, emails: policy.emails },
    secrets,
    database,
    redis: { url: redis?.url, redactedUrl: redis?.redactedUrl },
    trustProxy,
    session,
    rateLimit: { auth: rateLimit.auth, api: rateLimit.api },
    chat,
    proxy: proxied.proxy,
    server: { requestTimeoutSeconds, keepAliveTimeoutSeconds },
    metrics: { port: metricsPort, allow: metricsAllow },
    audit: { retentionSeconds },
    assertion,
    authz,
    logLevel,
    logPretty: logFormat === 'pretty',
  };
}
