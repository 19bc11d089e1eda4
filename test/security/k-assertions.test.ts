/**
 * SECURITY.md K (rules 55–56): the signed identity assertion `/auth/verify` hands to upstreams
 * (X-Gatehouse-Assertion), its JWKS and discovery document — verified here with jose, as an
 * upstream would.
 */
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateAssertionKey, keyToText } from '../../src/assertion/keys.js';
import { problemCode, type Rig, rawRequest, signIn, startRig } from './support/rig.js';

const SIGNING = generateAssertionKey();
const OLDER = generateAssertionKey();

describe('K. identity assertions', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({
      env: { ASSERTION_KEYS: `${keyToText(SIGNING)},${keyToText(OLDER)}`, TOKEN_TTL: '4m' },
    });
  });
  afterAll(async () => {
    await rig?.close();
  });

  async function jwks() {
    const res = await rawRequest(`${rig.url}/.well-known/jwks.json`);
    expect(res.status).toBe(200);
    return { res, set: JSON.parse(res.body) as { keys: Record<string, unknown>[] } };
  }

  async function verifyAt(token: string, query = '') {
    return rawRequest(`${rig.url}/auth/verify${query}`, { headers: { authorization: `Bearer ${token}` } });
  }

  it('rule 55: the assertion is ES256 with a kid present in the JWKS, and carries iss, aud and the identity', async () => {
    rig.idp.identity = { sub: 'k55', email: 'k55@example.com', name: 'Zoë K', hd: 'example.com' };
    const { token } = await signIn(rig);
    const res = await verifyAt(token);
    expect(res.status).toBe(200);
    const assertion = String(res.headers['x-gatehouse-assertion']);
    const header = decodeProtectedHeader(assertion);
    expect(header.alg).toBe('ES256');
    const { set } = await jwks();
    expect(set.keys.map((k) => k.kid)).toEqual([SIGNING.kid, OLDER.kid]);
    expect(header.kid).toBe(SIGNING.kid);
    const { payload } = await jwtVerify(assertion, createLocalJWKSet(set as never), {
      issuer: rig.gh.config.publicUrl,
      audience: rig.gh.config.publicOrigin,
      algorithms: ['ES256'],
    });
    expect(payload).toMatchObject({
      email: 'k55@example.com',
      email_verified: true,
      name: 'Zoë K',
      hd: 'example.com',
      sub: String(res.headers['x-auth-user-id']),
      roles: [],
      groups: [],
    });
    expect(payload.sid).toEqual(expect.any(String));
    rig.idp.identity = undefined;
  });

  it("rule 55: exp is at most 5 minutes away and never past the session token's exp", async () => {
    const { token } = await signIn(rig);
    const tokenExp = decodeJwt(token).exp!;
    const first = decodeJwt(String((await verifyAt(token)).headers['x-gatehouse-assertion']));
    expect(first.exp! - first.iat!).toBeLessThanOrEqual(300);
    expect(first.exp).toBeLessThanOrEqual(tokenExp);
    // TOKEN_TTL is 4 minutes: after 3 minutes a fresh assertion would outlive the token; it does not.
    rig.clock.offsetMs = 3 * 60_000;
    try {
      const later = decodeJwt(String((await verifyAt(token)).headers['x-gatehouse-assertion']));
      expect(later.exp).toBe(tokenExp);
      expect(later.exp! - later.iat!).toBeLessThanOrEqual(300);
    } finally {
      rig.clock.offsetMs = 0;
    }
  });

  it('rule 55: the JWKS holds public keys only, cacheable, and discovery points verifiers at it', async () => {
    const { res, set } = await jwks();
    expect(String(res.headers['cache-control'])).toMatch(/^public, max-age=\d+$/);
    for (const key of set.keys) {
      expect(Object.keys(key).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
      expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    }
    const discovery = await rawRequest(`${rig.url}/.well-known/openid-configuration`);
    const doc = JSON.parse(discovery.body) as { issuer: string; jwks_uri: string };
    expect(doc.issuer).toBe(rig.gh.config.publicUrl);
    expect(doc.jwks_uri).toBe(`${rig.gh.config.publicUrl}/.well-known/jwks.json`);
    expect((await rawRequest(doc.jwks_uri)).body).toBe(JSON.stringify(set));
    const openapi = JSON.parse((await rawRequest(`${rig.url}/openapi.json`)).body) as { paths: object };
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining(['/.well-known/jwks.json', '/.well-known/openid-configuration']),
    );
  });

  it('rule 55: the private keys never appear in a response or a log line', async () => {
    const { token } = await signIn(rig);
    const bodies: string[] = [];
    for (const path of [
      '/.well-known/jwks.json',
      '/.well-known/openid-configuration',
      '/openapi.json',
      '/healthz',
      '/readyz',
      '/config.json',
      '/me',
    ]) {
      const res = await rawRequest(`${rig.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
      bodies.push(res.body, JSON.stringify(res.headers));
    }
    const verify = await verifyAt(token);
    bodies.push(verify.body, JSON.stringify(verify.headers));
    const everything = `${bodies.join('\n')}\n${JSON.stringify(rig.gh.logs)}`;
    for (const key of [SIGNING, OLDER]) expect(everything).not.toContain(key.jwk.d);
    expect(everything).not.toMatch(/PRIVATE KEY|"d":/);
  });

  it('rule 56: an assertion minted for one audience fails verification at another', async () => {
    const { token } = await signIn(rig);
    const { set } = await jwks();
    const keys = createLocalJWKSet(set as never);
    const forA = String(
      (await verifyAt(token, '?aud=https://a.example.com')).headers['x-gatehouse-assertion'],
    );
    const forB = String(
      (await verifyAt(token, `?aud=${encodeURIComponent('https://b.example.com/api')}`)).headers[
        'x-gatehouse-assertion'
      ],
    );
    const options = { issuer: rig.gh.config.publicUrl, algorithms: ['ES256'] };
    expect((await jwtVerify(forA, keys, { ...options, audience: 'https://a.example.com' })).payload.aud).toBe(
      'https://a.example.com',
    );
    await expect(
      jwtVerify(forA, keys, { ...options, audience: 'https://b.example.com/api' }),
    ).rejects.toBeInstanceOf(errors.JWTClaimValidationFailed);
    await expect(
      jwtVerify(forB, keys, { ...options, audience: 'https://a.example.com' }),
    ).rejects.toBeInstanceOf(errors.JWTClaimValidationFailed);
    // An audience that is not an absolute http(s) origin or URL is refused, never signed.
    for (const bad of [
      'javascript:alert(1)',
      'a.example.com',
      `https://a.example.com/${'x'.repeat(600)}`,
      '',
    ]) {
      const res = await verifyAt(token, `?aud=${encodeURIComponent(bad)}`);
      expect(res.status).toBe(400);
      expect(problemCode(res.body)).toBe('bad_request');
      expect(res.headers['x-gatehouse-assertion']).toBeUndefined();
    }
    const twice = await verifyAt(token, '?aud=https://a.example.com&aud=https://b.example.com');
    expect(twice.status).toBe(400);
    expect(twice.headers['x-gatehouse-assertion']).toBeUndefined();
  });

  it('rule 56: a revoked session gets no new assertion', async () => {
    const { browser, token } = await signIn(rig);
    expect((await verifyAt(token)).headers['x-gatehouse-assertion']).toEqual(expect.any(String));
    const logout = await browser.post(`${rig.url}/logout`, '', { headers: { origin: rig.url } });
    expect(logout.status).toBe(204);
    for (const query of ['', '?aud=https://a.example.com', '?aud=https://fresh.example.com']) {
      const res = await verifyAt(token, query);
      expect(res.status).toBe(401);
      expect(problemCode(res.body)).toBe('session_revoked');
      expect(res.headers['x-gatehouse-assertion']).toBeUndefined();
    }
  });
});
