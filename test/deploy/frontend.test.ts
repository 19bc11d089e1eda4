/**
 * The separate-frontend pattern (deploy/nginx/frontend.conf): the frontend's own origin serves its
 * files and proxies /login, /auth, /logout and the API to Gatehouse, so the session cookie is a
 * host-only `__Host-` cookie on the frontend's origin and the frontend calls the API same-origin.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBrowser } from '../helpers/browser.js';
import { type StartedDevIdp, startDevIdp } from '../helpers/dev-idp.js';
import { startGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { nginxSkipReason, type RunningNginx, renderTemplate, startNginx } from '../helpers/nginx.js';
import { freePort } from '../helpers/ports.js';
import { createCertificate, type TestCertificate } from '../helpers/tls.js';
import {
  FRONTEND_TEMPLATE,
  frontendServerSettings,
  sharedSecrets,
  signIn,
  writeFrontendSite,
} from './cluster.js';

const skip = nginxSkipReason();

describe.skipIf(skip !== undefined)(
  `separate frontend behind nginx${skip ? ` — skipped: ${skip}` : ''}`,
  () => {
    let dir: string;
    let cert: TestCertificate;
    let idp: StartedDevIdp;
    let gh: TestGatehouse;
    let nginx: RunningNginx;
    let frontendUrl: string;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'gatehouse-frontend-'));
      cert = createCertificate(dir);
      const root = writeFrontendSite(dir);
      const port = await freePort();
      frontendUrl = `https://localhost:${port}`;
      idp = await startDevIdp({ host: 'localhost', redirectUris: [`${frontendUrl}/auth`] });
      gh = await startGatehouse({
        env: {
          PUBLIC_URL: frontendUrl,
          REDIRECT_URL: `${frontendUrl}/auth`,
          FRONTEND_URL: `${frontendUrl}/`,
          TRUST_PROXY: '127.0.0.1',
          OIDC_ISSUER: idp.issuer,
          GOOGLE_CLIENT_ID: idp.clientId,
          GOOGLE_CLIENT_SECRET: idp.clientSecret,
          ...sharedSecrets(),
        },
      });
      const conf = renderTemplate(FRONTEND_TEMPLATE, frontendServerSettings('localhost', port, root, cert), [
        `127.0.0.1:${gh.config.port}`,
      ]);
      nginx = await startNginx({ dir, confs: { 'frontend.conf': conf }, waitForPorts: [port] });
    });

    afterAll(async () => {
      await nginx?.stop();
      await gh?.close();
      await idp?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('serves the frontend and its client-side routes from the frontend origin', async () => {
      const browser = createBrowser({ ca: cert.cert });
      for (const path of ['/', '/settings/profile']) {
        const page = await browser.navigate(`${frontendUrl}${path}`);
        expect(page.status).toBe(200);
        expect(await page.response.text()).toContain('My frontend');
      }
    });

    it('signs in on the frontend origin: host-only __Host- cookie, same-origin API, sign-out', async () => {
      const browser = createBrowser({ ca: cert.cert });
      const { setCookie } = await signIn(
        { publicUrl: frontendUrl, cookieName: gh.config.cookie.name },
        browser,
        'fe@example.com',
        'Fe',
      );
      expect(setCookie).toMatch(/^__Host-gatehouse=.*;\s*Secure/i);
      const cookie = browser.cookies('localhost').find((c) => c.name === '__Host-gatehouse');
      expect(cookie?.hostOnly).toBe(true);

      const me = await browser.get(`${frontendUrl}/me`);
      expect(me.status).toBe(200);
      expect(((await me.json()) as { email: string }).email).toBe('fe@example.com');
      const chat = await browser.get(`${frontendUrl}/chat`);
      expect(chat.status).toBe(200);

      const logout = await browser.post(`${frontendUrl}/logout`, '', { headers: { origin: frontendUrl } });
      expect(logout.status).toBe(204);
      expect((await browser.get(`${frontendUrl}/me`)).status).toBe(401);
    });
  },
);
