/**
 * The demo page in real Chromium with several people and devices: hostile profile fields shown
 * as text, one user's chat invisible to another, and the session list ("sign out this one",
 * "sign out everywhere"). Any console error, uncaught exception or CSP violation fails the test.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { describeWithChromium, launchChromium, type PageProblems, watchPage } from '../helpers/chromium.js';
import { startGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { chatTexts, EXPECTED_CONSOLE, expectSignedOut, sendChat, signIn, text } from './flow.js';

describeWithChromium('demo page in Chromium: several users and devices', () => {
  let gh: TestGatehouse;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const watches: PageProblems[] = [];

  /** A fresh browser profile (its own cookie jar), watched for errors. */
  async function newPage(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    contexts.push(context);
    const page = await context.newPage();
    watches.push(
      await watchPage(page, [...EXPECTED_CONSOLE, /status of 401 .*\/(sessions|chat\/messages)\]$/]),
    );
    return page;
  }

  beforeAll(async () => {
    [gh, browser] = await Promise.all([startGatehouse(), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    await gh?.close();
  });
  beforeEach(() => {
    contexts.length = 0;
    watches.length = 0;
  });
  afterEach(async () => {
    await Promise.all(contexts.map((c) => c.close()));
    expect(watches.flatMap((w) => w.problems)).toEqual([]);
  });

  it("shows hostile profile fields as text, and never shows user A's chat to user B", async () => {
    const mallory = await newPage();
    const name = '<img src=x onerror="document.body.dataset.pwned=1">\u202Eevil';
    let dialogs = 0;
    mallory.on('dialog', (d) => {
      dialogs++;
      void d.dismiss();
    });
    await signIn(mallory, gh.url, { email: 'mallory@example.com', name });
    expect(await text(mallory, '#profile-name')).toBe(name);
    const reply = await sendChat(mallory, '<script>alert(1)</script> private note');
    expect(reply).toContain('<script>alert(1)</script>');
    expect(await mallory.locator('#main img[src="x"], #chat-log script').count()).toBe(0);
    expect(await mallory.evaluate(() => document.body.dataset.pwned)).toBeUndefined();
    expect(dialogs).toBe(0);

    const bob = await newPage();
    await signIn(bob, gh.url, { email: 'bob@example.com', name: 'Bob' });
    await bob.locator('#chat-empty').waitFor({ state: 'visible' });
    expect(await chatTexts(bob)).toEqual([]);
    const raw = await bob.evaluate(async () => (await fetch('/chat/messages?limit=100')).text());
    expect(raw).not.toContain('private note');
    expect(JSON.parse(raw)).toEqual({ messages: [], next_cursor: null });
  });

  it('lists sessions with device, IP and last seen; signs out one, then everywhere', async () => {
    const person = { email: 'grace@example.com', name: 'Grace Hopper' };
    const laptop = await newPage();
    const phone = await newPage();
    await signIn(phone, gh.url, person);
    await signIn(laptop, gh.url, person);
    const items = laptop.locator('#session-list li');
    expect(await items.count()).toBe(2);
    const mine = items.filter({ hasText: 'This device' });
    expect(await mine.textContent()).toMatch(/Chrome on Linux.*127\.0\.0\.1 · last seen just now/s);

    // Sign out the other device's session from this one.
    const theirs = items.filter({ hasNotText: 'This device' });
    await theirs.getByRole('button', { name: /^Sign out Chrome on Linux, 127\.0\.0\.1$/ }).click();
    await laptop.waitForFunction(() => document.querySelectorAll('#session-list li').length === 1);
    expect(await text(laptop, '#sessions-status')).toBe('Signed out that session.');
    await phone.reload();
    await expectSignedOut(phone);
    expect(await text(phone, '#auth-error-title')).toBe('You have been signed out');

    // Sign in there again; "sign out everywhere" from here ends both.
    await signIn(phone, gh.url, person);
    await laptop.reload();
    await laptop.waitForFunction(() => document.querySelectorAll('#session-list li').length === 2);
    await laptop.getByRole('button', { name: 'Sign out everywhere' }).click();
    await expectSignedOut(laptop);
    await phone.reload();
    await expectSignedOut(phone);
  });
});
