/**
 * The sign-in against the embedded development provider (oidc-provider: a certified OpenID
 * provider, with a real sign-in page, RFC 9207 `iss`, PKCE required) on its own loopback host,
 * driven by the cookie-jar browser agent. Token-endpoint requests are counted at the network edge
 * (a pass-through wrapper around fetch) to prove the pre-exchange checks send nothing.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createOidcClient, type OidcClient } from '../../../src/oidc/client.js';
import { transactionCookieName } from '../../../src/oidc/transaction.js';
import { createBrowser } from '../../helpers/browser.js';
import { cancelAtDevIdp, type StartedDevIdp, signInAtDevIdp, startDevIdp } from '../../helpers/dev-idp.js';
import { setConsumer, testConfig } from './support/config.js';
import { expectFailure, start } from './support/flow.js';

/** The transaction cookie's name for a state, under the test configuration's prefix. */
const txCookieName = (state: string) =>
  transactionCookieName(testConfig({ issuer: 'http://127.0.0.1' }).cookie.transactionPrefix, state);

const REDIRECT = 'http://127.0.0.1:8000/auth';
let idp: StartedDevIdp;
let client: OidcClient;
/** Token requests the provider received during this test. */
let tokenRequestsBefore = 0;
const tokenRequests = () => idp.requestsTo('/token') - tokenRequestsBefore;

beforeAll(async () => {
  idp = await startDevIdp({ host: 'localhost', redirectUris: [REDIRECT] });
});
afterAll(async () => {
  await idp.close();
});
beforeEach(() => {
  tokenRequestsBefore = idp.requestsTo('/token');
  client = createOidcClient({
    config: testConfig({ issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret }),
    consumeTransaction: setConsumer().consume,
  });
});
afterEach(() => {
  client.close();
});

async function signedInCallback(c: OidcClient = client, returnTo?: string) {
  const s = await start(c, returnTo);
  const agent = createBrowser();
  const { callbackUrl } = await signInAtDevIdp(agent, s.url.href, {
    email: 'typed.user@example.org',
    name: 'Typed User',
  });
  const callback = new URL(callbackUrl);
  expect(callback.origin + callback.pathname).toBe(REDIRECT);
  return { s, callback };
}

describe('sign-in through the development provider', () => {
  it('returns the identity with the typed email, and the bound returnTo', async () => {
    const { s, callback } = await signedInCallback(client, '/after');
    expect(callback.searchParams.get('iss')).toBe(idp.issuer);
    const result = await client.completeLogin({ search: callback.search, cookies: s.cookies });
    expect(result.identity).toMatchObject({
      issuer: idp.issuer,
      email: 'typed.user@example.org',
      emailVerified: true,
      name: 'Typed User',
    });
    expect(result.identity.subject.length).toBeGreaterThan(0);
    expect(result.returnTo).toBe('http://127.0.0.1:8000/after');
    expect(tokenRequests()).toBe(1);
    expect((await client.check()).ok).toBe(true);
  });

  it('refuses a replay of the same callback without a second token request', async () => {
    const { s, callback } = await signedInCallback();
    await client.completeLogin({ search: callback.search, cookies: s.cookies });
    await expectFailure(
      client.completeLogin({ search: callback.search, cookies: s.cookies }),
      'login_failed',
      'transaction_replayed',
    );
    expect(tokenRequests()).toBe(1);
  });

  it('refuses a state mismatch, a missing cookie, a wrong or missing iss, before any token request', async () => {
    const { s, callback } = await signedInCallback();
    const sealed = Object.values(s.cookies)[0] ?? '';

    const forged = new URL(callback);
    forged.searchParams.set('state', 'Zm9yZ2VkLXN0YXRlLWZvcmdlZC1zdGF0ZS1mb3JnZWQ');
    await expectFailure(
      client.completeLogin({
        search: forged.search,
        cookies: { [txCookieName('Zm9yZ2VkLXN0YXRlLWZvcmdlZC1zdGF0ZS1mb3JnZWQ')]: sealed },
      }),
      'login_failed',
      'state_mismatch',
    );
    await expectFailure(
      client.completeLogin({ search: callback.search, cookies: {} }),
      'login_expired',
      'transaction_missing',
    );

    const wrongIss = new URL(callback);
    wrongIss.searchParams.set('iss', 'http://localhost:1/dev-idp');
    await expectFailure(
      client.completeLogin({ search: wrongIss.search, cookies: s.cookies }),
      'login_failed',
      'iss_mismatch',
    );

    // oidc-provider advertises authorization_response_iss_parameter_supported: a stripped iss is refused.
    const noIss = new URL(callback);
    noIss.searchParams.delete('iss');
    await expectFailure(
      client.completeLogin({ search: noIss.search, cookies: s.cookies }),
      'login_failed',
      'iss_missing',
    );
    expect(tokenRequests()).toBe(0);

    // The untouched callback still works afterwards: none of the above consumed the transaction.
    const result = await client.completeLogin({ search: callback.search, cookies: s.cookies });
    expect(result.identity.email).toBe('typed.user@example.org');
  });

  it('maps a cancelled sign-in (error=access_denied) to access_denied', async () => {
    const s = await start(client);
    const { callbackUrl } = await cancelAtDevIdp(createBrowser(), s.url.href);
    const callback = new URL(callbackUrl);
    expect(callback.searchParams.get('error')).toBe('access_denied');
    const err = await expectFailure(
      client.completeLogin({ search: callback.search, cookies: s.cookies }),
      'access_denied',
      'provider_error:access_denied',
    );
    expect(err.status).toBe(403);
    expect(txCookieName(callback.searchParams.get('state') ?? '')).toBe(Object.keys(s.cookies)[0]);
    expect(tokenRequests()).toBe(0);
  });

  it('answers a duplicate state with 400', async () => {
    const { s, callback } = await signedInCallback();
    const err = await expectFailure(
      client.completeLogin({ search: `${callback.search}&state=${s.state}`, cookies: s.cookies }),
      'bad_request',
      'duplicate_parameter',
    );
    expect(err.status).toBe(400);
    expect(tokenRequests()).toBe(0);
  });
});
