/**
 * A One-Tap-style browser sign-in against the development provider, in real Chromium: the demo
 * page asks Gatehouse for a nonce, gets a Google-shaped ID token bound to it from the development
 * provider, and posts it to POST /auth/google from page script exactly as Google Identity
 * Services' callback would — cookie session, listed as a browser session signed in by ID token,
 * then signed out. Any console error or CSP violation fails the test.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { describeWithChromium, launchChromium, type PageProblems, watchPage } from '../helpers/chromium.js';
import { startGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { EXPECTED_CONSOLE, expectSignedOut, text } from './flow.js';

describeWithChromium('demo page: ID-token sign-in in Chromium (development provider)', () => {
  let gh: TestGatehouse;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let watch: PageProblems;

  beforeAll(async () => {
    [gh, browser] = await Promise.all([startGatehouse(), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    await gh?.close();
  });
  beforeEach(async () => {
    context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    page = await context.newPage();
    watch = await watchPage(page, EXPECTED_CONSOLE);
  });
  afterEach(async () => {
    await context.close();
    expect(watch.problems).toEqual([]);
  });

  it('signs in with an ID token posted from page script, lists it as such, and signs out', async () => {
    await page.goto(`${gh.url}/`);
    await expectSignedOut(page);
    await page.locator('#dev-id-token-email').fill('one-tap@example.com');
    await page.locator('#dev-id-token-submit').click();
    await page.locator('#signed-in').waitFor({ state: 'visible', timeout: 10_000 });
    expect(await text(page, '#profile-email')).toBe('one-tap@example.com');
    await page.locator('#session-list li').first().waitFor({ timeout: 10_000 });
    expect(await text(page, '#session-list')).toContain('Browser via Google ID token');

    const sessions = await gh.gatehouse.store.sessions.list({ activeAt: new Date() });
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toMatchObject({ clientKind: 'web', signInMethod: 'id_token' });
    // The page never sees the cookie (HttpOnly), and no token response reached it.
    expect(await page.evaluate(() => document.cookie)).not.toContain(gh.config.cookie.name);

    await page.locator('#sign-out').click();
    await expectSignedOut(page);
    const after = await gh.gatehouse.store.sessions.findById(sessions[0]!.id);
    expect(after?.revokedAt).not.toBeNull();
  });
});
