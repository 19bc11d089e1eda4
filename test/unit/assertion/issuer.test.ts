import { createLocalJWKSet, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  ASSERTION_LIFETIME_SECONDS,
  AssertionIssuer,
  type AssertionSubject,
  REFRESH_MARGIN_SECONDS,
} from '../../../src/assertion/issuer.js';
import { generateAssertionKey } from '../../../src/assertion/keys.js';

const ISSUER = 'https://gate.example.com';
const AUDIENCE = 'https://api.example.com';
const T0 = 1_800_000_000_000;

function subject(overrides: Partial<AssertionSubject> = {}): AssertionSubject {
  return {
    id: 'u1',
    email: 'ada@example.com',
    name: 'Ada “Ö”',
    hostedDomain: 'example.com',
    sessionId: 's1',
    tokenExp: T0 / 1000 + 900,
    ...overrides,
  };
}

function setup(cacheSize?: number) {
  let now = T0;
  const keys = [generateAssertionKey(), generateAssertionKey()];
  const issuer = new AssertionIssuer({
    keys,
    issuer: ISSUER,
    now: () => now,
    ...(cacheSize !== undefined ? { cacheSize } : {}),
  });
  const jwks = createLocalJWKSet(JSON.parse(JSON.stringify(issuer.jwks)));
  return {
    keys,
    issuer,
    jwks,
    advance: (ms: number) => {
      now += ms;
    },
    verify: (jwt: string, audience = AUDIENCE) =>
      jwtVerify(jwt, jwks, { issuer: ISSUER, audience, algorithms: ['ES256'], currentDate: new Date(now) }),
  };
}

describe('AssertionIssuer', () => {
  it("signs ES256 with the first key's kid, and jose verifies it against the published JWKS", async () => {
    const { keys, issuer, verify } = setup();
    const jwt = issuer.assertionFor(subject(), AUDIENCE)!;
    expect(decodeProtectedHeader(jwt)).toEqual({ alg: 'ES256', kid: keys[0]!.kid, typ: 'JWT' });
    const { payload } = await verify(jwt);
    expect(payload).toEqual({
      iss: ISSUER,
      aud: AUDIENCE,
      sub: 'u1',
      email: 'ada@example.com',
      email_verified: true,
      name: 'Ada “Ö”',
      hd: 'example.com',
      sid: 's1',
      roles: [],
      groups: [],
      iat: T0 / 1000,
      exp: T0 / 1000 + ASSERTION_LIFETIME_SECONDS,
    });
    expect(issuer.jwks.keys.map((k) => k.kid)).toEqual(keys.map((k) => k.kid));
  });

  it('omits name and hd when the user has none', async () => {
    const { issuer, verify } = setup();
    const { payload } = await verify(
      issuer.assertionFor(subject({ name: null, hostedDomain: null }), AUDIENCE)!,
    );
    expect('name' in payload || 'hd' in payload).toBe(false);
  });

  it('never outlives the session token, and issues nothing for a token that has run out', async () => {
    const { issuer, verify } = setup();
    const { payload } = await verify(issuer.assertionFor(subject({ tokenExp: T0 / 1000 + 42 }), AUDIENCE)!);
    expect(payload.exp).toBe(T0 / 1000 + 42);
    expect(issuer.assertionFor(subject({ tokenExp: T0 / 1000 }), AUDIENCE)).toBeUndefined();
  });

  it('is refused at another audience and when tampered with', async () => {
    const { issuer, verify } = setup();
    const jwt = issuer.assertionFor(subject(), AUDIENCE)!;
    await expect(verify(jwt, 'https://other.example.com')).rejects.toBeInstanceOf(
      errors.JWTClaimValidationFailed,
    );
    const [h, p, s] = jwt.split('.');
    const forged = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), email: 'x@example.com' }),
    ).toString('base64url');
    await expect(verify(`${h}.${forged}.${s}`)).rejects.toBeInstanceOf(errors.JWSSignatureVerificationFailed);
  });

  it('reuses the assertion for the same token and audience while it is fresh, then signs a new one', async () => {
    const { issuer, advance, verify } = setup();
    const first = issuer.assertionFor(subject(), AUDIENCE)!;
    expect(issuer.assertionFor(subject(), AUDIENCE)).toBe(first);
    expect(issuer.assertionFor(subject(), 'https://other.example.com')).not.toBe(first);
    expect(issuer.assertionFor(subject({ tokenExp: T0 / 1000 + 901 }), AUDIENCE)).not.toBe(first);
    advance(REFRESH_MARGIN_SECONDS * 1000);
    expect(issuer.assertionFor(subject(), AUDIENCE)).toBe(first);
    advance(1000);
    const second = issuer.assertionFor(subject(), AUDIENCE)!;
    expect(second).not.toBe(first);
    const { payload } = await verify(second);
    expect(payload.exp).toBe(T0 / 1000 + REFRESH_MARGIN_SECONDS + 1 + ASSERTION_LIFETIME_SECONDS);
  });

  it('keeps reusing an assertion capped by the token until the token ends', () => {
    const { issuer, advance } = setup();
    const s = subject({ tokenExp: T0 / 1000 + 100 });
    const first = issuer.assertionFor(s, AUDIENCE);
    advance(99_000);
    expect(issuer.assertionFor(s, AUDIENCE)).toBe(first);
    advance(1000);
    expect(issuer.assertionFor(s, AUDIENCE)).toBeUndefined();
  });

  it('remembers a bounded number of assertions', () => {
    const { issuer } = setup(3);
    for (let i = 0; i < 10; i++) issuer.assertionFor(subject({ sessionId: `s${i}` }), AUDIENCE);
    expect(issuer.cached).toBe(3);
  });

  it('refuses to start without a key or with a non-URL issuer', () => {
    expect(() => new AssertionIssuer({ keys: [], issuer: ISSUER })).toThrow(/at least one key/);
    expect(() => new AssertionIssuer({ keys: [generateAssertionKey()], issuer: 'gate' })).toThrow(/http/);
  });
});
