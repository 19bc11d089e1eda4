import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subjectForEmail } from '../../../src/dev-idp/accounts.js';
import { type BrowserAgent, createBrowser } from '../../helpers/browser.js';
import {
  cancelAtDevIdp,
  discoverDevIdp,
  type StartedDevIdp,
  signInAtDevIdp,
  startDevIdp,
} from '../../helpers/dev-idp.js';

// The relying party's callback. Nothing listens there: the helpers stop before the browser goes.
const REDIRECT_URI = 'http://127.0.0.1:9/auth';

let idp: StartedDevIdp;
let config: client.Configuration;

beforeAll(async () => {
  // The provider on `localhost`, the relying party on `127.0.0.1`: cross-site, as with Google.
  idp = await startDevIdp({ host: 'localhost', redirectUris: [REDIRECT_URI] });
  config = await discoverDevIdp(idp);
});

afterAll(async () => {
  await idp?.close();
});

async function startLogin(cfg = config, extra: Record<string, string> = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(cfg, {
    redirect_uri: REDIRECT_URI,
    scope: 'openid email profile',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  });
  return { url: url.href, verifier, state, nonce };
}

async function signIn(email: string, name?: string, browser: BrowserAgent = createBrowser(), cfg = config) {
  const login = await startLogin(cfg);
  const { callbackUrl } = await signInAtDevIdp(browser, login.url, {
    email,
    ...(name === undefined ? {} : { name }),
  });
  const tokens = await client.authorizationCodeGrant(cfg, new URL(callbackUrl), {
    pkceCodeVerifier: login.verifier,
    expectedState: login.state,
    expectedNonce: login.nonce,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  if (!claims) throw new Error('no ID token');
  const userinfo = await client.fetchUserInfo(cfg, tokens.access_token, claims.sub);
  return { callbackUrl, tokens, claims, userinfo };
}

describe('development provider: authorization code + PKCE with openid-client', () => {
  it('signs in as the identity typed into the form, in the ID token and at userinfo', async () => {
    const { callbackUrl, claims, userinfo, tokens } = await signIn('alice@example.com', 'Alice Liddell');
    const callback = new URL(callbackUrl);
    expect(callback.origin + callback.pathname).toBe(REDIRECT_URI);
    expect(callback.searchParams.get('code')).toBeTruthy();
    expect(tokens.token_type.toLowerCase()).toBe('bearer');

    expect(claims.iss).toBe(idp.issuer);
    expect(claims.aud).toBe(idp.clientId);
    expect(claims.sub).toBe(subjectForEmail('alice@example.com'));
    expect(claims.email).toBe('alice@example.com');
    expect(claims.email_verified).toBe(true);
    expect(claims.name).toBe('Alice Liddell');

    expect(userinfo.sub).toBe(claims.sub);
    expect(userinfo.email).toBe('alice@example.com');
    expect(userinfo.email_verified).toBe(true);
    expect(userinfo.name).toBe('Alice Liddell');
    expect(userinfo.picture).toMatch(/^data:image\/svg\+xml;base64,[A-Za-z0-9+/]+=*$/);
  });

  it('puts the RFC 9207 iss parameter on the callback', async () => {
    const { callbackUrl } = await signIn('iss@example.com');
    expect(new URL(callbackUrl).searchParams.getAll('iss')).toEqual([idp.issuer]);
  });

  it('keeps the subject stable per email (case-insensitively) and distinct across emails', async () => {
    const first = await signIn('bob@example.com', 'Bob');
    const again = await signIn('Bob@Example.com', 'Bobby');
    const other = await signIn('carol@example.com', 'Carol');
    expect(first.claims.sub).toMatch(/^dev-[A-Za-z0-9_-]{22}$/);
    expect(again.claims.sub).toBe(first.claims.sub);
    expect(again.userinfo.name).toBe('Bobby');
    expect(other.claims.sub).not.toBe(first.claims.sub);
  });

  it('shows the form on every sign-in, so one browser can switch identities', async () => {
    const browser = createBrowser();
    const dave = await signIn('dave@example.com', 'Dave', browser);
    const erin = await signIn('erin@example.com', 'Erin', browser);
    expect(erin.claims.sub).not.toBe(dave.claims.sub);
    expect(erin.userinfo.email).toBe('erin@example.com');
  });

  it('omits the name claim when no name is given', async () => {
    const { claims, userinfo } = await signIn('noname@example.com');
    expect(claims.name).toBeUndefined();
    expect(userinfo.name).toBeUndefined();
    expect(userinfo.picture).toMatch(/^data:image\/svg\+xml/);
  });

  it('accepts client_secret_post as well as client_secret_basic', async () => {
    const post = await discoverDevIdp(idp, { clientAuth: client.ClientSecretPost(idp.clientSecret) });
    const basic = await discoverDevIdp(idp, { clientAuth: client.ClientSecretBasic(idp.clientSecret) });
    expect((await signIn('post@example.com', undefined, createBrowser(), post)).userinfo.email).toBe(
      'post@example.com',
    );
    expect((await signIn('basic@example.com', undefined, createBrowser(), basic)).userinfo.email).toBe(
      'basic@example.com',
    );
  });

  it('refuses the code exchange with a wrong PKCE verifier or a wrong client secret', async () => {
    const login = await startLogin();
    const { callbackUrl } = await signInAtDevIdp(createBrowser(), login.url, { email: 'pkce@example.com' });
    await expect(
      client.authorizationCodeGrant(config, new URL(callbackUrl), {
        pkceCodeVerifier: client.randomPKCECodeVerifier(),
        expectedState: login.state,
        expectedNonce: login.nonce,
      }),
    ).rejects.toMatchObject({ error: 'invalid_grant' });

    const wrongSecret = await discoverDevIdp(idp, { clientSecret: 'not-the-secret' });
    const second = await startLogin(wrongSecret);
    const result = await signInAtDevIdp(createBrowser(), second.url, { email: 'pkce@example.com' });
    await expect(
      client.authorizationCodeGrant(wrongSecret, new URL(result.callbackUrl), {
        pkceCodeVerifier: second.verifier,
        expectedState: second.state,
        expectedNonce: second.nonce,
      }),
    ).rejects.toMatchObject({ error: 'invalid_client' });
  });

  it('requires PKCE: an authorization request without a code challenge is refused', async () => {
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid email',
      state: 'no-pkce-state',
      nonce: 'no-pkce-nonce',
    });
    const nav = await createBrowser().navigate(url.href, { stopAt: (u) => u.port === '9' });
    expect(nav.stoppedAt).not.toBeNull();
    const params = new URL(nav.stoppedAt ?? '').searchParams;
    expect(params.get('error')).toBe('invalid_request');
    expect(params.get('state')).toBe('no-pkce-state');
  });

  it('refuses a redirect URI that is not registered, without redirecting to it', async () => {
    const login = await startLogin(config, { redirect_uri: 'http://127.0.0.1:9/elsewhere' });
    const nav = await createBrowser().navigate(login.url, { stopAt: (u) => u.port === '9' });
    expect(nav.stoppedAt).toBeNull();
    expect(nav.status).toBe(400);
  });

  it('Cancel ends the interaction with error=access_denied at the redirect URI', async () => {
    const login = await startLogin();
    const { callbackUrl } = await cancelAtDevIdp(createBrowser(), login.url);
    const params = new URL(callbackUrl).searchParams;
    expect(params.get('error')).toBe('access_denied');
    expect(params.get('code')).toBeNull();
    expect(params.get('state')).toBe(login.state);
    expect(params.get('iss')).toBe(idp.issuer);
  });

  it('serves many sign-ins at once, each with its own identity', async () => {
    const emails = Array.from({ length: 25 }, (_, i) => `parallel-${i % 5}@example.com`);
    const results = await Promise.all(emails.map((email) => signIn(email, email.toUpperCase())));
    results.forEach((result, i) => {
      expect(result.userinfo.email).toBe(emails[i]);
      expect(result.claims.sub).toBe(subjectForEmail(emails[i] ?? ''));
    });
    expect(new Set(results.map((r) => r.claims.sub)).size).toBe(5);
  });
});
