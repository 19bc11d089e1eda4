/**
 * The demo page driven like a person would: shared by the browser suites (same host, cross-site
 * provider, separate frontend origin). Assertions use vitest's expect on what the page shows.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';
import { screenshot } from '../helpers/chromium.js';

export interface Person {
  readonly email: string;
  readonly name: string;
}

/** The one console error a signed-out page is expected to cause: Chromium logs the 401 of /me. */
export const EXPECTED_CONSOLE = [
  /Failed to load resource: the server responded with a status of 401 .*\/me\]$/,
  // Chromium asks every origin for /favicon.ico (the development provider's pages have none).
  /status of 404 .*\/favicon\.ico\]$/,
];

const TIMEOUT = 10_000;

export async function text(page: Page, selector: string): Promise<string> {
  return ((await page.locator(selector).textContent({ timeout: TIMEOUT })) ?? '').trim();
}

export async function expectSignedOut(page: Page): Promise<void> {
  await page.locator('#signed-out').waitFor({ state: 'visible', timeout: TIMEOUT });
  expect(await page.locator('#signed-in').isHidden()).toBe(true);
}

/** From the signed-out page through the provider's form and back, signed in. */
export async function signIn(
  page: Page,
  appUrl: string,
  person: Person,
  options: { screenshots?: boolean } = {},
): Promise<void> {
  await page.goto(`${appUrl}/`);
  await expectSignedOut(page);
  if (options.screenshots) await screenshot(page, 'signed-out');
  await page.getByRole('link', { name: 'Sign in with Google' }).click();
  await page.locator('#email').waitFor({ timeout: TIMEOUT });
  await page.getByLabel('Email').fill(person.email);
  await page.getByLabel('Name').fill(person.name);
  if (options.screenshots) await screenshot(page, 'provider');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL(`${appUrl}/`, { timeout: TIMEOUT });
  await page.locator('#signed-in').waitFor({ state: 'visible', timeout: TIMEOUT });
}

/**
 * The provider's picture when /me has one (loaded, with alt text), otherwise the initials
 * fallback. (The development provider's data: avatars are currently dropped by the sign-in
 * client's picture filter, so with it the fallback is what shows.)
 */
export async function expectAvatar(page: Page, person: Person): Promise<void> {
  const me = await page.evaluate(
    async () => (await (await fetch('/me')).json()) as { picture: string | null },
  );
  if (me.picture) {
    const picture = page.locator('#profile-picture');
    expect(await picture.isVisible()).toBe(true);
    expect(await picture.getAttribute('alt')).toBe(`Profile picture of ${person.name}`);
    expect(await picture.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(
      true,
    );
  } else {
    const words = person.name.split(/\s+/);
    const initials =
      `${words[0]?.[0] ?? ''}${words.length > 1 ? (words.at(-1)?.[0] ?? '') : ''}`.toUpperCase();
    expect(await page.locator('#profile-initials').isVisible()).toBe(true);
    expect(await text(page, '#profile-initials')).toBe(initials);
  }
}

/** Sends a message through the chat form and returns the finished reply's text. */
export async function sendChat(page: Page, message: string): Promise<string> {
  const done = page.locator('#chat-log li.assistant[data-id]');
  const before = await done.count();
  await page.getByLabel('Message').fill(message);
  await page.getByLabel('Message').press('Enter');
  await page.waitForFunction(
    (n) => document.querySelectorAll('#chat-log li.assistant[data-id]').length > n,
    before,
    { timeout: TIMEOUT },
  );
  return ((await done.nth(before).locator('.text').textContent()) ?? '').trim();
}

export async function chatTexts(page: Page): Promise<string[]> {
  return (await page.locator('#chat-log li .text').allTextContents()).map((t) => t.trim());
}

/**
 * The whole click-through of the issue: sign in, see the profile, chat twice, reload and see the
 * history, check the session cookie is out of JavaScript's reach, sign out.
 */
export async function clickThrough(
  context: BrowserContext,
  page: Page,
  options: { appUrl: string; cookieName: string; person: Person; screenshots?: boolean },
): Promise<void> {
  const { appUrl, person, cookieName } = options;
  await signIn(page, appUrl, person, { screenshots: options.screenshots ?? false });

  expect(await text(page, '#profile-name')).toBe(person.name);
  expect(await text(page, '#profile-email')).toBe(person.email);
  await expectAvatar(page, person);

  const first = await sendChat(page, 'Hello there');
  expect(first).toBe(`Hello ${person.name}! You said: "Hello there" (message #1).`);
  const second = await sendChat(page, 'Second message');
  expect(second).toBe(`Hello ${person.name}! You said: "Second message" (message #2).`);
  expect(await page.evaluate(() => document.activeElement?.id)).toBe('chat-input');

  const sessions = page.locator('#session-list li');
  expect(await sessions.count()).toBeGreaterThanOrEqual(1);
  expect(await sessions.filter({ hasText: 'This device' }).count()).toBe(1);
  if (options.screenshots) await screenshot(page, 'signed-in');

  await page.reload();
  await page.locator('#signed-in').waitFor({ state: 'visible', timeout: TIMEOUT });
  await page.waitForFunction(() => document.querySelectorAll('#chat-log li').length === 4, undefined, {
    timeout: TIMEOUT,
  });
  expect(await chatTexts(page)).toEqual(['Hello there', first, 'Second message', second]);

  // The session cookie is HttpOnly: present in the jar, invisible to the page's JavaScript.
  const cookie = (await context.cookies(appUrl)).find((c) => c.name === cookieName);
  expect(cookie?.httpOnly).toBe(true);
  expect(cookie?.sameSite).toBe('Lax');
  expect(await page.evaluate(() => document.cookie)).not.toContain(`${cookieName}=`);

  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.waitForURL(`${appUrl}/`, { timeout: TIMEOUT });
  await expectSignedOut(page);
  expect((await context.cookies(appUrl)).some((c) => c.name === cookieName)).toBe(false);
  const me = await page.evaluate(async () => (await fetch('/me')).status);
  expect(me).toBe(401);
}
