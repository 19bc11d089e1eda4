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
  /** The callback's `Set-Cookie` for the session cookie, as the server sent it. */
  readonly setCookie: string;
}

export interface SignInOptions {
  readonly email: string;
  readonly name?: string;
  /** The session cookie's name (config.cookie.name). */
  readonly cookieName: string;
  readonly browser?: BrowserAgent;
}

/**
 * The HTTP-level sign-in every suite with a development provider uses: `/login` at `baseUrl` →
 * the provider's form → `/auth` (303) → the session cookie, read back from the browser's jar.
 */
export async function signInThroughDevIdp(baseUrl: string, options: SignInOptions): Promise<SignedIn> {
  const browser = options.browser ?? createBrowser();
  const login = await browser.get(`${baseUrl}/login`);
  if (login.status !== 302) throw new Error(`/login answered ${login.status}`);
  const { callbackUrl, initiator } = await signInAtDevIdp(browser, login.headers.get('location')!, {
    email: options.email,
    name: options.name ?? 'Test User',
  });
  const back = await browser.navigate(callbackUrl, { initiator });
  const first = back.hops[0];
  if (first?.status !== 303) throw new Error(`/auth answered ${first?.status}`);
  const setCookie = first.headers.getSetCookie().find((c) => c.startsWith(`${options.cookieName}=`)) ?? '';
  const host = new URL(baseUrl).hostname;
  const cookie = browser.cookies(host).find((c) => c.name === options.cookieName);
  if (!cookie) throw new Error('no session cookie after sign-in');
  return { browser, token: cookie.value, setCookie };
}

/** Signs in to a fixture's Gatehouse and returns the browser holding the cookie. */
export function signIn(
  fixture: Fixture,
  email: string,
  name = 'Test User',
  browser = createBrowser(),
): Promise<SignedIn> {
  const { gh } = fixture;
  return signInThroughDevIdp(gh.url, { email, name, browser, cookieName: gh.config.cookie.name });
}
