/**
 * SECURITY.md B (rules 7–10): the authorization response and provider errors.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
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

describe('B. authorization response and provider errors', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig();
  });
  afterEach(() => rig.idp.behave({}));
  afterAll(async () => {
    await rig?.close();
  });

  async function attack(mutate?: (url: URL) => void) {
    const browser = createBrowser();
    const url = await callbackUrlFor(rig, browser);
    mutate?.(url);
    const before = await snapshot(rig);
    const tokens = rig.idp.requestsTo('/token').length;
    const result = await openCallback(rig, browser, url);
    return { browser, before, result, tokenRequests: rig.idp.requestsTo('/token').length - tokens };
  }

  it('rule 7: a wrong iss response parameter is rejected before any token request', async () => {
    rig.idp.behave({ issParameter: 'http://localhost:1/evil' });
    const { browser, before, result, tokenRequests } = await attack();
    await expectRejected(rig, before, result, browser, { code: 'login_failed', reason: 'iss_mismatch' });
    expect(tokenRequests).toBe(0);
  });

  it('rule 7: a missing iss when the provider advertises it is rejected', async () => {
    rig.idp.behave({ issParameter: 'omit' });
    const { browser, before, result, tokenRequests } = await attack();
    await expectRejected(rig, before, result, browser, { code: 'login_failed', reason: 'iss_missing' });
    expect(tokenRequests).toBe(0);
  });

  describe('rule 8: duplicate response parameters are exactly 400 before any token request', () => {
    for (const name of ['code', 'state', 'iss'] as const) {
      it(`rule 8: duplicate ${name}`, async () => {
        const { browser, before, result, tokenRequests } = await attack((url) => {
          url.searchParams.append(name, name === 'iss' ? rig.idp.issuer : 'second');
        });
        await expectRejected(rig, before, result, browser, {
          code: 'bad_request',
          reason: 'duplicate_parameter',
          as: 400,
        });
        expect(tokenRequests).toBe(0);
      });
    }
  });

  it('rule 9: provider errors go back to the frontend with auth_error, transaction cleared, description not reflected', async () => {
    for (const [error, code] of [
      ['access_denied', 'access_denied'],
      ['server_error', 'login_failed'],
      ['<script>alert(1)</script>', 'login_failed'],
    ] as const) {
      const { browser, before, result, tokenRequests } = await attack((url) => {
        url.searchParams.delete('code');
        url.searchParams.set('error', error);
        url.searchParams.set('error_description', '<img src=x onerror=alert(1)> DROP TABLE users');
      });
      await expectRejected(rig, before, result, browser, { code, as: 'redirect' });
      expect(tokenRequests).toBe(0);
      expect(result.location).not.toContain('onerror');
      expect(result.location).not.toContain('DROP');
      expect(result.location).not.toContain('script');
      // The transaction cookie is cleared.
      const prefix = rig.gh.config.cookie.transactionPrefix;
      expect(
        result.headers
          .getSetCookie()
          .some((c) => c.startsWith(prefix) && /Expires=Thu, 01 Jan 1970|Max-Age=0/i.test(c)),
      ).toBe(true);
      expect(browser.cookies('127.0.0.1').filter((c) => c.name.startsWith(prefix))).toEqual([]);
    }
  });

  describe('rule 10: token-endpoint failures are 4xx/502, never 500, no session', () => {
    const cases = [
      ['invalid_grant', { answer: { token: { status: 400, body: '{"error":"invalid_grant"}' } } }],
      ['5xx', { answer: { token: { status: 503, body: '{"error":"temporarily_unavailable"}' } } }],
      [
        'HTML body',
        {
          answer: {
            token: { status: 200, body: '<html>Error at db01.internal</html>', contentType: 'text/html' },
          },
        },
      ],
      ['no id_token', { tokenResponse: (n: Record<string, unknown>) => ({ ...n, id_token: undefined }) }],
      ['wrong token_type', { tokenResponse: (n: Record<string, unknown>) => ({ ...n, token_type: 'MAC' }) }],
      [
        'no access_token',
        { tokenResponse: (n: Record<string, unknown>) => ({ ...n, access_token: undefined }) },
      ],
    ] as const;
    for (const [name, behaviour] of cases) {
      it(`rule 10: ${name}`, async () => {
        rig.idp.behave(behaviour);
        const { browser, before, result } = await attack();
        await expectRejected(rig, before, result, browser, { code: ['provider_error', 'login_failed'] });
        if (result.status !== 303) expect(result.status).toBe(502);
        expect(result.text).not.toContain('db01');
      });
    }
  });

  it('rule 10: the same provider works again once it recovers', async () => {
    rig.idp.behave({});
    await signIn(rig);
  });
});
