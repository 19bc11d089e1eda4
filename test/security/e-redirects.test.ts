/**
 * SECURITY.md E (rules 21–23): where the browser is sent after sign-in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBrowser } from '../helpers/browser.js';
import {
  callbackUrlFor,
  expectRejected,
  openCallback,
  type Rig,
  signIn,
  snapshot,
  startRig,
} from './support/rig.js';

describe('E. redirects', () => {
  let rig: Rig;
  let port: string;
  beforeAll(async () => {
    rig = await startRig({ env: { ALLOWED_RETURN_ORIGINS: 'https://app.example.com' } });
    port = new URL(rig.url).port;
  });
  afterAll(async () => {
    await rig?.close();
  });

  async function landing(returnTo: string): Promise<string> {
    const { callback } = await signIn(rig, createBrowser(), `?return_to=${encodeURIComponent(returnTo)}`);
    return callback.location!;
  }

  it('rule 21: open-redirect forms all fall back to FRONTEND_URL', async () => {
    const vectors = [
      '//evil.example/',
      '///evil.example/',
      '/\\evil.example/',
      '\\/evil.example/',
      '/%5Cevil.example/',
      '/%5cevil.example/',
      '/%2F%2Fevil.example/',
      '/\t/evil.example/',
      '/\n/evil.example/',
      'https://evil.example/',
      `https://app.example.com@evil.example/`,
      `http://127.0.0.1:${port}@evil.example/`,
      'https://app.example.com.evil.example/',
      'https://evil-app.example.com/',
      'http://app.example.com/',
      'javascript:alert(document.cookie)',
      'JaVaScRiPt:alert(1)',
      'data:text/html,<script>alert(1)</script>',
      'https:evil.example',
      `${'/'.repeat(2000)}evil.example`,
    ];
    for (const vector of vectors) {
      expect(await landing(vector), vector).toBe(rig.gh.config.frontendUrl);
    }
  });

  it('rule 21: same-origin paths and allow-listed origins are honoured', async () => {
    expect(await landing('/chat?tab=1#x')).toBe(`${rig.url}/chat?tab=1#x`);
    expect(await landing('https://app.example.com/welcome')).toBe('https://app.example.com/welcome');
  });

  it('rule 22: a return_to added to the callback URL is ignored', async () => {
    const browser = createBrowser();
    const url = await callbackUrlFor(rig, browser, `?return_to=${encodeURIComponent('/bound')}`);
    url.searchParams.append('return_to', 'https://evil.example/');
    url.searchParams.append('redirect_uri', 'https://evil.example/');
    const result = await openCallback(rig, browser, url);
    expect(result.status).toBe(303);
    expect(result.location).toBe(`${rig.url}/bound`);
  });

  it('rule 23: callback responses carry no-store and no-referrer; the final URL has no code or state', async () => {
    const { callback } = await signIn(rig);
    expect(callback.headers.get('cache-control')).toBe('no-store');
    expect(callback.headers.get('referrer-policy')).toBe('no-referrer');
    const final = new URL(callback.location!);
    expect(final.searchParams.has('code')).toBe(false);
    expect(final.searchParams.has('state')).toBe(false);
    expect(final.searchParams.has('iss')).toBe(false);
    // Failures too.
    const browser = createBrowser();
    const url = await callbackUrlFor(rig, browser);
    url.searchParams.set('state', 'x'.repeat(43));
    const before = await snapshot(rig);
    const failed = await openCallback(rig, browser, url);
    await expectRejected(rig, before, failed, browser, { code: 'login_expired' });
    expect(failed.headers.get('cache-control')).toBe('no-store');
    expect(failed.headers.get('referrer-policy')).toBe('no-referrer');
    expect(failed.location).not.toMatch(/[?&](code|state)=/);
  });
});
