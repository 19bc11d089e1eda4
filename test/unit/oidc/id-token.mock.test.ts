/**
 * ID-token attacks (SECURITY C11–C15) against the real flow: the provider on loopback answers the
 * token request with a token the test signed. Every case must end in a stable error, never a 500.
 */
import { generateKeyPair, type JWTPayload, SignJWT, UnsecuredJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOidcClient, type OidcClient } from '../../../src/oidc/client.js';
import { setConsumer, testConfig } from './support/config.js';
import { expectFailure, type Started, start, waitFor } from './support/flow.js';
import { type MockProvider, startMockProvider } from './support/mock-provider.js';

let mock: MockProvider;
let client: OidcClient;
const CLIENT_SECRET = 'gatehouseTestClientSecret0123456789';

beforeEach(async () => {
  mock = await startMockProvider();
  client = createOidcClient({
    config: testConfig({ issuer: mock.issuer, clientSecret: CLIENT_SECRET }),
    consumeTransaction: setConsumer().consume,
  });
});
afterEach(async () => {
  await mock.close();
});

const now = () => Math.floor(Date.now() / 1000);

function claimsFor(s: Started, extra: JWTPayload = {}): JWTPayload {
  return {
    iss: mock.issuer,
    aud: 'gatehouseTestClient',
    sub: 'johndoe',
    iat: now(),
    exp: now() + 300,
    nonce: s.nonce,
    email: 'ada@example.com',
    email_verified: true,
    ...extra,
  };
}

/** Runs the flow with the token endpoint answering `token` (built once the nonce is known). */
async function signInWith(build: (s: Started) => Promise<string>) {
  const s = await start(client);
  const callback = await mock.authorize(s.url.href);
  mock.replaceIdToken = await build(s);
  return client.completeLogin({ search: callback.search, cookies: s.cookies });
}

const rejectedToken = (p: Promise<unknown>) => expectFailure(p, 'login_failed', 'id_token_invalid');

describe('ID-token signature and header', () => {
  it('accepts a well-formed token signed by the provider key', async () => {
    const result = await signInWith((s) => mock.sign(claimsFor(s)));
    expect(result.identity.subject).toBe('johndoe');
  });

  it('verifies the signature of a token-endpoint ID token: a foreign key with the provider kid → rejected', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    await rejectedToken(
      signInWith((s) =>
        new SignJWT(claimsFor(s)).setProtectedHeader({ alg: 'RS256', kid: mock.key.kid }).sign(privateKey),
      ),
    );
  });

  it('rejects alg none', async () => {
    await rejectedToken(signInWith(async (s) => new UnsecuredJWT(claimsFor(s)).encode()));
  });

  it('rejects HS256 keyed with the client secret, even when the provider advertises HS256', async () => {
    mock.discovery = { id_token_signing_alg_values_supported: ['RS256', 'HS256'] };
    await rejectedToken(
      signInWith((s) =>
        new SignJWT(claimsFor(s))
          .setProtectedHeader({ alg: 'HS256' })
          .sign(new TextEncoder().encode(CLIENT_SECRET)),
      ),
    );
  });

  it('rejects an algorithm the provider does not advertise', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    await rejectedToken(
      signInWith((s) =>
        new SignJWT(claimsFor(s)).setProtectedHeader({ alg: 'ES256', kid: 'es' }).sign(privateKey),
      ),
    );
  });

  it.each([
    ['jku', (url: string) => ({ jku: `${url}/evil-jwks` })],
    ['x5u', (url: string) => ({ x5u: `${url}/evil-cert` })],
    ['jwk', () => ({ jwk: { kty: 'oct', k: 'AAAA' } })],
    ['crit', () => ({ crit: ['exp-ext'], 'exp-ext': true })],
  ])('rejects a %s header without fetching anything', async (_name, extra) => {
    await rejectedToken(
      signInWith(async (s) =>
        mock.signRaw({ alg: 'RS256', kid: mock.key.kid, ...extra(mock.issuer) }, claimsFor(s)),
      ),
    );
    expect(mock.count('/evil-jwks')).toBe(0);
    expect(mock.count('/evil-cert')).toBe(0);
  });

  it('accepts a token without kid when the JWKS has one key', async () => {
    const result = await signInWith((s) => mock.sign(claimsFor(s), { header: { alg: 'RS256' } }));
    expect(result.identity.subject).toBe('johndoe');
  });

  it('unknown kid → one JWKS refetch, then rejected; garbage kid → rejected, no crash', async () => {
    await signInWith((s) => mock.sign(claimsFor(s))); // warms the JWKS cache
    const before = mock.count('/jwks');
    const { privateKey } = await generateKeyPair('RS256');
    // Wait out the 1 s refetch cooldown, measured from the warm-up fetch.
    const warmedAt = Date.now();
    await waitFor(() => Date.now() - warmedAt > 1100);
    await rejectedToken(
      signInWith((s) =>
        new SignJWT(claimsFor(s)).setProtectedHeader({ alg: 'RS256', kid: 'unknown' }).sign(privateKey),
      ),
    );
    expect(mock.count('/jwks')).toBe(before + 1);
    await rejectedToken(
      signInWith((s) =>
        new SignJWT(claimsFor(s))
          .setProtectedHeader({ alg: 'RS256', kid: `../${'\u0000'.repeat(3)}${'z'.repeat(5000)}` })
          .sign(privateKey),
      ),
    );
    // Within the cooldown, no further refetch: at most one a second.
    expect(mock.count('/jwks')).toBeLessThanOrEqual(before + 2);
  });

  it('picks up a rotated provider key without a restart', async () => {
    await signInWith((s) => mock.sign(claimsFor(s)));
    const warmedAt = Date.now();
    const rotated = await mock.addKey();
    await waitFor(() => Date.now() - warmedAt > 1100);
    const result = await signInWith((s) => mock.sign(claimsFor(s), { key: rotated }));
    expect(result.identity.subject).toBe('johndoe');
  });

  it('ignores an unusable extra key in the JWKS', async () => {
    mock.extraJwks = [
      { kty: 'RSA', kid: 'broken', n: 'not-a-modulus', e: 'AQAB' },
      { kty: 'oct', kid: 'symmetric', k: 'c2VjcmV0' },
    ];
    const result = await signInWith((s) => mock.sign(claimsFor(s)));
    expect(result.identity.subject).toBe('johndoe');
  });
});

