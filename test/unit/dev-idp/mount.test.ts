import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as client from 'openid-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createDevIdp, type DevIdp } from '../../../src/dev-idp/index.js';
import { createBrowser } from '../../helpers/browser.js';
import { discoverDevIdp, type StartedDevIdp, signInAtDevIdp, startDevIdp } from '../../helpers/dev-idp.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A loopback server on 127.0.0.1 whose handler is set once the port is known. */
async function listen(): Promise<{ server: Server; origin: string; use(handler: Handler): void }> {
  let handler: Handler = (_req, res) => res.writeHead(503).end();
  const server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    origin: `http://127.0.0.1:${port}`,
    use(h) {
      handler = h;
    },
  };
}

async function pkceLogin(config: client.Configuration, redirectUri: string) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid email profile',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  return { url: url.href, verifier, state, nonce };
}

describe('development provider mounted under /dev-idp of a server that serves other paths', () => {
  it('completes a sign-in on the same origin while the other routes keep working', async () => {
    const app = await listen();
    const redirectUri = `${app.origin}/auth`;
    const idp: DevIdp = await createDevIdp({
      issuer: `${app.origin}/dev-idp`,
      clientId: 'mounted-client',
      clientSecret: 'mounted-secret-0123456789',
      redirectUris: [redirectUri],
    });
    cleanups.push(() => idp.close());
    const callbacks: string[] = [];
    app.use((req, res) => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      if (path === '/dev-idp' || path.startsWith('/dev-idp/')) return idp.handle(req, res);
      if (path === '/auth') callbacks.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`app:${path}`);
    });

    const config = await discoverDevIdp(idp, {
      clientId: 'mounted-client',
      clientSecret: 'mounted-secret-0123456789',
    });
    expect(config.serverMetadata().authorization_endpoint).toBe(`${app.origin}/dev-idp/auth`);

    const login = await pkceLogin(config, redirectUri);
    const browser = createBrowser();
    const { callbackUrl, initiator } = await signInAtDevIdp(browser, login.url, {
      email: 'mounted@example.com',
      name: 'M',
    });
    const landing = await browser.navigate(callbackUrl, { initiator });
    expect(await landing.response.text()).toBe('app:/auth');
    expect(callbacks).toHaveLength(1);

    const tokens = await client.authorizationCodeGrant(config, new URL(callbackUrl), {
      pkceCodeVerifier: login.verifier,
      expectedState: login.state,
      expectedNonce: login.nonce,
      idTokenExpected: true,
    });
    expect(tokens.claims()?.email).toBe('mounted@example.com');
    expect(tokens.claims()?.iss).toBe(`${app.origin}/dev-idp`);

    const other = await fetch(`${app.origin}/hello`);
    expect(await other.text()).toBe('app:/hello');
    // The provider's own session cookie stays under its mount path, off the app's routes.
    const cookiePaths = browser.cookies('127.0.0.1').map((c) => c.path);
    expect(cookiePaths.every((p) => p.startsWith('/dev-idp'))).toBe(true);
  });

  it('answers 404 itself for a request outside its mount path', async () => {
    const app = await listen();
    const idp = await createDevIdp({
      issuer: `${app.origin}/dev-idp`,
      clientId: 'c',
      clientSecret: 's',
      redirectUris: [`${app.origin}/auth`],
    });
    cleanups.push(() => idp.close());
    app.use((req, res) => idp.handle(req, res));
    expect((await fetch(`${app.origin}/dev-idpx/.well-known/openid-configuration`)).status).toBe(404);
    expect((await fetch(`${app.origin}/.well-known/openid-configuration`)).status).toBe(404);
    expect((await fetch(`${app.origin}/dev-idp/.well-known/openid-configuration`)).status).toBe(200);
  });

  it('behind a TLS-terminating proxy, advertises the https issuer and sets Secure cookies', async () => {
    const app = await listen();
    const issuer = 'https://gatehouse.example/dev-idp';
    const idp = await createDevIdp({
      issuer,
      clientId: 'proxied',
      clientSecret: 'proxied-secret',
      redirectUris: ['https://gatehouse.example/auth'],
    });
    cleanups.push(() => idp.close());
    app.use((req, res) => idp.handle(req, res));

    const doc = (await (
      await fetch(`${app.origin}/dev-idp/.well-known/openid-configuration`)
    ).json()) as Record<string, unknown>;
    expect(doc.issuer).toBe(issuer);
    expect(doc.token_endpoint).toBe(`${issuer}/token`);

    const query = new URLSearchParams({
      client_id: 'proxied',
      redirect_uri: 'https://gatehouse.example/auth',
      response_type: 'code',
      scope: 'openid email',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
      state: 'proxied-state',
    });
    const response = await fetch(`${app.origin}/dev-idp/auth?${query}`, { redirect: 'manual' });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toMatch(/^\/dev-idp\/interaction\/[A-Za-z0-9_-]+$/);
    const cookies = response.headers.getSetCookie();
    expect(cookies.length).toBeGreaterThan(0);
    for (const cookie of cookies) expect(cookie.toLowerCase()).toContain('; secure');
  });
});

describe('development provider on its own site (like Google)', () => {
  let idp: StartedDevIdp;

  it('does not carry a SameSite=Strict cookie of the app to the callback; Lax comes along', async () => {
    const app = await listen();
    const redirectUri = `${app.origin}/auth`;
    idp = await startDevIdp({ host: 'localhost', redirectUris: [redirectUri] });
    cleanups.push(() => idp.close());
    const config = await discoverDevIdp(idp);
    const received: string[] = [];
    app.use(async (req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/login') {
        const login = await pkceLogin(config, redirectUri);
        res.writeHead(302, {
          location: login.url,
          'set-cookie': [
            'tx_strict=1; Path=/; HttpOnly; SameSite=Strict',
            'tx_lax=1; Path=/; HttpOnly; SameSite=Lax',
          ],
        });
        res.end();
        return;
      }
      received.push(req.headers.cookie ?? '');
      res.writeHead(200).end('callback');
    });

    const browser = createBrowser();
    const start = await browser.navigate(`${app.origin}/login`, {
      stopAt: (u) => u.hostname === 'localhost',
    });
    expect(start.stoppedAt).toMatch(/^http:\/\/localhost:\d+\/dev-idp\/auth\?/);
    const { callbackUrl, initiator } = await signInAtDevIdp(browser, start.stoppedAt ?? '', {
      email: 'cross-site@example.com',
      initiator: `${app.origin}/login`,
    });
    expect(callbackUrl.startsWith(`${redirectUri}?`)).toBe(true);
    await browser.navigate(callbackUrl, { initiator });
    expect(received).toEqual(['tx_lax=1']);
  });
});
