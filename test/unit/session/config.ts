/**
 * A complete, frozen `Config` for session tests, without reading the environment (the real
 * loader lives in src/config/ and is tested there).
 */
import type { Config } from '../../../src/config/types.js';

export interface TestConfigOverrides {
  readonly jwtSecretKeys?: readonly string[];
  readonly session?: Partial<Config['session']>;
  readonly database?: Config['database'];
  readonly cookie?: Partial<Config['cookie']>;
}

export function sqliteDatabase(path: string): Config['database'] {
  return {
    url: `sqlite:${path}`,
    kind: 'sqlite',
    sqlitePath: path,
    redactedUrl: `sqlite:${path}`,
    poolSize: 1,
    queryTimeoutSeconds: 5,
  };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

export function testConfig(overrides: TestConfigOverrides = {}): Config {
  const publicUrl = 'http://127.0.0.1:8000';
  const config: Config = {
    nodeEnv: 'test',
    production: false,
    host: '127.0.0.1',
    port: 8000,
    publicUrl,
    publicOrigin: publicUrl,
    redirectUrl: `${publicUrl}/auth`,
    frontendUrl: `${publicUrl}/`,
    frontendOrigin: publicUrl,
    allowedReturnOrigins: [publicUrl],
    corsOrigins: [],
    trustedOrigins: [publicUrl],
    oidc: {
      issuer: 'http://127.0.0.1:8000/dev-idp',
      clientId: 'gatehouse-test',
      clientSecret: 'test-client-secret',
      devProvider: true,
      allowInsecureIssuer: true,
      timeoutSeconds: 10,
      clockSkewSeconds: 30,
      scopes: 'openid email profile',
    },
    policy: { hostedDomains: [], emailDomains: [], emails: [] },
    secrets: {
      secretKey: 'test-secret-key-0123456789abcdef0123456789abcdef',
      jwtSecretKeys: overrides.jwtSecretKeys ?? ['test-jwt-key-0123456789abcdef0123456789abcdef'],
      generated: false,
    },
    database: overrides.database ?? sqliteDatabase(':memory:'),
    redis: { url: undefined, redactedUrl: undefined },
    trustProxy: [],
    session: {
      ttlSeconds: 7 * 86_400,
      idleTtlSeconds: 86_400,
      tokenTtlSeconds: 900,
      revocationPollSeconds: 1,
      ...overrides.session,
    },
    cookie: {
      name: 'gatehouse',
      secure: false,
      domain: undefined,
      transactionPrefix: 'gatehouse_tx',
      ...overrides.cookie,
    },
    rateLimit: { auth: { max: 30, windowSeconds: 60 }, api: { max: 600, windowSeconds: 60 } },
    chat: {
      apiUrl: undefined,
      apiKey: undefined,
      model: undefined,
      timeoutSeconds: 30,
      maxMessageLength: 4000,
    },
    metrics: { port: undefined },
    audit: { retentionSeconds: 90 * 86_400 },
    authz: {
      bootstrapAdmins: [],
      accessRulesFile: undefined,
      accessRules: undefined,
      directory: undefined,
      allowedGroups: [],
    },
    logLevel: 'silent',
    logPretty: false,
  };
  return deepFreeze(config);
}
