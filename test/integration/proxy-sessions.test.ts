/**
 * Proxy mode with sessions: the whole browser sign-in through the prefixed routes, renewal on a
 * proxied request, CSRF, X-Forwarded-* trust, forward-auth under the prefix, and ROUTE_PREFIX in
 * standalone mode.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBrowser } from '../helpers/browser.js';
import { signInAtDevIdp } from '../helpers/dev-idp.js';
import { startGatehouse } from '../helpers/gatehouse.js';
import { mintSession, NAVIGATION, type ProxyFixture, startProxy } from '../helpers/proxy.js';
import { rawRequest } from '../helpers/raw-request.js';
import type { EchoBody } from '../helpers/upstream.js';

describe('proxy mode: sessions, CSRF and forwarding as on own routes', () => {
  const clock = { offsetMs: 0, now: () => Date.now() + clock.offsetMs };
  let fx: ProxyFixture;
  beforeAll(async () => {
    fx = await startProxy({ clock, env: { TOKEN_TTL: '5m', TRUST_PROXY: '127.0.0.1' } });
  });
  afterAll(async () => fx?.close());

  it('renews an expired token on a proxied request: the fresh cookie rides with the upstream’s own', async () => {
    const s = await mintSession(fx.gh, 'renew@example.com');
    clock.offsetMs = 6 * 60_000;
    try {
      const res = await rawRequest(`${fx.url}/set-cookie`, { headers: { cookie: s.cookie } });
      expect(res.status).toBe(200);
      const cookies = [res.headers['set-cookie'] ?? []].flat();
      expect(cookies).toContain('theirs=kept; Path=/');
      const fresh = cookies.find((c) => c.startsWith(`${fx.gh.config.cookie.name}=`));
      expect(fresh).toBeDefined();
      expect(fresh).not.toContain('planted');
      expect(fresh).not.toContain(s.token);
    } finally {
      clock.offsetMs = 0;
    }
  });

  it('refuses a cross-site state-changing request with the cookie (csrf_rejected) before the upstream', async () => {
    const s = await mintSession(fx.gh, 'csrf@example.com');
    const before = fx.upstream.seen.length;
    const res = await rawRequest(`${fx.url}/api/transfer`, {
      method: 'POST',
      headers: {
        cookie: s.cookie,
        origin: 'https://evil.example',
        'content-type': 'application/x-www-form-urlencoded',
      },
    });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body).code).toBe('csrf_rejected');
    expect(fx.upstream.seen.length).toBe(before);
    const same = await rawRequest(`${fx.url}/api/transfer`, {
      method: 'POST',
      headers: { cookie: s.cookie, origin: fx.url },
    });
    expect(same.status).toBe(200);
  });

  it('believes X-Forwarded-* only from TRUST_PROXY, and passes the chain on', async () => {
    const s = await mintSession(fx.gh, 'xff@example.com');
    const res = await rawRequest(`${fx.url}/x`, {
      headers: {
        cookie: s.cookie,
        'x-forwarded-for': '203.0.113.7',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'app.example.com',
      },
    });
    const seen = JSON.parse(res.body) as EchoBody;
    expect(seen.headers['x-forwarded-for']).toBe('203.0.113.7, 127.0.0.1');
    expect(seen.headers['x-forwarded-proto']).toBe('https');
    expect(seen.headers['x-forwarded-host']).toBe('app.example.com');
    // Without TRUST_PROXY the client's claims are replaced by what Gatehouse saw.
    const plain = await startProxy({ upstream: fx.upstream });
    try {
      const t = await mintSession(plain.gh, 'xff2@example.com');
      const direct = await rawRequest(`${plain.url}/x`, {
        headers: {
          cookie: t.cookie,
          'x-forwarded-for': '203.0.113.7',
          'x-forwarded-proto': 'https',
          'x-forwarded-host': 'evil',
        },
      });
      const got = JSON.parse(direct.body) as EchoBody;
      expect(got.headers['x-forwarded-for']).toBe('127.0.0.1');
      expect(got.headers['x-forwarded-proto']).toBe('http');
      expect(got.headers['x-forwarded-host']).toBe(new URL(plain.url).host);
    } finally {
      await plain.close();
    }
  });

  it('forward-auth and the sign-in redirect of nginx recipes follow the prefix too', async () => {
    const res = await rawRequest(`${fx.url}/_gatehouse/auth/sign-in`, {
      headers: { ...NAVIGATION, 'x-original-url': `${fx.url}/reports` },
    });
    expect(res.status).toBe(302);
    expect(String(res.headers.location)).toMatch(new RegExp(`^${fx.url}/_gatehouse/login\\?return_to=`));
    expect((await rawRequest(`${fx.url}/_gatehouse/auth/verify`)).status).toBe(401);
  });
});

describe('standalone mode with ROUTE_PREFIX', () => {
  it('serves every own route under the prefix, and no demo page', async () => {
    const gh = await startGatehouse({ env: { ROUTE_PREFIX: '/gh', LOG_LEVEL: 'warn' } });
    try {
      expect((await fetch(`${gh.url}/gh/healthz`)).status).toBe(200);
      expect((await fetch(`${gh.url}/gh/chat`)).status).toBe(401);
      expect((await fetch(`${gh.url}/gh/metrics`)).status).toBe(200);
      expect((await fetch(`${gh.url}/healthz`)).status).toBe(404);
      expect((await fetch(`${gh.url}/`)).status).toBe(404);
      const login = await fetch(`${gh.url}/gh/login`, { redirect: 'manual' });
      const authorize = new URL(login.headers.get('location')!);
      expect(authorize.searchParams.get('redirect_uri')).toBe(`${gh.url}/gh/auth`);
      expect(authorize.pathname).toBe('/gh/dev-idp/auth');
      // The development provider answers under the prefix.
      expect((await fetch(`${gh.url}/gh/dev-idp/.well-known/openid-configuration`)).status).toBe(200);
    } finally {
      await gh.close();
    }
  });
});

describe('proxy mode: the whole sign-in, as a browser does it', () => {
  it('anonymous page → /_gatehouse/login → the provider under the prefix → callback → back to the page, proxied', async () => {
    const fx = await startProxy();
    try {
      const browser = createBrowser();
      const page = `${fx.url}/reports/q3?team=a`;
      const first = await browser.navigate(page, {
        stopAt: (url) => url.pathname.startsWith('/_gatehouse/dev-idp/'),
      });
      expect(first.hops.map((h) => [h.status, new URL(h.url).pathname])).toEqual([
        [302, '/reports/q3'],
        [302, '/_gatehouse/login'],
      ]);
      const { callbackUrl, initiator } = await signInAtDevIdp(browser, first.stoppedAt!, {
        email: 'zoe@example.com',
        name: 'Zoë',
      });
      expect(new URL(callbackUrl).pathname).toBe('/_gatehouse/auth');
      const back = await browser.navigate(callbackUrl, { initiator });
      expect(back.url).toBe(page);
      expect(back.status).toBe(200);
      const seen = (await back.response.json()) as EchoBody;
      expect(seen.url).toBe('/reports/q3?team=a');
      expect(seen.headers['x-auth-email']).toBe('zoe@example.com');
      expect(seen.headers.cookie).toBeUndefined();
      const cookie = browser.cookies('127.0.0.1').find((c) => c.name === fx.gh.config.cookie.name);
      expect(cookie?.path).toBe('/');
    } finally {
      await fx.close();
    }
  });
});
