/**
 * The whole sign-in over real HTTP: Gatehouse on 127.0.0.1, a real OpenID provider
 * (oidc-provider) on `localhost` — a different site, so the callback is cross-site as with Google.
 * Regression: the tutorial set the cookie as `access_token` and read it as `token`, so its
 * protected route never saw a signed-in user; here a test signs in and calls /chat.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBrowser } from '../helpers/browser.js';
import { signInAtDevIdp } from '../helpers/dev-idp.js';
import type { TestGatehouse } from '../helpers/gatehouse.js';
import { type Fixture, startWithProvider } from '../helpers/sign-in.js';

describe('sign-in flow against a provider on another site', () => {
  let fx: Fixture;
  let gh: TestGatehouse;
  let idp: Fixture['idp'];

  beforeAll(async () => {
    fx = await startWithProvider();
    ({ gh, idp } = fx);
  });

  afterAll(async () => fx?.close());

  it('signs in, calls /chat with the cookie it set, signs out, and is refused afterwards', async () => {
    const browser = createBrowser();
    const login = await browser.get(`${gh.url}/login`);
    expect(login.status).toBe(302);
    const authorizationUrl = login.headers.get('location')!;
    expect(authorizationUrl.startsWith(idp.issuer)).toBe(true);

    const { callbackUrl } = await signInAtDevIdp(browser, authorizationUrl, {
      email: 'ada@example.com',
      name: 'Ada Lovelace',
    });
    expect(callbackUrl.startsWith(`${gh.url}/auth?`)).toBe(true);

    const callback = await browser.navigate(callbackUrl);
    const first = callback.hops[0]!;
    expect(first.status).toBe(303);
    expect(first.headers.get('cache-control')).toBe('no-store');
    expect(first.headers.get('referrer-policy')).toBe('no-referrer');
    expect(first.headers.get('location')).toBe(`${gh.url}/`);

    const sessionCookie = browser.cookies('127.0.0.1').find((c) => c.name === gh.config.cookie.name);
    expect(sessionCookie?.httpOnly).toBe(true);
    expect(sessionCookie?.sameSite).toBe('lax');

    const chat = await browser.get(`${gh.url}/chat`);
    expect(chat.status).toBe(200);
    const body = (await chat.json()) as { message: string; user: { user_id: string; user_email: string } };
    expect(body.message).toBe('Welcome!');
    expect(body.user.user_email).toBe('ada@example.com');

    const me = await browser.get(`${gh.url}/me`);
    const profile = (await me.json()) as { name: string; picture: string | null };
    expect(profile.name).toBe('Ada Lovelace');
    // The loopback development provider inlines its avatar; only such a provider may.
    expect(profile.picture).toMatch(/^data:image\/svg\+xml;base64,/);

    const logout = await browser.post(`${gh.url}/logout`, '', { headers: { origin: gh.url } });
    expect(logout.status).toBe(204);

    const after = await browser.get(`${gh.url}/chat`);
    expect(after.status).toBe(401);
    expect(((await after.json()) as { code: string }).code).toBe('not_authenticated');
  });

  it('refuses the old token replayed after sign-out (no cookie jar clearing)', async () => {
    const browser = createBrowser();
    const login = await browser.get(`${gh.url}/login`);
    const { callbackUrl } = await signInAtDevIdp(browser, login.headers.get('location')!, {
      email: 'grace@example.com',
      name: 'Grace',
    });
    await browser.navigate(callbackUrl);
    const token = browser.cookies('127.0.0.1').find((c) => c.name === gh.config.cookie.name)!.value;

    const logout = await browser.post(`${gh.url}/logout`, '', { headers: { origin: gh.url } });
    expect(logout.status).toBe(204);

    const replay = await fetch(`${gh.url}/chat`, { headers: { authorization: `Bearer ${token}` } });
    expect(replay.status).toBe(401);
    expect(((await replay.json()) as { code: string }).code).toBe('session_revoked');
  });

  it('records the sign-in and sign-out in the audit trail', async () => {
    const events = await gh.gatehouse.store.events.list({ limit: 50 });
    const types = events.map((e) => e.type);
    expect(types).toContain('sign_in');
    expect(types).toContain('sign_out');
  });
});
