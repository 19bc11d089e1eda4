import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES } from '../../../src/config/index.js';
import { configError, type Env } from './helpers.js';

/** Variables whose value is free-form text (credentials, model names); each has its own tests elsewhere. */
const FREE_FORM = [
  'GOOGLE_CLIENT_ID',
  'GOOGLE_CLIENT_SECRET',
  'SECRET_KEY',
  'CHAT_API_KEY',
  'CHAT_MODEL',
  // A path, read at start (test/unit/authz/directory.test.ts, test/cli/authz-commands.test.ts).
  'GOOGLE_SERVICE_ACCOUNT_FILE',
];
const DIRECTORY: Env = { GOOGLE_GROUPS: 'directory', GOOGLE_SERVICE_ACCOUNT_FILE: 'key.json' };

const CHAT: Env = { CHAT_API_KEY: 'sk-test', CHAT_MODEL: 'small' };
const CLIENT: Env = { GOOGLE_CLIENT_ID: 'id', GOOGLE_CLIENT_SECRET: 'secret' };

/** [variable, value, expected message, extra variables needed to reach the check]. */
const CASES: Array<[string, string, RegExp, Env?]> = [
  ['NODE_ENV', 'prod', /not one of: development, production, test/],
  ['HOST', 'not a host!', /not an IP address or host name/],
  ['PORT', '70000', /0 to 65535/],
  ['PORT', '-1', /not a port/],
  ['PUBLIC_URL', 'gate.example.com', /absolute http\(s\) URL/],
  ['PUBLIC_URL', 'ftp://gate.example.com', /http:\/\/ or https:\/\//],
  ['PUBLIC_URL', 'https://user:pw@gate.example.com', /user name or password/],
  ['PUBLIC_URL', 'https://gate.example.com/?x=1', /query/],
  ['PUBLIC_URL', 'https://gate.example.com/#top', /fragment/],
  ['REDIRECT_URL', 'https://gate.example.com/auth#x', /fragment/],
  ['FRONTEND_URL', 'javascript:alert(1)', /http:\/\/ or https:\/\//],
  ['ALLOWED_RETURN_ORIGINS', 'https://app.example.com/path', /exact origin/],
  ['CORS_ORIGINS', '*', /wildcard origin with credentials/],
  ['CORS_ORIGINS', 'null', /"null" is not allowed/],
  [
    'COOKIE_DOMAIN',
    'example.org',
    /neither .* nor a parent domain/,
    { PUBLIC_URL: 'https://app.example.com' },
  ],
  ['COOKIE_DOMAIN', '*.example.com', /not a domain name/],
  ['TRUST_PROXY', 'true', /TRUST_PROXY never means "everything"/],
  ['TRUST_PROXY', '::/0', /TRUST_PROXY never means "everything"/],
  ['TRUST_PROXY', 'my-proxy', /IP address or CIDR/],
  ['OIDC_ISSUER', 'http://idp.example.com', /loopback/, CLIENT],
  ['OIDC_ISSUER', 'https://idp.example.com/?tenant=1', /query or fragment/, CLIENT],
  ['OIDC_TIMEOUT', '0', /longer than zero/],
  ['OIDC_CLOCK_SKEW', '-30s', /not a duration/],
  ['OIDC_SCOPES', 'email profile', /must include openid/],
  ['OIDC_SCOPES', 'openid "email"', /not a scope/],
  ['GOOGLE_HOSTED_DOMAINS', '*.example.com', /not a domain name/],
  ['ALLOWED_EMAIL_DOMAINS', '@example.com', /not a domain name/],
  ['ALLOWED_EMAILS', 'ada', /not an email address/],
  ['JWT_SECRET_KEY', ' , ', /lists no key/],
  ['DATABASE_URL', 'mongodb://db/gate', /unsupported scheme/],
  ['DATABASE_URL', 'sqlite://gate.db', /sqlite:\/\/ form is not used/],
  ['DATABASE_POOL_SIZE', '0', /out of range: use 1 to 1000/],
  ['DATABASE_QUERY_TIMEOUT', '1.5s', /not a duration/],
  ['REDIS_URL', 'http://127.0.0.1:6379', /redis:\/\/ or rediss:\/\//],
  ['SESSION_TTL', '7 days', /not a duration/],
  ['SESSION_IDLE_TTL', '1w', /not a duration/],
  ['TOKEN_TTL', '0s', /longer than zero/],
  ['REVOCATION_POLL_INTERVAL', 'often', /not a duration/],
  // Never silently turned into another interval: 0 (or less) is refused like every other limit.
  ['REVOCATION_POLL_INTERVAL', '0', /longer than zero/],
  ['REVOCATION_POLL_INTERVAL', '-1s', /not a duration/],
  ['RATE_LIMIT_AUTH', '30', /MAX\/WINDOW/],
  ['GOOGLE_NATIVE_CLIENT_IDS', 'a b', /not a client id/],
  ['ID_TOKEN_MAX_AGE', '2h', /at most 1h/],
  ['REFRESH_REUSE_GRACE', 'soon', /not a duration/],
  ['RATE_LIMIT_API', '0/1m', /at least 1/],
  ['CHAT_API_URL', 'llm.example.com', /absolute http\(s\) URL/, CHAT],
  ['CHAT_TIMEOUT', '0', /longer than zero/],
  ['CHAT_MAX_MESSAGE_LENGTH', 'long', /not a whole number/],
  ['METRICS_PORT', '65536', /0 to 65535/],
  ['METRICS_ALLOW', '0.0.0.0/0', /never every address/],
  ['DEV_PROVIDER', 'everywhere', /not one of: loopback, anywhere/],
  ['REQUEST_TIMEOUT', '0', /longer than zero/],
  ['KEEP_ALIVE_TIMEOUT', 'long', /not a duration/],
  ['AUDIT_RETENTION', 'forever', /not a duration/],
  ['UPSTREAM_URL', 'ftp://api.internal', /http:\/\/ or https:\/\//],
  ['UPSTREAMS', '/api', /PREFIX=URL/],
  ['ROUTE_PREFIX', 'gatehouse', /must start with \//],
  ['PUBLIC_PATHS', '/static/*.css', /whole segment/, { UPSTREAM_URL: 'http://127.0.0.1:9000' }],
  ['UPSTREAM_TIMEOUT', 'never', /not a duration/, { UPSTREAM_URL: 'http://127.0.0.1:9000' }],
  ['PRESERVE_HOST', 'maybe', /not a boolean/, { UPSTREAM_URL: 'http://127.0.0.1:9000' }],
  ['LOG_LEVEL', 'verbose', /not one of: fatal, error, warn, info, debug, trace, silent/],
  ['LOG_FORMAT', 'xml', /not one of: json, pretty/],
  ['ASSERTION_KEYS', 'not-a-key', /neither a JWK .* nor a PEM block/],
  ['ASSERTION_KEYS', '{"kty":"RSA","n":"x","e":"AQAB","d":"y"}', /is an RSA key/],
  ['ASSERTION_AUDIENCE', 'api.example.com', /not a URL/],
  ['ASSERTION_AUDIENCE', 'ftp://api.example.com', /must be http or https/],
  ['BOOTSTRAP_ADMINS', 'ada', /not an email address/],
  ['ACCESS_RULES_FILE', '/nonexistent/rules.json', /cannot be read \(ENOENT\)/],
  ['GOOGLE_GROUPS', 'yes', /not one of: off, directory/],
  ['GOOGLE_ADMIN_EMAIL', 'admin', /not an email address/, DIRECTORY],
  ['GOOGLE_DIRECTORY_URL', 'admin.googleapis.com', /absolute http\(s\) URL/],
  ['ALLOWED_GROUPS', 'ops', /not an email address/, { ...DIRECTORY, GOOGLE_ADMIN_EMAIL: 'it@example.com' }],
  ['ALLOWED_GROUPS', 'ops@example.com', /needs GOOGLE_GROUPS=directory/],
  ['DIRECTORY_RECHECK', 'soon', /not a duration/],
  ['DIRECTORY_MAX_STALE', '1m', /must not be shorter than DIRECTORY_RECHECK/],
];

describe('malformed values', () => {
  it.each(CASES)('%s=%j is reported with the accepted format', (variable, value, pattern, extra) => {
    const error = configError({ ...extra, [variable]: value });
    expect(error.problems).toEqual([{ variable, message: expect.stringMatching(pattern) }]);
    expect(error.message).toContain(`  - ${variable}: `);
  });

  it('every documented variable is either validated above or free-form', () => {
    const covered = new Set([...CASES.map(([variable]) => variable), ...FREE_FORM]);
    expect(CONFIG_VARIABLES.filter((name) => !covered.has(name))).toEqual([]);
  });

  it('URL problems never echo the value, which may hold a password', () => {
    const error = configError({
      DATABASE_URL: 'mongodb://admin:hunter2@db/gate',
      REDIS_URL: 'http://:hunter2@cache',
      PUBLIC_URL: 'https://me:hunter2@gate.example.com',
    });
    expect(error.problems).toHaveLength(3);
    expect(error.message).not.toContain('hunter2');
  });
});
