/**
 * Configs for oidc/ unit tests, built by the real loader (test/helpers/config.ts) from the
 * settings these tests vary.
 */
import type { Config } from '../../../../src/config/types.js';
import { testConfig as loadTestConfig, seconds } from '../../../helpers/config.js';

export interface TestConfigInput {
  readonly issuer: string;
  readonly clientId?: string;
  readonly clientSecret?: string;
  readonly secretKey?: string;
  readonly publicUrl?: string;
  readonly frontendUrl?: string;
  readonly allowedReturnOrigins?: readonly string[];
  readonly policy?: Partial<Config['policy']>;
  /** Whole seconds, as OIDC_TIMEOUT takes them. */
  readonly timeoutSeconds?: number;
  readonly clockSkewSeconds?: number;
}

const list = (values: readonly string[] | undefined): string | undefined => values?.join(',');

export function testConfig(input: TestConfigInput): Config {
  return loadTestConfig({
    OIDC_ISSUER: input.issuer,
    GOOGLE_CLIENT_ID: input.clientId ?? 'gatehouseTestClient',
    GOOGLE_CLIENT_SECRET: input.clientSecret ?? 'gatehouseTestClientSecret0123456789',
    SECRET_KEY: input.secretKey,
    PUBLIC_URL: input.publicUrl,
    FRONTEND_URL: input.frontendUrl,
    ALLOWED_RETURN_ORIGINS: list(input.allowedReturnOrigins),
    GOOGLE_HOSTED_DOMAINS: list(input.policy?.hostedDomains),
    ALLOWED_EMAIL_DOMAINS: list(input.policy?.emailDomains),
    ALLOWED_EMAILS: list(input.policy?.emails),
    OIDC_TIMEOUT: seconds(input.timeoutSeconds ?? 5),
    OIDC_CLOCK_SKEW: input.clockSkewSeconds === undefined ? undefined : seconds(input.clockSkewSeconds),
    RATE_LIMIT_AUTH: '1000/1m',
    RATE_LIMIT_API: '1000/1m',
  });
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
