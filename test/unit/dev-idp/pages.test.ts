import { createHash } from 'node:crypto';
import { request } from 'node:http';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrowserAgent, createBrowser } from '../../helpers/browser.js';
import { discoverDevIdp, type StartedDevIdp, signInAtDevIdp, startDevIdp } from '../../helpers/dev-idp.js';

const REDIRECT_URI = 'http://127.0.0.1:9/auth';
const HOSTILE = `"><script>alert(1)</script><img src=x onerror=alert(2)>'\`&amp;`;

let idp: StartedDevIdp;
let config: client.Configuration;

beforeAll(async () => {
  idp = await startDevIdp({ host: 'localhost', redirectUris: [REDIRECT_URI] });
  config = await discoverDevIdp(idp);
});

afterAll(async () => {
  await idp?.close();
});

async function authorizationUrl(extra: Record<string, string> = {}): Promise<string> {
  return client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: 'openid email profile',
    code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
    state: client.randomState(),
    nonce: client.randomNonce(),
    ...extra,
  }).href;
}

/** Opens the sign-in page; returns the page URL, the form's action and the response. */
async function openSignIn(browser: BrowserAgent, extra: Record<string, string> = {}) {
  const nav = await browser.navigate(await authorizationUrl(extra));
  const html = await nav.response.text();
  const action = /<form\b[^>]*\baction="([^"]+)"/.exec(html)?.[1];
  if (!action) throw new Error(`no form: ${html.slice(0, 200)}`);
  return { page: nav.url, action: new URL(action, nav.url).href, html, response: nav.response };
}

describe('development provider sign-in page', () => {
  it('shows the banner, the fields and both buttons, with no script', async () => {
    const { html, response } = await openSignIn(createBrowser());
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(html).toContain('Development sign-in — not Google');
    expect(html).toContain('never used in production');
    expect(html).toMatch(/<input id="email" name="email" type="email" required/);
    expect(html).toMatch(/<input id="name" name="name" type="text"/);
    expect(html).toMatch(
      /<button class="primary" type="submit" name="action" value="sign-in">Sign in<\/button>/,
    );
    expect(html).toMatch(
      /<button type="submit" name="action" value="cancel" formnovalidate>Cancel<\/button>/,
    );
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/\son[a-z]+=/i);
  });

  it('allows its one inline stylesheet by hash in a strict CSP', async () => {
    const { html, response } = await openSignIn(createBrowser());
    const csp = response.headers.get('content-security-policy') ?? '';
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? '';
    const hash = createHash('sha256').update(style, 'utf8').digest('base64');
    expect(csp).toContain(`style-src 'sha256-${hash}'`);
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
    // form-action also covers the redirect to the relying party that follows the form post.
    expect(csp).toMatch(/form-action 'self' http:\/\/127\.0\.0\.1:9(;|$)/);
  });

  it('prefills the email from a well-formed login_hint, escaped', async () => {
    const { html } = await openSignIn(createBrowser(), { login_hint: "o'brien@example.com" });
    expect(html).toContain('value="o&#39;brien@example.com"');
    const bad = await openSignIn(createBrowser(), { login_hint: '"><b>x</b>' });
    expect(bad.html).not.toContain('<b>x</b>');
    expect(bad.html).toMatch(/name="email" type="email"[^>]*value=""/);
  });

  it('escapes a hostile name when the form comes back with an error', async () => {
    const browser = createBrowser();
    const { action, page } = await openSignIn(browser);
    const nav = await browser.navigate(action, {
      method: 'POST',
      body: { email: 'not-an-email', name: HOSTILE, action: 'sign-in' },
      initiator: page,
    });
    expect(nav.status).toBe(400);
    const html = await nav.response.text();
    expect(html).toContain('Enter a valid email address');
    expect(html).not.toContain('<script>alert(1)');
    expect(html).not.toContain('<img src=x');
    expect(html).toContain(
      'value="&#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62;&#60;img src=x onerror=alert(2)&#62;&#39;&#96;&#38;amp;"',
    );
    expect(html).toContain('value="not-an-email"');
  });

  it('rejects an email over 320 characters', async () => {
    const browser = createBrowser();
    const { action, page } = await openSignIn(browser);
    const long = `${'a'.repeat(64)}@${['b', 'c', 'd', 'e', 'f'].map((l) => l.repeat(60)).join('.')}.com`;
    expect(long.length).toBeGreaterThan(320);
    const nav = await browser.navigate(action, {
      method: 'POST',
      body: { email: long, action: 'sign-in' },
      initiator: page,
    });
    expect(nav.status).toBe(400);
    expect(await nav.response.text()).toContain('at most 320 characters');
  });

  it('returns a hostile name verbatim in the claims and a picture whose SVG escapes it', async () => {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid email profile',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    const name = `<x>&"' Zed`;
    const { callbackUrl } = await signInAtDevIdp(createBrowser(), url.href, {
      email: 'hostile@example.com',
      name,
    });
    const tokens = await client.authorizationCodeGrant(config, new URL(callbackUrl), {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
    });
    const userinfo = await client.fetchUserInfo(config, tokens.access_token, tokens.claims()?.sub ?? '');
    expect(userinfo.name).toBe(name);
    const svg = Buffer.from(String(userinfo.picture).split(',')[1] ?? '', 'base64').toString('utf8');
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(svg).toContain('>&#60;Z</text>');
    expect(svg).not.toContain('<x>');
  });

  it('answers 413 to an oversized form body', async () => {
    const browser = createBrowser();
    const { action, page } = await openSignIn(browser);
    const response = await browser.post(action, `email=a%40b.c&name=${'x'.repeat(20 * 1024)}`, {
      initiator: page,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(response.status).toBe(413);
    // The interaction is still usable afterwards.
    const ok = await browser.navigate(action, {
      method: 'POST',
      body: { email: 'after413@example.com', action: 'sign-in' },
      initiator: page,
      stopAt: (u) => u.port === '9',
    });
    expect(ok.stoppedAt).toMatch(/^http:\/\/127\.0\.0\.1:9\/auth\?code=/);
  });

  it('answers 413 and closes the connection for a body far over the limit', async () => {
    const browser = createBrowser();
    const { action } = await openSignIn(browser);
    const cookie = browser
      .cookies(action)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
    const target = new URL(action);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: target.port,
          path: target.pathname,
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'content-length': 4 * 1024 * 1024,
            cookie,
          },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(413);
  });

  it('answers 415 to a form post that is not urlencoded', async () => {
    const browser = createBrowser();
    const { action, page } = await openSignIn(browser);
    const response = await browser.post(action, JSON.stringify({ email: 'a@b.c' }), {
      initiator: page,
      headers: { 'content-type': 'application/json' },
    });
    expect(response.status).toBe(415);
  });

  it('shows an "expired" page for an interaction this browser does not hold', async () => {
    const owner = createBrowser();
    const { action } = await openSignIn(owner);
    const stranger = createBrowser();
    const get = await stranger.navigate(action);
    expect(get.status).toBe(400);
    expect(await get.response.text()).toContain('This sign-in attempt has expired');
    const post = await stranger.post(action, { email: 'x@example.com', action: 'sign-in' });
    expect(post.status).toBe(400);
  });

  it('answers 405 to other methods on the interaction URL', async () => {
    const browser = createBrowser();
    const { action } = await openSignIn(browser);
    const response = await fetch(action, { method: 'PUT' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD, POST');
  });
});
