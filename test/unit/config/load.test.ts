import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/index.js';
import {
  configError,
  type Env,
  load,
  PRODUCTION,
  problems,
  problemVariables,
  STRONG_JWT,
  STRONG_SECRET,
} from './helpers.js';

const dirs: string[] = [];
function tempDir(dotenv?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-config-'));
  dirs.push(dir);
  if (dotenv !== undefined) writeFileSync(join(dir, '.env'), dotenv);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('defaults', () => {
  it('an empty environment gives a working development configuration', () => {
    const { config, warnings } = loadConfig({ env: {}, cwd: tempDir() });
    expect(config).toMatchObject({
      nodeEnv: 'development',
      production: false,
      host: '127.0.0.1',
      port: 8000,
      publicUrl: 'http://127.0.0.1:8000',
      publicOrigin: 'http://127.0.0.1:8000',
      redirectUrl: 'http://127.0.0.1:8000/auth',
      frontendUrl: 'http://127.0.0.1:8000/',
      frontendOrigin: 'http://127.0.0.1:8000',
      allowedReturnOrigins: ['http://127.0.0.1:8000'],
      corsOrigins: [],
      trustedOrigins: ['http://127.0.0.1:8000'],
      oidc: {
        issuer: 'http://127.0.0.1:8000/dev-idp',
        clientId: 'gatehouse-dev',
        devProvider: true,
        allowInsecureIssuer: true,
        timeoutSeconds: 10,
        clockSkewSeconds: 30,
        scopes: 'openid email profile',
      },
      policy: { hostedDomains: [], emailDomains: [], emails: [] },
      secrets: { generated: true },
      database: {
        url: 'sqlite:./data/gatehouse.db',
        kind: 'sqlite',
        sqlitePath: './data/gatehouse.db',
        redactedUrl: 'sqlite:./data/gatehouse.db',
        poolSize: 10,
        queryTimeoutSeconds: 5,
      },
      redis: { url: undefined, redactedUrl: undefined },
      trustProxy: [],
      session: {
        ttlSeconds: 604_800,
        idleTtlSeconds: 86_400,
        tokenTtlSeconds: 900,
        revocationPollSeconds: 1,
      },
      cookie: { name: 'gatehouse', secure: false, domain: undefined, transactionPrefix: 'gatehouse-tx-' },
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
      logLevel: 'info',
      logPretty: true,
    });
    expect(warnings.some((w) => /will not survive a restart/.test(w))).toBe(true);
    expect(warnings.some((w) => /development sign-in provider/.test(w))).toBe(true);
  });

  it('generates distinct 32-byte base64url secrets per process load', () => {
    const a = load({}).config.secrets;
    const b = load({}).config.secrets;
    expect(Buffer.from(a.secretKey, 'base64url')).toHaveLength(32);
    expect(a.secretKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a.jwtSecretKeys).toHaveLength(1);
    expect(Buffer.from(a.jwtSecretKeys[0]!, 'base64url')).toHaveLength(32);
    expect(a.secretKey).not.toBe(b.secretKey);
    expect(a.secretKey).not.toBe(a.jwtSecretKeys[0]);
  });

  it('logs JSON outside development unless LOG_FORMAT says otherwise', () => {
    expect(load({ NODE_ENV: 'test' }).config.logPretty).toBe(false);
    expect(load({ NODE_ENV: 'test', LOG_FORMAT: 'pretty' }).config.logPretty).toBe(true);
    expect(load({ LOG_FORMAT: 'JSON' }).config.logPretty).toBe(false);
  });

  it('treats empty and blank values as unset and trims the rest', () => {
    const { config } = load({ PORT: '', REDIS_URL: '   ', LOG_LEVEL: ' debug ' });
    expect(config.port).toBe(8000);
    expect(config.redis.url).toBeUndefined();
    expect(config.logLevel).toBe('debug');
  });

  it('a valid production environment loads without generated secrets or development provider', () => {
    const { config } = load(PRODUCTION);
    expect(config.production).toBe(true);
    expect(config.oidc).toMatchObject({
      devProvider: false,
      issuer: 'https://accounts.google.com',
      clientId: PRODUCTION.GOOGLE_CLIENT_ID,
      clientSecret: PRODUCTION.GOOGLE_CLIENT_SECRET,
      allowInsecureIssuer: false,
    });
    expect(config.secrets).toEqual({
      secretKey: STRONG_SECRET,
      jwtSecretKeys: [STRONG_JWT],
      generated: false,
    });
    expect(config.logPretty).toBe(false);
  });
});

describe('derived URLs and origins', () => {
  it('derives redirect and frontend from PUBLIC_URL, without its trailing slash', () => {
    const { config } = load({ PUBLIC_URL: 'https://Example.com/gate/' });
    expect(config.publicUrl).toBe('https://example.com/gate');
    expect(config.redirectUrl).toBe('https://example.com/gate/auth');
    expect(config.frontendUrl).toBe('https://example.com/gate/');
  });

  it('always includes the public and frontend origins, deduplicated', () => {
    const { config } = load({
      PUBLIC_URL: 'https://api.example.com',
      FRONTEND_URL: 'https://app.example.com/home',
      ALLOWED_RETURN_ORIGINS: 'https://docs.example.com, https://APP.example.com',
      CORS_ORIGINS: 'https://app.example.com,https://admin.example.com:8443',
    });
    expect(config.frontendUrl).toBe('https://app.example.com/home');
    expect(config.frontendOrigin).toBe('https://app.example.com');
    expect(config.allowedReturnOrigins).toEqual([
      'https://app.example.com',
      'https://api.example.com',
      'https://docs.example.com',
    ]);
    expect(config.corsOrigins).toEqual(['https://app.example.com', 'https://admin.example.com:8443']);
    expect(config.trustedOrigins).toEqual([
      'https://api.example.com',
      'https://app.example.com',
      'https://admin.example.com:8443',
    ]);
  });

  it('PORT=0 needs PUBLIC_URL; with it, an ephemeral port is fine', () => {
    expect(problems({ PORT: '0' })).toEqual([
      { variable: 'PUBLIC_URL', message: expect.stringMatching(/PORT=0/) },
    ]);
    expect(load({ PORT: '0', PUBLIC_URL: 'http://127.0.0.1:1' }).config.port).toBe(0);
  });

  it('warns when REDIRECT_URL is on another origin than PUBLIC_URL', () => {
    const { warnings } = load({
      PUBLIC_URL: 'https://a.example.com',
      REDIRECT_URL: 'https://b.example.com/auth',
    });
    expect(warnings.some((w) => /REDIRECT_URL .* not on PUBLIC_URL's origin/.test(w))).toBe(true);
  });

  it('lower-cases and deduplicates the sign-in policy lists', () => {
    const { config } = load({
      GOOGLE_HOSTED_DOMAINS: 'Example.com',
      ALLOWED_EMAIL_DOMAINS: 'example.com, EXAMPLE.com, other.org',
      ALLOWED_EMAILS: 'Ada@Example.com',
    });
    expect(config.policy).toEqual({
      hostedDomains: ['example.com'],
      emailDomains: ['example.com', 'other.org'],
      emails: ['ada@example.com'],
    });
  });
});

describe('production refusals', () => {
  it('names every missing credential and secret in one error', () => {
    const error = configError({ NODE_ENV: 'production' });
    expect(error.problems.map((p) => p.variable).sort()).toEqual([
      'GOOGLE_CLIENT_ID',
      'GOOGLE_CLIENT_SECRET',
      'JWT_SECRET_KEY',
      'SECRET_KEY',
    ]);
    for (const problem of error.problems) expect(problem.message).toMatch(/required in production/);
    expect(error.message).toMatch(/^Invalid configuration \(4 problems\):\n {2}- /);
  });

  it('names weak keys, and never prints them', () => {
    const error = configError({
      ...PRODUCTION,
      SECRET_KEY: 'hunter2',
      JWT_SECRET_KEY: `${STRONG_JWT},tiny-key`,
    });
    expect(error.problems).toEqual([
      { variable: 'SECRET_KEY', message: expect.stringMatching(/shorter than 32 bytes/) },
      { variable: 'JWT_SECRET_KEY', message: expect.stringMatching(/key 2 of 2 is shorter than 32 bytes/) },
    ]);
    expect(error.message).not.toContain('hunter2');
    expect(error.message).not.toContain('tiny-key');
  });

  it('counts bytes, not characters', () => {
    // 11 three-byte characters = 33 bytes.
    expect(load({ ...PRODUCTION, SECRET_KEY: '€'.repeat(11) }).config.secrets.secretKey).toBe('€'.repeat(11));
  });

  it('outside production, short keys are warnings', () => {
    const { config, warnings } = load({ SECRET_KEY: 'short', JWT_SECRET_KEY: 'also-short' });
    expect(config.secrets).toEqual({ secretKey: 'short', jwtSecretKeys: ['also-short'], generated: false });
    expect(
      warnings.filter((w) => /shorter than 32 bytes .*; production would refuse it/.test(w)),
    ).toHaveLength(2);
  });

  it('JWT_SECRET_KEY is a rotation list: the first signs, all verify', () => {
    const keys = load({ JWT_SECRET_KEY: ' new-key , old-key ' }).config.secrets.jwtSecretKeys;
    expect(keys).toEqual(['new-key', 'old-key']);
  });

  it('requires https for PUBLIC_URL, but only warns on a loopback host', () => {
    expect(problems({ ...PRODUCTION, PUBLIC_URL: 'http://gate.example.com' })).toEqual([
      { variable: 'PUBLIC_URL', message: expect.stringMatching(/must be https in production/) },
    ]);
    const { config, warnings } = load({ ...PRODUCTION, PUBLIC_URL: 'http://127.0.0.1:8000' });
    expect(config.cookie.secure).toBe(false);
    expect(warnings.some((w) => /PUBLIC_URL is plain http in production/.test(w))).toBe(true);
  });
});

describe('consistency checks', () => {
  it('SESSION_IDLE_TTL must not exceed SESSION_TTL, nor TOKEN_TTL SESSION_IDLE_TTL', () => {
    expect(problemVariables({ SESSION_TTL: '1d', SESSION_IDLE_TTL: '2d' })).toEqual(['SESSION_IDLE_TTL']);
    expect(problemVariables({ SESSION_IDLE_TTL: '10m', TOKEN_TTL: '15m' })).toEqual(['TOKEN_TTL']);
    expect(
      load({ SESSION_TTL: '1h', SESSION_IDLE_TTL: '1h', TOKEN_TTL: '1h' }).config.session.ttlSeconds,
    ).toBe(3600);
  });

  it('METRICS_PORT must differ from PORT', () => {
    expect(problemVariables({ PORT: '9000', METRICS_PORT: '9000' })).toEqual(['METRICS_PORT']);
    expect(load({ PORT: '9000', METRICS_PORT: '9100' }).config.metrics.port).toBe(9100);
  });

  it('a bad value does not cascade into follow-up problems', () => {
    expect(problemVariables({ SESSION_TTL: 'forever', SESSION_IDLE_TTL: '30d' })).toEqual(['SESSION_TTL']);
    expect(problemVariables({ PORT: 'eighty' })).toEqual(['PORT']);
  });

  it('CHAT_API_URL, CHAT_API_KEY and CHAT_MODEL come together', () => {
    expect(problemVariables({ CHAT_API_URL: 'https://llm.example.com/v1/chat/completions' }).sort()).toEqual([
      'CHAT_API_KEY',
      'CHAT_MODEL',
    ]);
    const { config } = load({
      CHAT_API_URL: 'https://llm.example.com/v1/chat/completions?api-version=2024',
      CHAT_API_KEY: 'sk-123',
      CHAT_MODEL: 'small',
    });
    expect(config.chat).toMatchObject({ apiKey: 'sk-123', model: 'small' });
  });
});

describe('all problems are reported together', () => {
  it('several bad variables give one ConfigError listing each', () => {
    const env: Env = {
      NODE_ENV: 'production',
      PORT: '99999',
      TRUST_PROXY: '*',
      CORS_ORIGINS: '*',
      SESSION_TTL: '-1d',
      DATABASE_URL: 'oracle://db/x',
      LOG_LEVEL: 'loud',
    };
    const error = configError(env);
    const variables = error.problems.map((p) => p.variable).sort();
    expect(variables).toEqual([
      'CORS_ORIGINS',
      'DATABASE_URL',
      'GOOGLE_CLIENT_ID',
      'GOOGLE_CLIENT_SECRET',
      'JWT_SECRET_KEY',
      'LOG_LEVEL',
      'PORT',
      'SECRET_KEY',
      'SESSION_TTL',
      'TRUST_PROXY',
    ]);
    const lines = error.message.split('\n');
    expect(lines[0]).toBe('Invalid configuration (10 problems):');
    expect(lines.slice(1)).toEqual(error.problems.map((p) => `  - ${p.variable}: ${p.message}`));
    expect(error.name).toBe('ConfigError');
    expect(error).toBeInstanceOf(Error);
  });

  it('a single problem reads in the singular', () => {
    expect(configError({ LOG_LEVEL: 'loud' }).message).toMatch(/^Invalid configuration \(1 problem\):\n/);
  });

  it('ConfigError problems are frozen', () => {
    const error = new ConfigError([{ variable: 'X', message: 'is bad' }]);
    expect(Object.isFrozen(error.problems)).toBe(true);
    expect(Object.isFrozen(error.problems[0])).toBe(true);
  });
});

describe('.env', () => {
  it('is read from cwd, and the real environment wins over it', () => {
    const cwd = tempDir(
      [
        '# comment line',
        'PORT=9000',
        'SESSION_TTL="2d"',
        "LOG_LEVEL='warn'",
        'CORS_ORIGINS=https://app.example.com # trailing comment',
        '',
      ].join('\n'),
    );
    const { config } = loadConfig({ env: { PORT: '9100', LOG_LEVEL: undefined }, cwd });
    expect(config.port).toBe(9100);
    expect(config.session.ttlSeconds).toBe(2 * 86_400);
    expect(config.logLevel).toBe('warn');
    expect(config.corsOrigins).toEqual(['https://app.example.com']);
  });

  it('is ignored with dotenv: false', () => {
    const cwd = tempDir('PORT=9000\n');
    expect(loadConfig({ env: {}, cwd, dotenv: false }).config.port).toBe(8000);
  });

  it('values from .env are validated like any other', () => {
    const cwd = tempDir('PORT=nine\nTRUST_PROXY=true\n');
    expect(() => loadConfig({ env: {}, cwd })).toThrow(/PORT: .*\n {2}- TRUST_PROXY: /);
  });

  it('warns about names in .env that Gatehouse does not read', () => {
    const cwd = tempDir('GOOGLE_CLIENTID=oops\nPORT=9000\n');
    const { warnings } = loadConfig({ env: {}, cwd });
    expect(warnings).toContain('.env sets GOOGLE_CLIENTID, which Gatehouse does not read (a misspelt name?)');
  });

  it('an unreadable .env is a problem, not silently skipped', () => {
    const cwd = tempDir();
    mkdirSync(join(cwd, '.env'));
    expect(() => loadConfig({ env: {}, cwd })).toThrow(/- \.env: cannot be read \(EISDIR\)/);
  });
});

describe('freezing', () => {
  it('the returned configuration is deep-frozen', () => {
    const { config } = load({ TRUST_PROXY: 'loopback' });
    // ES modules run in strict mode, where writing to a frozen object throws.
    expect(() => {
      (config as unknown as Record<string, unknown>).port = 1;
    }).toThrow(TypeError);
    expect(() => {
      (config.oidc as unknown as Record<string, unknown>).issuer = 'https://evil.example';
    }).toThrow(TypeError);
    expect(() => {
      (config.rateLimit.auth as unknown as Record<string, unknown>).max = 1e9;
    }).toThrow(TypeError);
    expect(() => (config.trustProxy as string[]).push('0.0.0.0/0')).toThrow(TypeError);
    expect(() => (config.secrets.jwtSecretKeys as string[]).splice(0, 1)).toThrow(TypeError);
    expect(config.trustProxy).toEqual(['127.0.0.1/8', '::1']);
  });
});
