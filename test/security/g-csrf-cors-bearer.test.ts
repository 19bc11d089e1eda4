/**
 * SECURITY.md G (rules 31–33): CSRF, CORS and Bearer.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problemCode, type Rig, rawRequest, signIn, startRig } from './support/rig.js';

describe('G. CSRF, CORS, Bearer', () => {
  let rig: Rig;
  const app = 'https://app.example.com';
  beforeAll(async () => {
    rig = await startRig({ env: { CORS_ORIGINS: app } });
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('rule 31: cookie-authenticated state-changing requests from other origins are 403 csrf_rejected', async () => {
    const { token } = await signIn(rig);
    const cookie = `${rig.gh.config.cookie.name}=${token}`;
    const hostile: Record<string, string>[] = [
      { origin: 'https://evil.example' },
      { origin: 'null' },
      { origin: `${app}.evil.example` },
      { origin: 'http://app.example.com' },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
    ];
    for (const headers of hostile) {
      for (const [method, path, body] of [
        ['POST', '/logout', ''],
        ['POST', '/chat', '{"message":"from evil"}'],
        ['DELETE', '/sessions', undefined],
      ] as const) {
        const response = await rawRequest(`${rig.url}${path}`, {
          method,
          headers: { cookie, 'content-type': 'application/json', ...headers },
          ...(body !== undefined ? { body } : {}),
        });
        expect(response.status, `${method} ${path} ${JSON.stringify(headers)}`).toBe(403);
        expect(problemCode(response.body)).toBe('csrf_rejected');
      }
    }
    // Nothing happened: still signed in, no message stored.
    const still = await rawRequest(`${rig.url}/chat`, { headers: { cookie } });
    expect(still.status).toBe(200);
    const history = await rawRequest(`${rig.url}/chat/messages`, { headers: { cookie } });
    expect(history.body).not.toContain('from evil');
    // Allowed origins pass; Bearer-authenticated requests are exempt.
    const allowed = await rawRequest(`${rig.url}/chat`, {
      method: 'POST',
      headers: { cookie, origin: app, 'content-type': 'application/json' },
      body: '{"message":"hello"}',
    });
    expect(allowed.status).toBeLessThan(300);
    const bearer = await rawRequest(`${rig.url}/chat`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        origin: 'https://evil.example',
        'content-type': 'application/json',
      },
      body: '{"message":"api client"}',
    });
    expect(bearer.status).toBeLessThan(300);
  });

  it('rule 32: CORS answers only exact allow-listed origins, with credentials and Vary: Origin', async () => {
    for (const method of ['GET', 'OPTIONS'] as const) {
      const headers = (origin: string) => ({
        origin,
        ...(method === 'OPTIONS' ? { 'access-control-request-method': 'POST' } : {}),
      });
      const ok = await rawRequest(`${rig.url}/me`, { method, headers: headers(app) });
      expect(ok.headers['access-control-allow-origin']).toBe(app);
      expect(ok.headers['access-control-allow-credentials']).toBe('true');
      expect(String(ok.headers.vary)).toMatch(/origin/i);
      for (const origin of [
        'null',
        `${app}.evil.com`,
        'http://app.example.com',
        'https://evil.com',
        'https://app.example.com:444',
        '*',
      ]) {
        const response = await rawRequest(`${rig.url}/me`, { method, headers: headers(origin) });
        expect(response.headers['access-control-allow-origin'], `${method} ${origin}`).toBeUndefined();
        expect(response.status).not.toBe(500);
        expect(String(response.headers.vary ?? ''), `${method} ${origin}`).toMatch(/origin/i);
      }
    }
  });

  it('rule 33: Bearer scheme is case-insensitive; query-string tokens are ignored; foreign tokens are 401 with WWW-Authenticate', async () => {
    const { token } = await signIn(rig);
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
      expect(
        (await rawRequest(`${rig.url}/chat`, { headers: { authorization: `${scheme} ${token}` } })).status,
      ).toBe(200);
    }
    for (const q of ['access_token', 'token', 'id_token']) {
      const response = await rawRequest(`${rig.url}/chat?${q}=${token}`);
      expect(response.status).toBe(401);
      expect(problemCode(response.body)).toBe('not_authenticated');
    }
    // Foreign tokens: the provider's own ID token, a Google-style access token, another issuer's JWT.
    const now = Math.floor(Date.now() / 1000);
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<
      string,
      unknown
    >;
    const providerIdToken = await rig.idp.signRaw(
      { alg: 'RS256', kid: rig.idp.keys[0]!.kid },
      { iss: rig.idp.issuer, aud: rig.idp.clientId, sub: claims.sub, exp: now + 600, iat: now },
    );
    const h = Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url');
    const p = Buffer.from(JSON.stringify({ ...claims, iss: 'https://other.example' })).toString('base64url');
    const otherIssuer = `${h}.${p}.${createHmac('sha256', 'other-issuer-key').update(`${h}.${p}`).digest('base64url')}`;
    for (const foreign of [providerIdToken, 'ya29.a0AfH6SMBx-foreign-google-access-token', otherIssuer]) {
      const response = await rawRequest(`${rig.url}/chat`, {
        headers: { authorization: `Bearer ${foreign}` },
      });
      expect(response.status).toBe(401);
      expect(String(response.headers['www-authenticate'])).toMatch(/^Bearer/i);
    }
    // A cookie for user A with a bearer for user B.
    const other = await signIn(rig);
    const mixed = await rawRequest(`${rig.url}/chat`, {
      headers: { cookie: `${rig.gh.config.cookie.name}=${token}`, authorization: `Bearer ${other.token}` },
    });
    expect([400, 401]).toContain(mixed.status);
  });
});
