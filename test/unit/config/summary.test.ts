import { describe, expect, it } from 'vitest';
import { summarizeConfig } from '../../../src/config/index.js';
import { load, PRODUCTION, STRONG_JWT, STRONG_SECRET } from './helpers.js';

describe('summarizeConfig', () => {
  it('shows secrets only as set, and URLs with passwords redacted', () => {
    const { config } = load({
      ...PRODUCTION,
      JWT_SECRET_KEY: `${STRONG_JWT},${STRONG_JWT}-old`,
      DATABASE_URL: 'postgres://gate:db-hunter2@db.internal:5432/gate',
      REDIS_URL: 'redis://:redis-hunter2@cache.internal:6379',
      CHAT_API_URL: 'https://llm.example.com/v1/chat?key=url-hunter2',
      CHAT_API_KEY: 'sk-hunter2',
      CHAT_MODEL: 'small',
    });
    const summary = summarizeConfig(config);
    const text = JSON.stringify(summary);
    for (const secret of [
      STRONG_SECRET,
      STRONG_JWT,
      PRODUCTION.GOOGLE_CLIENT_SECRET!,
      'db-hunter2',
      'redis-hunter2',
      'url-hunter2',
      'sk-hunter2',
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(summary).toMatchObject({
      'secrets.secretKey': 'set',
      'secrets.jwtSecretKeys': 'set',
      'secrets.jwtKeyCount': 2,
      'oidc.clientSecret': 'set',
      'oidc.clientId': PRODUCTION.GOOGLE_CLIENT_ID,
      'database.url': 'postgres://gate:***@db.internal:5432/gate',
      'redis.url': 'redis://:***@cache.internal:6379',
      'chat.apiUrl': 'https://llm.example.com/v1/chat?***',
      'chat.apiKey': 'set',
      'cookie.name': '__Host-gatehouse',
      production: true,
    });
    for (const value of Object.values(summary))
      expect(['string', 'number', 'boolean']).toContain(typeof value);
  });

  it('says "generated" for per-process secrets', () => {
    const { config } = load({});
    const summary = summarizeConfig(config);
    expect(summary['secrets.secretKey']).toBe('generated');
    expect(summary['secrets.jwtSecretKeys']).toBe('generated');
    expect(summary['oidc.clientSecret']).toBe('generated');
    expect(JSON.stringify(summary)).not.toContain(config.secrets.secretKey);
    expect(JSON.stringify(summary)).not.toContain(config.oidc.clientSecret);
    expect(summary['chat.apiKey']).toBe('unset');
  });
});
