/**
 * Test fixture: a Gatehouse wired to a standalone development provider on another host name, and
 * a one-call sign-in through the real flow.
 */
import { type BrowserAgent, createBrowser } from './browser.js';
import { signInAtDevIdp, startDevIdp } from './dev-idp.js';
import { type StartOptions, startGatehouse, type TestGatehouse } from './gatehouse.js';
import { freePort } from './ports.js';

export interface Fixture {
  readonly gh: TestGatehouse;
  readonly idp: Awaited<ReturnType<typeof startDevIdp>>;
  close(): Promise<void>;
}

export async function startWithProvider(options: StartOptions = {}): Promise<Fixture> {
  const port = await freePort();
  const appUrl = `http://127.0.0.1:${port}`;
  const idp = await startDevIdp({ host: 'localhost', redirectUris: [`${appUrl}/auth`] });
  const gh = await startGatehouse({
    ...options,
    env: {
      PORT: String(port),
      PUBLIC_URL: appUrl,
      OIDC_ISSUER: idp.issuer,
      GOOGLE_CLIENT_ID: idp.clientId,
      GOOGLE_CLIENT_SECRET: idp.clientSecret,
      ...options.env,
    },
  });
  return {
    gh,
    idp,
    async close() {
      await gh.close();
      await idp.close();
    },
  };
}

export interface SignedIn {
  readonly browser: BrowserAgent;
  /** The session token the server set in the cookie. */
  readonly token: string;
}

/** Signs in through /login → provider form → /auth and returns the browser holding the cookie. */
export async function signIn(
  fixture: Fixture,
  email: string,
  name = 'Test User',
  browser = createBrowser(),
): Promise<SignedIn> {
  const { gh } = fixture;
  const login = await browser.get(`${gh.url}/login`);
  if (login.status !== 302) throw new Error(`/login answered ${login.status}`);
  const { callbackUrl, initiator } = await signInAtDevIdp(browser, login.headers.get('location')!, {
    email,
    name,
  });
  const back = await browser.navigate(callbackUrl, { initiator });
  if (back.hops[0]?.status !== 303) throw new Error(`/auth answered ${back.hops[0]?.status}`);
  const host = new URL(gh.url).hostname;
  const cookie = browser.cookies(host).find((c) => c.name === gh.config.cookie.name);
  if (!cookie) throw new Error('no session cookie after sign-in');
  return { browser, token: cookie.value };
}
