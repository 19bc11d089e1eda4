/**
 * The demo page in real Chromium, with the embedded development provider on the same host (the
 * zero-configuration `npm start` setup): the click-through with screenshots, sign-in error
 * messages, keyboard use on a phone-sized screen. Any console error, uncaught exception or
 * Content-Security-Policy violation fails the test.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { describeWithChromium, launchChromium, type PageProblems, watchPage } from '../helpers/chromium.js';
import { startGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { clickThrough, EXPECTED_CONSOLE, expectSignedOut, sendChat, text } from './flow.js';

describeWithChromium('demo page in Chromium (embedded development provider)', () => {
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

  it('signs in, shows the profile, chats, keeps history, hides the cookie from JavaScript, signs out', async () => {
    await page.goto(`${gh.url}/`);
    await expectSignedOut(page);
    expect(await page.locator('#dev-banner').isVisible()).toBe(true);
    expect(await text(page, '#dev-banner')).toContain('Development sign-in provider in use');
    await clickThrough(context, page, {
      appUrl: gh.url,
      cookieName: gh.config.cookie.name,
      person: { email: 'ada@example.com', name: 'Ada Lovelace' },
      screenshots: true,
    });
  });

  it('explains a cancelled sign-in, and the other ?auth_error= codes, then forgets them', async () => {
    await page.goto(`${gh.url}/`);
    await page.getByRole('link', { name: 'Sign in with Google' }).click();
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.waitForURL(`${gh.url}/`);
    await page.locator('#auth-error').waitFor({ state: 'visible' });
    expect(await text(page, '#auth-error-title')).toBe('Sign-in cancelled');
    expect(page.url()).toBe(`${gh.url}/`);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('auth-error');

    for (const [code, title] of [
      ['forbidden_domain', 'Account not allowed'],
      ['login_expired', 'Sign-in attempt expired'],
      ['something_new', 'Sign-in failed'],
    ] as const) {
      await page.goto(`${gh.url}/?auth_error=${code}`);
      await page.locator('#auth-error').waitFor({ state: 'visible' });
      expect(await text(page, '#auth-error-title')).toBe(title);
    }
    await page.reload();
    await expectSignedOut(page);
    expect(await page.locator('#auth-error').isHidden()).toBe(true);
  });

  it('works from the keyboard alone on a phone-sized screen', async () => {
    await page.setViewportSize({ width: 375, height: 740 });
    await page.goto(`${gh.url}/`);
    await expectSignedOut(page);
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    let reached = false;
    for (let i = 0; i < 10 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement?.id === 'sign-in');
    }
    expect(reached).toBe(true);
    await page.keyboard.press('Enter');
    await page.locator('#email').waitFor();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('email');
    await page.keyboard.type('kay@example.com');
    await page.keyboard.press('Tab');
    await page.keyboard.type('Kay');
    await page.keyboard.press('Enter');
    await page.locator('#signed-in').waitFor({ state: 'visible' });
    expect(await text(page, '#profile-name')).toBe('Kay');
    expect(await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth)).toBe(false);
    // Every control has an accessible name; the chat is a labelled log.
    expect(await page.getByRole('textbox', { name: 'Message' }).count()).toBe(1);
    expect(await page.getByRole('log', { name: 'Conversation' }).count()).toBe(1);
    expect(await sendChat(page, 'from a phone')).toContain('from a phone');
  });
});
