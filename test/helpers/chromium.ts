/**
 * Real Chromium for the browser suite (Debian's package, driven by playwright-core). The suite
 * runs when TEST_CHROMIUM_PATH names the binary, says clearly that it was skipped otherwise, and
 * fails under GATEHOUSE_REQUIRE_SERVICES=1 (as `.ci/run` sets).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { describe, it } from 'vitest';

export const CHROMIUM_PATH = process.env.TEST_CHROMIUM_PATH;
const REQUIRE_SERVICES = process.env.GATEHOUSE_REQUIRE_SERVICES === '1';

/** Where screenshots go; the best ones are copied by hand to docs/images/ for the README. */
export const ARTIFACTS_DIR = join(process.cwd(), 'test-artifacts', 'e2e');

/** The flags the project's browser tests launch Chromium with. */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
] as const;

function unavailableReason(): string | undefined {
  if (!CHROMIUM_PATH) return 'set TEST_CHROMIUM_PATH (for example /usr/bin/chromium) to run';
  if (!existsSync(CHROMIUM_PATH)) return `TEST_CHROMIUM_PATH=${CHROMIUM_PATH} does not exist`;
  return undefined;
}

/** `describe` when Chromium is configured; otherwise skipped with the reason, or failing when required. */
export function describeWithChromium(title: string, fn: () => void): void {
  const reason = unavailableReason();
  if (reason === undefined) {
    // A sign-in in a real browser takes a second or two, several on a busy CI machine.
    describe(title, { timeout: 60_000 }, fn);
  } else if (REQUIRE_SERVICES) {
    describe(title, () => {
      it('needs Chromium', () => {
        throw new Error(`${reason} (GATEHOUSE_REQUIRE_SERVICES=1)`);
      });
    });
  } else {
    console.warn(`[chromium] browser suite "${title}" skipped: ${reason}`);
    describe.skip(`${title} — skipped: ${reason}`, fn);
  }
}

export async function launchChromium(): Promise<Browser> {
  if (!CHROMIUM_PATH) throw new Error('TEST_CHROMIUM_PATH is not set');
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_FLAGS] });
}

export interface PageProblems {
  /** Console errors, uncaught exceptions and Content-Security-Policy violations seen so far. */
  readonly problems: string[];
}

/**
 * Records everything that should fail a browser test: console errors (minus `allowed` ones, such
 * as the expected 401 from /me when signed out), uncaught exceptions, and CSP violations (reported
 * by a listener injected through the DevTools protocol, which the page's CSP does not govern).
 */
export async function watchPage(page: Page, allowed: readonly RegExp[] = []): Promise<PageProblems> {
  const problems: string[] = [];
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || 'inline'}`);
    });
  });
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const text = `${message.text()} [${message.location().url}]`;
    if (!allowed.some((re) => re.test(text))) problems.push(text);
  });
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
  return { problems };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
