/**
 * The identity assertion in proxy mode: every proxied request of a signed-in user carries an
 * `X-Gatehouse-Assertion` that a stock verifier accepts against Gatehouse's JWKS, with the
 * upstream's origin as the audience and the prefixed URL as the issuer; an anonymous public
 * request carries none, and a client-sent one never passes.
 */
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintSession, type ProxyFixture, startProxy } from '../../helpers/proxy.js';
import type { EchoBody } from '../../helpers/upstream.js';

describe('proxy mode: the identity assertion', () => {
  let fx: ProxyFixture;

  beforeAll(async () => {
    fx = await startProxy({ env: { PUBLIC_PATHS: '/open' } });
  });
  afterAll(async () => fx?.close());

  it('sets X-Gatehouse-Assertion for the user, audience = the upstream origin, verifiable with the JWKS', async () => {
    const session = await mintSession(fx.gh, 'seam@example.com');
    const res = await fetch(`${fx.url}/api`, {
      headers: { cookie: session.cookie, 'x-gatehouse-assertion': 'forged' },
    });
    const seen = (await res.json()) as EchoBody;
    const jwt = String(seen.headers['x-gatehouse-assertion']);
    expect(jwt).not.toBe('forged');
    const jwks = await (await fetch(`${fx.url}/_gatehouse/.well-known/jwks.json`)).json();
    const { payload, protectedHeader } = await jwtVerify(jwt, createLocalJWKSet(jwks), {
      issuer: `${fx.url}/_gatehouse`,
      audience: new URL(fx.upstream.url).origin,
      algorithms: ['ES256'],
    });
    expect(protectedHeader.kid).toBeDefined();
    expect(payload).toMatchObject({ sub: session.userId, sid: session.sessionId, email: 'seam@example.com' });
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBeLessThanOrEqual(300);
  });

  it('sends none on an anonymous public request, and drops a forged one', async () => {
    const seen = (await (
      await fetch(`${fx.url}/open`, { headers: { 'x-gatehouse-assertion': 'forged' } })
    ).json()) as EchoBody;
    expect(seen.headers['x-gatehouse-assertion']).toBeUndefined();
  });
});
