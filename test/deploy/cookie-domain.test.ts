/**
 * The shared-parent-domain alternative (deploy/nginx/parent-domain.conf): the frontend on
 * app.gatehouse.test and Gatehouse on api.gatehouse.test, two TLS server blocks on one nginx port.
 * COOKIE_DOMAIN=gatehouse.test makes the session cookie `__Secure-gatehouse; Domain=gatehouse.test`,
 * sent to both hosts; the frontend calls the API cross-origin with credentials (CORS_ORIGINS).
 * `.test` is reserved (RFC 6761) and DNS cannot resolve it here, so the browser agent connects
 * to 127.0.0.1 while sending the real Host and SNI; one certificate names both hosts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrowserAgent, createBrowser } from '../helpers/browser.js';
import { type StartedDevIdp, signInAtDevIdp, startDevIdp } from '../helpers/dev-idp.js';
import { startGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { nginxSkipReason, type RunningNginx, renderTemplate, startNginx } from '../helpers/nginx.js';
import { freePort } from '../helpers/ports.js';
import { createCertificate, type TestCertificate } from '../helpers/tls.js';
import { frontendServerSettings, sharedSecrets, writeFrontendSite } from './cluster.js';

const TEMPLATE = join(import.meta.dirname, '..', '..', 'deploy', 'nginx', 'parent-domain.conf');
const PARENT = 'gatehouse.test';
const APP_HOST = `app.${PARENT}`;
const API_HOST = `api.${PARENT}`;
const COOKIE = '__Secure-gatehouse';

const skip = nginxSkipReason();

describe.skipIf(skip !== undefined)(
  `frontend and Gatehouse on sibling hosts, COOKIE_DOMAIN (nginx)${skip ? ` — skipped: ${skip}` : ''}`,
  () => {
    let dir: string;
    let cert: TestCertificate;
    let idp: StartedDevIdp;
    let gh: TestGatehouse;
    let nginx: RunningNginx;
    let port: number;
    let appUrl: string;
    let apiUrl: string;

    const browser = (): BrowserAgent =>
      createBrowser({
        ca: cert.cert,
        // A hosts-file entry for the parent domain's hosts; localhost (the provider) resolves as usual.
        resolve: (hostname) =>
          hostname === PARENT || hostname.endsWith(`.${PARENT}`) ? '127.0.0.1' : undefined,
      });

    /** Signs in from the frontend's page through api.<parent>; returns the callback's Set-Cookie. */
    async function signIn(agent: BrowserAgent, email: string): Promise<string> {
      // The frontend's "Sign in" link: a navigation from app.<parent> to api.<parent>/login.
      const login = await agent.navigate(`${apiUrl}/login`, {
        initiator: `${appUrl}/`,
        stopAt: (url) => url.origin !== apiUrl,
      });
      expect(login.status).toBe(302);
      expect(login.stoppedAt?.startsWith(idp.issuer)).toBe(true);
      const { callbackUrl, initiator } = await signInAtDevIdp(agent, login.stoppedAt!, {
        email,
        name: 'Sib',
      });
      expect(callbackUrl.startsWith(`${apiUrl}/auth?`)).toBe(true);
      const callback = await agent.navigate(callbackUrl, { initiator });
      const first = callback.hops[0]!;
      expect(first.status).toBe(303);
      expect(first.headers.get('location')).toBe(`${appUrl}/`);
      // Back on the frontend, served by its own server block.
      expect(callback.url).toBe(`${appUrl}/`);
      expect(callback.status).toBe(200);
      expect(await callback.response.text()).toContain('My frontend');
      return first.headers.getSetCookie().find((c) => c.startsWith(`${COOKIE}=`)) ?? '';
    }

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'gatehouse-cookie-domain-'));
      cert = createCertificate(dir, { dnsNames: [APP_HOST, API_HOST] });
      const root = writeFrontendSite(dir);
      port = await freePort();
      appUrl = `https://${APP_HOST}:${port}`;
      apiUrl = `https://${API_HOST}:${port}`;
      idp = await startDevIdp({ host: 'localhost', redirectUris: [`${apiUrl}/auth`] });
      gh = await startGatehouse({
        env: {
          PUBLIC_URL: apiUrl,
          FRONTEND_URL: `${appUrl}/`,
          COOKIE_DOMAIN: PARENT,
          CORS_ORIGINS: appUrl,
          TRUST_PROXY: '127.0.0.1',
          OIDC_ISSUER: idp.issuer,
          GOOGLE_CLIENT_ID: idp.clientId,
          GOOGLE_CLIENT_SECRET: idp.clientSecret,
          ...sharedSecrets(),
        },
      });
      const conf = renderTemplate(
        TEMPLATE,
        {
          ...frontendServerSettings(APP_HOST, port, root, cert),
          GATEHOUSE_SERVER_NAME: API_HOST,
          GATEHOUSE_LISTEN: `127.0.0.1:${port}`,
          GATEHOUSE_TLS_CERT: cert.certPath,
          GATEHOUSE_TLS_KEY: cert.keyPath,
        },
        [`127.0.0.1:${gh.config.port}`],
      );
      nginx = await startNginx({ dir, confs: { 'parent-domain.conf': conf }, waitForPorts: [port] });
    });

    afterAll(async () => {
      await nginx?.stop();
      await gh?.close();
      await idp?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('routes by host name on one port: the frontend on app., Gatehouse on api.', async () => {
      const agent = browser();
      const page = await agent.navigate(`${appUrl}/settings/profile`);
      expect(page.status).toBe(200);
      expect(await page.response.text()).toContain('My frontend');
      const me = await agent.get(`${apiUrl}/me`);
      expect(me.status).toBe(401);
      expect(me.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    });

    it('signs in through api.: a __Secure- cookie on the parent domain, Secure, HttpOnly, Lax, Path=/', async () => {
      const agent = browser();
      const setCookie = await signIn(agent, 'sib@example.com');
      expect(setCookie).not.toBe('');
      const attributes = setCookie.split(';').map((a) => a.trim().toLowerCase());
      expect(attributes).toContain(`domain=${PARENT}`);
      expect(attributes).toContain('secure');
      expect(attributes).toContain('httponly');
      expect(attributes).toContain('samesite=lax');
      expect(attributes).toContain('path=/');
      expect(gh.config.cookie.name).toBe(COOKIE);

      // The jar holds one Domain cookie that both sibling hosts receive.
      const stored = agent.cookies(API_HOST).find((c) => c.name === COOKIE);
      expect(stored).toMatchObject({ domain: PARENT, hostOnly: false, secure: true, httpOnly: true });
      expect(agent.cookies(APP_HOST).some((c) => c.name === COOKIE)).toBe(true);
    });

    it("answers the frontend's credentialed CORS call to /me, and no look-alike origin", async () => {
      const agent = browser();
      await signIn(agent, 'cors@example.com');

      // fetch(`${apiUrl}/me`, { credentials: 'include' }) on the app.<parent> page.
      const me = await agent.get(`${apiUrl}/me`, { initiator: `${appUrl}/` });
      expect(me.status).toBe(200);
      expect(me.headers.get('access-control-allow-origin')).toBe(appUrl);
      expect(me.headers.get('access-control-allow-credentials')).toBe('true');
      expect(me.headers.get('vary') ?? '').toMatch(/origin/i);
      expect(((await me.json()) as { email: string }).email).toBe('cors@example.com');

      // A host whose name merely starts with the frontend's is another site: no CORS grant,
      // so its script cannot read the answer.
      const lookAlike = `https://${APP_HOST}.evil.test`;
      const probe = await agent.get(`${apiUrl}/me`, {
        initiator: `${lookAlike}/`,
        // Sent anyway, to show that the refusal does not rest on the cookie staying home.
        headers: { cookie: `${COOKIE}=${agent.cookies(API_HOST).find((c) => c.name === COOKIE)!.value}` },
      });
      // No ACAO is what makes the browser withhold the answer (Fetch §4.9 CORS check);
      // @fastify/cors still sends Access-Control-Allow-Credentials, which is harmless without it.
      expect(probe.headers.get('access-control-allow-origin')).toBeNull();
      expect(probe.status).toBe(200);
      await probe.body?.cancel();
    });

    it('signs out from the frontend origin; a sibling host that is not trusted gets 403 csrf_rejected', async () => {
      const agent = browser();
      await signIn(agent, 'out@example.com');

      // Any host under the parent domain receives the cookie (same site, SameSite=Lax lets it
      // through): the Origin check is what stops an untrusted sibling from acting for the user.
      const sibling = `https://blog.${PARENT}:${port}`;
      const refused = await agent.post(`${apiUrl}/logout`, '', { initiator: `${sibling}/` });
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as { code: string }).code).toBe('csrf_rejected');
      expect((await agent.get(`${apiUrl}/me`, { initiator: `${appUrl}/` })).status).toBe(200);

      const logout = await agent.post(`${apiUrl}/logout`, '', { initiator: `${appUrl}/` });
      expect(logout.status).toBe(204);
      expect(logout.headers.get('access-control-allow-origin')).toBe(appUrl);
      expect(agent.cookies(API_HOST).some((c) => c.name === COOKIE)).toBe(false);
      expect((await agent.get(`${apiUrl}/me`, { initiator: `${appUrl}/` })).status).toBe(401);
    });
  },
);
