/**
 * The typed, frozen configuration. Only src/config/ reads the environment; everything else
 * receives a `Config`. Durations are in seconds, URLs are normalised strings without a
 * trailing slash unless noted.
 */

import type { AssertionKey } from '../assertion/keys.js';
import type { AccessRule } from '../authz/rules.js';

export type NodeEnv = 'development' | 'production' | 'test';
export type DatabaseKind = 'sqlite' | 'mysql' | 'postgres';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface RateLimit {
  /** requests allowed per window */
  readonly max: number;
  readonly windowSeconds: number;
}

/** One upstream of proxy mode (UPSTREAM_URL, or an UPSTREAMS entry). */
export interface Upstream {
  /** Path prefix it serves, matched on whole segments: `''` (everything) or `/api`. */
  readonly prefix: string;
  /** Origin plus optional base path, no trailing slash: `http://127.0.0.1:9000` or `http://h/base`. */
  readonly url: string;
  /** Origin of url: the default audience of identity assertions. */
  readonly origin: string;
}

export interface Config {
  readonly nodeEnv: NodeEnv;
  readonly production: boolean;
  readonly host: string;
  readonly port: number;

  /** External base URL of Gatehouse, no trailing slash, e.g. `https://api.example.com`. */
  readonly publicUrl: string;
  /** Origin of publicUrl, e.g. `https://api.example.com`. */
  readonly publicOrigin: string;
  /** The callback registered at the provider (REDIRECT_URL); never derived from request headers. */
  readonly redirectUrl: string;
  /** Where the browser goes after sign-in and sign-out (FRONTEND_URL), kept as given (may end with `/`). */
  readonly frontendUrl: string;
  readonly frontendOrigin: string;
  /** Origins (scheme://host[:port]) that `/login?return_to=` may point at. Always contains frontendOrigin and publicOrigin. */
  readonly allowedReturnOrigins: readonly string[];
  /**
   * ROUTE_PREFIX: where Gatehouse's own routes live, `''` or a path without trailing slash
   * (`/_gatehouse` by default in proxy mode). Cookie paths stay `/`.
   */
  readonly routePrefix: string;
  /** Exact origins allowed by CORS with credentials. */
  readonly corsOrigins: readonly string[];
  /** Origins whose cookie-authenticated state-changing requests are accepted (public, frontend, CORS origins). */
  readonly trustedOrigins: readonly string[];

  readonly oidc: {
    readonly issuer: string;
    readonly clientId: string;
    readonly clientSecret: string;
    /** True when no Google credentials are configured outside production: the embedded provider serves at `${publicUrl}${routePrefix}/dev-idp`. */
    readonly devProvider: boolean;
    /** True when the issuer is http:// on a loopback host (allowed, but loud in logs). */
    readonly allowInsecureIssuer: boolean;
    /** Provider HTTP timeout (OIDC_TIMEOUT, default 10s). */
    readonly timeoutSeconds: number;
    /** Tolerated clock skew for ID-token time claims (OIDC_CLOCK_SKEW, default 30s). */
    readonly clockSkewSeconds: number;
    /** OIDC_SCOPES, default `openid email profile`. */
    readonly scopes: string;
  };

  /** ID-token sign-in and refresh tokens (src/config/native.ts). */
  readonly native: {
    /** GOOGLE_NATIVE_CLIENT_IDS: Android/iOS client ids accepted besides `oidc.clientId`. */
    readonly clientIds: readonly string[];
    /** ID_TOKEN_MAX_AGE (default 5m): an ID token older than this (by `iat`) is refused. */
    readonly idTokenMaxAgeSeconds: number;
    /** REFRESH_REUSE_GRACE (default 10s): a rotated refresh token retried within this gets the same successor. */
    readonly refreshReuseGraceSeconds: number;
  };

  /** Who may sign in; empty lists mean "no restriction of that kind". Lower-case. */
  readonly policy: {
    readonly hostedDomains: readonly string[];
    readonly emailDomains: readonly string[];
    readonly emails: readonly string[];
  };

  readonly secrets: {
    /** SECRET_KEY: seals the login-transaction cookie. */
    readonly secretKey: string;
    /** JWT_SECRET_KEY, split on commas: the first signs, all verify. */
    readonly jwtSecretKeys: readonly string[];
    /** True when the secrets were generated for this process (development only). */
    readonly generated: boolean;
  };

  readonly database: {
    readonly url: string;
    readonly kind: DatabaseKind;
    /** For sqlite: the file path (or `:memory:`). */
    readonly sqlitePath: string | undefined;
    /** The URL with any password replaced by `***`, safe to log. */
    readonly redactedUrl: string;
    /** DATABASE_POOL_SIZE, default 10. */
    readonly poolSize: number;
    /** DATABASE_QUERY_TIMEOUT, default 5s. */
    readonly queryTimeoutSeconds: number;
  };

  readonly redis: {
    readonly url: string | undefined;
    readonly redactedUrl: string | undefined;
  };

