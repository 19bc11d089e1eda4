/**
 * The click-through with the provider on another site (Gatehouse on 127.0.0.1, the provider on
 * localhost), so the provider's redirect back to /auth is cross-site, as with Google. A
 * SameSite=Strict login-transaction cookie would not be sent on that redirect and sign-in would
 * fail with `login_expired` (the tutorial's defect; SECURITY.md A.5).
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithChromium, launchChromium, watchPage } from '../helpers/chromium.js';
import { startDevIdp } from '../helpers/dev-idp.js';
import { startGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { freePort } from '../helpers/ports.js';
import { clickThrough, EXPECTED_CONSOLE } from './flow.js';

describeWithChromium('demo page in Chromium with the provider on another site', () => {
  let gh: TestGatehouse;
  let idp: Awaited<ReturnType<typeof startDevIdp>>;
  let browser: Browser;

  beforeAll(async () => {
    const port = await freePort();
    const appUrl = `http://127.0.0.1:${port}`;
    [idp, browser] = await Promise.all([
      startDevIdp({ host: 'localhost', redirectUris: [`${appUrl}/auth`] }),
      launchChromium(),
    ]);
    gh = await startGatehouse({
      env: {
        PORT: String(port),
        PUBLIC_URL: appUrl,
        OIDC_ISSUER: idp.issuer,
        GOOGLE_CLIENT_ID: idp.clientId,
        GOOGLE_CLIENT_SECRET: idp.clientSecret,
      },
    });
  });
  afterAll(async () => {
    await browser?.close();
    await gh?.close();
    await idp?.close();
  });

  it('signs in across sites, chats, reloads, signs out', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const watch = await watchPage(page, EXPECTED_CONSOLE);
    const hosts: string[] = [];
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) hosts.push(new URL(frame.url()).hostname);
    });
    try {
      await clickThrough(context, page, {
        appUrl: gh.url,
        cookieName: gh.config.cookie.name,
        person: { email: 'lin@example.org', name: 'Lin Cross' },
      });
      // The sign-in really went through the other site, and there is no development banner.
      expect(hosts).toContain('localhost');
      expect(await page.locator('#dev-banner').isHidden()).toBe(true);
    } finally {
      await context.close();
    }
    expect(watch.problems).toEqual([]);
  });
});
