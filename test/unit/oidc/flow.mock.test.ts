/**
 * The whole sign-in against a real provider on loopback (the test provider,
 * test/helpers/hostile-provider.ts: real HTTP, PKCE, RS256 ID tokens), with the provider's token
 * endpoint counted to prove the pre-exchange checks.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOidcClient, type OidcClient } from '../../../src/oidc/client.js';
import { transactionCookieName } from '../../../src/oidc/transaction.js';
import { setConsumer, type TestConfigInput, testConfig } from './support/config.js';
import { expectFailure, start, waitFor } from './support/flow.js';
import { type MockProvider, startMockProvider } from './support/mock-provider.js';

/** The transaction cookie's name for a state, under the test configuration's prefix. */
const txCookieName = (state: string) =>
  transactionCookieName(testConfig({ issuer: 'http://127.0.0.1' }).cookie.transactionPrefix, state);

let mock: MockProvider;
let client: OidcClient;
let consumer: ReturnType<typeof setConsumer>;

function makeClient(overrides: Partial<TestConfigInput> = {}): OidcClient {
  consumer = setConsumer();
  return createOidcClient({
    config: testConfig({ issuer: mock.issuer, ...overrides }),
    consumeTransaction: consumer.consume,
  });
}

beforeEach(async () => {
  mock = await startMockProvider();
  client = makeClient();
});
afterEach(async () => {
  await mock.close();
});

