/**
 * SECURITY.md D (rules 16–20): identity policy on verified claims.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createBrowser } from '../helpers/browser.js';
import type { Behaviour, Identity } from '../helpers/hostile-provider.js';
import {
  callbackUrlFor,
  expectRejected,
  openCallback,
  type Rig,
  signIn,
  snapshot,
  startRig,
} from './support/rig.js';

async function attack(rig: Rig, identity: Identity | undefined, behaviour: Behaviour = {}) {
  rig.idp.identity = identity;
  rig.idp.behave(behaviour);
  const browser = createBrowser();
  const url = await callbackUrlFor(rig, browser);
  const before = await snapshot(rig);
  const result = await openCallback(rig, browser, url);
  return { browser, before, result };
}

describe('D. identity policy', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig();
  });
  afterEach(() => {
    rig.idp.behave({});
    rig.idp.identity = undefined;
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('rule 16: a userinfo sub different from the ID token sub is rejected', async () => {
    const { browser, before, result } = await attack(
      rig,
      { sub: 'victim-sub', email: 'x16@example.com' },
      {
        userinfo: { sub: 'someone-else' },
      },
    );
    await expectRejected(rig, before, result, browser, {
      code: 'login_failed',
      reason: 'userinfo_sub_mismatch',
    });
  });

  it('rule 17: email_verified must be exactly true (not "true", not absent, not 1)', async () => {
    for (const value of ['true', undefined, 1, false, 'yes']) {
      const identity: Identity = {
        sub: `ev-${String(value)}`,
        email: 'x17@example.com',
        emailVerified: value,
      };
      const { browser, before, result } = await attack(
        rig,
        identity,
        value === undefined ? { claims: { email_verified: undefined } } : {},
      );
      await expectRejected(rig, before, result, browser, {
        code: 'email_not_verified',
        reason: 'email_not_verified',
      });
    }
  });

  it('rule 18: a new subject with an existing email is a different user, never merged', async () => {
    rig.idp.identity = { sub: 'first-subject', email: 'shared@example.com', name: 'First' };
    const first = await signIn(rig);
    rig.idp.identity = { sub: 'second-subject', email: 'shared@example.com', name: 'Second' };
    const second = await signIn(rig);
    const users = await rig.gh.gatehouse.store.users.findByEmail('shared@example.com');
    expect(users.map((u) => u.subject).sort()).toEqual(['first-subject', 'second-subject']);
    const meA = (await (await first.browser.get(`${rig.url}/me`)).json()) as { id: string };
    const meB = (await (await second.browser.get(`${rig.url}/me`)).json()) as { id: string };
    expect(meA.id).not.toBe(meB.id);
    // The same subject with a new email stays the same user.
    rig.idp.identity = { sub: 'first-subject', email: 'renamed@example.com', name: 'First' };
    const third = await signIn(rig);
    const meC = (await (await third.browser.get(`${rig.url}/me`)).json()) as { id: string };
    expect(meC.id).toBe(meA.id);
  });

  it('rule 20: hostile profile claims are stored and returned safely; the page escapes them', async () => {
    const hostile = [
      '<img src=x onerror=alert(1)>',
      "Robert'); DROP TABLE users;--",
      '\u202Egnp.exe',
      'nul\u0000byte',
      'x'.repeat(10_000),
    ];
    for (const name of hostile) {
      rig.idp.identity = {
        sub: `hostile-${hostile.indexOf(name)}`,
        email: `h${hostile.indexOf(name)}@example.com`,
        name,
      };
      const { browser } = await signIn(rig);
      const me = await browser.get(`${rig.url}/me`);
      expect(me.status).toBe(200);
      expect(me.headers.get('content-type')).toContain('application/json');
      const body = (await me.json()) as { name: string | null };
      expect(body.name ?? '').not.toContain('\u0000');
      expect((body.name ?? '').length).toBeLessThanOrEqual(256);
      if (name.startsWith('<img')) expect(body.name).toBe(name); // stored as text, escaped by JSON
    }
    expect(await rig.gh.gatehouse.store.users.count()).toBeGreaterThanOrEqual(hostile.length);
    // The demo page renders profile fields as text only.
    const webDir = join(import.meta.dirname, '..', '..', 'web');
    for (const file of readdirSync(webDir).filter((f) => f.endsWith('.js') || f.endsWith('.html'))) {
      const source = readFileSync(join(webDir, file), 'utf8').replace(/\/\/.*$/gm, '');
      expect(source, file).not.toMatch(/\.innerHTML\s*=|outerHTML\s*=|insertAdjacentHTML|document\.write/);
    }
    const page = await fetch(`${rig.url}/`);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
  });
});

describe('rule 19: hosted-domain / email-domain / address allow-lists on verified token claims, exact matching', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({
      env: {
        GOOGLE_HOSTED_DOMAINS: 'example.com',
        ALLOWED_EMAIL_DOMAINS: 'example.com',
        ALLOWED_EMAILS: 'boss@partner.org',
      },
    });
  });
  afterEach(() => {
    rig.idp.behave({});
    rig.idp.identity = undefined;
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('rule 19: allowed domain and allowed address sign in', async () => {
    rig.idp.identity = { sub: 'ok-1', email: 'ada@example.com', hd: 'example.com' };
    await signIn(rig);
    rig.idp.identity = { sub: 'ok-2', email: 'boss@partner.org', hd: 'example.com' };
    await signIn(rig);
  });

  const refused: [string, Identity, Behaviour][] = [
    [
      'look-alike email domain example.com.evil.com',
      { sub: 'r1', email: 'a@example.com.evil.com', hd: 'example.com' },
      {},
    ],
    [
      'suffix-sharing domain evil-example.com',
      { sub: 'r2', email: 'a@evil-example.com', hd: 'example.com' },
      {},
    ],
    ['look-alike hosted domain', { sub: 'r3', email: 'a@example.com', hd: 'example.com.evil.com' }, {}],
    ['no hosted domain', { sub: 'r4', email: 'a@example.com' }, {}],
    ['hd only in userinfo', { sub: 'r5', email: 'a@example.com' }, { userinfo: { hd: 'example.com' } }],
    [
      'allowed email only in userinfo',
      { sub: 'r6', email: 'a@evil.com', hd: 'example.com' },
      { userinfo: { email: 'boss@partner.org' } },
    ],
    [
      'address look-alike boss@partner.org.evil',
      { sub: 'r7', email: 'boss@partner.org.evil', hd: 'example.com' },
      {},
    ],
  ];
  for (const [name, identity, behaviour] of refused) {
    it(`rule 19: ${name} is refused`, async () => {
      const { browser, before, result } = await attack(rig, identity, behaviour);
      await expectRejected(rig, before, result, browser, {
        code: 'forbidden_domain',
        reason: /^(hosted_domain_not_allowed|email_not_allowed)$/,
      });
    });
  }
});
