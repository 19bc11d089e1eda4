/**
 * SECURITY.md A (rules 1–6): the login transaction, attacked over real HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBrowser } from '../helpers/browser.js';
import { startGatehouse } from '../helpers/gatehouse.js';
import { freePort } from '../helpers/ports.js';
import {
  beginLogin,
  callbackUrlFor,
  expectRejected,
  openCallback,
  type Rig,
  rawRequest,
  sessionCookieIn,
  snapshot,
  startRig,
} from './support/rig.js';

describe('A. login transaction', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig();
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('rule 1: state, nonce and PKCE verifier are fresh, 256-bit, S256, and the verifier never appears in a URL', async () => {
    const seen = { state: new Set<string>(), nonce: new Set<string>(), challenge: new Set<string>() };
    const urls: string[] = [];
    for (let i = 0; i < 3; i++) {
      const browser = createBrowser();
      const { authorizationUrl, response } = await beginLogin(rig, browser);
      const q = authorizationUrl.searchParams;
      expect(q.get('code_challenge_method')).toBe('S256');
      expect(q.has('code_verifier')).toBe(false);
      for (const [name, set] of [
        ['state', seen.state],
        ['nonce', seen.nonce],
        ['code_challenge', seen.challenge],
      ] as const) {
        const value = q.get(name)!;
        // 32 CSPRNG bytes base64url = 43 characters (>= 128 bits, RFC 7636 §4.1)
        expect(value).toMatch(/^[A-Za-z0-9_-]{43}$/);
        set.add(value);
      }
      urls.push(authorizationUrl.href, response.headers.get('location')!);
      const callback = await openCallback(
        rig,
        browser,
        await (async () => {
          const nav = await browser.navigate(authorizationUrl.href, { stopAt: () => true });
          return nav.stoppedAt!;
        })(),
      );
      expect(callback.status).toBe(303);
      urls.push(callback.location!);
    }
    expect(seen.state.size).toBe(3);
    expect(seen.nonce.size).toBe(3);
    expect(seen.challenge.size).toBe(3);
    const verifiers = rig.idp
      .requestsTo('/token')
      .map((r) => new URLSearchParams(r.body).get('code_verifier')!);
    expect(verifiers.length).toBeGreaterThanOrEqual(3);
    for (const verifier of verifiers) {
      expect(verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
      for (const url of urls) expect(url).not.toContain(verifier);
      for (const r of rig.idp.requests)
        if (r.path !== '/token') expect(r.query.toString()).not.toContain(verifier);
    }
  });

  describe('rule 2: callbacks without a valid transaction are rejected before any token request', () => {
    async function attempt(
      mutate: (url: URL, browser: ReturnType<typeof createBrowser>) => void | Promise<void>,
    ) {
      const browser = createBrowser();
      const url = await callbackUrlFor(rig, browser);
      await mutate(url, browser);
      const before = await snapshot(rig);
      const tokenRequests = rig.idp.requestsTo('/token').length;
      const result = await openCallback(rig, browser, url);
      expect(rig.idp.requestsTo('/token').length, 'no token request').toBe(tokenRequests);
      return { before, result, browser };
    }

    it('rule 2: missing state', async () => {
      const { before, result, browser } = await attempt((url) => url.searchParams.delete('state'));
      await expectRejected(rig, before, result, browser, { code: 'login_failed', reason: 'missing_state' });
    });

    it('rule 2: mismatched state (the cookie for this state holds another transaction)', async () => {
      const { before, result, browser } = await attempt(async (url, b) => {
        // A second sign-in in the same browser; its sealed transaction is planted under the name
        // of the first one's cookie, so the cookie and the state disagree.
        const other = createBrowser();
        await callbackUrlFor(rig, other);
        const prefix = rig.gh.config.cookie.transactionPrefix;
        const otherTx = other.cookies('127.0.0.1').find((c) => c.name.startsWith(prefix))!;
        const mine = b.cookies('127.0.0.1').find((c) => c.name.startsWith(prefix))!;
        expect(url.searchParams.get('state')).toBeTruthy();
        b.setCookie(rig.url, `${mine.name}=${otherTx.value}; Path=/; HttpOnly; SameSite=Lax`);
      });
      await expectRejected(rig, before, result, browser, { code: 'login_failed', reason: 'state_mismatch' });
    });

    it('rule 2: forged state that names no transaction', async () => {
      const { before, result, browser } = await attempt((url) =>
        url.searchParams.set('state', 'A'.repeat(43)),
      );
      await expectRejected(rig, before, result, browser, {
        code: 'login_expired',
        reason: 'transaction_missing',
      });
    });

    it('rule 2: stripped transaction cookie', async () => {
      const { before, result, browser } = await attempt((_url, b) => b.clear());
      await expectRejected(rig, before, result, browser, {
        code: 'login_expired',
        reason: 'transaction_missing',
      });
    });

    it('rule 2: tampered transaction cookie', async () => {
      const { before, result, browser } = await attempt((_url, b) => {
        const tx = b
          .cookies('127.0.0.1')
          .find((c) => c.name.startsWith(rig.gh.config.cookie.transactionPrefix))!;
        const flipped = tx.value.slice(0, 10) + (tx.value[10] === 'A' ? 'B' : 'A') + tx.value.slice(11);
        b.setCookie(rig.url, `${tx.name}=${flipped}; Path=/; HttpOnly; SameSite=Lax`);
      });
      await expectRejected(rig, before, result, browser, { code: ['login_failed', 'login_expired'] });
    });

    it('rule 2: expired transaction (11 minutes later)', async () => {
      try {
        const { before, result, browser } = await attempt(() => {
          rig.clock.offsetMs = 11 * 60 * 1000;
        });
        await expectRejected(rig, before, result, browser, { code: ['login_expired', 'login_failed'] });
      } finally {
        rig.clock.offsetMs = 0;
      }
    });
  });

  it('rule 3: the same callback twice, and 20 times in parallel, yields at most one session', async () => {
    const browser = createBrowser();
    const url = await callbackUrlFor(rig, browser);
    const cookieHeader = browser
      .cookies('127.0.0.1')
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
    const before = await snapshot(rig);
    const sessionsBefore = (await rig.gh.gatehouse.store.sessions.list({ limit: 10_000 })).length;
    const results = await Promise.all(
      Array.from({ length: 20 }, () => rawRequest(url.href, { headers: { cookie: cookieHeader } })),
    );
    for (const r of results) expect(r.status).not.toBe(500);
    const withSession = results.filter((r) =>
      [r.headers['set-cookie'] ?? []]
        .flat()
        .some(
          (c) =>
            c.startsWith(`${rig.gh.config.cookie.name}=`) && !c.startsWith(`${rig.gh.config.cookie.name}=;`),
        ),
    );
    expect(withSession.length).toBe(1);
    const sessionsAfter = (await rig.gh.gatehouse.store.sessions.list({ limit: 10_000 })).length;
    expect(sessionsAfter - sessionsBefore).toBe(1);
    expect((await rig.gh.gatehouse.store.users.count()) - before.users).toBe(1);
    const replayed = await rig.gh.gatehouse.store.events.list({ type: 'sign_in_failed', limit: 100 });
    expect(
      replayed.filter((e) => e.id > before.lastEventId && e.reason === 'transaction_replayed').length,
    ).toBe(19);
    // And once more, sequentially, after the fact.
    const again = await rawRequest(url.href, { headers: { cookie: cookieHeader } });
    expect(again.status).toBe(303);
    expect(again.headers.location).toContain('auth_error=login_failed');
  });

  it('rule 3: the same callback across two instances on one database yields one session', async () => {
    const port = await freePort();
    const shared = {
      SECRET_KEY: 'k'.repeat(48),
      JWT_SECRET_KEY: 'j'.repeat(48),
    };
    const a = await startRig({ idp: rig.idp, env: shared });
    const b = await startGatehouse({
      databaseUrl: a.gh.config.database.url,
      env: {
        ...shared,
        PORT: String(port),
        PUBLIC_URL: `http://127.0.0.1:${port}`,
        REDIRECT_URL: a.gh.config.redirectUrl,
        OIDC_ISSUER: rig.idp.issuer,
        GOOGLE_CLIENT_ID: rig.idp.clientId,
        GOOGLE_CLIENT_SECRET: rig.idp.clientSecret,
      },
    });
    try {
      const browser = createBrowser();
      const url = await callbackUrlFor(a, browser);
      const cookie = browser
        .cookies('127.0.0.1')
        .map((c) => `${c.name}=${c.value}`)
        .join('; ');
      const sessionsBefore = (await a.gh.gatehouse.store.sessions.list({ limit: 10_000 })).length;
      const targets = Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a.url : b.url));
      const results = await Promise.all(
        targets.map((base) => rawRequest(`${base}/auth${url.search}`, { headers: { cookie } })),
      );
      for (const r of results) expect(r.status).toBe(303);
      expect(results.filter((r) => !String(r.headers.location).includes('auth_error')).length).toBe(1);
      expect((await a.gh.gatehouse.store.sessions.list({ limit: 10_000 })).length - sessionsBefore).toBe(1);
    } finally {
      await b.close();
      await a.close();
    }
  });

  it('rule 4: a callback captured from one browser and opened in another is rejected', async () => {
    const victim = createBrowser();
    const attacker = createBrowser();
    const url = await callbackUrlFor(rig, attacker);
    // The victim has a sign-in of its own in progress, too.
    await beginLogin(rig, victim);
    const before = await snapshot(rig);
    const tokens = rig.idp.requestsTo('/token').length;
    const result = await openCallback(rig, victim, url);
    await expectRejected(rig, before, result, victim, {
      code: 'login_expired',
      reason: 'transaction_missing',
    });
    expect(rig.idp.requestsTo('/token').length).toBe(tokens);
    expect(sessionCookieIn(rig, attacker)).toBeUndefined();
  });

  it('rule 5: the transaction cookie is sealed, HttpOnly, SameSite=Lax and short-lived', async () => {
    const browser = createBrowser();
    const { response, authorizationUrl } = await beginLogin(rig, browser);
    const raw = response.headers
      .getSetCookie()
      .find((c) => c.startsWith(rig.gh.config.cookie.transactionPrefix))!;
    expect(raw).toBeDefined();
    expect(raw).toMatch(/;\s*HttpOnly/i);
    expect(raw).toMatch(/;\s*SameSite=Lax/i);
    expect(raw).not.toMatch(/SameSite=Strict/i);
    const maxAge = Number(/Max-Age=(\d+)/i.exec(raw)?.[1]);
    expect(maxAge).toBeGreaterThan(0);
    expect(maxAge).toBeLessThanOrEqual(600);
    const value = raw.slice(raw.indexOf('=') + 1, raw.indexOf(';'));
    const decoded = Buffer.from(value, 'base64url').toString('latin1');
    for (const secret of [
      authorizationUrl.searchParams.get('nonce')!,
      authorizationUrl.searchParams.get('state')!,
    ]) {
      expect(value).not.toContain(secret);
      expect(decoded).not.toContain(secret);
    }
    expect(decoded).not.toContain('returnTo');
  });

  it('rule 6: redirect_uri is configuration, never built from Host or X-Forwarded-*', async () => {
    const response = await rawRequest(`${rig.url}/login`, {
      headers: {
        host: 'evil.example',
        'x-forwarded-host': 'evil.example',
        'x-forwarded-proto': 'https',
        'x-forwarded-port': '8443',
      },
    });
    expect(response.status).toBe(302);
    const location = new URL(String(response.headers.location));
    expect(location.searchParams.get('redirect_uri')).toBe(rig.gh.config.redirectUrl);
    expect(String(response.headers.location)).not.toContain('evil.example');
  });
});