describe('ID-token claims', () => {
  const cases: Array<[string, (s: Started) => JWTPayload]> = [
    ['wrong iss', (s) => claimsFor(s, { iss: 'http://127.0.0.1:1' })],
    ["Google's legacy iss for a non-Google issuer", (s) => claimsFor(s, { iss: 'accounts.google.com' })],
    ['missing iss', (s) => ({ ...claimsFor(s), iss: undefined })],
    ['wrong aud', (s) => claimsFor(s, { aud: 'someone-else' })],
    ['missing aud', (s) => ({ ...claimsFor(s), aud: undefined })],
    [
      'aud array with another audience and no azp',
      (s) => claimsFor(s, { aud: ['gatehouseTestClient', 'other'] }),
    ],
    ['a foreign azp', (s) => claimsFor(s, { azp: 'other' })],
    ['expired', (s) => claimsFor(s, { exp: now() - 120 })],
    ['missing exp', (s) => ({ ...claimsFor(s), exp: undefined })],
    ['missing iat', (s) => ({ ...claimsFor(s), iat: undefined })],
    ['iat in the future beyond the skew', (s) => claimsFor(s, { iat: now() + 120 })],
    ['iat older than a few minutes', (s) => claimsFor(s, { iat: now() - 600 })],
    ['nbf in the future', (s) => claimsFor(s, { nbf: now() + 120 })],
    ['missing sub', (s) => ({ ...claimsFor(s), sub: undefined })],
  ];

  it.each(cases)('rejects %s', async (_name, claims) => {
    const err = await expectFailure(
      signInWith((s) => mock.sign(claims(s))),
      'login_failed',
    );
    expect(['id_token_invalid', 'nonce_mismatch']).toContain(err.reason);
    expect(err.status).toBe(400);
  });

  it('rejects a missing nonce', async () => {
    await expectFailure(
      signInWith((s) => mock.sign({ ...claimsFor(s), nonce: undefined })),
      'login_failed',
    );
  });

  it('accepts several audiences when azp names us', async () => {
    const result = await signInWith((s) =>
      mock.sign(claimsFor(s, { aud: ['gatehouseTestClient', 'other'], azp: 'gatehouseTestClient' })),
    );
    expect(result.identity.subject).toBe('johndoe');
  });

  it('tolerates clock skew within 30 s', async () => {
    const result = await signInWith((s) => mock.sign(claimsFor(s, { iat: now() + 20, nbf: now() + 20 })));
    expect(result.identity.subject).toBe('johndoe');
    const expiredJustNow = await signInWith((s) => mock.sign(claimsFor(s, { exp: now() - 20 })));
    expect(expiredJustNow.identity.subject).toBe('johndoe');
  });
});
