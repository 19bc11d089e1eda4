import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { load, PRODUCTION, problems, STRONG_SECRET } from './helpers.js';

const CLIENT = { GOOGLE_CLIENT_ID: 'client-id', GOOGLE_CLIENT_SECRET: 'client-secret' };

describe('development provider', () => {
  it('is used outside production when no provider variable is set', () => {
    for (const nodeEnv of ['development', 'test']) {
      const { config, warnings } = load({ NODE_ENV: nodeEnv, PUBLIC_URL: 'http://localhost:3000' });
      expect(config.oidc).toMatchObject({
        devProvider: true,
        issuer: 'http://localhost:3000/dev-idp',
        clientId: 'gatehouse-dev',
      });
      expect(
        warnings.some((w) => w.includes('development sign-in provider at http://localhost:3000/dev-idp')),
      ).toBe(true);
    }
  });

  it('derives its client secret from SECRET_KEY with HMAC-SHA256', () => {
    const expected = createHmac('sha256', STRONG_SECRET)
      .update('gatehouse dev-idp client')
      .digest('base64url');
    expect(load({ SECRET_KEY: STRONG_SECRET }).config.oidc.clientSecret).toBe(expected);
    expect(load({ SECRET_KEY: `${STRONG_SECRET}x` }).config.oidc.clientSecret).not.toBe(expected);
  });

  it('is not used once Google credentials are set', () => {
    const { config, warnings } = load(CLIENT);
    expect(config.oidc).toMatchObject({
      devProvider: false,
      issuer: 'https://accounts.google.com',
      clientId: 'client-id',
      clientSecret: 'client-secret',
      allowInsecureIssuer: false,
    });
    expect(warnings.some((w) => /development sign-in provider/.test(w))).toBe(false);
  });

  it('never runs in production, which demands credentials instead', () => {
    const { GOOGLE_CLIENT_ID: _id, GOOGLE_CLIENT_SECRET: _secret, ...rest } = PRODUCTION;
    expect(problems(rest).map((p) => p.variable)).toEqual(['GOOGLE_CLIENT_ID', 'GOOGLE_CLIENT_SECRET']);
    expect(load(PRODUCTION).config.oidc.devProvider).toBe(false);
  });

  it('one Google variable without the other is a problem naming the missing one', () => {
    expect(problems({ GOOGLE_CLIENT_ID: 'id' })).toEqual([
      { variable: 'GOOGLE_CLIENT_SECRET', message: expect.stringMatching(/together, or neither/) },
    ]);
    expect(problems({ GOOGLE_CLIENT_SECRET: 'secret' })).toEqual([
      { variable: 'GOOGLE_CLIENT_ID', message: expect.stringMatching(/together, or neither/) },
    ]);
  });

  it('OIDC_ISSUER without client credentials is a problem, not the development provider', () => {
    expect(problems({ OIDC_ISSUER: 'https://idp.example.com' })).toEqual([
      { variable: 'GOOGLE_CLIENT_ID', message: expect.stringMatching(/required when OIDC_ISSUER is set/) },
      {
        variable: 'GOOGLE_CLIENT_SECRET',
        message: expect.stringMatching(/required when OIDC_ISSUER is set/),
      },
    ]);
  });
});

describe('OIDC_ISSUER', () => {
  it('is kept exactly as written, since it is compared to `iss` as a string', () => {
    expect(load({ ...CLIENT, OIDC_ISSUER: 'https://tenant.example.com/' }).config.oidc.issuer).toBe(
      'https://tenant.example.com/',
    );
  });

  it.each([
    'http://127.0.0.1:9000',
    'http://127.1.2.3/realms/x',
    'http://[::1]:9000',
    'http://localhost:9000',
  ])('accepts plain http on loopback %s, loudly', (issuer) => {
    const { config, warnings } = load({ ...CLIENT, OIDC_ISSUER: issuer });
    expect(config.oidc.issuer).toBe(issuer);
    expect(config.oidc.allowInsecureIssuer).toBe(true);
    expect(warnings.some((w) => w.includes(`OIDC_ISSUER ${issuer} is plain http`))).toBe(true);
  });

  it.each(['http://10.0.0.5:9000', 'http://idp.example.com', 'http://localhost.example.com'])(
    'refuses plain http on %s',
    (issuer) => {
      expect(problems({ ...CLIENT, OIDC_ISSUER: issuer })).toEqual([
        { variable: 'OIDC_ISSUER', message: expect.stringMatching(/only on a loopback host/) },
      ]);
    },
  );

  it('a loopback http issuer is accepted in production too (local test providers)', () => {
    const { config } = load({ ...PRODUCTION, OIDC_ISSUER: 'http://127.0.0.1:9000' });
    expect(config.oidc).toMatchObject({ issuer: 'http://127.0.0.1:9000', allowInsecureIssuer: true });
  });

  it('normalises scopes and the provider timings', () => {
    const { config } = load({
      ...CLIENT,
      OIDC_SCOPES: ' openid  email ',
      OIDC_TIMEOUT: '3s',
      OIDC_CLOCK_SKEW: '0',
    });
    expect(config.oidc).toMatchObject({ scopes: 'openid email', timeoutSeconds: 3, clockSkewSeconds: 0 });
  });
});