  /** TRUST_PROXY: addresses / CIDRs of proxies whose X-Forwarded-* headers are believed. Empty = off. */
  readonly trustProxy: readonly string[];

  readonly session: {
    /** SESSION_TTL: absolute lifetime. */
    readonly ttlSeconds: number;
    /** SESSION_IDLE_TTL. */
    readonly idleTtlSeconds: number;
    /** TOKEN_TTL: lifetime of one session token. */
    readonly tokenTtlSeconds: number;
    /** REVOCATION_POLL_INTERVAL, default 1s. */
    readonly revocationPollSeconds: number;
  };

  readonly cookie: {
    /** `__Host-gatehouse` over https, `__Secure-gatehouse` with a domain, `gatehouse` on plain http. */
    readonly name: string;
    readonly secure: boolean;
    /** COOKIE_DOMAIN, for a shared parent domain. */
    readonly domain: string | undefined;
    /** Prefix of the login-transaction cookies. */
    readonly transactionPrefix: string;
  };

  readonly rateLimit: {
    /** RATE_LIMIT_AUTH, e.g. `30/1m`, for /login, /auth and token routes per client IP. */
    readonly auth: RateLimit;
    /** RATE_LIMIT_API, for the signed-in API routes, per client IP and per user (SECURITY.md 46). */
    readonly api: RateLimit;
  };

  readonly chat: {
    readonly apiUrl: string | undefined;
    readonly apiKey: string | undefined;
    readonly model: string | undefined;
    readonly timeoutSeconds: number;
    readonly maxMessageLength: number;
  };

  /** Proxy mode; `upstreams` is empty in standalone mode. */
  readonly proxy: {
    /** Longest prefix first: the first whose prefix matches serves the request. */
    readonly upstreams: readonly Upstream[];
    /** PUBLIC_PATHS: proxied without sign-in. `*` = one segment, final `**` = any depth. */
    readonly publicPaths: readonly string[];
    /** UPSTREAM_TIMEOUT: time to the upstream's response headers. */
    readonly timeoutSeconds: number;
    /** PRESERVE_HOST: pass the client's Host instead of the upstream's. */
    readonly preserveHost: boolean;
  };

  readonly server: {
    /** REQUEST_TIMEOUT: the whole request (headers and body) must arrive within it. */
    readonly requestTimeoutSeconds: number;
    /** KEEP_ALIVE_TIMEOUT: idle keep-alive connections are closed after it. */
    readonly keepAliveTimeoutSeconds: number;
  };

  readonly metrics: {
    /** METRICS_PORT: serve /metrics only there; undefined = on the main port. */
    readonly port: number | undefined;
    /**
     * METRICS_ALLOW: on the main port, /metrics answers only these addresses/CIDRs (default
     * loopback), and never a request relayed by a proxy Gatehouse does not trust (SECURITY.md 47).
     */
    readonly allow: readonly string[];
  };

  readonly audit: {
    /** AUDIT_RETENTION, default 90d. */
    readonly retentionSeconds: number;
  };

  /** Identity for upstreams (src/config/assertion.ts). */
  readonly assertion: {
    /** ASSERTION_KEYS, validated: the first signs, all are published. Empty: see devKeyFile. */
    readonly keys: readonly AssertionKey[];
    /** Outside production without ASSERTION_KEYS: the file a generated key is kept in. */
    readonly devKeyFile: string | undefined;
    /** ASSERTION_AUDIENCE: `aud` when a request names none (default: PUBLIC_URL's origin). */
    readonly audience: string | undefined;
  };
  /** DESIGN.md "Authorization" (src/config/authz.ts). */
  readonly authz: {
    /** BOOTSTRAP_ADMINS: lower-case emails that get `admin` at sign-in. */
    readonly bootstrapAdmins: readonly string[];
    /** ACCESS_RULES_FILE, resolved to an absolute path. */
    readonly accessRulesFile: string | undefined;
    /** The validated rules (compiled by src/authz/rules.ts at start). */
    readonly accessRules: readonly AccessRule[] | undefined;
    /** GOOGLE_GROUPS=directory; undefined when off. */
    readonly directory:
      | {
          readonly serviceAccountFile: string;
          readonly adminEmail: string;
          /** GOOGLE_DIRECTORY_URL, no trailing slash. */
          readonly baseUrl: string;
          /** DIRECTORY_RECHECK. */
          readonly recheckSeconds: number;
          /** DIRECTORY_MAX_STALE. */
          readonly maxStaleSeconds: number;
        }
      | undefined;
    /** ALLOWED_GROUPS: lower-case group emails; empty = no group restriction. */
    readonly allowedGroups: readonly string[];
  };

  readonly logLevel: LogLevel;
  /** Pretty logs in development, JSON in production (LOG_FORMAT=json|pretty overrides). */
  readonly logPretty: boolean;
}

/** One problem found while reading the configuration. */
export interface ConfigProblem {
  readonly variable: string;
  readonly message: string;
}