describe('beginLogin', () => {
  it('builds a PKCE S256 authorization request with fresh state and nonce, verifier kept out of the URL', async () => {
    const a = await client.beginLogin({ returnTo: '/dashboard' });
    const b = await client.beginLogin({});
    const url = new URL(a.url);
    const p = url.searchParams;
    expect(url.origin + url.pathname).toBe(`${mock.issuer}/authorize`);
    expect(p.get('response_type')).toBe('code');
    expect(p.get('client_id')).toBe('gatehouseTestClient');
    expect(p.get('redirect_uri')).toBe('http://127.0.0.1:8000/auth');
    expect(p.get('scope')).toBe('openid email profile');
    expect(p.get('code_challenge_method')).toBe('S256');
    expect(p.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(p.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/); // 256 bits
    expect(p.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(p.has('code_verifier')).toBe(false);
    expect(p.has('hd')).toBe(false);
    const b2 = new URL(b.url).searchParams;
    expect(b2.get('state')).not.toBe(p.get('state'));
    expect(b2.get('nonce')).not.toBe(p.get('nonce'));
    expect(b2.get('code_challenge')).not.toBe(p.get('code_challenge'));
    expect(a.cookie.name).toBe(txCookieName(p.get('state') ?? ''));
    expect(a.cookie.name).not.toBe(b.cookie.name);
    expect(a.cookie.maxAgeSeconds).toBe(600);
  });

  it('adds hd when exactly one hosted domain is configured', async () => {
    const c = makeClient({ policy: { hostedDomains: ['example.com'] } });
    expect(new URL((await c.beginLogin({})).url).searchParams.get('hd')).toBe('example.com');
    const d = makeClient({ policy: { hostedDomains: ['a.com', 'b.com'] } });
    expect(new URL((await d.beginLogin({})).url).searchParams.has('hd')).toBe(false);
  });

  it('fails with provider_error when discovery fails, and recovers', async () => {
    mock.hook = (_req, res) => {
      res.writeHead(500).end('down');
      return true;
    };
    await expectFailure(client.beginLogin({}), 'provider_error', 'discovery_failed');
    expect(client.status().ok).toBe(false);
    mock.hook = undefined;
    const status = await client.check();
    expect(status.ok).toBe(true);
    await expect(client.beginLogin({})).resolves.toHaveProperty('url');
  });
});

describe('completeLogin', () => {
  it('signs in: identity from the verified token, profile from userinfo, returnTo from the transaction', async () => {
    const s = await start(client, '/dashboard');
    const callback = await mock.authorize(s.url.href);
    // A return_to added to the callback is ignored (SECURITY E22).
    const result = await client.completeLogin({
      search: `${callback.search}&return_to=https://evil.com/`,
      cookies: s.cookies,
    });
    expect(result.identity).toMatchObject({
      issuer: mock.issuer,
      subject: 'johndoe',
      email: 'ada@example.com',
      emailVerified: true,
      name: 'Ada Lovelace',
      picture: 'https://example.com/ada.png',
      hostedDomain: null,
    });
    expect(Object.isFrozen(result.identity)).toBe(true);
    expect(result.returnTo).toBe('http://127.0.0.1:8000/dashboard');
    expect(result.clearCookie).toBe(Object.keys(s.cookies)[0]);
    expect(mock.count('/token')).toBe(1);
    expect(mock.count('/userinfo')).toBe(1);
    expect(client.status()).toMatchObject({ ok: true, issuer: mock.issuer, lastError: null });
  });

  it('lets several tabs sign in at once', async () => {
    const tabs = await Promise.all([start(client), start(client), start(client)]);
    const callbacks = await Promise.all(tabs.map((t) => mock.authorize(t.url.href)));
    const cookies = Object.assign({}, ...tabs.map((t) => t.cookies));
    const results = await Promise.all(
      callbacks.map((c) => client.completeLogin({ search: c.search, cookies })),
    );
    expect(results.map((r) => r.identity.email)).toEqual([
      'ada@example.com',
      'ada@example.com',
      'ada@example.com',
    ]);
    expect(new Set(results.map((r) => r.clearCookie)).size).toBe(3);
  });

  it('rejects a replayed callback without a second token request', async () => {
    const s = await start(client);
    const callback = await mock.authorize(s.url.href);
    await client.completeLogin({ search: callback.search, cookies: s.cookies });
    await expectFailure(
      client.completeLogin({ search: callback.search, cookies: s.cookies }),
      'login_failed',
      'transaction_replayed',
    );
    expect(mock.count('/token')).toBe(1);
  });

  it('yields at most one sign-in from 20 parallel copies of one callback', async () => {
    const s = await start(client);
    const callback = await mock.authorize(s.url.href);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, () => client.completeLogin({ search: callback.search, cookies: s.cookies })),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    expect(mock.count('/token')).toBe(1);
  });

  it('rejects a state that does not match the sealed one (cookie swapped), before any token request', async () => {
    const s = await start(client);
    const callback = await mock.authorize(s.url.href);
    const forged = 'Zm9yZ2VkLXN0YXRlLWZvcmdlZC1zdGF0ZS1mb3JnZWQ';
    callback.searchParams.set('state', forged);
    const sealed = Object.values(s.cookies)[0] ?? '';
    await expectFailure(
      client.completeLogin({
        search: callback.search,
        cookies: { [txCookieName(forged)]: sealed },
      }),
      'login_failed',
      'state_mismatch',
    );
    expect(mock.count('/token')).toBe(0);
  });

  it('rejects a missing transaction cookie (another browser: login CSRF) before any token request', async () => {
    const s = await start(client);
    const callback = await mock.authorize(s.url.href);
    await expectFailure(
      client.completeLogin({ search: callback.search, cookies: {} }),
      'login_expired',
      'transaction_missing',
    );
    expect(mock.count('/token')).toBe(0);
  });

  it('rejects a tampered transaction cookie and a missing state', async () => {
    const s = await start(client);
    const callback = await mock.authorize(s.url.href);
    const [name, value] = Object.entries(s.cookies)[0] ?? ['', ''];
    const tampered = `${value.slice(0, -2)}${value.endsWith('AA') ? 'BB' : 'AA'}`;
    await expectFailure(
      client.completeLogin({ search: callback.search, cookies: { [name]: tampered } }),
      'login_failed',
      'transaction_invalid',
    );
    callback.searchParams.delete('state');
    await expectFailure(
      client.completeLogin({ search: callback.search, cookies: s.cookies }),
      'login_failed',
      'missing_state',
    );
    expect(mock.count('/token')).toBe(0);
  });

  it('rejects an expired transaction by the injected clock', async () => {
    let now = Date.now();
    const c = createOidcClient({
      config: testConfig({ issuer: mock.issuer }),
      clock: { now: () => now },
      consumeTransaction: setConsumer().consume,
    });
    const s = await start(c);
    const callback = await mock.authorize(s.url.href);
    now += 601_000;
    await expectFailure(
      c.completeLogin({ search: callback.search, cookies: s.cookies }),
      'login_expired',
      'transaction_expired',
    );
    expect(mock.count('/token')).toBe(0);
  });

  it('checks the RFC 9207 iss parameter', async () => {
    const s = await start(client);
    const callback = await mock.authorize(s.url.href);
    callback.searchParams.set('iss', 'http://127.0.0.1:1/evil');
    await expectFailure(
      client.completeLogin({ search: callback.search, cookies: s.cookies }),
      'login_failed',
      'iss_mismatch',
    );
    callback.searchParams.set('iss', mock.issuer);
    const ok = await client.completeLogin({ search: callback.search, cookies: s.cookies });
    expect(ok.identity.subject).toBe('johndoe');
  });

  it('requires iss when the provider advertises it', async () => {
    mock.discovery = { authorization_response_iss_parameter_supported: true };
    const s = await start(client);
    const callback = await mock.authorize(s.url.href);
    await expectFailure(
      client.completeLogin({ search: callback.search, cookies: s.cookies }),
      'login_failed',
      'iss_missing',
    );
    expect(mock.count('/token')).toBe(0);
  });

  it('maps error=access_denied without reflecting error_description', async () => {
    const s = await start(client);
    const search = `?error=access_denied&error_description=%3Cscript%3Ealert(1)%3C/script%3E&state=${s.state}`;
    const err = await expectFailure(
      client.completeLogin({ search, cookies: s.cookies }),
      'access_denied',
      'provider_error:access_denied',
    );
    expect(err.detail).not.toContain('script');
    expect(err.message).not.toContain('script');
    const other = await expectFailure(
      client.completeLogin({ search: `?error=%3Cimg%3E&state=${s.state}`, cookies: s.cookies }),
      'login_failed',
      'provider_error:unrecognized',
    );
    expect(other.detail).not.toContain('img');
    expect(mock.count('/token')).toBe(0);
  });

  it.each(['state', 'code', 'iss', 'error'])(
    'answers a duplicate %s with 400 before anything else',
    async (name) => {
      const s = await start(client);
      const callback = await mock.authorize(s.url.href);
      const err = await expectFailure(
        client.completeLogin({ search: `${callback.search}&${name}=x&${name}=y`, cookies: s.cookies }),
        'bad_request',
        'duplicate_parameter',
      );
      expect(err.status).toBe(400);
      expect(mock.count('/token')).toBe(0);
    },
  );
});

describe('token endpoint failures (SECURITY B10)', () => {
  async function callbackWithTokenAnswer(status: number, body: string, contentType: string) {
    mock.hook = (req, res) => {
      if (!req.url?.startsWith('/token')) return false;
      res.writeHead(status, { 'content-type': contentType }).end(body);
      return true;
    };
    const s = await start(client);
    const callback = await mock.authorize(s.url.href);
    return client.completeLogin({ search: callback.search, cookies: s.cookies });
  }

  it('invalid_grant → provider_error', async () => {
    const err = await expectFailure(
      callbackWithTokenAnswer(
        400,
        '{"error":"invalid_grant","error_description":"<b>x</b>"}',
        'application/json',
      ),
      'provider_error',
      'token_request_failed',
    );
    expect(err.status).toBe(502);
    expect(err.detail).not.toContain('<b>');
  });

  it('5xx → provider_error', async () => {
    await expectFailure(
      callbackWithTokenAnswer(503, 'oops', 'text/plain'),
      'provider_error',
      'token_request_failed',
    );
  });

  it('HTML body with 200 → provider_error', async () => {
    await expectFailure(
      callbackWithTokenAnswer(200, '<html>hi</html>', 'text/html'),
      'provider_error',
      'token_request_failed',
    );
  });

  it('no id_token → provider_error', async () => {
    await expectFailure(
      callbackWithTokenAnswer(200, '{"access_token":"a","token_type":"Bearer"}', 'application/json'),
      'provider_error',
      'token_response_invalid',
    );
  });

  it('wrong token_type → provider_error', async () => {
    const s = await start(client);
    const callback = await mock.authorize(s.url.href);
    mock.onceTokenResponse((normal) => ({ ...normal, token_type: 'mac' }));
    await expectFailure(
      client.completeLogin({ search: callback.search, cookies: s.cookies }),
      'provider_error',
      'token_request_failed',
    );
  });

  it('a provider slower than the timeout → provider_timeout (504)', async () => {
    client = makeClient({ timeoutSeconds: 1 });
    const s = await start(client);
    const callback = await mock.authorize(s.url.href);
    mock.hook = async (req, res) => {
      if (!req.url?.startsWith('/token')) return false;
      await new Promise((resolve) => setTimeout(resolve, 3000)); // the provider being slow, not a test wait
      if (!res.destroyed) res.writeHead(500).end();
      return true;
    };
    const startedAt = Date.now();
    const err = await expectFailure(
      client.completeLogin({ search: callback.search, cookies: s.cookies }),
      'provider_timeout',
      'token_request_timeout',
    );
    expect(err.status).toBe(504);
    expect(Date.now() - startedAt).toBeLessThan(2900);
  });
});

describe('identity checks after the exchange', () => {
  async function signIn(c: OidcClient = client) {
    const s = await start(c);
    const callback = await mock.authorize(s.url.href);
    return c.completeLogin({ search: callback.search, cookies: s.cookies });
  }

  it.each([
    ['the string "true"', 'true'],
    ['false', false],
    ['absent', undefined],
  ])('email_verified %s → email_not_verified', async (_name, value) => {
    mock.idTokenClaims = { email: 'ada@example.com', email_verified: value };
    await expectFailure(signIn(), 'email_not_verified', 'email_not_verified');
    expect(mock.count('/userinfo')).toBe(0);
  });

  it('applies the policy to the token claims: look-alike domain → forbidden_domain', async () => {
    const c = makeClient({ policy: { emailDomains: ['example.com'] } });
    mock.idTokenClaims = { email: 'ada@example.com.evil.com', email_verified: true };
    await expectFailure(signIn(c), 'forbidden_domain', 'email_not_allowed');
    mock.idTokenClaims = { email: 'ada@example.com', email_verified: true };
    await expect(signIn(c)).resolves.toHaveProperty('identity.email', 'ada@example.com');
  });

  it('checks the hosted domain claim, not the hint', async () => {
    const c = makeClient({ policy: { hostedDomains: ['example.com'] } });
    mock.idTokenClaims = { email: 'ada@gmail.com', email_verified: true };
    await expectFailure(signIn(c), 'forbidden_domain', 'hosted_domain_not_allowed');
    mock.idTokenClaims = { email: 'ada@example.com', email_verified: true, hd: 'example.com' };
    await expect(signIn(c)).resolves.toHaveProperty('identity.hostedDomain', 'example.com');
  });

  it('userinfo sub ≠ ID token sub → userinfo_sub_mismatch', async () => {
    mock.userinfo = { sub: 'someone-else', name: 'Mallory' };
    await expectFailure(signIn(), 'login_failed', 'userinfo_sub_mismatch');
  });

  it('a userinfo failure → provider_error', async () => {
    mock.hook = (req, res) => {
      if (!req.url?.startsWith('/userinfo')) return false;
      res.writeHead(500).end();
      return true;
    };
    await expectFailure(signIn(), 'provider_error', 'userinfo_failed');
  });

  it('falls back to ID-token profile claims and keeps hostile text inert', async () => {
    mock.userinfo = { sub: 'johndoe' };
    mock.idTokenClaims = {
      email: 'ada@example.com',
      email_verified: true,
      name: `<script>\u0000${'x'.repeat(1000)}`,
      picture: 'javascript:alert(1)',
    };
    const { identity } = await signIn();
    expect(identity.name?.startsWith('<script>x')).toBe(true);
    expect(identity.name).not.toContain('\u0000');
    expect(identity.name?.length).toBe(256);
    expect(identity.picture).toBeNull();
  });

  it('takes email from sub-checked userinfo when the ID token has none', async () => {
    mock.idTokenClaims = {};
    mock.userinfo = { sub: 'johndoe', email: 'grace@example.com', email_verified: true, name: 'Grace' };
    const { identity } = await signIn();
    expect(identity).toMatchObject({ email: 'grace@example.com', name: 'Grace' });
    mock.userinfo = { sub: 'johndoe', email: 'grace@example.com', email_verified: 'true' };
    await expectFailure(signIn(), 'email_not_verified', 'email_not_verified');
  });

  it('rejects a wrong nonce in the ID token', async () => {
    mock.idTokenClaims = { email: 'ada@example.com', email_verified: true, nonce: 'not-the-nonce' };
    await expectFailure(signIn(), 'login_failed', 'nonce_mismatch');
  });
});

describe('provider health and discovery cache', () => {
  const DISCOVERY = '/.well-known/openid-configuration';

  it('reports health: unknown at first, JWKS failures with a safe message, recovery', async () => {
    expect(client.status()).toMatchObject({ ok: false, lastSuccessAt: null, lastError: 'not checked yet' });
    expect((await client.check()).ok).toBe(true);
    mock.hook = (req, res) => {
      if (!req.url?.startsWith('/jwks')) return false;
      res.writeHead(500).end();
      return true;
    };
    const down = await client.check();
    expect(down.ok).toBe(false);
    expect(down.lastError).toBe('JWKS request failed');
    expect(down.lastSuccessAt).not.toBeNull();
    mock.hook = undefined;
    expect((await client.check()).ok).toBe(true);
  });

  it('discovers lazily once, remembers a failure briefly, and refreshes hourly in the background', async () => {
    let now = Date.now();
    const c = createOidcClient({
      config: testConfig({ issuer: mock.issuer }),
      clock: { now: () => now },
      consumeTransaction: setConsumer().consume,
    });
    expect(mock.count(DISCOVERY)).toBe(0);
    mock.hook = (req, res) => {
      if (req.url !== DISCOVERY) return false;
      res.writeHead(503).end();
      return true;
    };
    await expectFailure(c.beginLogin({}), 'provider_error', 'discovery_failed');
    await expectFailure(c.beginLogin({}), 'provider_error', 'discovery_failed');
    expect(mock.count(DISCOVERY)).toBe(1); // the failure is remembered for a moment…
    mock.hook = undefined;
    now += 3_000; // …and retried after it
    await c.beginLogin({});
    await c.beginLogin({});
    expect(mock.count(DISCOVERY)).toBe(2);
    now += 61 * 60 * 1000;
    await c.beginLogin({}); // served from the cache while re-discovery runs
    await waitFor(() => mock.count(DISCOVERY) === 3);
  });
});
