/**
 * The one way tests build a Config: through the real loader (`loadConfig({ env })`), never by
 * hand, so a test config cannot drift from what the server runs with (STYLE habit 19). Only the
 * given environment counts: no .env file, no process.env.
 */
import { loadConfig } from '../../src/config/index.js';
import type { Config } from '../../src/config/types.js';

export type TestEnv = Readonly<Record<string, string | undefined>>;

/** What every test config starts from. */
export const TEST_ENV: TestEnv = {
  NODE_ENV: 'test',
  HOST: '127.0.0.1',
  PORT: '8000',
  PUBLIC_URL: 'http://127.0.0.1:8000',
  DATABASE_URL: 'sqlite::memory:',
  SECRET_KEY: 'test-secret-key-0123456789abcdef0123456789abcdef',
  JWT_SECRET_KEY: 'test-jwt-key-0123456789abcdef0123456789abcdef',
  LOG_LEVEL: 'silent',
  // Tests name example.com URLs without a provider; the development provider may start anyway
  // (outside tests it starts only on loopback: SECURITY.md 48).
  DEV_PROVIDER: 'anywhere',
};

/** TEST_ENV with `env` over it; a variable given as `undefined` keeps its default. */
export function testConfig(env: TestEnv = {}): Config {
  const merged: Record<string, string | undefined> = { ...TEST_ENV };
  for (const [name, value] of Object.entries(env)) if (value !== undefined) merged[name] = value;
  return loadConfig({ env: merged, cwd: '/nonexistent', dotenv: false }).config;
}

/** A duration setting in the loader's syntax. */
export const seconds = (value: number): string => `${value}s`;
