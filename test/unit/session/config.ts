/**
 * Session-test configs, built by the real loader (test/helpers/config.ts) from these overrides.
 */
import type { Config } from '../../../src/config/types.js';
import { testConfig as loadTestConfig, seconds } from '../../helpers/config.js';

export interface TestConfigOverrides {
  readonly jwtSecretKeys?: readonly string[];
  readonly session?: Partial<Omit<Config['session'], 'revocationPollSeconds'>>;
  readonly database?: Config['database'];
  /**
   * Cookie settings laid over the loaded ones as they are, so cookie code can be shown to refuse
   * combinations the loader would never produce (a `__Host-` name with a domain, say).
   */
  readonly cookie?: Partial<Config['cookie']>;
}

/** The database part of a config for a SQLite file, as the loader makes it. */
export function sqliteDatabase(path: string): Config['database'] {
  return loadTestConfig({ DATABASE_URL: `sqlite:${path}` }).database;
}

export function testConfig(overrides: TestConfigOverrides = {}): Config {
  const { session } = overrides;
  const config = loadTestConfig({
    JWT_SECRET_KEY: overrides.jwtSecretKeys?.join(','),
    DATABASE_URL: overrides.database?.url,
    SESSION_TTL: session?.ttlSeconds === undefined ? undefined : seconds(session.ttlSeconds),
    SESSION_IDLE_TTL: session?.idleTtlSeconds === undefined ? undefined : seconds(session.idleTtlSeconds),
    TOKEN_TTL: session?.tokenTtlSeconds === undefined ? undefined : seconds(session.tokenTtlSeconds),
  });
  if (overrides.cookie === undefined) return config;
  return Object.freeze({ ...config, cookie: Object.freeze({ ...config.cookie, ...overrides.cookie }) });
}
