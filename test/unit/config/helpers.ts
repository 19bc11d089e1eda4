import { expect } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/index.js';
import type { Config, ConfigProblem } from '../../../src/config/types.js';

export type Env = Record<string, string | undefined>;

/** 32+ bytes each: strong enough for production. */
export const STRONG_SECRET = `${'S'.repeat(24)}secret-key-001`;
export const STRONG_JWT = `${'J'.repeat(24)}jwt-key-000001`;

/** A complete, valid production environment; tests remove or spoil one piece at a time. */
export const PRODUCTION: Env = {
  NODE_ENV: 'production',
  PUBLIC_URL: 'https://gate.example.com',
  GOOGLE_CLIENT_ID: '1234-abc.apps.googleusercontent.com',
  GOOGLE_CLIENT_SECRET: 'GOCSPX-client-secret-value',
  SECRET_KEY: STRONG_SECRET,
  JWT_SECRET_KEY: STRONG_JWT,
};

/**
 * Load without reading any .env file. Outside production the development provider is allowed off
 * loopback (DEV_PROVIDER=anywhere) unless the test says otherwise: most tests here are about other
 * settings on example.com URLs; SECURITY.md 48's own tests set DEV_PROVIDER themselves.
 */
export function load(env: Env): { config: Config; warnings: string[] } {
  const devAnywhere = env.NODE_ENV !== 'production' && !('DEV_PROVIDER' in env);
  return loadConfig({ env: devAnywhere ? { DEV_PROVIDER: 'anywhere', ...env } : env, dotenv: false });
}

/** The ConfigError that loading `env` must throw. */
export function configError(env: Env): ConfigError {
  try {
    load(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected loadConfig to throw a ConfigError');
}

export function problems(env: Env): readonly ConfigProblem[] {
  return configError(env).problems;
}

export function problemVariables(env: Env): string[] {
  return problems(env).map((problem) => problem.variable);
}
