import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CONFIG_SCHEMA, CONFIG_VARIABLES, renderConfigurationDoc } from '../../../src/config/index.js';

const DOC = fileURLToPath(new URL('../../../docs/configuration.md', import.meta.url));

describe('docs/configuration.md', () => {
  it('matches the schema table (and is laid out as biome formats it)', () => {
    const rendered = renderConfigurationDoc();
    if (process.env.UPDATE_DOCS === '1') writeFileSync(DOC, rendered);
    let current = '';
    try {
      current = readFileSync(DOC, 'utf8');
    } catch {
      // A missing file fails the comparison below with the same instructions.
    }
    expect(
      current === rendered,
      'docs/configuration.md is out of date with src/config/schema.ts; regenerate it with: UPDATE_DOCS=1 npx vitest run test/unit/config/docs.test.ts',
    ).toBe(true);
  });

  it('documents every variable once, with a default and a description', () => {
    expect(new Set(CONFIG_VARIABLES).size).toBe(CONFIG_VARIABLES.length);
    const rendered = renderConfigurationDoc();
    for (const group of CONFIG_SCHEMA) {
      for (const variable of group.variables) {
        expect(variable.default, variable.name).not.toBe('');
        expect(variable.description, variable.name).not.toBe('');
        expect(rendered).toMatch(new RegExp(`^\\| \`${variable.name}\` +\\| `, 'm'));
      }
    }
  });

  it('covers the variables named in DESIGN.md', () => {
    for (const name of [
      'GOOGLE_CLIENT_ID',
      'GOOGLE_CLIENT_SECRET',
      'OIDC_ISSUER',
      'PUBLIC_URL',
      'REDIRECT_URL',
      'FRONTEND_URL',
      'ALLOWED_RETURN_ORIGINS',
      'SECRET_KEY',
      'JWT_SECRET_KEY',
      'DATABASE_URL',
      'REDIS_URL',
      'HOST',
      'PORT',
      'TRUST_PROXY',
      'CORS_ORIGINS',
      'SESSION_TTL',
      'SESSION_IDLE_TTL',
      'TOKEN_TTL',
      'GOOGLE_HOSTED_DOMAINS',
      'ALLOWED_EMAIL_DOMAINS',
      'ALLOWED_EMAILS',
      'LOG_LEVEL',
    ]) {
      expect(CONFIG_VARIABLES).toContain(name);
    }
  });
});
