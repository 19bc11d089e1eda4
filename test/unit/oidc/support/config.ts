/**
 * A complete, typed Config for oidc/ unit tests (built by hand so these tests do not depend on the
 * environment reader; tsc keeps it in step with src/config/types.ts).
 */
import type { Config } from '../../../../src/config/types.js';

export interface TestConfigInput {
  readonly issuer: string;
  readonly clientId?: string;
  readonly clientSecret?: string;
  readonly secretKey?: string;
  readonly publicUrl?: string;
  readonly frontendUrl?: string;
  readonly allowedReturnOrigins?: readonly string[];
  readonly policy?: Partial<Config['policy']>;
  readonly timeoutSeconds?: number;
  readonly clockSkewSeconds?: number;
}

export function testConfig(input: TestConfigInput): Config {
  const publicUrl = input.publicUrl ?? 'http://127.0.0.1:8000';
  const publicOrigin = new URL(publicUrl).origin;
  const frontendUrl = input.frontendUrl ?? `${publicUrl}/`;
  const frontendOrigin = new URL(frontendUrl).origin;
  const issuerUrl = new URL(input.issuer);
  return {
    nodeEnv: 'test',
    production: false,
    host: '127.0.0.1',
    port: 8000,
    publicUrl,
    publicOrigin,
    redirectUrl: `${publicUrl}/auth`,
    frontendUrl,
    frontendOrigin,
    allowedReturnOrigins: input.allowedReturnOrigins ?? [...new Set([frontendOrigin, publicOrigin])],
    corsOrigins: [],
    trustedOrigins: [publicOrigin, frontendOrigin],
    oidc: {
      issuer: input.issuer,
      clientId: input.clientId ?? 'gatehouseTestClient',
      clientSecret: input.clientSecret ?? 'gatehouseTestClientSecret0123456789',
      devProvider: false,
      allowInsecureIssuer: issuerUrl.protocol === 'http:',
      timeoutSeconds: input.timeoutSeconds ?? 5,
      clockSkewSeconds: input.clockSkewSeconds ?? 30,
      scopes: 'openid email profile',
    },
    policy: {
      hostedDomains: input.policy?.hostedDomains ?? [],
      emailDomains: input.policy?.emailDomains ?? [],
      emails: input.policy?.emails ?? [],
    },
    secrets: {
      secretKey: input.secretKey ?? 'test-secret-key-0123456789abcdef0123456789abcdef',
      jwtSecretKeys: ['test-jwt-secret-0123456789abcdef0123456789abcdef'],
      generated: false,
    },
    database: {
      url: 'sqlite::memory:',
      kind: 'sqlite',
      sqlitePath: ':memory:',
      redactedUrl: 'sqlite::memory:',
      poolSize: 1,
      queryTimeoutSeconds: 5,
    },
    redis: { url: undefined, redactedUrl: undefined },
    trustProxy: [],
    session: { ttlSeconds: 604800, idleTtlSeconds: 86400, tokenTtlSeconds: 900, revocationPollSeconds: 1 },
    cookie: { name: 'gatehouse', secure: false, domain: undefined, transactionPrefix: 'gatehouse_tx_' },
    rateLimit: { auth: { max: 1000, windowSeconds: 60 }, api: { max: 1000, windowSeconds: 60 } },
    chat: {
      apiUrl: undefined,
      apiKey: undefined,
      model: undefined,
      timeoutSeconds: 10,
      maxMessageLength: 4000,
    },
    metrics: { port: undefined },
    audit: { retentionSeconds: 90 * 86400 },
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
}

/** The single-use store stand-in: a Set (consumeTransaction is a parameter, not our store). */
export function setConsumer(): {
  consume: (id: string, expiresAt: Date) => Promise<boolean>;
  used: Set<string>;
} {
  const used = new Set<string>();
  return {
    used,
    consume: async (id) => {
      if (used.has(id)) return false;
      used.add(id);
      return true;
    },
  };
}
